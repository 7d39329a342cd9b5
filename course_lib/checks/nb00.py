"""Self-checks of the exercises in notebooks/00_welcome.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, expect, expect_close, passed


def check_click_through_rate(click_through_rate, impressions) -> None:
    """Exercise 0.1: ``click_through_rate(impressions) -> float``, clicks per impression.

    Runs the learner's function on a tiny hand-made log (3 clicks in 8 impressions) and on
    ``impressions`` (the shop's table, with a boolean ``clicked`` column).
    """
    import pandas as pd

    exercise = "0.1"
    tiny = pd.DataFrame({"clicked": [True, False, False, True, False, False, True, False]})
    answer = click_through_rate(impressions)
    if not attempted(answer, exercise):
        return
    expected = float(impressions["clicked"].mean())
    n = len(impressions)
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(
            f"Exercise {exercise}: return one number (a float), got {type(answer).__name__}"
        ) from None
    expect(
        not np.isclose(value, expected * n), exercise, "that is the number of clicks; divide it by the number of rows."
    )
    expect(not np.isclose(value, expected * 100), exercise, "return a fraction between 0 and 1, not a percentage.")
    expect(
        not np.isclose(value, 1 - expected), exercise, "that is the share of impressions *without* a click; flip it."
    )
    expect(0.0 <= value <= 1.0, exercise, f"a rate lies between 0 and 1, got {value:.4g}.")
    expect_close(value, expected, exercise, "the click-through rate of the shop", rtol=1e-6)
    expect_close(click_through_rate(tiny), 3 / 8, exercise, "the rate of a log with 3 clicks in 8 impressions")
    passed(exercise, f"The shop's click-through rate is {expected:.2%}.")
