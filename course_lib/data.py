"""Loading, checking and splitting the shipped shop: what several notebooks share.

``load_shop`` (checksums verified by ``verify_checksums``), ``WINDOWS``, ``split_by_time``, ``impression_table``
(the labelled table later notebooks train on) and ``head_items`` (the most-clicked share of the catalogue).
Real event logs are read by ``course_lib.events`` (generated from notebook 01, where the loader is taught).
tools/make_shop.py writes the shipped shop, tools/samples.py the real-format sample.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow

from course_lib import shop as _shop

#: The repository's datasets folder (works from a clone or an editable install).
DATASETS = Path(__file__).resolve().parent.parent / "datasets"
SHOP_PATH = DATASETS / "shop"
#: Trained models, candidate sets and predictions (git-ignored; rebuilt when missing). The environment
#: variable COURSE_ARTIFACTS points elsewhere (tools/compat.py runs on a copy, so that results computed
#: at the lowest allowed versions never replace the main environment's).
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or Path(__file__).resolve().parent.parent / "artifacts")
REGENERATE = "python tools/make_shop.py --seed 42 --out datasets/shop"

#: The course's time windows over the 30-day shop, as [first_day, end_day).
#: Train on the first three weeks, tune on the next four days, test on the last five.
WINDOWS = {"train": (0, 21), "valid": (21, 25), "test": (25, 30)}


def verify_checksums(path: str | Path = SHOP_PATH, regenerate: str | None = None) -> None:
    """Check every file listed in ``path/SHA256SUMS``; raise naming the first mismatch.

    regenerate: the command the error message suggests (default: the shop's).
    """
    path, command = Path(path), regenerate or REGENERATE
    sums = path / "SHA256SUMS"
    if not sums.exists():
        raise FileNotFoundError(f"{sums} is missing; regenerate with: {command}")
    for line in sums.read_text().splitlines():
        expected, name = line.split(maxsplit=1)
        file = path / name.strip()
        if not file.exists():
            raise FileNotFoundError(f"{file} is listed in SHA256SUMS but missing; regenerate with: {command}")
        actual = _sha256_of(file)
        if actual != expected:
            raise ValueError(f"{file} does not match its SHA-256 checksum (expected {expected[:12]}..., got "
                             f"{actual[:12]}...): the file was changed or damaged; regenerate it with: {command}")


def _sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def load_shop(path: str | Path = SHOP_PATH, verify: bool = True) -> _shop.ShopData:
    """Load the shipped shop (Parquet), after verifying its SHA-256 checksums when ``verify``.

    The per-impression truth is rebuilt from the hidden parameters on load.
    """
    path = Path(path)
    if verify:
        verify_checksums(path)
    tables = {name: pd.read_parquet(path / f"{name}.parquet") for name in _shop.TABLES}
    pyarrow.default_memory_pool().release_unused()  # Parquet's read buffers: about 50 MB back to the system
    return _shop.ShopData(truth=None, params=json.loads((path / "params.json").read_text()), **tables)


# ---- Time windows and the labelled impression table ----


def _check_windows(windows: dict) -> list[tuple[str, object, object]]:
    """``[(name, start, end)]`` of ``{name: (start, end)}`` windows, checked: start < end, in time order, no overlap."""
    if not isinstance(windows, dict) or not windows:
        raise ValueError(f"windows must be a non-empty dict {{name: (start, end)}}, got {windows!r}")
    spans = []
    for name, span in windows.items():
        try:
            start, end = span
        except (TypeError, ValueError):
            raise ValueError(f"window {name!r} must be a (start, end) pair, got {span!r}") from None
        if not start < end:
            raise ValueError(f"window {name!r} must have start < end, got ({start!r}, {end!r})")
        if spans and start < spans[-1][2]:
            raise ValueError(f"windows must be in time order without overlap: {name!r} starts at {start!r} "
                             f"before {spans[-1][0]!r} ends at {spans[-1][2]!r}")
        spans.append((name, start, end))
    return spans


def split_by_time(df: pd.DataFrame, windows: dict = WINDOWS, day_col: str = "day") -> dict[str, pd.DataFrame]:
    """Split a table into time windows: ``{name: rows with start <= df[day_col] < end}``.

    windows: ``{name: (start, end)}`` in time order, non-overlapping, end exclusive; the default
    ``WINDOWS`` is train days 0-20, valid 21-24, test 25-29 (a timestamp ``day_col`` takes Timestamp
    bounds). Every row of an earlier window comes before every row of a later one, so nothing from the
    future leaks into training. Rows outside every window are left out; each part keeps the original
    index and row order.
    """
    if day_col not in df.columns:
        raise ValueError(f"split_by_time: column {day_col!r} not found; the table has {list(df.columns)}")
    col = df[day_col]
    return {name: df[(col >= start) & (col < end)] for name, start, end in _check_windows(windows)}


_USER_FEATURES = ["segment", "region", "device", "signup_day"]
_ITEM_FEATURES = ["category", "brand", "price", "margin_rate", "launch_day"]


def impression_table(data: _shop.ShopData, with_truth: bool = False, windows: dict = WINDOWS) -> pd.DataFrame:
    """One row per logged impression, with its labels, window, user and item features (about 40 MB).

    Columns, in order: impression_id, request_id, session_id, user_id, item_id, timestamp (UTC), day,
    window (Categorical of the names of ``windows``; NaN outside them), position (0 = top slot),
    propensity (the logging policy's probability of that item in that slot), the labels clicked,
    carted, purchased (bool; purchased implies carted implies clicked), the user features segment,
    region, device, signup_day and the item features category, brand (Categorical), price (EUR),
    margin_rate (fraction of price), launch_day. ``with_truth`` appends true_p_click, true_p_cart and
    true_p_purchase (float32): never a feature, real life does not give it. Rows in the log's order.
    """
    imp = data.impressions.reset_index(drop=True)
    users = data.users.set_index("user_id").loc[imp["user_id"].to_numpy(), _USER_FEATURES].reset_index(drop=True)
    items = data.items.set_index("item_id").loc[imp["item_id"].to_numpy(), _ITEM_FEATURES].reset_index(drop=True)
    table = imp[["impression_id", "request_id", "session_id", "user_id", "item_id", "timestamp", "day"]].copy()
    spans = _check_windows(windows)
    codes = np.full(len(imp), -1, dtype=np.int8)
    for code, (_, start, end) in enumerate(spans):
        codes[((imp["day"] >= start) & (imp["day"] < end)).to_numpy()] = code
    table["window"] = pd.Categorical.from_codes(codes, categories=[s[0] for s in spans])
    rest = imp[["position", "propensity", "clicked", "carted", "purchased"]]
    table = pd.concat([table, rest, users, items], axis=1)
    table["brand"] = pd.Categorical(table["brand"], categories=sorted(data.items["brand"].unique()))
    if with_truth:
        truth = data.truth.set_index("impression_id").loc[table["impression_id"].to_numpy()]
        for name in ["p_click", "p_cart", "p_purchase"]:
            table[f"true_{name}"] = truth[name].to_numpy()
    return table


def head_items(impressions: pd.DataFrame, n_items: int, share: float = 0.2) -> np.ndarray:
    """The head of the catalogue: sorted ids of the ``ceil(share * n_items)`` most-clicked items.

    impressions: logged impressions (usually the train window) with item_id and clicked. Ties go to
    the smaller id; every other item is the long tail.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be strictly between 0 and 1, got {share}")
    for col in ("item_id", "clicked"):
        if col not in impressions.columns:
            raise ValueError(f"impressions must have a column {col!r}, got {list(impressions.columns)}")
    clicks = np.bincount(impressions["item_id"].to_numpy(), weights=impressions["clicked"].to_numpy(),
                         minlength=n_items)
    order = np.lexsort((np.arange(n_items), -clicks))
    return np.sort(order[: int(np.ceil(share * n_items))])

