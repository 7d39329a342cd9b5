"""Self-checks of the exercises in notebooks/03a_practitioner_baseline.ipynb."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.checks import ExerciseError, attempted, check_choice, expect, passed

# A toy log: user 1 clicks on days 0, 2 (twice: one click shares its day with the row below) and 4; user 2 on day 1.
_LOG = pd.DataFrame({
    "user_id": [1, 1, 1, 1, 1, 1, 2, 2, 3],
    "day": [0, 1, 2, 2, 3, 4, 1, 2, 0],
    "clicked": [1, 0, 1, 1, 0, 1, 1, 0, 0],
})
# Rows to describe, deliberately not sorted by user or day.
_ROWS = pd.DataFrame({"user_id": [2, 1, 1, 3, 1, 1], "day": [3, 2, 0, 4, 5, 3]})


def _reference(log, rows, as_of_day=None, *, same_day=False, as_of_inclusive=False, whole_log=False,
               count="clicked"):
    out = []
    for user, day in zip(rows["user_id"], rows["day"], strict=True):
        last = day if as_of_day is None else min(day, as_of_day)
        mine = log["user_id"] == user
        if as_of_inclusive:
            mine &= (log["day"] < day) & (log["day"] <= as_of_day)
        elif not whole_log:
            mine &= (log["day"] <= last) if same_day else (log["day"] < last)
        out.append(float(log.loc[mine, "clicked"].sum() if count == "clicked" else mine.sum()))
    return np.array(out)


def _as_array(answer, n: int, what: str) -> np.ndarray:
    try:
        a = np.asarray(answer, dtype=float).ravel()
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 3a.1: {what} should be numbers, one per row; got {type(answer).__name__}") from None
    expect(a.shape == (n,), "3a.1", f"{what} should hold one count per row of `rows` ({n}), got shape {a.shape}.")
    return a


def check_clicks_before(clicks_before) -> None:
    """Exercise 3a.1: ``clicks_before(log, rows, as_of_day=None)``: the clicks of each row's user before its day."""
    log, rows = _LOG.copy(), _ROWS.copy()
    answer = clicks_before(log, rows)
    if not attempted(answer, "3a.1"):
        return
    got = _as_array(answer, len(rows), "clicks_before(log, rows)")
    right = _reference(log, rows)
    if not np.allclose(got, right):
        if np.allclose(got, _reference(log, rows, same_day=True)):
            raise ExerciseError("Exercise 3a.1: not yet. Your counts include the row's own day (day <= d): a row on "
                                "day d may only see days < d, or it counts its own click (a leak).")
        if np.allclose(got, _reference(log, rows, whole_log=True)):
            raise ExerciseError("Exercise 3a.1: not yet. You counted every click of the user, whatever its day: that is "
                                "the leaky variant. Keep only the log rows with day < the row's day.")
        if np.allclose(got, _reference(log, rows, count="impressions")):
            raise ExerciseError("Exercise 3a.1: not yet. You counted the user's impressions; count the clicks "
                                "(sum the `clicked` column).")
        ordered = rows.sort_values(["user_id", "day"])
        if np.allclose(got, _reference(log, ordered)) or np.allclose(np.sort(got), np.sort(right)):
            raise ExerciseError("Exercise 3a.1: not yet. The counts are right but not in the order of `rows`: return "
                                "one count per row, in the rows' order (no sorting, no groupby result as is).")
        raise ExerciseError(f"Exercise 3a.1: not yet. On the toy log, expected {right.astype(int).tolist()} for rows "
                            f"(user, day) {list(zip(rows['user_id'], rows['day'], strict=True))}, got {got.tolist()}.")
    as_of = _as_array(clicks_before(log, rows, as_of_day=2), len(rows), "clicks_before(log, rows, as_of_day=2)")
    right_as_of = _reference(log, rows, as_of_day=2)
    if not np.allclose(as_of, right_as_of):
        if np.allclose(as_of, right):
            raise ExerciseError("Exercise 3a.1: not yet. `as_of_day` is ignored: with as_of_day=2 a row on day 5 "
                                "must see only days 0 and 1 (days < min(day, as_of_day)).")
        if np.allclose(as_of, _reference(log, rows, as_of_day=2, as_of_inclusive=True)):
            raise ExerciseError("Exercise 3a.1: not yet. With as_of_day you included the day as_of_day itself; "
                                "keep days < min(day, as_of_day).")
        raise ExerciseError(f"Exercise 3a.1: not yet. With as_of_day=2, expected {right_as_of.astype(int).tolist()}, "
                            f"got {as_of.tolist()}.")
    passed("3a.1", "Days strictly before the row's day, and before as_of_day: no row ever sees its own label.")


def check_gain_source(answer, efficiency: pd.DataFrame) -> None:
    """Exercise 3a.2 (read): what brings most of the gain over the one-hot baseline?

    efficiency: validation AUC efficiency, index the models ("one-hot logreg", "logreg", "gbdt"), columns the tasks.
    """
    e = efficiency
    features = e.loc["logreg"] - e.loc["one-hot logreg"]
    trees = e.loc["gbdt"] - e.loc["logreg"]
    features_win = bool((features > trees).all())
    close = bool((e.max() - e.min()).max() < 0.01)
    steps = ", ".join(f"{t}: +{features[t]:.3f} from the features, {trees[t]:+.3f} from the trees" for t in e.columns)
    options = {
        "a": (not features_win and not close,
              f"the logistic regression on the same features gets most of the way ({steps})."),
        "b": (features_win and not close, f"the step from one-hot IDs to history features is the big one ({steps})."),
        "c": (close, f"the models differ by much more than a few thousandths ({steps})."),
        "d": (False, "early stopping only decides how many trees to keep; the logistic regression has none and still "
                     f"gets most of the gain ({steps})."),
    }
    check_choice("3a.2", answer, options)


def check_leak_prediction(answer, honest: float, leaky: float) -> None:
    """Exercise 3a.3 (predict): the leaky model's validation click AUC efficiency, against the honest one's."""
    if leaky > 1:
        truth = "d"
    elif leaky > honest + 0.02:
        truth = "c"
    elif leaky >= honest - 0.02:
        truth = "b"
    else:
        truth = "a"
    said = f"(honest {honest:.3f}, leaky {leaky:.3f})"
    options = {
        "a": (truth == "a", f"the leaky features are anything but noise: they contain the label {said}."),
        "b": (truth == "b", f"a user x brand pair is seen only a few times, so one row's own click weighs a lot in "
                            f"its rate {said}."),
        "c": (truth == "c", f"the leak is stronger than that {said}: the rates contain the very outcomes being "
                            f"predicted, so the model beats even the true probabilities."),
        "d": (truth == "d", f"the rates contain the outcomes, so the model beats even the true probabilities "
                            f"{said}: an efficiency above 1 is proof of a leak."),
    }
    check_choice("3a.3", answer, options)
