"""Execute course notebooks in place, each in a fresh kernel, and store their outputs.

Usage::

    python tools/execute.py notebooks/                 # every notebook, sorted by name
    python tools/execute.py notebooks/03_*.ipynb       # some, in the order given

Each notebook runs in a fresh ``python3`` kernel with its own folder as the working
directory, as a learner runs it. Outputs are written back and volatile metadata is
stripped (execution timestamps, execution counts renumbered), so re-running an unchanged
notebook gives a minimal diff. The notebook metadata is what JupyterLab itself writes when
a learner opens and saves the notebook (``KERNELSPEC``, the kernel's ``language_info``
with its Python version, the saved widget state), so saving it in JupyterLab changes nothing. A cell that raises stops
everything with a non-zero exit status naming the notebook and the cell; the notebook
on disk is then left as it was.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

#: Seconds one cell may run before the execution is declared stuck.
CELL_TIMEOUT = 900
#: Kernel every notebook declares (see tests/test_notebooks_stored.py): ipykernel's own
#: ``python3`` spec, which exists wherever Jupyter does (a venv, Colab, Binder), with the
#: display name JupyterLab writes. ``make kernel`` registers the course's named kernel as an extra.
KERNEL_NAME = "python3"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": KERNEL_NAME}
#: Saved widget state above this size (bytes) is dropped: it is noise in diffs.
MAX_WIDGET_STATE = 200_000
#: Cell metadata keys written by execution tools that change on every run.
VOLATILE_CELL_KEYS = ("execution", "ExecuteTime", "papermill")

#: Environment for the kernels (the caller's own variables win, except MPLBACKEND):
#: deterministic hashing, quiet TensorFlow, figures stored inline.
KERNEL_ENV = {
    "PYTHONHASHSEED": "0",
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
}
#: Colour codes in IPython tracebacks, removed from error messages.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


class NotebookError(RuntimeError):
    """A notebook failed to execute; the message names the notebook and the cell."""


def find_notebooks(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders into their ``*.ipynb`` files (sorted); keep files in the order given."""
    found: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found += sorted(q for q in p.glob("*.ipynb") if ".ipynb_checkpoints" not in q.parts)
        elif p.suffix == ".ipynb" and p.exists():
            found.append(p)
        else:
            raise ValueError(f"{p}: expected a notebook (.ipynb) or a folder of notebooks")
    if not found:
        raise ValueError(f"no notebooks found in {[str(p) for p in paths]}")
    return found


def strip_volatile(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove metadata that changes on every run; renumber execution counts 1, 2, ...

    Modifies ``nb`` in place and returns it.
    """
    count = 0
    for cell in nb.cells:
        for key in VOLATILE_CELL_KEYS:
            cell.metadata.pop(key, None)
        if cell.cell_type != "code":
            continue
        if cell.get("execution_count") is not None or cell.get("outputs"):
            count += 1
            cell.execution_count = count
            for out in cell.outputs:
                if out.get("output_type") == "execute_result":
                    out["execution_count"] = count
        else:
            cell.execution_count = None
    md = nb.metadata
    md.pop("papermill", None)
    widgets = md.get("widgets")
    if widgets is not None and len(json.dumps(widgets)) > MAX_WIDGET_STATE:
        md.pop("widgets")
    md["kernelspec"] = dict(KERNELSPEC)
    return nb


def _error_message(path: Path, nb: nbformat.NotebookNode, exc: Exception) -> str:
    """Name the failing cell (index counting every cell from 0, and its first line)."""
    index, first_line = None, ""
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if any(o.get("output_type") == "error" for o in cell.get("outputs", [])):
            index, first_line = i, cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            break
    where = f"cell {index} ({first_line[:70]!r})" if index is not None else "a cell"
    detail = ANSI_ESCAPE.sub("", str(exc)).strip().splitlines()
    tail = "\n".join(detail[-12:])
    return f"{path}: {where} failed:\n{tail}"


def run_notebook(
    path: str | Path,
    timeout: int = CELL_TIMEOUT,
    kernel_name: str = KERNEL_NAME,
    on_kernel_start: Callable[[int], None] | None = None,
) -> nbformat.NotebookNode:
    """Execute one notebook in a fresh kernel (cwd = its folder) and return it with outputs.

    on_kernel_start: called with the kernel's process id once it runs (the benchmark
    uses it to watch memory). Raises NotebookError naming the failing cell.
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    env = {**KERNEL_ENV, **{k: v for k, v in os.environ.items() if k != "MPLBACKEND"}}
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name=kernel_name,
        resources={"metadata": {"path": str(path.parent.resolve())}},
        record_timing=False,
        extra_arguments=["--IPKernelApp.log_level=ERROR"],  # no warning about local TCP transport
    )
    if on_kernel_start is not None:

        def _started(**_kwargs) -> None:
            pid = getattr(client.km.provisioner, "pid", None) if client.km is not None else None
            if pid is not None:
                on_kernel_start(pid)

        client.on_notebook_start = _started
    try:
        client.execute(env=env)  # the kernel's environment only; this process keeps its own
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as exc:
        raise NotebookError(_error_message(path, nb, exc)) from exc
    return strip_volatile(nb)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="+", help="notebooks or folders of notebooks, run in this order")
    parser.add_argument("--timeout", type=int, default=CELL_TIMEOUT, help="seconds per cell (default %(default)s)")
    args = parser.parse_args(argv)
    try:
        notebooks = find_notebooks(args.paths)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    start_all = time.perf_counter()
    for path in notebooks:
        print(f"executing {path} ...", flush=True)
        start = time.perf_counter()
        try:
            nb = run_notebook(path, timeout=args.timeout)
        except NotebookError as exc:
            print(f"\nFAILED: {exc}", file=sys.stderr)
            print(f"{path} was left unchanged.", file=sys.stderr)
            return 1
        nbformat.write(nb, path)
        print(f"  done in {time.perf_counter() - start:.1f} s", flush=True)
    print(f"executed {len(notebooks)} notebook(s) in {time.perf_counter() - start_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
