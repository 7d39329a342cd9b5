"""Headline figures a notebook records, so tests and the benchmark can read them back.

``record("nb03.click_auc_efficiency", 0.83)`` adds a display output with mimetype ``MIMETYPE``
holding ``{"name": ..., "value": ...}`` (and a short text line for people). tools/records.py reads the
figures back from the executed, saved notebook, without running anything.
"""

from __future__ import annotations

import math
import numbers
import re

MIMETYPE = "application/vnd.course.record+json"
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")


def record(name: str, value) -> None:
    """Store a headline figure as a display output of the current cell.

    name: a dotted identifier such as ``"nb03.click_auc_efficiency"`` (letters, digits, ``_ . -``;
        prefix it with the notebook number).
    value: one number, string or bool (NumPy scalars are converted; NaN and inf are refused).
    """
    from IPython.display import display

    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(
            f"record name must be a dotted identifier such as 'nb03.click_auc' (letters, digits, _ . -), got {name!r}"
        )
    if hasattr(value, "item") and getattr(value, "ndim", 0) == 0:  # NumPy scalars and 0-d arrays
        value = value.item()
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = int(value)
    elif isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"record {name!r}: value must be a finite number, got {value!r}")
    elif not isinstance(value, str | bool):
        raise ValueError(f"record {name!r}: value must be a single number, string or bool, got "
                         f"{type(value).__name__} (record each figure of an array under its own name)")
    shown = f"{value:.6g}" if isinstance(value, float) else value
    display({MIMETYPE: {"name": name, "value": value}, "text/plain": f"recorded {name} = {shown}"}, raw=True)
