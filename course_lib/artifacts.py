"""The artifact cache: what one notebook computes and later notebooks read, and when it is stale.

Each artifact (``PRODUCERS``) is a folder under ``artifacts/`` (git-ignored) of tables (Parquet), values
(JSON) or arrays (``.npz``, read without pickle) and a ``sidecar.json``. It is current when its sidecar
matches the dataset's checksum, the *recipe* (a SHA-256 of the producing notebook's code cells, exercise
cells left out, so a learner's answers invalidate nothing) and the sidecars of the artifacts it was
computed from (``depends_on``). A missing or stale artifact is rebuilt by running a copy of its producing
notebook in a fresh kernel, then read. Reading never imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data import ARTIFACTS, load_shop
from course_lib.shop import ShopData

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SIDECAR = "sidecar.json"
#: Cell tag of exercise cells (left out of the recipe, blanked in the learners' edition).
EXERCISE_TAG = "exercise"
#: Which notebook produces each artifact; running it (top to bottom) rebuilds the artifact.
PRODUCERS = {
    "candidates": "02_encoders.ipynb", "baselines": "03a_practitioner_baseline.ipynb",
    "multitask_model": "03b_multi_task_model.ipynb", "predictions": "03c_judging_the_network.ipynb",
    "tuned_weights_05": "05_pso_tuning.ipynb", "tuned_weights_06": "06_ga_nsga2_tuning.ipynb",
}
_REBUILDING = "COURSE_LIB_REBUILDING"


def _dataset_checksum(data: ShopData) -> str:
    """A SHA-256 fingerprint of a shop's tables (params, items, users, impressions' ids and labels)."""
    h = hashlib.sha256(json.dumps(data.params, sort_keys=True, default=str).encode())
    cols = {"items": ["item_id", "price", "launch_day"], "users": ["user_id", "signup_day"],
            "impressions": ["user_id", "item_id", "day", "clicked", "purchased"]}
    for name, c in cols.items():
        h.update(pd.util.hash_pandas_object(getattr(data, name)[c], index=False).to_numpy().tobytes())
    return h.hexdigest()


def _recipe(notebook: str) -> str:
    """SHA-256 of the code cells of ``notebooks/<notebook>``, exercise cells left out."""
    nb = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))
    h = hashlib.sha256()
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and EXERCISE_TAG not in cell.get("metadata", {}).get("tags", []):
            h.update("".join(cell["source"]).encode() + b"\0")
    return h.hexdigest()


def _folder(name: str, root: Path | None) -> Path:
    if name not in PRODUCERS:
        raise ValueError(f"unknown artifact {name!r}; known: {sorted(PRODUCERS)}")
    return Path(ARTIFACTS if root is None else root) / name


def _expected(name: str, data: ShopData, depends_on: tuple[str, ...], root: Path | None) -> dict:
    sides = {dep: _folder(dep, root) / SIDECAR for dep in depends_on}
    deps = {dep: hashlib.sha256(s.read_bytes()).hexdigest() if s.exists() else None for dep, s in sides.items()}
    return {"dataset": _dataset_checksum(data), "recipe": _recipe(PRODUCERS[name]), "depends_on": deps}


def _stale_reason(name: str, data: ShopData, root: Path | None = None) -> str | None:
    """Why artifact ``name`` cannot be used as stored (a short phrase), or None when it is current."""
    side = _folder(name, root) / SIDECAR
    if not side.exists():
        return "not built yet"
    try:
        meta = json.loads(side.read_text())
    except (OSError, json.JSONDecodeError) as err:
        return f"unreadable {side} ({err})"
    for dep in meta.get("depends_on", {}):
        reason = _stale_reason(dep, data, root)
        if reason is not None:
            return f"its input {dep!r} is stale ({reason})"
    expected = _expected(name, data, tuple(meta.get("depends_on", {})), root)
    for key, what in [("dataset", "the dataset changed"), ("recipe", f"the code of {PRODUCERS[name]} changed"),
                      ("depends_on", "an input artifact was rebuilt")]:
        if meta.get(key) != expected[key]:
            return what
    missing = [f for f in meta.get("files", []) if not (side.parent / f).exists()]
    return f"missing {missing}" if missing else None


def save(name: str, data: ShopData, depends_on: tuple[str, ...] = (), root: Path | None = None,
         **parts: pd.DataFrame | dict | list) -> Path:
    """Store artifact ``name``: each DataFrame part as ``<part>.parquet``, each list of NumPy arrays (a
    model's weights) as ``<part>.npz``, each other dict/list as ``<part>.json``; returns its folder.

    Call it from the producing notebook (``PRODUCERS[name]``) with the shop the artifact was computed
    on and the artifacts it read (``depends_on``).
    """
    folder = _folder(name, root)
    folder.mkdir(parents=True, exist_ok=True)
    files = []
    for part, value in parts.items():
        if isinstance(value, pd.DataFrame):
            value.to_parquet(folder / f"{part}.parquet", index=False)
            files.append(f"{part}.parquet")
        elif isinstance(value, list) and value and all(isinstance(v, np.ndarray) for v in value):
            np.savez(folder / f"{part}.npz", *value)
            files.append(f"{part}.npz")
        elif isinstance(value, dict | list):
            (folder / f"{part}.json").write_text(json.dumps(value, indent=1, sort_keys=True))
            files.append(f"{part}.json")
        else:
            raise TypeError(f"artifact {name!r} part {part!r}: expected a DataFrame, dict or list, "
                            f"got {type(value).__name__}")
    meta = {**_expected(name, data, depends_on, root), "producer": PRODUCERS[name], "files": sorted(files)}
    (folder / SIDECAR).write_text(json.dumps(meta, indent=1, sort_keys=True))
    return folder


def _rebuild(name: str) -> None:
    """Run the producing notebook of ``name`` (a copy, in a fresh kernel); it saves the artifact."""
    import nbformat
    from nbclient import NotebookClient

    notebook = PRODUCERS[name]
    running = os.environ.get(_REBUILDING, "").split(",")
    if notebook in running:
        raise RuntimeError(f"{notebook} needs the artifact {name!r} that it should produce itself; "
                           f"run its cells in order (Kernel > Restart and Run All)")
    print(f"Artifact {name!r} is rebuilt by running notebooks/{notebook} (a copy; a minute or two) ...", flush=True)
    start = time.perf_counter()
    env = {**os.environ, _REBUILDING: ",".join(filter(None, [*running, notebook])), "PYTHONHASHSEED": "0",
           "TF_CPP_MIN_LOG_LEVEL": "2", "MPLBACKEND": "Agg"}
    NotebookClient(nbformat.read(NOTEBOOKS / notebook, as_version=4), timeout=1800, kernel_name="python3",
                   resources={"metadata": {"path": str(NOTEBOOKS)}}).execute(env=env)
    print(f"... {notebook} done in {time.perf_counter() - start:.0f} s", flush=True)


def load(name: str, part: str, data: ShopData | None = None, root: Path | None = None):
    """Part ``part`` of artifact ``name`` (a DataFrame, the stored JSON, or a list of arrays), rebuilt first if stale.

    Example: ``artifacts.load("predictions", "valid")``. ``data``: the shop (default: ``load_shop()``).
    """
    data = load_shop() if data is None else data
    reason = _stale_reason(name, data, root)
    if reason is not None:
        print(f"Artifact {name!r}: {reason}.")
        _rebuild(name)
        reason = _stale_reason(name, data, root)
        if reason is not None:
            raise RuntimeError(f"artifact {name!r} is still stale after running {PRODUCERS[name]}: {reason}")
    folder = _folder(name, root)
    if (folder / f"{part}.parquet").exists():
        return pd.read_parquet(folder / f"{part}.parquet")
    if (folder / f"{part}.json").exists():
        return json.loads((folder / f"{part}.json").read_text())
    if (folder / f"{part}.npz").exists():
        with np.load(folder / f"{part}.npz", allow_pickle=False) as arrays:
            return [arrays[f"arr_{k}"] for k in range(len(arrays.files))]
    stored = json.loads((folder / SIDECAR).read_text())["files"]
    raise KeyError(f"artifact {name!r} has no part {part!r}; it has {stored}")
