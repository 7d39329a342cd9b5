"""Loading, validating and splitting data: the shipped shop and real event logs.

- The shop: ``load_shop`` (checksums verified), ``WINDOWS``, ``split_by_time``,
  ``impression_table`` (the labelled table later notebooks train on).
- Real logs: the canonical event schema (``CANONICAL_COLUMNS``, ``EVENT_TYPES``,
  ``validate_events``) and ``load_events(path, fmt)`` for canonical, REES46, Taobao
  and RetailRocket files (``EVENT_MAPS`` says how their event types map).
- ``head_items``: the most-clicked share of the catalogue (the long tail is the rest).

The shipped files are written by tools/ (``REGENERATE``, ``REGENERATE_SAMPLES``); the data
card's figures by tools/shop_card.py; a public log is fetched with tools/download.py.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib import shop as _shop

#: The repository's datasets folder (works from a clone or an editable install).
DATASETS = Path(__file__).resolve().parent.parent / "datasets"
SHOP_PATH = DATASETS / "shop"
#: Trained models, candidate sets and predictions (git-ignored; rebuilt when missing). The environment
#: variable COURSE_ARTIFACTS points elsewhere (tools/compat.py runs on a copy, so that results computed
#: at the lowest allowed versions never replace the main environment's).
ARTIFACTS = Path(os.environ.get("COURSE_ARTIFACTS") or Path(__file__).resolve().parent.parent / "artifacts")
REGENERATE = "python tools/make_shop.py --seed 42 --out datasets/shop"
#: Small real-format samples (synthetic, derived from the shop) for the real-log sections.
SAMPLES_PATH = DATASETS / "samples"
REES46_SAMPLE = SAMPLES_PATH / "rees46_sample.csv.gz"
REGENERATE_SAMPLES = "python tools/samples.py --out datasets/samples"

#: The course's time windows over the 30-day shop, as [first_day, end_day).
#: Train on the first three weeks, tune on the next four days, test on the last five.
WINDOWS = {"train": (0, 21), "valid": (21, 25), "test": (25, 30)}


def verify_checksums(path: str | Path = SHOP_PATH, regenerate: str | None = None) -> None:
    """Check every file listed in ``path/SHA256SUMS``; raise naming the first mismatch.

    ``regenerate``: the command the error message suggests (default: the shop's).
    """
    path = Path(path)
    command = regenerate or REGENERATE
    sums = path / "SHA256SUMS"
    if not sums.exists():
        raise FileNotFoundError(f"{sums} is missing; regenerate with: {command}")
    for line in sums.read_text().splitlines():
        if not line.strip():
            continue
        expected, name = line.split(maxsplit=1)
        file = path / name.strip()
        if not file.exists():
            raise FileNotFoundError(f"{file} is listed in SHA256SUMS but missing; regenerate with: {command}")
        actual = sha256_of(file)
        if actual != expected:
            raise ValueError(
                f"{file} does not match its SHA-256 checksum (expected {expected[:12]}..., got {actual[:12]}...): "
                f"the file was changed or damaged; regenerate it with: {command}"
            )


def sha256_of(path: str | Path) -> str:
    """Hex SHA-256 of a file, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


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


# ---------------------------------------------------------------------------
# Time windows and the labelled impression table
# ---------------------------------------------------------------------------


def _check_windows(windows: dict) -> list[tuple[str, object, object]]:
    """Validate ``{name: (start, end)}`` windows: each start < end, in time order, no overlap."""
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
        spans.append((name, start, end))
    for (n1, _, e1), (n2, s2, _) in zip(spans[:-1], spans[1:], strict=True):
        if s2 < e1:
            raise ValueError(
                f"windows must be in time order without overlap: {n2!r} starts at {s2!r} "
                f"before {n1!r} ends at {e1!r}"
            )
    return spans


def _window_of(values, windows: dict = WINDOWS) -> pd.Categorical:
    """Name of the window each value falls in, as a Categorical (NaN outside every window).

    values: (n,) days (ints) or timestamps, compared with the [start, end) bounds of ``windows``.
    """
    spans = _check_windows(windows)
    values = pd.Series(values).reset_index(drop=True)
    codes = np.full(len(values), -1, dtype=np.int8)
    for code, (_, start, end) in enumerate(spans):
        codes[((values >= start) & (values < end)).to_numpy()] = code
    return pd.Categorical.from_codes(codes, categories=[s[0] for s in spans])


def split_by_time(df: pd.DataFrame, windows: dict = WINDOWS, day_col: str = "day") -> dict[str, pd.DataFrame]:
    """Split a table into time windows: ``{name: rows with start <= df[day_col] < end}``.

    df: any table with a time column (the shop's ``day``, or a timestamp column
    with Timestamp bounds). windows: ``{name: (start, end)}`` in time order,
    non-overlapping, end exclusive; the default is ``WINDOWS`` (train days 0-20,
    valid 21-24, test 25-29). Every event of an earlier window happens before
    every event of a later one, so nothing from the future leaks into training.
    Rows outside every window are left out (the default windows cover the
    whole shop). Each part keeps the original index and row order.
    """
    if day_col not in df.columns:
        raise ValueError(f"split_by_time: column {day_col!r} not found; the table has {list(df.columns)}")
    spans = _check_windows(windows)
    col = df[day_col]
    return {name: df[(col >= start) & (col < end)] for name, start, end in spans}


_USER_FEATURES = ["segment", "region", "device", "signup_day"]
_ITEM_FEATURES = ["category", "brand", "price", "margin_rate", "launch_day"]
_LABELS = ["clicked", "carted", "purchased"]


def impression_table(data: _shop.ShopData, with_truth: bool = False, windows: dict = WINDOWS) -> pd.DataFrame:
    """One row per logged impression, with its labels, window, user and item features.

    Columns (in this order): impression_id, request_id, session_id, user_id,
    item_id, timestamp (UTC), day (0-based), window ("train"/"valid"/"test",
    Categorical from ``WINDOWS``), position (0 = top slot), propensity (the
    logging policy's probability of that item in that slot), the labels
    clicked, carted, purchased (bool; purchased implies carted implies
    clicked), the user features segment, region, device, signup_day and the
    item features category, brand (Categorical), price (EUR), margin_rate
    (fraction of price), launch_day. With ``with_truth=True`` the ground
    truth true_p_click, true_p_cart, true_p_purchase (float32) is appended:
    never a feature, real life does not give it. ``windows`` names the
    ``window`` column's values (default ``WINDOWS``). Rows keep the
    impressions' order (by time); about 40 MB for the shipped shop.
    """
    imp = data.impressions
    users = data.users.set_index("user_id").loc[imp["user_id"].to_numpy(), _USER_FEATURES].reset_index(drop=True)
    items = data.items.set_index("item_id").loc[imp["item_id"].to_numpy(), _ITEM_FEATURES].reset_index(drop=True)
    front = ["impression_id", "request_id", "session_id", "user_id", "item_id", "timestamp", "day"]
    table = imp[front].reset_index(drop=True)
    table["window"] = _window_of(table["day"], windows)
    rest = imp[["position", "propensity", *_LABELS]].reset_index(drop=True)
    table = pd.concat([table, rest, users, items], axis=1)
    table["brand"] = pd.Categorical(table["brand"], categories=sorted(data.items["brand"].unique()))
    if with_truth:
        truth = data.truth.set_index("impression_id").loc[table["impression_id"].to_numpy()]
        for name in ["p_click", "p_cart", "p_purchase"]:
            table[f"true_{name}"] = truth[name].to_numpy()
    return table


# ---------------------------------------------------------------------------
# Real event logs: one canonical schema, adapters for public formats
# ---------------------------------------------------------------------------

#: Canonical event types, in funnel order. "view" means the item was *shown* (an
#: impression, as in the shop); "click" means the user opened the item's page.
#: "favourite" is a side branch (a like or wish-list add) outside the funnel.
EVENT_TYPES = ("view", "click", "cart", "purchase", "favourite")
#: The canonical columns. The first four are required; the last three may be null.
CANONICAL_COLUMNS = ("user_id", "item_id", "event_type", "timestamp", "price", "category", "session_id")
REQUIRED_COLUMNS = CANONICAL_COLUMNS[:4]

#: Each format's columns, in file order (Taobao's file has no header row).
FORMATS = {
    "canonical": {"columns": list(CANONICAL_COLUMNS), "header": True},
    "rees46": {
        "columns": ["event_time", "event_type", "product_id", "category_id", "category_code", "brand", "price",
                    "user_id", "user_session"],
        "header": True,
    },
    "taobao": {"columns": ["user_id", "item_id", "category_id", "behavior_type", "timestamp"], "header": False},
    "retailrocket": {"columns": ["timestamp", "visitorid", "event", "itemid", "transactionid"], "header": True},
}

#: How each format's event types map to canonical ones; None = a known type that is
#: dropped (and counted). Public logs record product-page views, not impressions:
#: a page view is what happens *after* a click on a listing, so REES46 "view",
#: Taobao "pv" and RetailRocket "view" all map to "click". None of these logs has
#: impressions, so CTR and position bias cannot be measured from them.
EVENT_MAPS = {
    "canonical": {t: t for t in EVENT_TYPES},
    "rees46": {"view": "click", "cart": "cart", "purchase": "purchase", "remove_from_cart": None},
    "taobao": {"pv": "click", "cart": "cart", "buy": "purchase", "fav": "favourite"},
    "retailrocket": {"view": "click", "addtocart": "cart", "transaction": "purchase"},
}

# canonical column <- the format's column (None: not in this format, filled with nulls)
_SOURCE_COLUMNS = {
    "canonical": {c: c for c in CANONICAL_COLUMNS},
    "rees46": {"user_id": "user_id", "item_id": "product_id", "event_type": "event_type",
               "timestamp": "event_time", "price": "price", "category": "category_code",
               "session_id": "user_session"},
    "taobao": {"user_id": "user_id", "item_id": "item_id", "event_type": "behavior_type",
               "timestamp": "timestamp", "price": None, "category": "category_id", "session_id": None},
    "retailrocket": {"user_id": "visitorid", "item_id": "itemid", "event_type": "event",
                     "timestamp": "timestamp", "price": None, "category": None, "session_id": None},
}
_TIME_FORMATS = {
    "canonical": "ISO 8601 datetimes such as '2025-10-01T18:30:00Z' (naive ones are read as UTC)",
    "rees46": "datetimes such as '2019-10-01 00:00:00 UTC'",
    "taobao": "unix timestamps in seconds such as 1511544070",
    "retailrocket": "unix timestamps in milliseconds such as 1433221332117",
}


@dataclass
class LoadReport:
    """What ``load_events`` read, kept and dropped (with the reason for every dropped row)."""

    source: str
    fmt: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int] = field(default_factory=dict)
    event_counts: dict[str, int] = field(default_factory=dict)

    def __str__(self) -> str:
        drops = "; ".join(f"{n:,} {why}" for why, n in self.dropped.items() if n) or "none"
        counts = ", ".join(f"{k} {v:,}" for k, v in self.event_counts.items())
        return (f"{Path(self.source).name} ({self.fmt}): read {self.rows_read:,} rows, kept {self.rows_kept:,} events "
                f"[{counts}]; dropped: {drops}")


def _bad(source, column: str, row, value, expected: str) -> ValueError:
    where = f"first bad row {row}" if row is not None else "no rows"
    return ValueError(f"{source}: column {column!r}, {where} (value {value!r}): expected {expected}")


def _first(mask: pd.Series):
    """Index label of the first True in ``mask``."""
    pos = int(np.argmax(mask.to_numpy()))
    return mask.index[pos]


def validate_events(df: pd.DataFrame, source: str = "events") -> pd.DataFrame:
    """Check that ``df`` follows the canonical event schema; return it unchanged.

    Required: user_id and item_id (non-negative integers, no nulls), event_type
    (one of ``EVENT_TYPES``), timestamp (timezone-aware UTC datetimes, no NaT).
    Optional (null allowed): price (float, EUR or the log's currency, >= 0),
    category, session_id. Extra columns are allowed. Raises ``ValueError``
    naming ``source``, the column, the first bad row (index label) and what was
    expected. The shop's ``data.events`` passes.
    """
    if not isinstance(df, pd.DataFrame):
        raise ValueError(f"{source}: expected a pandas DataFrame, got {type(df).__name__}")
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ValueError(f"{source}: missing column(s) {missing}; found {list(df.columns)}, "
                         f"expected at least {list(REQUIRED_COLUMNS)}")
    for col in ["user_id", "item_id"]:
        s = df[col]
        if s.isna().any():
            row = _first(s.isna())
            raise _bad(source, col, row, s[row], "no nulls (drop or fill rows with unknown ids first)")
        if not pd.api.types.is_integer_dtype(s):
            raise ValueError(f"{source}: column {col!r} has dtype {s.dtype}; expected integer ids "
                             "(turn string ids into integers with pd.factorize)")
        if (s < 0).any():
            row = _first(s < 0)
            raise _bad(source, col, row, s[row], "non-negative integer ids")
    ev = df["event_type"]
    bad = ~ev.isin(EVENT_TYPES)
    if bad.any():
        row = _first(bad)
        raise _bad(source, "event_type", row, ev[row], f"one of {list(EVENT_TYPES)}")
    ts = df["timestamp"]
    if not isinstance(ts.dtype, pd.DatetimeTZDtype) or str(ts.dtype.tz) != "UTC":
        raise ValueError(f"{source}: column 'timestamp' has dtype {ts.dtype}; expected timezone-aware UTC "
                         "datetimes (pd.to_datetime(..., utc=True))")
    if ts.isna().any():
        row = _first(ts.isna())
        raise _bad(source, "timestamp", row, ts[row], "no missing timestamps")
    if "price" in df.columns:
        price = df["price"]
        if not pd.api.types.is_numeric_dtype(price) or pd.api.types.is_bool_dtype(price):
            raise ValueError(f"{source}: column 'price' has dtype {price.dtype}; expected floats (null allowed)")
        if (price < 0).any():
            row = _first(price < 0)
            raise _bad(source, "price", row, price[row], "non-negative prices (or null when unknown)")
    return df


#: File signatures (first bytes) of what learners load by mistake, and the extension each needs.
_MAGIC = [
    (b"\x1f\x8b", "gzip-compressed", ".gz"),
    (b"PK\x03\x04", "a zip archive", ".zip"),
    (b"BZh", "bzip2-compressed", ".bz2"),
    (b"\xfd7zXZ\x00", "xz-compressed", ".xz"),
    (b"(\xb5/\xfd", "zstd-compressed", ".zst"),
    (b"PAR1", "a Parquet file", ".parquet"),
    (b"\xff\xfe", "UTF-16 text", None),
    (b"\xfe\xff", "UTF-16 text", None),
]
_COMPRESSED = {".gz", ".zip", ".bz2", ".xz", ".zst"}


def _unreadable(path: Path, fmt: str, detail: str) -> ValueError:
    """A file that is not the UTF-8 text CSV ``load_events`` expects: say what it looks like instead."""
    expected = (f"expected a UTF-8 text {fmt} CSV, plain (.csv) or compressed with a matching extension "
                f"(.csv.gz, .csv.zip, .csv.bz2, .csv.xz)" + (" or a .parquet file" if fmt == "canonical" else ""))
    with open(path, "rb") as f:
        head = f.read(8)
    for magic, kind, ext in _MAGIC:
        if head.startswith(magic):
            if ext is None:
                hint = "re-save it as UTF-8"
            elif ext == ".parquet" and fmt != "canonical":
                hint = "only canonical events may be Parquet: load it with fmt='canonical' and a .parquet name"
            elif ext == ".parquet":
                hint = "rename it to end in .parquet"
            elif path.suffix.lower() in _COMPRESSED:
                hint = f"its name ends in {path.suffix!r} but its content is {kind}: rename it to end in {ext}"
            else:
                hint = f"rename it to end in .csv{ext}, or decompress it first"
            return ValueError(f"{path}: the file is {kind}, not CSV text ({detail}); {hint}. {expected}")
    if path.suffix.lower() in _COMPRESSED:
        return ValueError(f"{path}: its name ends in {path.suffix!r} but it is not {path.suffix} data ({detail}); "
                          f"if it is plain text, rename it to end in .csv. {expected}")
    return ValueError(f"{path}: not UTF-8 text ({detail}); is it a binary file, or text in another encoding "
                      f"(re-save it as UTF-8)? {expected}")


def _check_text(path: Path, fmt: str, size: int = 65_536) -> None:
    """Refuse, before pandas does with a raw error, a plain file that is not UTF-8 text."""
    if path.suffix.lower() in _COMPRESSED:
        return  # pandas decompresses by extension; a mismatch raises an OSError handled by the caller
    with open(path, "rb") as f:
        chunk = f.read(size)
    if any(chunk.startswith(magic) for magic, _, _ in _MAGIC):
        raise _unreadable(path, fmt, "its first bytes say so")
    if b"\x00" in chunk:
        raise _unreadable(path, fmt, f"a NUL byte at offset {chunk.index(0)}")
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as err:
        if err.start < len(chunk) - 3 or len(chunk) < size:  # not a character cut at the chunk's end
            raise _unreadable(path, fmt, f"byte {chunk[err.start:err.start + 1]!r} at offset {err.start} "
                                         "is not UTF-8") from None


def _read_table(path: Path, fmt: str, nrows: int | None) -> pd.DataFrame:
    """Read a CSV as strings (so every value can be checked), with clear errors for bad files."""
    spec = FORMATS[fmt]
    expected = ",".join(spec["columns"])
    _check_text(path, fmt)
    try:
        raw = pd.read_csv(path, dtype=str, header=0 if spec["header"] else None, nrows=nrows,
                          keep_default_na=False, na_values=[""], skipinitialspace=False)
    except pd.errors.EmptyDataError:
        raise ValueError(f"{path}: the file is empty; expected a {fmt} CSV with columns {expected}") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{path}: not a well-formed {fmt} CSV ({err}); expected comma-separated {expected}") from None
    except UnicodeDecodeError as err:
        raise _unreadable(path, fmt, f"byte {err.object[err.start:err.start + 1]!r} at offset {err.start} "
                                     "is not UTF-8") from None
    except (OSError, EOFError, zipfile.BadZipFile, lzma.LZMAError) as err:  # a .gz/.zip/.bz2/.xz name on other content
        raise _unreadable(path, fmt, f"{type(err).__name__}: {err}") from None
    if raw.shape[1] == 1:
        sample = str(raw.columns[0]) if spec["header"] else str(raw.iloc[0, 0]) if len(raw) else ""
        for sep in [";", "\t", "|"]:
            if sep in sample:
                raise ValueError(f"{path}: the file seems to use {sep!r} as its delimiter; expected ',' "
                                 f"(a {fmt} CSV with columns {expected})")
    if spec["header"]:
        raw.columns = [str(c).strip() for c in raw.columns]
        missing = [c for c in spec["columns"] if c not in raw.columns]
        if missing:
            raise ValueError(f"{path}: missing column(s) {missing}; found {list(raw.columns)}, "
                             f"expected the {fmt} header {expected}")
    else:
        if raw.shape[1] != len(spec["columns"]):
            raise ValueError(f"{path}: expected {len(spec['columns'])} comma-separated fields per row and no "
                             f"header ({expected}), found {raw.shape[1]}")
        raw.columns = spec["columns"]
        first = raw.iloc[0].fillna("").str.strip().str.lower()
        if first.isin(spec["columns"] + ["behavior", "item_category", "time"]).sum() >= 2:
            raise ValueError(f"{path}: line 1 looks like a header row ({','.join(raw.iloc[0].astype(str))}); "
                             f"the {fmt} format has none: expected data rows of {expected} from line 1")
    if len(raw) == 0:
        raise ValueError(f"{path}: the file has a header but no data rows; expected {fmt} events")
    return raw


def _parse_ids(s: pd.Series, source, column, line_offset: int) -> pd.Series:
    text = s.str.strip()
    ok = text.str.fullmatch(r"\d{1,18}")
    if not ok.all():
        row = _first(~ok)
        raise _bad(source, column, f"{row} (line {row + line_offset})", s[row], "a non-negative integer id")
    return text.astype(np.int64)


def _parse_time(s: pd.Series, fmt: str, source, column, line_offset: int) -> pd.Series:
    text = s.str.strip()
    if fmt in ("taobao", "retailrocket"):
        ok = text.str.fullmatch(r"-?\d{1,16}")
        ts = pd.Series(pd.NaT, index=s.index, dtype="datetime64[ms, UTC]")
        if ok.any():
            unit = "s" if fmt == "taobao" else "ms"
            ts[ok] = pd.to_datetime(text[ok].astype(np.int64), unit=unit, utc=True)
    elif fmt == "rees46":
        ts = pd.to_datetime(text, format="%Y-%m-%d %H:%M:%S UTC", utc=True, errors="coerce")
    else:
        ts = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    bad = ts.isna()
    if bad.any():
        row = _first(bad)
        raise _bad(source, column, f"{row} (line {row + line_offset})", s[row], _TIME_FORMATS[fmt])
    return ts.astype("datetime64[ms, UTC]")


def _parse_price(s: pd.Series, source, column, line_offset: int) -> pd.Series:
    price = pd.to_numeric(s.str.strip(), errors="coerce").astype(np.float64)
    bad = price.isna() & s.notna()
    if bad.any():
        row = _first(bad)
        raise _bad(source, column, f"{row} (line {row + line_offset})", s[row], "a number (or empty when unknown)")
    neg = price < 0
    if neg.any():
        row = _first(neg)
        raise _bad(source, column, f"{row} (line {row + line_offset})", s[row], "a non-negative price")
    return price


def load_events(path: str | Path, fmt: str = "canonical", *, nrows: int | None = None, verbose: bool = True,
                return_report: bool = False):
    """Load an event log into the canonical schema (see ``validate_events``).

    path: a CSV (optionally compressed: ``.csv.gz`` works) in one of ``FORMATS``;
    for ``fmt="canonical"`` a ``.parquet`` file works too.
    fmt: "canonical" (our columns, ISO 8601 UTC times), "rees46" (Kaggle
    "eCommerce behavior data from multi category store": event_time, event_type,
    product_id, category_id, category_code, brand, price, user_id, user_session),
    "taobao" (Tianchi UserBehavior.csv: no header; user_id, item_id,
    category_id, behavior_type in pv/buy/cart/fav, unix seconds) or
    "retailrocket" (events.csv: timestamp in ms, visitorid, event in
    view/addtocart/transaction, itemid, transactionid).
    nrows: read only the first rows (handy for the multi-GB public files).

    Event types map through ``EVENT_MAPS`` (page views become "click"). REES46's
    category is its category_code, or its category_id where the code is empty.
    Rows are dropped only for these documented reasons, each counted in the
    report: a null user or item id, an event type with no canonical
    counterpart (REES46 remove_from_cart), an exact duplicate row. Anything
    else that is wrong (missing or renamed columns, a wrong delimiter, an
    empty file, unparsable timestamps, non-numeric or negative prices, unknown
    event types) raises ``ValueError`` naming the file, the column, the first
    bad row (0-based data row and file line) and what was expected.

    Returns the events sorted by timestamp (stable), with columns
    ``CANONICAL_COLUMNS``: user_id, item_id (int64), event_type (Categorical of
    ``EVENT_TYPES``), timestamp (datetime64[ms, UTC]), price (float64, NaN
    when unknown), category (Categorical of strings, NaN when unknown),
    session_id (string, NA when unknown). Prints the report when ``verbose``;
    returns ``(events, LoadReport)`` when ``return_report``.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {list(FORMATS)}, got {fmt!r}")
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    dropped: dict[str, int] = {}
    if fmt == "canonical" and path.suffix == ".parquet":
        try:
            ev = pd.read_parquet(path)
        except (ValueError, OSError) as err:  # pyarrow: ArrowInvalid (a ValueError) or OSError for other bytes
            raise _unreadable(path, fmt, f"not a Parquet file: {err}") from None
        rows_read = len(ev)
        if rows_read == 0:
            raise ValueError(f"{path}: the file has no rows; expected canonical events")
        ev = _drop_null_ids(ev, "user_id", "item_id", dropped)
        for col in CANONICAL_COLUMNS[4:]:
            if col not in ev.columns:
                ev[col] = np.nan if col == "price" else pd.Series(pd.NA, index=ev.index, dtype="string")
        validate_events(ev, source=str(path))
        ev = ev[list(CANONICAL_COLUMNS)].copy()
        for col in ["user_id", "item_id"]:
            ev[col] = ev[col].astype(np.int64)
        ev["event_type"] = pd.Categorical(ev["event_type"].astype(str), categories=EVENT_TYPES)
        ev["timestamp"] = ev["timestamp"].astype("datetime64[ms, UTC]")
        ev["price"] = ev["price"].astype(np.float64)
    else:
        raw = _read_table(path, fmt, nrows)
        rows_read = len(raw)
        line_offset = 2 if FORMATS[fmt]["header"] else 1
        src = _SOURCE_COLUMNS[fmt]
        if fmt == "canonical":
            missing = [c for c in REQUIRED_COLUMNS if c not in raw.columns]
            if missing:
                raise ValueError(f"{path}: missing column(s) {missing}; found {list(raw.columns)}, "
                                 f"expected at least {list(REQUIRED_COLUMNS)}")
            for col in CANONICAL_COLUMNS[4:]:
                if col not in raw.columns:
                    raw[col] = pd.NA
        raw = _drop_null_ids(raw, src["user_id"], src["item_id"], dropped)
        # event types: unknown ones raise, known-but-unmapped ones are dropped and counted
        mapping = EVENT_MAPS[fmt]
        kind = raw[src["event_type"]].str.strip()
        unknown = ~kind.isin(list(mapping))
        if unknown.any():
            row = _first(unknown)
            raise _bad(path, src["event_type"], f"{row} (line {row + line_offset})", raw.loc[row, src["event_type"]],
                       f"one of {list(mapping)}")
        for name, target in mapping.items():
            if target is None and (kind == name).any():
                dropped[f"{name!r} events (no canonical type)"] = int((kind == name).sum())
        keep = kind.map(mapping).notna()
        raw, kind = raw[keep], kind[keep]
        ev = pd.DataFrame(index=raw.index)
        ev["user_id"] = _parse_ids(raw[src["user_id"]], path, src["user_id"], line_offset)
        ev["item_id"] = _parse_ids(raw[src["item_id"]], path, src["item_id"], line_offset)
        ev["event_type"] = pd.Categorical(kind.map(mapping), categories=EVENT_TYPES)
        ev["timestamp"] = _parse_time(raw[src["timestamp"]], fmt, path, src["timestamp"], line_offset)
        if src["price"] is None:
            ev["price"] = np.nan
        else:
            ev["price"] = _parse_price(raw[src["price"]], path, src["price"], line_offset)
        if src["category"] is None:
            category = pd.Series(np.nan, index=raw.index, dtype=object)
        else:
            category = raw[src["category"]].str.strip()
            if fmt == "rees46":
                category = category.fillna(raw["category_id"].str.strip())
        ev["category"] = pd.Categorical(category)
        session = raw[src["session_id"]] if src["session_id"] else pd.Series(pd.NA, index=raw.index)
        ev["session_id"] = session.astype("string")
    n_before = len(ev)
    ev = ev.drop_duplicates()
    if len(ev) < n_before:
        dropped["exact duplicate rows"] = n_before - len(ev)
    ev = ev.sort_values("timestamp", kind="stable").reset_index(drop=True)
    validate_events(ev, source=str(path))
    counts = ev["event_type"].value_counts(sort=False)
    report = LoadReport(str(path), fmt, rows_read, len(ev), dropped,
                        {k: int(v) for k, v in counts.items() if v})
    if verbose:
        print(report)
    return (ev, report) if return_report else ev


def _drop_null_ids(df: pd.DataFrame, user_col: str, item_col: str, dropped: dict) -> pd.DataFrame:
    """Drop rows with a null user or item id, counting each reason in ``dropped``."""
    null_user = df[user_col].isna()
    null_item = df[item_col].isna() & ~null_user
    if null_user.any():
        dropped[f"null {user_col}"] = int(null_user.sum())
    if null_item.any():
        dropped[f"null {item_col}"] = int(null_item.sum())
    return df[~(null_user | null_item)]


# ---------------------------------------------------------------------------
# The head of the catalogue
# ---------------------------------------------------------------------------


def head_items(impressions: pd.DataFrame, n_items: int, share: float = 0.2) -> np.ndarray:
    """The head of the catalogue: the ``share`` of items with the most clicks.

    impressions: logged impressions (usually the train window) with item_id and
    clicked. Returns the sorted ids of the ``ceil(share * n_items)`` most-clicked
    items (ties broken by the smaller id); every other item is the long tail.
    """
    if not 0.0 < share < 1.0:
        raise ValueError(f"share must be strictly between 0 and 1, got {share}")
    for col in ("item_id", "clicked"):
        if col not in impressions.columns:
            raise ValueError(f"impressions must have a column {col!r}, got {list(impressions.columns)}")
    clicks = np.bincount(
        impressions["item_id"].to_numpy(), weights=impressions["clicked"].to_numpy(), minlength=n_items
    )
    order = np.lexsort((np.arange(n_items), -clicks))
    return np.sort(order[: int(np.ceil(share * n_items))])
