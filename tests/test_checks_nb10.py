"""The self-checks of notebook 10 diagnose the mistakes they claim to, and pass the solutions."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dask.dataframe")

from course_lib.checks import ExerciseError  # noqa: E402
from course_lib.checks import nb10 as checks  # noqa: E402


def solution_purchase_per_click(events):
    counts = events.groupby(["category", "event_type"], observed=True).size()
    if hasattr(counts, "compute"):
        counts = counts.compute()
    table = counts.unstack("event_type")
    return table["purchase"] / table["click"]


def _rates(events, num, den):
    counts = events.groupby(["category", "event_type"], observed=True).size()
    if hasattr(counts, "compute"):
        counts = counts.compute()
    table = counts.unstack("event_type")
    return table[num] / table[den] if den else table[num]


def test_purchase_per_click_solution_passes(capsys):
    checks.check_purchase_per_click(solution_purchase_per_click)
    assert "✅ Exercise 10.1" in capsys.readouterr().out


def test_purchase_per_click_stub_is_not_attempted(capsys):
    checks.check_purchase_per_click(lambda events: None)
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("answer", "hint"),
    [
        (lambda ev: _rates(ev, "click", "view"), "clicks per view"),
        (lambda ev: _rates(ev, "purchase", "view"), "purchases per view"),
        (lambda ev: _rates(ev, "purchase", None), "purchase counts"),
        (lambda ev: _rates(ev, "cart", "click"), "expected"),
        (lambda ev: 0.5, "return a Series indexed by category"),
    ],
)
def test_purchase_per_click_diagnoses(answer, hint):
    with pytest.raises(ExerciseError, match=hint):
        checks.check_purchase_per_click(answer)


def test_purchase_per_click_pandas_only_code_is_explained():
    def pandas_only(events):
        kind = events["event_type"].to_numpy()  # pulls every row into memory; fails on Dask
        cat = np.asarray(events["category"].to_numpy())
        out = {}
        for c in np.unique(cat):
            out[c] = np.sum((cat == c) & (kind == "purchase")) / np.sum((cat == c) & (kind == "click"))
        import pandas as pd

        return pd.Series(out)

    with pytest.raises(ExerciseError, match="fails on a Dask DataFrame"):
        checks.check_purchase_per_click(pandas_only)


def test_amdahl():
    assert checks.amdahl_speedup(1.0, 2) == pytest.approx(2.0)
    assert checks.amdahl_speedup(0.0, 8) == pytest.approx(1.0)
    assert checks.amdahl_speedup(0.9, 10) == pytest.approx(1 / (0.1 + 0.09))


def test_speedup_prediction(capsys):
    checks.check_speedup_prediction(1 / (0.1 + 0.45), 0.9, workers=2)
    assert "✅ Exercise 10.2" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="you predicted 2"):
        checks.check_speedup_prediction(2.0, 0.5, workers=2)  # bound is 1.33: ignoring the serial part
    checks.check_speedup_prediction(..., 0.9)
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("check", "right", "wrong", "reason"),
    [
        (checks.check_memory_reading, "b", {"a": "compress", "c": "spilling", "d": "decompressed"}, "partitions"),
        (checks.check_cluster_decision, "c", {"a": "64 GB", "b": "exact", "d": "porting"}, "same pandas code"),
    ],
)
def test_choices(check, right, wrong, reason, capsys):
    check(right)
    assert reason in capsys.readouterr().out
    for letter, hint in wrong.items():
        with pytest.raises(ExerciseError, match=hint):
            check(letter)
    with pytest.raises(ExerciseError, match="answer with one of"):
        check("z")
