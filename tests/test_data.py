"""Tests of course_lib.events (loaders on real-format fixtures, bad input), course_lib.data (splits, checksums) and of
the data tools."""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import load_tool
from make_shop import generate

from course_lib import data, events

samples = load_tool("samples")
download = load_tool("download").download

FIXTURES = Path(__file__).parent / "fixtures"
FILES = {
    "canonical": FIXTURES / "canonical_events.csv",
    "rees46": FIXTURES / "rees46_events.csv",
    "taobao": FIXTURES / "taobao_UserBehavior.csv",
    "retailrocket": FIXTURES / "retailrocket_events.csv",
}


@pytest.fixture(scope="module")
def small_shop():
    return generate(n_users=300, n_items=200, n_days=10, seed=3)


@pytest.fixture(scope="module")
def shipped():
    return data.load_shop()


# ---------------------------------------------------------------------------
# Loaders on good fixtures (hand-checked values)
# ---------------------------------------------------------------------------


def test_rees46_fixture():
    ev, report = events.load_events(FILES["rees46"], "rees46", return_report=True, verbose=False)
    assert list(ev.columns) == list(events.CANONICAL_COLUMNS)
    # 12 rows: one null user_id, one remove_from_cart and one exact duplicate are dropped.
    assert (report.rows_read, report.rows_kept) == (12, 9)
    assert report.dropped == {"null user_id": 1, "'remove_from_cart' events (no canonical type)": 1,
                              "exact duplicate rows": 1}
    assert report.event_counts == {"click": 6, "cart": 2, "purchase": 1}
    first = ev.iloc[0]
    assert (first.user_id, first.item_id, first.event_type) == (512474306, 1004856, "click")
    assert first.timestamp == pd.Timestamp("2019-10-01 08:12:05", tz="UTC")
    assert first.price == pytest.approx(130.76)
    assert first.category == "electronics.smartphone"
    assert first.session_id == "3b1a7d4e-52c0-4f2a-9d7e-0c9b8a4f1e21"
    # An empty category_code falls back to the numeric category_id; an empty session is NA.
    michelin = ev[ev.item_id == 12708937]
    assert set(michelin.category) == {"2053013553559896355"}
    assert pd.isna(ev.loc[ev.item_id == 1801995, "session_id"]).all()
    assert ev.loc[ev.item_id == 3601489, "price"].item() == 0.0  # a zero price is allowed
    assert ev["timestamp"].is_monotonic_increasing
    assert str(ev["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert ev["user_id"].dtype == np.int64 and ev["item_id"].dtype == np.int64


def test_taobao_fixture():
    ev, report = events.load_events(FILES["taobao"], "taobao", return_report=True, verbose=False)
    assert (report.rows_read, report.rows_kept) == (10, 9)
    assert report.dropped == {"exact duplicate rows": 1}
    assert report.event_counts == {"click": 5, "cart": 2, "purchase": 1, "favourite": 1}
    assert ev.iloc[0].timestamp == pd.Timestamp(1511544070, unit="s", tz="UTC")
    assert ev.iloc[0].category == "2520377"
    assert ev["price"].isna().all() and ev["session_id"].isna().all()
    assert list(ev.loc[ev.item_id == 2576651, "event_type"]) == ["favourite", "cart", "purchase"]


def test_retailrocket_fixture():
    ev, report = events.load_events(FILES["retailrocket"], "retailrocket", return_report=True, verbose=False)
    assert (report.rows_read, report.rows_kept) == (9, 8)
    assert report.event_counts == {"click": 6, "cart": 1, "purchase": 1}
    # Sorted by time: the file's 9th row is the earliest event.
    assert ev.iloc[0].user_id == 1150086
    assert ev.iloc[0].timestamp == pd.Timestamp(1433193500981, unit="ms", tz="UTC")
    buy = ev[ev.event_type == "purchase"].iloc[0]
    assert (buy.user_id, buy.item_id) == (111016, 318965)


def test_canonical_fixture_and_timestamps():
    ev = events.load_events(FILES["canonical"], "canonical", verbose=False)
    assert len(ev) == 8
    assert ev.iloc[2].timestamp == pd.Timestamp("2025-10-01T18:30:12.250Z")
    assert ev.loc[5, "timestamp"] == pd.Timestamp("2025-10-02 09:00:00", tz="UTC")
    assert np.isnan(ev.iloc[7].price) and pd.isna(ev.iloc[7].category)
    assert ev["event_type"].value_counts()["favourite"] == 1


def test_report_is_printed(capsys):
    events.load_events(FILES["taobao"], "taobao")
    out = capsys.readouterr().out
    assert "read 10 rows" in out and "1 exact duplicate rows" in out


def test_canonical_round_trip_of_the_shop_events(tmp_path, small_shop):
    log = small_shop.events.head(500)
    path = tmp_path / "events.csv"
    log.to_csv(path, index=False)
    back = events.load_events(path, "canonical", verbose=False)
    assert len(back) == len(log.drop_duplicates())
    np.testing.assert_array_equal(back["user_id"], log["user_id"])
    np.testing.assert_array_equal(back["item_id"], log["item_id"])
    np.testing.assert_array_equal(back["event_type"].astype(str), log["event_type"].astype(str))
    np.testing.assert_array_equal(back["timestamp"], log["timestamp"])
    np.testing.assert_allclose(back["price"], log["price"])
    assert list(back["category"].astype(str)) == list(log["category"].astype(str))
    np.testing.assert_array_equal(back["session_id"].astype(int), log["session_id"])


def test_compressed_file_and_nrows(tmp_path):
    gz = tmp_path / "events.csv.gz"
    gz.write_bytes(gzip.compress(FILES["rees46"].read_bytes()))
    assert len(events.load_events(gz, "rees46", verbose=False)) == 9
    assert len(events.load_events(gz, "rees46", nrows=3, verbose=False)) == 3


def test_shipped_rees46_sample_verifies_and_loads():
    data.verify_checksums(events.SAMPLES_PATH, regenerate=events.REGENERATE_SAMPLES)
    ev, report = events.load_events(events.REES46_SAMPLE, "rees46", return_report=True, verbose=False)
    assert 5_000 <= report.rows_read <= 20_000 and events.REES46_SAMPLE.stat().st_size < 500_000
    assert (report.rows_read, report.dropped) == (14_710, {"exact duplicate rows": 76})  # as the data card says
    assert set(ev["event_type"].unique()) == {"click", "cart", "purchase"}


def test_shipped_rees46_sample_regenerates(shipped):
    frame = samples.shop_to_rees46(shipped)
    text = frame.to_csv(index=False, float_format="%.2f")
    with gzip.open(events.REES46_SAMPLE, "rt") as f:
        assert f.read() == text


# ---------------------------------------------------------------------------
# Bad input: every case, every loader it applies to
# ---------------------------------------------------------------------------


def _write(tmp_path: Path, fmt: str, text: str) -> Path:
    path = tmp_path / f"bad_{fmt}.csv"
    path.write_text(text)
    return path


def _lines(fmt: str) -> list[str]:
    return FILES[fmt].read_text().splitlines()


def _with_field(fmt: str, line_no: int, column: str, value: str) -> str:
    """The fixture with one field replaced (line_no is 1-based in the file)."""
    lines = _lines(fmt)
    columns = events.FORMATS[fmt]["columns"]
    fields = lines[line_no - 1].split(",")
    fields[columns.index(column)] = value
    lines[line_no - 1] = ",".join(fields)
    return "\n".join(lines) + "\n"


def _expect(path: Path, fmt: str, *fragments: str) -> str:
    with pytest.raises(ValueError) as err:
        events.load_events(path, fmt, verbose=False)
    msg = str(err.value)
    assert path.name in msg, msg
    for fragment in fragments:
        assert fragment in msg, f"{fragment!r} not in: {msg}"
    return msg


HEADER_FORMATS = ["canonical", "rees46", "retailrocket"]
TIME_COLUMN = {"canonical": "timestamp", "rees46": "event_time", "taobao": "timestamp", "retailrocket": "timestamp"}
EVENT_COLUMN = {"canonical": "event_type", "rees46": "event_type", "taobao": "behavior_type", "retailrocket": "event"}
USER_COLUMN = {"canonical": "user_id", "rees46": "user_id", "taobao": "user_id", "retailrocket": "visitorid"}


@pytest.mark.parametrize("fmt", HEADER_FORMATS)
def test_missing_column(tmp_path, fmt):
    column = TIME_COLUMN[fmt]
    df = pd.read_csv(FILES[fmt], dtype=str, keep_default_na=False).drop(columns=column)
    path = tmp_path / "missing.csv"
    df.to_csv(path, index=False)
    _expect(path, fmt, "missing column", column, "expected")


@pytest.mark.parametrize("fmt", HEADER_FORMATS)
def test_renamed_column(tmp_path, fmt):
    column = USER_COLUMN[fmt]
    lines = _lines(fmt)
    lines[0] = lines[0].replace(column, "customer")
    _expect(_write(tmp_path, fmt, "\n".join(lines) + "\n"), fmt, "missing column", column, "customer")


def test_taobao_missing_field_and_header_row(tmp_path):
    short = "\n".join(",".join(line.split(",")[:4]) for line in _lines("taobao")) + "\n"
    _expect(_write(tmp_path, "taobao", short), "taobao", "expected 5 comma-separated fields", "found 4")
    with_header = "user_id,item_id,category_id,behavior_type,timestamp\n" + FILES["taobao"].read_text()
    _expect(_write(tmp_path, "taobao", with_header), "taobao", "line 1 looks like a header row", "has none")
    bad_user = _with_field("taobao", 1, "user_id", "u-17")
    _expect(_write(tmp_path, "taobao", bad_user), "taobao", "'user_id'", "first bad row 0 (line 1)", "'u-17'",
            "non-negative integer id")


@pytest.mark.parametrize("fmt", list(FILES))
def test_unparsable_timestamp(tmp_path, fmt):
    has_header = events.FORMATS[fmt]["header"]
    line = 4 if has_header else 3  # the third data row
    path = _write(tmp_path, fmt, _with_field(fmt, line, TIME_COLUMN[fmt], "yesterday"))
    _expect(path, fmt, f"column {TIME_COLUMN[fmt]!r}", f"first bad row 2 (line {line})", "'yesterday'", "expected")


def test_rees46_timestamp_without_utc_suffix(tmp_path):
    path = _write(tmp_path, "rees46", _with_field("rees46", 2, "event_time", "2019-10-01 08:12:05"))
    _expect(path, "rees46", "'event_time'", "first bad row 0 (line 2)", "UTC")


@pytest.mark.parametrize("fmt, column", [("rees46", "price"), ("canonical", "price")])
def test_negative_price(tmp_path, fmt, column):
    path = _write(tmp_path, fmt, _with_field(fmt, 3, column, "-4.50"))
    _expect(path, fmt, f"column {column!r}", "first bad row 1 (line 3)", "'-4.50'", "non-negative price")


def test_non_numeric_price(tmp_path):
    path = _write(tmp_path, "rees46", _with_field("rees46", 5, "price", "12.99 EUR"))
    _expect(path, "rees46", "'price'", "first bad row 3 (line 5)", "a number")


@pytest.mark.parametrize("fmt", list(FILES))
def test_unknown_event_type(tmp_path, fmt):
    has_header = events.FORMATS[fmt]["header"]
    line = 3 if has_header else 2  # the second data row
    path = _write(tmp_path, fmt, _with_field(fmt, line, EVENT_COLUMN[fmt], "wishlist"))
    _expect(path, fmt, f"column {EVENT_COLUMN[fmt]!r}", f"first bad row 1 (line {line})", "'wishlist'",
            str(list(events.EVENT_MAPS[fmt])))


@pytest.mark.parametrize("fmt", list(FILES))
def test_empty_file(tmp_path, fmt):
    _expect(_write(tmp_path, fmt, ""), fmt, "empty", "expected")


@pytest.mark.parametrize("fmt", HEADER_FORMATS)
def test_header_only(tmp_path, fmt):
    _expect(_write(tmp_path, fmt, _lines(fmt)[0] + "\n"), fmt, "no data rows")


@pytest.mark.parametrize("fmt", list(FILES))
@pytest.mark.parametrize("sep", [";", "\t"])
def test_wrong_delimiter(tmp_path, fmt, sep):
    text = FILES[fmt].read_text().replace(",", sep)
    _expect(_write(tmp_path, fmt, text), fmt, f"seems to use {sep!r} as its delimiter", "expected ','")


def test_bad_id(tmp_path):
    path = _write(tmp_path, "retailrocket", _with_field("retailrocket", 6, "itemid", "abc"))
    _expect(path, "retailrocket", "'itemid'", "first bad row 4 (line 6)", "integer id")


def test_unknown_format_and_missing_file(tmp_path):
    with pytest.raises(ValueError, match="fmt must be one of"):
        events.load_events(FILES["rees46"], "kaggle")
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        events.load_events(tmp_path / "nope.csv", "rees46")


# ---------------------------------------------------------------------------
# Time splits and the impression table
# ---------------------------------------------------------------------------


def test_split_by_time_no_leakage(shipped):
    imp = shipped.impressions
    parts = data.split_by_time(imp)
    assert list(parts) == ["train", "valid", "test"]
    assert sum(len(p) for p in parts.values()) == len(imp)
    names = list(parts)
    for earlier, later in zip(names[:-1], names[1:], strict=True):
        assert parts[earlier]["timestamp"].max() < parts[later]["timestamp"].min()
        assert parts[earlier]["day"].max() < parts[later]["day"].min()
    for name, (start, end) in data.WINDOWS.items():
        assert parts[name]["day"].between(start, end - 1).all()
    # The same on the event log with timestamp windows.
    t0 = pd.Timestamp(shipped.params["start_date"], tz="UTC")
    windows = {name: (t0 + pd.Timedelta(days=a), t0 + pd.Timedelta(days=b)) for name, (a, b) in data.WINDOWS.items()}
    ev_parts = data.split_by_time(shipped.events, windows, day_col="timestamp")
    assert ev_parts["train"]["timestamp"].max() < ev_parts["valid"]["timestamp"].min()
    assert ev_parts["valid"]["timestamp"].max() < ev_parts["test"]["timestamp"].min()


def test_split_by_time_bad_windows():
    df = pd.DataFrame({"day": [0, 1, 2, 3]})
    with pytest.raises(ValueError, match="'valid' starts at 1 before 'train' ends at 2"):
        data.split_by_time(df, {"train": (0, 2), "valid": (1, 3)})
    with pytest.raises(ValueError, match="start < end"):
        data.split_by_time(df, {"train": (2, 2)})
    with pytest.raises(ValueError, match="column 'date' not found"):
        data.split_by_time(df, day_col="date")
    parts = data.split_by_time(df, {"a": (0, 1), "b": (3, 9)})
    assert list(parts["a"]["day"]) == [0] and list(parts["b"]["day"]) == [3]  # days 1-2 fall in no window


def test_impression_table(shipped):
    table = data.impression_table(shipped, with_truth=True)
    imp = shipped.impressions
    assert len(table) == len(imp)
    for col in ["impression_id", "request_id", "user_id", "item_id", "timestamp", "propensity", "position",
                "clicked", "carted", "purchased", "segment", "region", "device", "signup_day", "category", "brand",
                "price", "margin_rate", "launch_day", "window", "true_p_click"]:
        assert col in table.columns, col
    np.testing.assert_array_equal(table["clicked"], imp["clicked"])
    # Features agree with an independent merge.
    sample = imp.sample(2000, random_state=0)
    merged = sample.merge(shipped.users, on="user_id").merge(shipped.items, on="item_id").set_index("impression_id")
    mine = table.set_index("impression_id").loc[merged.index]
    for col in ["segment", "device", "signup_day", "category", "brand", "price", "margin_rate", "launch_day"]:
        np.testing.assert_array_equal(mine[col].astype(str), merged[col].astype(str))
    np.testing.assert_allclose(mine["true_p_click"], shipped.truth.set_index("impression_id").loc[merged.index,
                                                                                                  "p_click"])
    expected_window = np.select([imp["day"] < 21, imp["day"] < 25], ["train", "valid"], "test")
    np.testing.assert_array_equal(table["window"].astype(str), expected_window)
    assert (table["purchased"] <= table["carted"]).all() and (table["carted"] <= table["clicked"]).all()


# ---------------------------------------------------------------------------
# Checksums and downloads
# ---------------------------------------------------------------------------


def test_checksum_mismatch_names_file_and_command(tmp_path):
    copy = tmp_path / "shop"
    shutil.copytree(data.SHOP_PATH, copy)
    path = copy / "items.parquet"
    raw = bytearray(path.read_bytes())
    raw[-20] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError) as err:
        data.load_shop(copy)
    assert "items.parquet" in str(err.value) and data.REGENERATE in str(err.value)
    shutil.copy(data.SHOP_PATH / "items.parquet", path)
    data.verify_checksums(copy)  # restored: passes again
    (copy / "users.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="users.parquet"):
        data.verify_checksums(copy)


def test_regenerate_commands_name_existing_tools():
    """The commands the checksum errors print run tools/ scripts with options those scripts define."""
    for command in (data.REGENERATE, events.REGENERATE_SAMPLES):
        python, script, *args = command.split()
        path = Path(__file__).resolve().parent.parent / script
        assert python == "python" and path.is_file(), command
        source = path.read_text()
        assert all(f'"{a}"' in source for a in args if a.startswith("--")), command


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_verifies(tmp_path, capsys):
    src = FILES["taobao"]
    dest = tmp_path / "dl" / "UserBehavior.csv"
    assert download(src.as_uri(), dest, _sha(src)) == dest
    assert dest.read_bytes() == src.read_bytes()
    assert data._sha256_of(dest) == _sha(src)
    download(src.as_uri(), dest, _sha(src))  # already there: nothing downloaded
    assert "already here and verified" in capsys.readouterr().out


def test_download_checksum_mismatch_leaves_no_file(tmp_path):
    src = FILES["rees46"]
    dest = tmp_path / "rees46.csv"
    with pytest.raises(ValueError) as err:
        download(src.as_uri(), dest, "0" * 64)
    assert "rees46.csv" in str(err.value) and _sha(src) in str(err.value)
    assert list(tmp_path.iterdir()) == []  # neither the file nor a .part left behind
    with pytest.raises(ValueError, match="64 hex digits"):
        download(src.as_uri(), dest, "abc")
    with pytest.raises(ValueError, match="https://"):
        download("ftp://example.org/x.csv", dest, "0" * 64)
    dest.write_text("something else")
    with pytest.raises(ValueError, match="already exists with a different SHA-256"):
        download(src.as_uri(), dest, _sha(src))


# ---- files that are not UTF-8 text CSV: the error names the file and what was expected ----


def _not_text(tmp_path, name: str, payload: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(payload)
    return path


def test_binary_file_is_named_not_utf8(tmp_path):
    path = _not_text(tmp_path, "events.csv", bytes(range(256)) * 8)
    _expect(path, "rees46", "not UTF-8 text", "expected a UTF-8 text rees46 CSV")


def test_latin1_text_says_resave_as_utf8(tmp_path):
    text = FILES["rees46"].read_text().replace("electronics", "électronique")
    path = _not_text(tmp_path, "events.csv", text.encode("latin-1"))
    _expect(path, "rees46", "not UTF-8 text", "re-save it as UTF-8")


@pytest.mark.parametrize("kind", ["zip", "gz"])
def test_compressed_file_with_a_csv_name(tmp_path, kind):
    import gzip
    import zipfile

    if kind == "zip":
        path = tmp_path / "events.csv"
        with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("events.csv", FILES["rees46"].read_text())
        _expect(path, "rees46", "is a zip archive, not CSV text", "rename it to end in .csv.zip")
    else:
        path = _not_text(tmp_path, "events.csv", gzip.compress(FILES["rees46"].read_bytes()))
        _expect(path, "rees46", "is gzip-compressed, not CSV text", "rename it to end in .csv.gz")


def test_gz_name_on_zip_content(tmp_path):
    import zipfile

    path = tmp_path / "events.csv.gz"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("events.csv", FILES["rees46"].read_text())
    _expect(path, "rees46", "is a zip archive", "its name ends in '.gz'", "rename it to end in .zip")


def test_utf16_text(tmp_path):
    path = _not_text(tmp_path, "events.csv", FILES["rees46"].read_text().encode("utf-16"))
    _expect(path, "rees46", "UTF-16 text", "re-save it as UTF-8")


def test_parquet_file_says_write_csv_first(tmp_path, small_shop):
    for name in ["events.parquet", "events.csv"]:
        small_shop.events.head(20).to_parquet(tmp_path / name, index=False)
        _expect(tmp_path / name, "canonical", "is a Parquet file, not CSV text", "pd.read_parquet(path).to_csv",
                "expected a UTF-8 text canonical CSV")


def test_plain_text_with_a_gz_name(tmp_path):
    path = _not_text(tmp_path, "events.csv.gz", FILES["rees46"].read_bytes())
    _expect(path, "rees46", "its name ends in '.gz' but it is not .gz data", "rename it to end in .csv")
