"""Self-checks of the exercises in notebooks/08_long_term_effects.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import attempted, check_prediction, choice, expect, fail, number, passed

OPTIONS = {
    "8.1": {
        "a": (False, "premium users have the smallest price sensitivity: they lose the fewest stars per doubling of "
                     "the price paid."),
        "b": (True, "the price term of the stars is multiplied by the user's price sensitivity, highest for bargain "
                    "hunters, so they lose the most stars per doubling of the price paid."),
        "c": (False, "every segment's mean stars fall from 'below usual' to 'above usual': price paid matters."),
        "d": (False, "the stars fall as the relative price rises, they do not rise."),
    },
    "8.4": {
        "a": (False, "over 60 days the sweep's best GMV comes from a positive lambda: users who leave take their "
                     "future purchases with them."),
        "b": (True, "over a week almost nobody has left, so GMV-greedy wins; over the quarter a moderate lambda keeps "
                    "enough users to earn more in total."),
        "c": (False, "the largest lambda earns the least GMV of the sweep: it shows items users like but do not buy."),
        "d": (False, "that is the wrong way round: the first week is where GMV-greedy is strongest."),
    },
}
check_reviews = choice(OPTIONS, "8.1", "what the stars by segment and price band show.")
check_lambda_choice = choice(OPTIONS, "8.4", "which lambda for a quarter and for a week.")


def check_thompson(thompson_scores) -> None:
    """Exercise 8.2: ``thompson_scores(clicks, views, prior_mean, prior_strength, rng)`` draws Beta posteriors."""
    clicks, views = np.array([0.0, 0.0, 30.0, 2.0]), np.array([0.0, 10.0, 100.0, 1000.0])
    first = thompson_scores(clicks, views, 0.1, 20.0, np.random.default_rng(0))
    if not attempted(first, "8.2"):
        return
    draws = np.array([thompson_scores(clicks, views, 0.1, 20.0, np.random.default_rng(s)) for s in range(400)],
                     dtype=float)
    expect(draws.shape == (400, 4), "8.2", f"return one draw per entry (shape {clicks.shape}), got {np.shape(first)}.")
    expect(bool(np.all((draws >= 0) & (draws <= 1))), "8.2", "a click rate lies between 0 and 1.")
    expect(float(draws.std(0).min()) > 1e-6, "8.2",
           "your scores do not vary between random generators: that is the posterior mean (greedy), not a "
           "draw. Sample with rng.beta(a, b).")
    a, b = clicks + 20.0 * 0.1, views - clicks + 20.0 * 0.9
    mean, sd = a / (a + b), np.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    if abs(draws[:, 0].mean() - 0.5) < 0.05:
        fail("8.2", "an unseen item draws around 0.5: add the prior's pseudo-views (prior_strength x prior_mean "
             "clicks out of prior_strength views).")
    if abs(draws[:, 2].mean() - 0.7) < 0.05:
        fail("8.2", "the second Beta parameter is the non-clicks, views - clicks (plus the prior's), not the clicks.")
    expect(bool(np.all(np.abs(draws.mean(0) - mean) / (sd / np.sqrt(400)) < 5)), "8.2",
           f"the mean draws {np.round(draws.mean(0), 3)} should be near the posterior means {np.round(mean, 3)}: "
           "use Beta(clicks + s m, views - clicks + s (1 - m)).")
    expect(bool(np.all(np.abs(draws.std(0) / sd - 1) < 0.25)), "8.2",
           f"the spread of the draws {np.round(draws.std(0), 3)} should be near the posterior's {np.round(sd, 3)}.")
    passed("8.2", "unseen items draw widely around the prior, much-seen items close to their click rate.")


def check_coverage_prediction(guess, actual: float) -> None:
    """Exercise 8.3: the predicted catalogue coverage of greedy in the last round."""
    if attempted(guess, "8.3"):
        expect(isinstance(guess, int | float) and 0 <= guess <= 1, "8.3",
               "coverage is a share of the catalogue: give a number between 0 and 1.")
        check_prediction("8.3", guess, actual, "greedy's coverage in the last round", rel_tol=0.25)


def check_ad_price(answer, actual: float) -> None:
    """Exercise 8.5: the share of the best satisfaction the ad-revenue champion keeps (read from the table)."""
    if not attempted(answer, "8.5"):
        return
    value = number(answer, "8.5")
    if 1 < value <= 100 and abs(value / 100 - actual) <= 0.02:
        fail("8.5", "that is the percentage; give it as a share between 0 and 1.")
    if abs(value - (1 - actual)) <= 0.02 and abs(value - actual) > 0.02:
        fail("8.5", "that is the share it gives up; the question asks for the share it keeps.")
    expect(abs(value - actual) <= 0.02, "8.5",
           "read the row 'max ad_revenue' and the column 'satisfaction (% of best)' of the price table.")
    passed("8.5", f"the ad-revenue champion keeps {actual:.0%} of the best satisfaction.")
