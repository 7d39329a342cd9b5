"""Headline figures a notebook records, so tests and the benchmark can read them back."""

from __future__ import annotations

import math
import numbers

MIMETYPE = "application/vnd.course.record+json"


def record(name: str, value) -> None:
    """Store a headline figure as a display output of the current cell.

    The output has mimetype ``application/vnd.course.record+json`` and holds
    ``{"name": name, "value": value}``; it also shows as a short text line.
    value: a number, string or bool (numpy scalars are converted).
    """
    from IPython.display import display

    if not isinstance(name, str) or not name:
        raise ValueError(f"record name must be a non-empty string, got {name!r}")
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, numbers.Real) and not isinstance(value, bool):
        value = float(value) if not isinstance(value, numbers.Integral) else int(value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"record {name!r}: value must be finite, got {value!r}")
    elif not isinstance(value, (str, bool)):
        raise ValueError(f"record {name!r}: value must be a number, string or bool, got {type(value).__name__}")
    display({MIMETYPE: {"name": name, "value": value}, "text/plain": f"recorded {name} = {value}"}, raw=True)
