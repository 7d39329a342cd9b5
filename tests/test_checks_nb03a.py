"""The checks of notebook 03a: each diagnosed mistake gets its hint, and the solution passes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.checks import ExerciseError
from course_lib.checks import nb03a as checks


def _clicks_before(log, rows, as_of_day=None, *, op="<", use_as_of=True, column="clicked", whole=False):
    counts = []
    for user, day in zip(rows["user_id"], rows["day"], strict=True):
        last = day if (as_of_day is None or not use_as_of) else min(day, as_of_day)
        mine = log["user_id"] == user
        if not whole:
            mine &= (log["day"] <= last) if op == "<=" else (log["day"] < last)
        counts.append(log.loc[mine, column].sum() if column == "clicked" else mine.sum())
    return np.array(counts)


def solution(log, rows, as_of_day=None):
    """The notebook's solution, verbatim."""
    counts = []
    for user, day in zip(rows["user_id"], rows["day"], strict=True):
        last = day if as_of_day is None else min(day, as_of_day)
        counts.append(log.loc[(log["user_id"] == user) & (log["day"] < last), "clicked"].sum())
    return np.array(counts)


def vectorised(log, rows, as_of_day=None):
    """Another right answer: course_lib's sums_before."""
    from course_lib.history import sums_before

    return sums_before(log, rows, ["user_id"], ["clicked"], as_of_day)["clicked"].to_numpy()


@pytest.mark.parametrize("right", [solution, vectorised, _clicks_before])
def test_clicks_before_right_answers_pass(right, capsys):
    checks.check_clicks_before(right)
    assert "✅ Exercise 3a.1" in capsys.readouterr().out


def test_clicks_before_stub_is_not_attempted(capsys):
    checks.check_clicks_before(lambda log, rows, as_of_day=None: None)
    assert "not attempted" in capsys.readouterr().out


def _sorted_by_user(log, rows, as_of_day=None):
    ordered = rows.sort_values(["user_id", "day"])
    return _clicks_before(log, ordered, as_of_day)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda log, rows, as_of_day=None: _clicks_before(log, rows, as_of_day, op="<="), "own day"),
        (lambda log, rows, as_of_day=None: _clicks_before(log, rows, as_of_day, whole=True), "leaky variant"),
        (lambda log, rows, as_of_day=None: _clicks_before(log, rows, as_of_day, column="impressions"), "impressions"),
        (_sorted_by_user, "order of `rows`"),
        (lambda log, rows, as_of_day=None: _clicks_before(log, rows, as_of_day, use_as_of=False), "as_of_day` is ignored"),
        (lambda log, rows, as_of_day=None: _clicks_before(log, rows, as_of_day) + 1, "expected"),
        (lambda log, rows, as_of_day=None: np.zeros(2), "one count per row"),
        (lambda log, rows, as_of_day=None: "many", "numbers"),
    ],
)
def test_clicks_before_mistakes_are_named(wrong, hint):
    with pytest.raises(ExerciseError, match=hint.replace("(", r"\(").replace(")", r"\)")):
        checks.check_clicks_before(wrong)


def test_clicks_before_as_of_day_included_is_named():
    def wrong(log, rows, as_of_day=None):
        if as_of_day is None:
            return _clicks_before(log, rows)
        out = []
        for user, day in zip(rows["user_id"], rows["day"], strict=True):
            mine = (log["user_id"] == user) & (log["day"] < day) & (log["day"] <= as_of_day)
            out.append(log.loc[mine, "clicked"].sum())
        return np.array(out)

    with pytest.raises(ExerciseError, match="included the day as_of_day"):
        checks.check_clicks_before(wrong)


EFF = pd.DataFrame({"click": [0.756, 0.84, 0.857], "purchase": [0.80, 0.88, 0.886]},
                   index=["one-hot logreg", "logreg", "gbdt"])


def test_gain_source(capsys):
    checks.check_gain_source("b", EFF)
    assert "✅ Exercise 3a.2" in capsys.readouterr().out
    for wrong, hint in [("a", "gets most of the way"), ("c", "much more than a few"), ("d", "early stopping")]:
        with pytest.raises(ExerciseError, match=hint):
            checks.check_gain_source(wrong, EFF)
    trees_win = EFF.assign(click=[0.756, 0.76, 0.857], purchase=[0.80, 0.81, 0.886])
    checks.check_gain_source("a", trees_win)
    checks.check_gain_source(..., EFF)
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(("honest", "leaky", "right"), [(0.85, 1.2, "d"), (0.85, 0.95, "c"), (0.85, 0.86, "b"),
                                                         (0.85, 0.7, "a")])
def test_leak_prediction(honest, leaky, right, capsys):
    checks.check_leak_prediction(right, honest, leaky)
    assert "✅ Exercise 3a.3" in capsys.readouterr().out
    for wrong in set("abcd") - {right}:
        with pytest.raises(ExerciseError, match="is not it"):
            checks.check_leak_prediction(wrong, honest, leaky)


def test_leak_prediction_explains_the_oracle():
    with pytest.raises(ExerciseError, match="beats even the true probabilities"):
        checks.check_leak_prediction("c", 0.85, 1.2)
