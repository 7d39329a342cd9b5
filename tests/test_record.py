"""course_lib.record: the display payload and its validation; tools/records.py: reading figures back."""

from __future__ import annotations

import json
import math

import nbformat
import numpy as np
import pytest
from conftest import load_tool
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from course_lib.record import MIMETYPE, record

_tool = load_tool("records")
read_records, records_from_notebook = _tool.read_records, _tool.records_from_notebook


@pytest.fixture(scope="module")
def shell():
    """An IPython shell, so display() publishes outputs the way a kernel does."""
    return InteractiveShell.instance()


def _payloads(captured):
    return [out.data for out in captured.outputs]


def test_record_emits_the_mimetype_payload(shell):
    with capture_output() as captured:
        record("nb99.auc", 0.8125)
    [data] = _payloads(captured)
    assert data[MIMETYPE] == {"name": "nb99.auc", "value": 0.8125}
    assert data["text/plain"] == "recorded nb99.auc = 0.8125"
    json.dumps(data)  # the payload must be JSON-serialisable, as nbformat stores it


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [
        (np.float32(0.5), 0.5, float),
        (np.float64(2.25), 2.25, float),
        (np.int64(596_000), 596_000, int),
        (np.array(3.5), 3.5, float),
        (np.bool_(True), True, bool),
        (7, 7, int),
        (False, False, bool),
        ("MMoE", "MMoE", str),
    ],
)
def test_record_converts_numpy_scalars_to_plain_json(shell, value, expected, kind):
    with capture_output() as captured:
        record("nb99.x", value)
    stored = _payloads(captured)[0][MIMETYPE]["value"]
    assert type(stored) is kind and stored == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (math.nan, "finite"),
        (np.inf, "finite"),
        (np.float32("nan"), "finite"),
        (None, "NoneType"),
        ([0.1, 0.2], "list"),
        (np.array([1.0, 2.0]), "ndarray"),
        ({"a": 1}, "dict"),
    ],
)
def test_record_rejects_values_that_are_not_one_finite_scalar(shell, value, message):
    with pytest.raises(ValueError, match=message) as err:
        record("nb99.bad", value)
    assert "nb99.bad" in str(err.value)


@pytest.mark.parametrize("name", ["", "two words", "nb03/auc", 3, None, ".hidden"])
def test_record_rejects_bad_names(shell, name):
    with pytest.raises(ValueError, match="record name"):
        record(name, 1.0)


def _notebook_with_outputs() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("record(...)")
    cell.outputs = [
        nbformat.v4.new_output("stream", name="stdout", text="hello\n"),
        nbformat.v4.new_output("display_data", data={MIMETYPE: {"name": "nb99.a", "value": 1}, "text/plain": "a"}),
        nbformat.v4.new_output("display_data", data={MIMETYPE: {"name": "nb99.b", "value": "x"}, "text/plain": "b"}),
    ]
    later = nbformat.v4.new_code_cell("record again")
    later.outputs = [
        nbformat.v4.new_output("display_data", data={MIMETYPE: {"name": "nb99.a", "value": 2.5}, "text/plain": "a"})
    ]
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 · Test"), cell, later]
    return nb


def test_records_from_notebook_reads_payloads_in_order_later_wins():
    records = records_from_notebook(_notebook_with_outputs())
    assert records == {"nb99.a": 2.5, "nb99.b": "x"}
    assert list(records) == ["nb99.a", "nb99.b"]


def test_read_records_from_an_executed_notebook(tmp_path):
    """End to end: a real kernel runs record(), nbformat saves it, read_records reads it back."""
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("import numpy as np\nfrom course_lib import record"),
        nbformat.v4.new_code_cell('record("nb99.n_rows", np.int64(596_000))\nrecord("nb99.ctr", 12 / 400)'),
        nbformat.v4.new_code_cell('record("nb99.model", "MMoE")'),
    ]
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    path = tmp_path / "99_test.ipynb"
    nbformat.write(nb, path)
    assert read_records(path) == {"nb99.n_rows": 596_000, "nb99.ctr": 0.03, "nb99.model": "MMoE"}


def test_read_records_of_a_notebook_without_outputs_is_empty(tmp_path):
    path = tmp_path / "99_empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), path)
    assert read_records(path) == {}


def test_read_records_says_what_is_wrong_with_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_records(tmp_path / "missing.ipynb")
    with pytest.raises(ValueError, match=r"expected a \.ipynb"):
        read_records(tmp_path / "notes.txt")
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    with pytest.raises(ValueError, match="not valid notebook JSON"):
        read_records(broken)


def test_welcome_notebook_records_the_shops_sizes(repo_root):
    """The committed 00_welcome records figures that match the shipped shop."""
    from course_lib.data import load_shop

    records = read_records(repo_root / "notebooks" / "00_welcome.ipynb")
    shop = load_shop()
    assert records["nb00.n_impressions"] == len(shop.impressions)
    assert records["nb00.n_users"] == len(shop.users)
    assert records["nb00.n_items"] == len(shop.items)
    assert records["nb00.ctr"] == pytest.approx(shop.impressions["clicked"].mean(), rel=1e-9)
