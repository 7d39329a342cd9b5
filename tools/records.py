"""Read back the headline figures notebooks store with ``course_lib.record`` (tests and the benchmark)."""

from __future__ import annotations

import json
from pathlib import Path

from course_lib.record import MIMETYPE


def records_from_notebook(nb: dict) -> dict[str, int | float | str | bool]:
    """The recorded figures of an (executed) notebook given as a dict (nbformat 4 JSON).

    When a name is recorded twice, the later value wins.
    """
    found: dict[str, int | float | str | bool] = {}
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        for out in cell.get("outputs", []):
            payload = out.get("data", {}).get(MIMETYPE)
            if payload is None:
                continue
            if isinstance(payload, str):  # some tools store JSON mimetypes as text
                payload = json.loads(payload)
            found[payload["name"]] = payload["value"]
    return found


def read_records(notebook_path: str | Path) -> dict[str, int | float | str | bool]:
    """Read the figures recorded by ``record`` back from an executed notebook file.

    Returns {name: value} in the order they were recorded (empty when the notebook
    records nothing or was saved without outputs).
    """
    path = Path(notebook_path)
    if path.suffix != ".ipynb":
        raise ValueError(f"read_records: expected a .ipynb notebook, got {path}")
    if not path.exists():
        raise FileNotFoundError(f"read_records: {path} does not exist")
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(f"read_records: {path} is not valid notebook JSON ({exc})") from exc
    return records_from_notebook(nb)
