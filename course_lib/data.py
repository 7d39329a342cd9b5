"""Loading, validating and splitting data: the shipped shop and real event logs."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pandas as pd

from course_lib import shop as _shop

#: The repository's datasets folder (works from a clone or an editable install).
DATASETS = Path(__file__).resolve().parent.parent / "datasets"
SHOP_PATH = DATASETS / "shop"
#: Trained models, candidate sets and predictions (git-ignored; rebuilt when missing).
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
REGENERATE = "python -m course_lib.shop --seed 42 --out datasets/shop"

#: The course's time windows over the 30-day shop, as [first_day, end_day).
#: Train on the first three weeks, tune on the next four days, test on the last five.
WINDOWS = {"train": (0, 21), "valid": (21, 25), "test": (25, 30)}


def verify_checksums(path: str | Path = SHOP_PATH) -> None:
    """Check every file listed in ``path/SHA256SUMS``; raise naming the first mismatch."""
    path = Path(path)
    sums = path / "SHA256SUMS"
    if not sums.exists():
        raise FileNotFoundError(f"{sums} is missing; regenerate the shop with: {REGENERATE}")
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        expected, name = line.split(maxsplit=1)
        file = path / name.strip()
        if not file.exists():
            raise FileNotFoundError(f"{file} is listed in SHA256SUMS but missing; regenerate with: {REGENERATE}")
        actual = hashlib.sha256(file.read_bytes()).hexdigest()
        if actual != expected:
            raise ValueError(
                f"{file} does not match its SHA-256 checksum (expected {expected[:12]}..., got {actual[:12]}...): "
                f"the file was changed or damaged; regenerate it with: {REGENERATE}"
            )


def load_shop(path: str | Path = SHOP_PATH, verify: bool = True) -> _shop.ShopData:
    """Load the shipped shop (Parquet) after verifying its SHA-256 checksums.

    The per-impression truth is rebuilt from the hidden parameters on load.
    """
    path = Path(path)
    if verify:
        verify_checksums(path)
    tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in _shop.TABLES}
    params = json.loads((path / "params.json").read_text())
    data = _shop.ShopData(truth=None, params=params, **tables)
    data.truth = data.shop.impression_truth(data.impressions)
    return data
