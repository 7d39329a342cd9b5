"""The course's tooling: executing notebooks, the benchmark, and the one list of versions."""

from __future__ import annotations

import re
import subprocess
import sys
import time

import nbformat
import pytest
from conftest import ROOT, load_tool
from packaging.requirements import Requirement

bench = load_tool("bench")
execute = load_tool("execute")


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell("# 99 · Test")] + [nbformat.v4.new_code_cell(s) for s in sources]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    return nb


# ---- tools/execute.py ------------------------------------------------------------


def test_find_notebooks_sorts_folders_and_keeps_the_given_order(tmp_path):
    for name in ("02_b.ipynb", "01_a.ipynb", "10_c.ipynb"):
        nbformat.write(_notebook("1"), tmp_path / name)
    assert [p.name for p in execute.find_notebooks([tmp_path])] == ["01_a.ipynb", "02_b.ipynb", "10_c.ipynb"]
    given = [tmp_path / "10_c.ipynb", tmp_path / "01_a.ipynb"]
    assert execute.find_notebooks(given) == given
    with pytest.raises(ValueError, match="expected a notebook"):
        execute.find_notebooks([tmp_path / "notes.txt"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no notebooks found"):
        execute.find_notebooks([empty])


def test_strip_volatile_renumbers_and_drops_run_specific_metadata():
    nb = _notebook("a = 1", "", "a")
    nb.cells[1].execution_count = 7
    nb.cells[1].metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    nb.cells[3].execution_count = 9
    nb.cells[3].outputs = [nbformat.v4.new_output("execute_result", data={"text/plain": "1"}, execution_count=9)]
    nb.metadata["language_info"] = {"name": "python", "version": "3.11.7"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {"x": "y" * 300_000}}}
    execute.strip_volatile(nb)
    assert [c.get("execution_count") for c in nb.cells[1:]] == [1, None, 2]
    assert nb.cells[3].outputs[0]["execution_count"] == 2
    assert "execution" not in nb.cells[1].metadata
    assert nb.metadata["language_info"] == {"name": "python", "version": "3.11.7"}  # kept: JupyterLab saves it
    assert "widgets" not in nb.metadata
    assert nb.metadata["kernelspec"] == execute.KERNELSPEC
    assert execute.KERNELSPEC == {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def test_run_notebook_runs_in_the_notebooks_folder(tmp_path):
    path = tmp_path / "99_cwd.ipynb"
    nbformat.write(_notebook("import os\nprint(os.getcwd())"), path)
    seen = []
    nb = execute.run_notebook(path, timeout=60, on_kernel_start=seen.append)
    assert nb.cells[1].outputs[0]["text"].strip() == str(tmp_path.resolve())
    assert len(seen) == 1 and isinstance(seen[0], int)


def test_a_failing_cell_fails_loudly_and_leaves_the_file_alone(tmp_path):
    path = tmp_path / "99_fail.ipynb"
    nbformat.write(_notebook("x = 1", "raise ValueError('boom')", "print('never')"), path)
    before = path.read_bytes()
    with pytest.raises(execute.NotebookError, match=r"cell 2 \(\"raise ValueError\('boom'\)\"\) failed") as err:
        execute.run_notebook(path, timeout=60)
    assert "ValueError" in str(err.value)
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "execute.py"), str(path)], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1
    assert "FAILED" in result.stderr and "boom" in result.stderr
    assert path.read_bytes() == before


# ---- tools/bench.py --------------------------------------------------------------


def test_kernel_monitor_sees_memory_of_the_process_tree():
    """A child that holds 300 MB: the monitor's peak covers it and its CPU time is counted."""
    code = "import time\nb = bytearray(300_000_000)\nfor i in range(0, len(b), 4096): b[i] = 1\ntime.sleep(1.5)"
    proc = subprocess.Popen([sys.executable, "-c", code])
    monitor = bench.KernelMonitor(interval=0.05)
    monitor.start(proc.pid)
    proc.wait(timeout=60)
    time.sleep(0.1)
    monitor.stop()
    assert 0.3e9 <= monitor.peak_rss <= 0.5e9, monitor.peak_rss
    assert monitor.cpu_seconds > 0


def test_bench_table_goes_between_the_readme_markers():
    text = f"intro\n{bench.START}\nold table\n{bench.END}\noutro\n"
    new = bench.replace_between_markers(text, "| new |")
    assert new == f"intro\n{bench.START}\n| new |\n{bench.END}\noutro\n"
    with pytest.raises(ValueError, match="markers"):
        bench.replace_between_markers("no markers here", "| new |")


def test_bench_markdown_shows_budgets_and_flags_overruns():
    row = {"notebook": "03_x.ipynb", "status": "ok", "wall_s": 130.0, "cpu_s": 200.0, "peak_rss_gb": 1.2}
    results = {
        "date": "today",
        "machine": {"cpus_usable": 2, "processor": "x86_64", "memory_gb": 8.0, "python": "3.12.1",
                    "packages": {"tensorflow": "2.21.0"}, "load_average_at_start": [0.1, 0.1, 0.1]},
        "notebooks": [dict(row, within_budget=False)],
        "total": {"wall_s": 130.0, "cpu_s": 200.0, "max_peak_rss_gb": 1.2, "within_budget": True},
    }  # fmt: skip
    table = bench.markdown(results)
    assert "budget 60)" in table and "budget 1.5" in table and "budget 480" in table
    assert "| 03_x.ipynb | 130.0 | 200.0 | 1.20 | ❌ |" in table
    assert "on 2 CPU cores" in table


def test_readme_has_the_bench_markers():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.count(bench.START) == 1 and text.count(bench.END) == 1


# ---- one list of versions ---------------------------------------------------------


def _requirements() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line.split("#")[0]) for line in lines if line.split("#")[0].strip()]


def test_requirements_pin_every_package_exactly_once_per_python():
    reqs = _requirements()
    for req in reqs:
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", f"{req} is not an exact pin"
    for python in ("3.10", "3.11", "3.12", "3.13"):
        env = {"python_version": python, "python_full_version": f"{python}.0"}
        active = [r.name for r in reqs if r.marker is None or r.marker.evaluate(env)]
        assert len(active) == len(set(active)), f"Python {python}: a package is pinned twice: {sorted(active)}"
        assert {"tensorflow", "keras", "numpy", "pandas", "pymoo", "nbval", "ruff"} <= set(active), python


def test_every_dependency_of_course_lib_is_pinned():
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = project["dependencies"] + project.get("optional-dependencies", {}).get("tf", [])
    pinned = {r.name.lower().replace("_", "-") for r in _requirements()}
    for dep in wanted:
        name = Requirement(dep).name.lower().replace("_", "-")
        assert name in pinned, f"pyproject.toml depends on {name}, which requirements.txt does not pin"


def test_binder_installs_the_same_list_through_pip():
    text = (ROOT / "environment.yml").read_text()
    body = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    deps = body[body.index("dependencies:") + 1 :]
    assert deps == ["- python=3.12", "- pip", "- pip:", "- -r requirements.txt", "- -e ."], deps


def test_makefile_has_the_documented_targets():
    text = (ROOT / "Makefile").read_text()
    for target in ("setup", "lab", "test", "notebooks", "bench", "lint", "clean"):
        assert re.search(rf"^{target}:", text, flags=re.M), f"Makefile lacks the target {target}"
    assert "PYTHON ?= python3" in text
    ci = (ROOT / ".ci" / "run").read_text()
    assert [line for line in ci.splitlines() if line and not line.startswith("#")][-1] == "exec make test"
