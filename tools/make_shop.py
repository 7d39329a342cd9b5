"""Regenerate the shipped shop: ``python tools/make_shop.py --seed 42 --out datasets/shop``.

Writes every table of ``course_lib.shop.generate`` as Parquet, plus params.json and SHA256SUMS
(what ``course_lib.data.load_shop`` verifies). The per-impression truth is not saved: load_shop
rebuilds it from the hidden parameters. About a minute of CPU.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from course_lib.data import SHOP_PATH, sha256_of
from course_lib.shop import TABLES, ShopData, generate


def save(data: ShopData, out: str | Path) -> list[Path]:
    """Write every table as Parquet, plus params.json and SHA256SUMS, into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        path = out / f"{name}.parquet"
        getattr(data, name).to_parquet(path, index=False, compression="zstd")
        written.append(path)
    params_path = out / "params.json"
    params_path.write_text(json.dumps(data.params, indent=1) + "\n")
    written.append(params_path)
    (out / "SHA256SUMS").write_text("".join(f"{sha256_of(p)}  {p.name}\n" for p in written))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the simulated shop's tables.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", default=str(SHOP_PATH), help="the folder (default: datasets/shop)")
    args = parser.parse_args(argv)
    data = generate(args.users, args.items, args.days, args.seed)
    save(data, args.out)
    print(data.summary().to_string())


if __name__ == "__main__":
    main()
