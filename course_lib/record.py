"""Headline figures a notebook records, so tests and the benchmark can read them back.

In a notebook, ``record("nb03.click_auc_efficiency", 0.83)`` adds a display output
with mimetype ``application/vnd.course.record+json`` holding
``{"name": "nb03.click_auc_efficiency", "value": 0.83}`` (and a short text line for
people). Once the notebook is executed and saved, tools/records.py reads the figures
back (``read_records(path)``), without running anything.
"""

from __future__ import annotations

import math
import numbers
import re

MIMETYPE = "application/vnd.course.record+json"
#: Names are dotted identifiers, by convention prefixed with the notebook: "nb03.click_auc".
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def _clean_value(name: str, value) -> int | float | str | bool:
    """Return ``value`` as a JSON-friendly scalar, or raise a ValueError saying why not."""
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # NumPy scalars and 0-d arrays
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"record {name!r}: value must be a finite number, got {value!r}")
        return value
    if isinstance(value, str):
        return value
    raise ValueError(
        f"record {name!r}: value must be a single number, string or bool, got {type(value).__name__} "
        "(record each figure of an array under its own name)"
    )


def record(name: str, value) -> None:
    """Store a headline figure as a display output of the current cell.

    name: a dotted identifier such as ``"nb03.click_auc_efficiency"`` (letters, digits,
        ``_ . -``; prefix it with the notebook number).
    value: one number, string or bool (NumPy scalars are converted; NaN and inf are refused).
    """
    from IPython.display import display

    if not isinstance(name, str) or not NAME_PATTERN.match(name):
        raise ValueError(
            f"record name must be a dotted identifier such as 'nb03.click_auc' (letters, digits, _ . -), got {name!r}"
        )
    value = _clean_value(name, value)
    shown = f"{value:.6g}" if isinstance(value, float) else value
    display({MIMETYPE: {"name": name, "value": value}, "text/plain": f"recorded {name} = {shown}"}, raw=True)

