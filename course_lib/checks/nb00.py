"""Self-checks of the exercises in notebooks/00_welcome.ipynb."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.checks import attempted, expect, expect_close, number, passed


def check_click_through_rate(click_through_rate, impressions) -> None:
    """Exercise 0.1: ``click_through_rate(impressions) -> float``, clicks per impression (shop and a tiny log)."""
    answer = click_through_rate(impressions)
    if not attempted(answer, "0.1"):
        return
    value, expected = number(answer, "0.1"), float(impressions["clicked"].mean())
    expect(not np.isclose(value, expected * len(impressions)), "0.1",
           "that is the number of clicks; divide it by the number of rows.")
    expect(not np.isclose(value, expected * 100), "0.1", "return a fraction between 0 and 1, not a percentage.")
    expect(not np.isclose(value, 1 - expected), "0.1", "that is the share of impressions *without* a click; flip it.")
    expect(0.0 <= value <= 1.0, "0.1", f"a rate lies between 0 and 1, got {value:.4g}.")
    expect_close(value, expected, "0.1", "the click-through rate of the shop")
    tiny = pd.DataFrame({"clicked": [True, False, False, True, False, False, True, False]})
    expect_close(click_through_rate(tiny), 3 / 8, "0.1", "the rate of a log with 3 clicks in 8 impressions")
    passed("0.1", f"The shop's click-through rate is {expected:.2%}.")
