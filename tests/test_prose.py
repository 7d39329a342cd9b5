"""Every number a notebook's prose states is printed by one of its cells (rounded as written).

The prose of a notebook interprets its outputs; when an output changes, a sentence that quotes
the old figure becomes wrong silently. This test reads every number written in markdown and
looks for it in the notebook's outputs and code. Left out as constants: small whole numbers
(settings, counts of things, at most 100), years, numbers in headings, equations, code spans,
links and images, and the explicit allowlist below (versions, settings quoted from papers).
"""

from __future__ import annotations

import json
import math
import re

import pytest
from conftest import NOTEBOOKS

from course_lib.record import MIMETYPE

PATHS = sorted(NOTEBOOKS.glob("[0-9][0-9]*_*.ipynb"))
#: Numbers that prose may state without an output (per notebook name, or "*" for all): constants.
ALLOW = {
    "*": {"3.10", "3.11", "3.12", "3.13", "0.7", "1.5", "2.0", "3.0", "0.5", "0.05", "0.95", "95%", "5%", "1,000", "10,000"},
}
NUMBER = re.compile(r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?%?(?![\w])")
STRIP = [
    re.compile(r"\$\$.*?\$\$", re.DOTALL),  # display equations
    re.compile(r"\$[^$\n]+\$"),  # inline equations
    re.compile(r"```.*?```", re.DOTALL),  # fenced code
    re.compile(r"`[^`\n]+`"),  # code spans
    re.compile(r"!?\[[^\]]*\]\([^)]*\)"),  # links and images (their text often holds titles and years)
    re.compile(r"<[^>]+>"),  # HTML tags
    re.compile(r"^#+ .*$", re.MULTILINE),  # headings (section and exercise numbers)
    re.compile(r"^\s*(?:\d+\.|[-*])\s", re.MULTILINE),  # list markers
    re.compile(r"\*\*Time\*\*:.*$", re.MULTILINE),
    re.compile(r"\b(?:Exercise|Section|notebook|notebooks|cell|Figure|table|day|days)s? \d+[a-z]?(?:\.\d+)?",
               re.IGNORECASE),
    re.compile(r"\b\d\d[a-z]?(?:_[a-z_]+)?(?:\.ipynb)?\b(?= ·)"),
    re.compile(r"\b(?:19|20)\d\d[a-z]?\b"),  # years
    re.compile(r"\bdoi\S+|https?://\S+", re.IGNORECASE),
    re.compile(r"<details>.*?</details>", re.DOTALL),  # solutions: checked by their own tests
]


def _value(token: str) -> tuple[float, int, bool]:
    """(value, decimals written, is a percentage) of a number as written in prose."""
    t = token.replace("−", "-").replace(",", "")
    pct = t.endswith("%")
    t = t.rstrip("%")
    decimals = len(t.split(".")[1]) if "." in t else 0
    return float(t), decimals, pct


def prose_numbers(md: str) -> list[str]:
    for pattern in STRIP:
        md = pattern.sub(" ", md)
    return NUMBER.findall(md)


def _is_constant(token: str) -> bool:
    value, decimals, pct = _value(token)
    return decimals == 0 and not pct and abs(value) <= 100


def output_numbers(nb: dict) -> list[float]:
    """Every number in the notebook's outputs (text, tables) and code cells' sources."""
    chunks = []
    for cell in nb["cells"]:
        if cell["cell_type"] != "code":
            continue
        chunks.append("".join(cell["source"]))
        for out in cell.get("outputs", []):
            chunks.append("".join(out.get("text", "")))
            data = out.get("data", {})
            for key in ("text/plain", "text/html", "text/markdown"):
                chunks.append("".join(data.get(key, "")))
            payload = data.get(MIMETYPE)
            if payload:
                chunks.append(json.dumps(payload))
    found = []
    for token in re.findall(r"[-+−]?\d[\d,_]*(?:\.\d+)?(?:e[-+]?\d+)?", "\n".join(chunks)):
        try:
            found.append(float(token.replace("−", "-").replace(",", "").replace("_", "")))
        except ValueError:
            continue
    return found


def matches(token: str, outputs: list[float]) -> bool:
    value, decimals, pct = _value(token)
    tol = 0.5 * 10 ** -decimals + 1e-9
    candidates = [value] + ([value / 100] if pct else [value / 100, value * 100])
    for target in candidates:
        t_dec = decimals + (2 if pct and target == value / 100 else 0)
        t_tol = 0.5 * 10 ** -t_dec + 1e-9 if target != value else tol
        for o in outputs:
            if math.isclose(abs(o), abs(target), abs_tol=t_tol) or math.isclose(abs(o), abs(target), rel_tol=5e-3):
                return True
    return False


@pytest.mark.parametrize("path", PATHS, ids=[p.stem for p in PATHS])
def test_numbers_in_prose_are_printed(path):
    nb = json.loads(path.read_text(encoding="utf-8"))
    outputs = output_numbers(nb)
    allowed = ALLOW["*"] | ALLOW.get(path.name, set())
    missing = []
    for i, cell in enumerate(nb["cells"]):
        if cell["cell_type"] != "markdown" or i == 0:  # the header states settings and times
            continue
        for token in prose_numbers("".join(cell["source"])):
            if token in allowed or _is_constant(token) or matches(token, outputs):
                continue
            missing.append(f"cell {i}: {token}")
    assert not missing, (
        f"{path.name}: numbers in the prose that no output or code of the notebook shows "
        f"(print them from a cell, or add a true constant to ALLOW): {missing}"
    )


def test_the_matcher_itself():
    assert prose_numbers("clicks are 4.7 times purchases, in 2019; see `x = 3.25` and $e^{0.3}$") == ["4.7"]
    assert matches("4.7", [4.6952]) and not matches("4.7", [7.0])
    assert matches("38%", [-0.3812]) and matches("0.38", [38.1])
    assert not matches("12.5", [13.0])
