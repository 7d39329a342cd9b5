"""The committed notebooks are executed, error-free, and their headers follow the course's form.

nbval (``make test``) re-runs every notebook and compares the cells marked
``# NBVAL_CHECK_OUTPUT`` with their stored outputs. It silently checks nothing when a
marked cell has no stored output, and happily compares against a stored error; these
tests close those gaps, so they read the files only and run nothing.
"""

from __future__ import annotations

import json
import re

import nbformat
import pytest
from conftest import NOTEBOOKS, load_tool

from course_lib.record import MIMETYPE

sync_headers = load_tool("sync_headers")

PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))
CHECK_MARK = "# NBVAL_CHECK_OUTPUT"
CHECK_TAG = "nbval-check-output"  # the cell tag (CONTRIBUTING.md): out of the learner's sight
execute = load_tool("execute")
KERNELSPEC = execute.KERNELSPEC  # what JupyterLab writes on save: opening and saving changes nothing


def _read(path):
    return nbformat.read(path, as_version=4)


def _code_cells(nb):
    return [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.source.strip()]


def test_the_course_has_its_welcome_notebook():
    names = [p.name for p in PATHS]
    assert "00_welcome.ipynb" in names, f"notebooks/00_welcome.ipynb is missing (found {names})"
    numbers = [n.split("_", 1)[0] for n in names]  # 03a, 03b and 03c are parts of 03
    assert len(numbers) == len(set(numbers)), f"two notebooks share a number: {names}"


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
class TestStoredNotebook:
    def test_is_valid_nbformat_4_with_python3_kernel(self, path):
        nb = _read(path)
        nbformat.validate(nb)
        assert nb.nbformat == 4
        assert dict(nb.metadata.get("kernelspec", {})) == KERNELSPEC, (
            f"{path.name}: kernelspec must be {KERNELSPEC}, got {dict(nb.metadata.get('kernelspec', {}))}: "
            "re-execute it with python tools/execute.py"
        )
        lang = nb.metadata.get("language_info", {})
        assert lang.get("name") == "python" and re.fullmatch(r"3\.\d+\.\d+", str(lang.get("version"))), (
            f"{path.name}: language_info must be the kernel's, with its Python version (as JupyterLab saves it), "
            f"got {dict(lang)}: re-execute it with python tools/execute.py"
        )

    def test_every_code_cell_was_executed_in_order(self, path):
        nb = _read(path)
        counts = []
        for i, cell in _code_cells(nb):
            assert cell.execution_count is not None, (
                f"{path.name}: code cell {i} ({cell.source.splitlines()[0][:60]!r}) has no execution count: "
                "commit notebooks executed (python tools/execute.py notebooks/...)"
            )
            counts.append(cell.execution_count)
        assert counts == sorted(counts) and len(set(counts)) == len(counts), (
            f"{path.name}: execution counts {counts} are not increasing: run the notebook top to bottom "
            "in a fresh kernel (tools/execute.py does)"
        )

    def test_no_stored_errors(self, path):
        nb = _read(path)
        for i, cell in _code_cells(nb):
            for out in cell.get("outputs", []):
                assert out.output_type != "error", (
                    f"{path.name}: cell {i} stores an error ({out.get('ename')}: {out.get('evalue')})"
                )
                if out.output_type == "stream" and out.name == "stderr":
                    assert "Traceback (most recent call last)" not in out.text, (
                        f"{path.name}: cell {i} stores a traceback on stderr"
                    )

    def test_checked_cells_have_stored_outputs(self, path):
        nb = _read(path)
        for i, cell in _code_cells(nb):
            assert CHECK_MARK not in cell.source, (
                f"{path.name}: cell {i}: use the cell tag {CHECK_TAG!r} instead of the comment {CHECK_MARK}"
            )
            if CHECK_TAG not in cell.metadata.get("tags", []):
                continue
            shown = [
                o for o in cell.get("outputs", []) if o.output_type in ("stream", "execute_result", "display_data")
            ]
            assert shown, (
                f"{path.name}: cell {i} is tagged {CHECK_TAG} but has no stored output, so nbval checks nothing"
            )
            for out in shown:
                if out.output_type == "stream":
                    continue
                assert MIMETYPE not in out.get("data", {}), (
                    f"{path.name}: cell {i}: call record() in an unmarked cell (course convention: recorded figures may vary)"
                )

    def test_header_badges_and_install_block_are_in_sync(self, path):
        nb = _read(path)
        config = sync_headers.course_config()
        changes = sync_headers.sync_notebook(nb, path.name, config)
        assert not changes, f"{path.name}: {', '.join(changes)} out of date: run python tools/sync_headers.py"

    def test_header_names_the_notebook(self, path):
        nb = _read(path)
        title = nb.cells[0].source.lstrip().splitlines()[0]
        assert re.match(rf"^# {path.name.split('_')[0]} · \S", title), (
            f"{path.name}: the header should start with '# {path.name.split('_')[0]} · Title', got {title!r}"
        )

    def test_records_are_well_formed(self, path):
        nb = json.loads(path.read_text(encoding="utf-8"))
        names = []
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                payload = out.get("data", {}).get(MIMETYPE)
                if payload is not None:
                    assert set(payload) == {"name", "value"}, payload
                    assert payload["name"].startswith(f"nb{path.name.split('_')[0]}."), (
                        f"{path.name}: record names start with 'nb{path.name.split('_')[0]}.', got {payload['name']!r}"
                    )
                    names.append(payload["name"])
        assert len(names) == len(set(names)), f"{path.name}: a figure is recorded twice: {names}"


def test_repository_address_is_written_once():
    """README.md, CITATION.cff and pyproject's [project.urls] agree with [tool.course]."""
    config = sync_headers.course_config()
    root = NOTEBOOKS.parent
    for name in ("README.md", "CITATION.cff", "pyproject.toml"):
        path = root / name
        if path.exists():
            old, new = sync_headers.sync_text_file(path, config)
            assert old == new, f"{name}: the repository address is out of date: run python tools/sync_headers.py"


def test_sync_headers_rewrites_a_stale_header():
    """The tool really rewrites what drifted (so the sync test above can fail)."""
    config = {"repository": "https://github.com/someone/else", "branch": "main"}
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(
            "# 09 · Test\n\n"
            + sync_headers.badges_line("09_test.ipynb", {"repository": "https://github.com/old/repo", "branch": "main"})
            + "\n\nbody"
        ),
        nbformat.v4.new_code_cell(
            sync_headers.INSTALL_START + "\nimport sys\nold stuff\n" + sync_headers.INSTALL_END + "\nimport course_lib"
        ),
    ]
    changes = sync_headers.sync_notebook(nb, "09_test.ipynb", config)
    assert changes == ["badges line", "install block"]
    assert "github/someone/else/blob/main/notebooks/09_test.ipynb" in nb.cells[0].source
    assert "mybinder.org/v2/gh/someone/else/main?labpath=notebooks%2F09_test.ipynb" in nb.cells[0].source
    assert nb.cells[0].source.endswith("body")
    assert 'REPO = "https://github.com/someone/else"' in nb.cells[1].source
    assert nb.cells[1].source.endswith(sync_headers.INSTALL_END + "\nimport course_lib")
    assert sync_headers.sync_notebook(nb, "09_test.ipynb", config) == []


def test_sync_headers_refuses_a_cell_without_markers():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 09 · Test"), nbformat.v4.new_code_cell("import course_lib")]
    with pytest.raises(ValueError, match="install markers"):
        sync_headers.sync_notebook(nb, "09_test.ipynb", sync_headers.course_config())
