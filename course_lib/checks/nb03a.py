"""Self-checks of the exercises in notebooks/03a_practitioner_baseline.ipynb."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.checks import as_array, attempted, check_choice, close, compare, expect, passed

# A toy log: user 1 clicks on days 0, 2 (twice: one click shares its day with the row below) and 4; user 2 on day 1.
_LOG = pd.DataFrame({"user_id": [1, 1, 1, 1, 1, 1, 2, 2, 3], "day": [0, 1, 2, 2, 3, 4, 1, 2, 0],
                     "clicked": [1, 0, 1, 1, 0, 1, 1, 0, 0]})
# Rows to describe, deliberately not sorted by user or day.
_ROWS = pd.DataFrame({"user_id": [2, 1, 1, 3, 1, 1], "day": [3, 2, 0, 4, 5, 3]})


def _reference(rows, as_of_day=None, own_day=False, as_of_day_too=False, every_day=False, impressions=False):
    """The right counts on the toy log; each switch reproduces a common mistake."""
    out = []
    for user, day in zip(rows["user_id"], rows["day"], strict=True):
        mine = _LOG["user_id"] == user
        if not every_day:
            mine &= (_LOG["day"] <= day) if own_day else (_LOG["day"] < day)
        if as_of_day is not None:
            mine &= (_LOG["day"] <= as_of_day) if as_of_day_too else (_LOG["day"] < as_of_day)
        out.append(float(mine.sum() if impressions else _LOG.loc[mine, "clicked"].sum()))
    return np.array(out)


def _counts(answer, what: str) -> np.ndarray:
    a = as_array(answer, "3a.1", f"numbers from {what}, one per row").ravel()
    expect(a.shape == (len(_ROWS),), "3a.1", f"{what} should hold one count per row of `rows` ({len(_ROWS)}), "
           f"got shape {a.shape}.")
    return a


def check_clicks_before(clicks_before) -> None:
    """Exercise 3a.1: ``clicks_before(log, rows, as_of_day=None)``: the clicks of each row's user before its day."""
    answer = clicks_before(_LOG.copy(), _ROWS.copy())
    if not attempted(answer, "3a.1"):
        return
    got, right = _counts(answer, "clicks_before(log, rows)"), _reference(_ROWS)
    pairs = list(zip(_ROWS["user_id"], _ROWS["day"], strict=True))
    shuffled = close(np.sort(got), np.sort(right))  # the right counts in another order (None below matches nothing)
    compare(got, right, "3a.1", f"the counts on the toy log for the rows (user, day) {pairs}", {
        "your counts include the row's own day (day <= d): a row on day d may only see days < d, or it counts its "
        "own click (a leak).": _reference(_ROWS, own_day=True),
        "you counted every click of the user, whatever its day: that is the leaky variant. Keep only the log rows "
        "with day < the row's day.": _reference(_ROWS, every_day=True),
        "you counted the user's impressions; count the clicks (sum the `clicked` column).":
            _reference(_ROWS, impressions=True),
        "the counts are right but not in the order of `rows`: return one count per row, in the rows' order (no "
        "sorting, no groupby result as is).": got if shuffled else None,
    })
    as_of = _counts(clicks_before(_LOG.copy(), _ROWS.copy(), as_of_day=2), "clicks_before(log, rows, as_of_day=2)")
    compare(as_of, _reference(_ROWS, as_of_day=2), "3a.1", "the counts with as_of_day=2", {
        "`as_of_day` is ignored: with as_of_day=2 a row on day 5 must see only days 0 and 1 (days < min(day, "
        "as_of_day)).": right,
        "you included the day as_of_day itself; keep days < min(day, as_of_day).":
            _reference(_ROWS, as_of_day=2, as_of_day_too=True),
    })
    passed("3a.1", "Days strictly before the row's day, and before as_of_day: no row ever sees its own label.")


def check_gain_source(answer, efficiency: pd.DataFrame) -> None:
    """Exercise 3a.2 (read): what brings most of the gain over the one-hot baseline?

    efficiency: validation AUC efficiency, index the models ("one-hot logreg", "logreg", "gbdt"), columns the tasks.
    """
    e = efficiency
    features, trees = e.loc["logreg"] - e.loc["one-hot logreg"], e.loc["gbdt"] - e.loc["logreg"]
    features_win, close_call = bool((features > trees).all()), bool((e.max() - e.min()).max() < 0.01)
    steps = ", ".join(f"{t}: +{features[t]:.3f} from the features, {trees[t]:+.3f} from the trees" for t in e.columns)
    check_choice("3a.2", answer, {
        "a": (not features_win and not close_call,
              f"the logistic regression on the same features gets most of the way ({steps})."),
        "b": (features_win and not close_call,
              f"the step from one-hot IDs to history features is the big one ({steps})."),
        "c": (close_call, f"the models differ by much more than a few thousandths ({steps})."),
        "d": (False, "early stopping only decides how many trees to keep; the logistic regression has none and still "
                     f"gets most of the gain ({steps})."),
    })


def check_leak_prediction(answer, honest: float, leaky: float) -> None:
    """Exercise 3a.3 (predict): the leaky model's validation click AUC efficiency, against the honest one's."""
    truth = "d" if leaky > 1 else "c" if leaky > honest + 0.02 else "b" if leaky >= honest - 0.02 else "a"
    said = f"(honest {honest:.3f}, leaky {leaky:.3f})"
    check_choice("3a.3", answer, {
        "a": (truth == "a", f"the leaky features are anything but noise: they contain the label {said}."),
        "b": (truth == "b", f"a user x brand pair is seen only a few times, so one row's own click weighs a lot in "
                            f"its rate {said}."),
        "c": (truth == "c", f"the leak is stronger than that {said}: the rates contain the very outcomes being "
                            "predicted, so the model beats even the true probabilities."),
        "d": (truth == "d", f"the rates contain the outcomes, so the model beats even the true probabilities "
                            f"{said}: an efficiency above 1 is proof of a leak."),
    })
