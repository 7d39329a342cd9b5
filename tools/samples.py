"""Regenerate the shipped real-format sample: ``python tools/samples.py --out datasets/samples``.

``shop_to_rees46`` writes the shop's events the way the REES46 log does (the sample notebook 01
loads with ``load_events(REES46_SAMPLE, "rees46")`` from ``course_lib.events``); ``write_samples`` writes it as a
gzipped CSV with its SHA256SUMS.
"""

from __future__ import annotations

import argparse
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data import _sha256_of, load_shop
from course_lib.events import REES46_SAMPLE, SAMPLES_PATH
from course_lib.shop import CATEGORIES, CATEGORY_NAMES, ShopData

#: Categories whose REES46 category_code is left empty in the sample, as in the real
#: file where many products have only a numeric category_id.
_REES46_NO_CODE = ("garden", "office")


def shop_to_rees46(data: ShopData, n_users: int = 800, duplicate_share: float = 0.005,
                   seed: int = 0) -> pd.DataFrame:
    """The shop's events of ``n_users`` random users, written the way REES46 logs them.

    REES46 logs product-page views, carts and purchases, not impressions: shop
    clicks become "view" rows, carts "cart", purchases "purchase"; impressions
    are left out. product_id = 1,000,000 + item_id; user_id = 510,000,000 +
    user_id; category_id is a fixed 19-digit number per category;
    category_code is "<category>.<noun>" (empty for ``_REES46_NO_CODE``);
    brand is lower case; price has two decimals; user_session is a UUID per
    shop session; event_time has whole seconds and " UTC". A share
    ``duplicate_share`` of rows is repeated, as real logs contain exact
    duplicates. Returns a DataFrame of strings and numbers in REES46 column order.
    """
    rng = np.random.default_rng(seed)
    ev = data.events
    clickers = np.unique(ev.loc[ev["event_type"] == "click", "user_id"].to_numpy())
    users = np.sort(rng.choice(clickers, size=min(n_users, len(clickers)), replace=False))
    ev = ev[ev["user_id"].isin(users) & ev["event_type"].isin(["click", "cart", "purchase"])]
    items = data.items.set_index("item_id").loc[ev["item_id"].to_numpy()]
    nouns = {c[0]: c[4] for c in CATEGORIES}
    noun = [next((n for n in nouns[c] if t.endswith(n)), nouns[c][0])
            for c, t in zip(items["category"], items["title"], strict=True)]
    code = [("" if c in _REES46_NO_CODE else f"{c}.{n.replace(' ', '_')}")
            for c, n in zip(items["category"], noun, strict=True)]
    cat_index = pd.Categorical(items["category"], categories=CATEGORY_NAMES).codes.astype(np.int64)
    sessions = np.unique(ev["session_id"].to_numpy())
    session_uuid = dict(zip(sessions, (str(uuid.UUID(bytes=rng.bytes(16), version=4)) for _ in sessions),
                            strict=True))
    out = pd.DataFrame(
        {
            "event_time": ev["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S UTC").to_numpy(),
            "event_type": ev["event_type"].astype(str).map({"click": "view", "cart": "cart",
                                                            "purchase": "purchase"}).to_numpy(),
            "product_id": 1_000_000 + ev["item_id"].to_numpy().astype(np.int64),
            "category_id": 2_053_013_552_000_000_000 + 1_000_003_559 * cat_index,
            "category_code": code,
            "brand": items["brand"].str.lower().to_numpy(),
            "price": ev["price"].round(2).to_numpy(),
            "user_id": 510_000_000 + ev["user_id"].to_numpy().astype(np.int64),
            "user_session": ev["session_id"].map(session_uuid).to_numpy(),
        }
    )
    dup = np.flatnonzero(rng.random(len(out)) < duplicate_share)
    order = np.argsort(np.r_[np.arange(len(out)), dup], kind="stable")
    return pd.concat([out, out.iloc[dup]], ignore_index=True).iloc[order].reset_index(drop=True)


def write_samples(out: str | Path = SAMPLES_PATH, data: ShopData | None = None) -> list[Path]:
    """Write the shipped real-format samples (gzipped CSV) and their SHA256SUMS into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    data = load_shop() if data is None else data
    path = out / REES46_SAMPLE.name
    shop_to_rees46(data).to_csv(path, index=False, float_format="%.2f", compression={"method": "gzip", "mtime": 0})
    (out / "SHA256SUMS").write_text(f"{_sha256_of(path)}  {path.name}\n")
    return [path]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write the real-format samples derived from the shop.")
    parser.add_argument("--out", default=str(SAMPLES_PATH), help="the folder (default: datasets/samples)")
    args = parser.parse_args(argv)
    for path in write_samples(args.out):
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")


if __name__ == "__main__":
    main()
