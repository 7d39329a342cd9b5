"""Benchmark the course: time and peak memory of every notebook, each in a fresh kernel.

Usage::

    python tools/bench.py                      # every notebook, in order (what `make bench` runs)
    python tools/bench.py notebooks/00_welcome.ipynb --no-readme

Each notebook runs as a learner runs it, top to bottom in a fresh ``python3`` kernel in
its own folder, but the executed copy is kept in memory: the committed file is not
touched. While it runs, a thread polls the kernel process and its children with psutil
for their resident memory (summed) and CPU seconds. The figures recorded with
``course_lib.record`` are collected too. When ``tools/bench_ranking.py`` exists, its
JSON (evaluation speeds of the ranking code) is included.

Writes ``bench/results.json`` and ``bench/results.md`` and replaces the table in
README.md between ``<!-- bench:start -->`` and ``<!-- bench:end -->``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from execute import NotebookError, run_notebook  # noqa: E402
from records import records_from_notebook  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
#: Budgets from COURSE_DESIGN.md, for a quiet machine with 2 CPU cores.
BUDGET_NOTEBOOK_S = 60
BUDGET_NOTEBOOK_GB = 1.5
BUDGET_SPINE_S = 300  # notebooks 00 to 07, the one-day spine
BUDGET_TOTAL_S = 480
SPINE = ("00", "01", "02", "03a", "03b", "03c", "04", "05", "06", "07")
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
PACKAGES = ("numpy", "pandas", "tensorflow", "keras", "scikit-learn", "pymoo")


class KernelMonitor:
    """Poll a process tree for its summed resident memory (peak) and its CPU seconds."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peak_rss = 0
        self._cpu: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, pid: int) -> None:
        """Start watching process ``pid`` (called once the kernel runs)."""
        self._thread = threading.Thread(target=self._poll, args=(pid,), daemon=True)
        self._thread.start()

    def _poll(self, pid: int) -> None:
        try:
            root = psutil.Process(pid)
        except psutil.NoSuchProcess:
            return
        while not self._stop.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            rss = 0
            for p in procs:
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        t = p.cpu_times()
                        self._cpu[p.pid] = t.user + t.system
                except psutil.NoSuchProcess:
                    continue
            self.peak_rss = max(self.peak_rss, rss)
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def cpu_seconds(self) -> float:
        """User plus system CPU seconds of the kernel and its children (last poll)."""
        return sum(self._cpu.values())


def bench_notebook(path: Path, timeout: int = 900) -> dict:
    """Execute one notebook (not in place) and return its figures."""
    monitor = KernelMonitor()
    start = time.perf_counter()
    status, error, records = "ok", None, {}
    try:
        nb = run_notebook(path, timeout=timeout, on_kernel_start=monitor.start)
        records = records_from_notebook(nb)
    except NotebookError as exc:
        status, error = "error", str(exc)[-2000:]
    finally:
        wall = time.perf_counter() - start
        monitor.stop()
    peak_gb = monitor.peak_rss / 1e9
    return {
        "notebook": path.name,
        "status": status,
        "wall_s": round(wall, 1),
        "cpu_s": round(monitor.cpu_seconds, 1),
        "peak_rss_gb": round(peak_gb, 3),
        "within_budget": status == "ok" and wall <= BUDGET_NOTEBOOK_S and peak_gb <= BUDGET_NOTEBOOK_GB,
        "records": records,
        "error": error,
    }


def bench_ranking(timeout: int = 600) -> dict | None:
    """Run tools/bench_ranking.py when it exists and return the JSON it prints."""
    script = ROOT / "tools" / "bench_ranking.py"
    if not script.exists():
        return None
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=timeout, cwd=ROOT)
    if proc.returncode != 0:
        return {"status": "error", "error": proc.stderr[-2000:]}
    out = proc.stdout.strip()
    try:
        return json.loads(out)
    except json.JSONDecodeError:
        start = out.rfind("\n{")  # the JSON object printed last, after any progress lines
        try:
            return json.loads(out[start + 1 :] if start >= 0 else out[out.index("{") :])
        except (ValueError, json.JSONDecodeError):
            return {"status": "error", "error": f"tools/bench_ranking.py printed no JSON: {out[-500:]!r}"}


def machine() -> dict:
    """The machine and software the figures were measured on."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / 1e9, 1),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()] if hasattr(os, "getloadavg") else None,
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "packages": versions,
    }


def markdown(results: dict) -> str:
    """The benchmark table in Markdown (what README.md shows between the markers)."""
    rows = results["notebooks"]
    m = results["machine"]
    lines = [
        f"| notebook | wall s (budget {BUDGET_NOTEBOOK_S}) | kernel CPU s | peak RSS GB (budget {BUDGET_NOTEBOOK_GB}) "
        "| within budget |",
        "|---|---:|---:|---:|:---:|",
    ]
    for r in rows:
        mark = "✅" if r["within_budget"] else ("❌ error" if r["status"] != "ok" else "❌")
        lines.append(f"| {r['notebook']} | {r['wall_s']:.1f} | {r['cpu_s']:.1f} | {r['peak_rss_gb']:.2f} | {mark} |")
    t = results["total"]
    mark = "✅" if t["within_budget"] else "❌"
    if "spine_wall_s" in t:
        lines.append(f"| spine (00 to 07) | {t['spine_wall_s']:.1f} (budget {BUDGET_SPINE_S}) | | | "
                     f"{'✅' if t['spine_wall_s'] <= BUDGET_SPINE_S else '❌'} |")
    lines.append(
        f"| **total** | **{t['wall_s']:.1f}** (budget {BUDGET_TOTAL_S}) | {t['cpu_s']:.1f} "
        f"| {t['max_peak_rss_gb']:.2f} (max) | {mark} |"
    )
    load = m["load_average_at_start"]
    lines += [
        "",
        f"Measured {results['date']} on {m['cpus_usable']} CPU cores ({m['processor']}, {m['memory_gb']} GB), "
        f"Python {m['python']}, TensorFlow {m['packages'].get('tensorflow')}"
        + (f"; load average at start {load[0]}" if load else "")
        + ". Wall seconds include the kernel's start; CPU seconds are the kernel's user + system time.",
    ]
    return "\n".join(lines)


def records_markdown(results: dict) -> str:
    """The recorded headline figures, one table per notebook."""
    lines = ["| notebook | figure | value |", "|---|---|---:|"]
    for r in results["notebooks"]:
        for name, value in r["records"].items():
            shown = f"{value:.4g}" if isinstance(value, float) else value
            lines.append(f"| {r['notebook']} | `{name}` | {shown} |")
    return "\n".join(lines)


def replace_between_markers(text: str, body: str) -> str:
    """Put ``body`` between the bench markers of ``text``; raise when the markers are missing."""
    if START not in text or END not in text:
        raise ValueError(f"README.md lacks the markers {START} and {END}")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{body}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", type=Path, help="notebooks (default: every notebook, in order)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench", help="folder for results.json and results.md")
    parser.add_argument("--no-readme", action="store_true", help="leave README.md as it is")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell (default %(default)s)")
    args = parser.parse_args(argv)
    paths = args.paths or sorted((ROOT / "notebooks").glob("[0-9][0-9]*_*.ipynb"))
    info = machine()
    artifacts = ROOT / "artifacts"
    results = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": info,
        "budgets": {"notebook_s": BUDGET_NOTEBOOK_S, "notebook_gb": BUDGET_NOTEBOOK_GB, "spine_s": BUDGET_SPINE_S,
                    "total_s": BUDGET_TOTAL_S},
        "artifacts_at_start": sorted(p.name for p in artifacts.glob("*")) if artifacts.exists() else [],
        "notebooks": [],
    }
    for path in paths:
        print(f"bench {path.name} ...", flush=True)
        row = bench_notebook(path, timeout=args.timeout)
        print(f"  {row['status']}: {row['wall_s']:.1f} s wall, {row['cpu_s']:.1f} CPU s, {row['peak_rss_gb']:.2f} GB")
        if row["error"]:
            print(row["error"], file=sys.stderr)
        results["notebooks"].append(row)
    rows = results["notebooks"]
    wall = round(sum(r["wall_s"] for r in rows), 1)
    spine = round(sum(r["wall_s"] for r in rows if r["notebook"].split("_", 1)[0] in SPINE), 1)
    results["total"] = {
        "wall_s": wall,
        "spine_wall_s": spine,
        "cpu_s": round(sum(r["cpu_s"] for r in rows), 1),
        "max_peak_rss_gb": max((r["peak_rss_gb"] for r in rows), default=0.0),
        "within_budget": wall <= BUDGET_TOTAL_S and spine <= BUDGET_SPINE_S and all(r["within_budget"] for r in rows),
    }
    ranking = bench_ranking()
    if ranking is not None:
        results["ranking"] = ranking
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    table = markdown(results)
    md = ["# Benchmark", "", "Written by `make bench` (tools/bench.py).", "", table, "", "## Recorded figures", ""]
    md.append(records_markdown(results))
    if ranking is not None:
        md += ["", "## Ranking evaluation speed (tools/bench_ranking.py)", "", "```json", json.dumps(ranking, indent=2)]
        md.append("```")
    (args.out / "results.md").write_text("\n".join(md) + "\n", encoding="utf-8")
    print(f"wrote {args.out / 'results.json'} and {args.out / 'results.md'}")
    readme = ROOT / "README.md"
    if not args.no_readme and not args.paths and readme.exists():  # a subset never replaces the table
        try:
            readme.write_text(replace_between_markers(readme.read_text(encoding="utf-8"), table), encoding="utf-8")
            print("updated the table in README.md")
        except ValueError as exc:
            print(f"warning: {exc}", file=sys.stderr)
    print("\n" + table)
    return 0 if all(r["status"] == "ok" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
