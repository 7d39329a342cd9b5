"""Self-checks of the exercises in notebooks/09_real_time.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import attempted, check_choice, compare, number, passed


def check_gain_by_page(answer, gain_by_page) -> None:
    """Exercise 9.1: on which page is the reactive policy's gain largest (a 1, b 2, c a later page, d equal)?"""
    g = np.asarray(gain_by_page, dtype=float)
    peak, equal = int(np.argmax(g)), bool(np.ptp(g[1:]) < 0.1 * max(abs(g).max(), 1e-12))
    what = "gain per session by page: " + ", ".join(f"{v:+.4f}" for v in g)
    check_choice("9.1", answer, {
        "a": (False, f"{what}. On page 1 nothing has been clicked yet, so both policies show the same slate."),
        "b": (not equal and peak == 1, f"{what}: the first clicks move the ranking most, since afterwards the "
              "reactive policy has already pulled the clicked categories up and runs out of fresh items in them."),
        "c": (not equal and peak >= 2, f"{what}: intent builds up over several pages before the reactive "
              "ranking has the most to gain from it."),
        "d": (equal, f"{what}; compare page 2 with the last page."),
    })


def check_best_arm_read(answer, table) -> None:
    """Exercise 9.2: is one strategy best for every segment (a), or does the best one differ (b)?"""
    best = table.idxmax(axis=1)
    one = bool(best.nunique() == 1)
    what = "best by segment: " + ", ".join(f"{seg} {arm}" for seg, arm in best.items())
    check_choice("9.2", answer, {
        "a": (one, what + ("." if one else ": look along each row, not at the column means.")),
        "b": (not one, f"{what}: a policy that knows the segment can pick each row's best column."),
    })


def check_negative_regret_read(answer, regret_fixed) -> None:
    """Exercise 9.3: what a negative regret against the best fixed strategy means."""
    final = float(np.mean(np.asarray(regret_fixed)[:, -1]))
    check_choice("9.3", answer, {
        "a": (False, f"regret against a benchmark weaker than the oracle can be negative (here {final:+.1f} EUR)."),
        "b": (final < 0, f"LinUCB ends {final:+.1f} EUR against the best single strategy: per-segment choice "
              "beats every single strategy." if final < 0 else f"here it ends at {final:+.1f} EUR, not below zero."),
        "c": (False, "the regret here is computed from expected rewards, so coin-flip luck does not enter it; "
              "and the mean over seeds stays below zero."),
    })


def check_dr_estimate(dr_estimate) -> None:
    """Exercise 9.4: ``dr_estimate(rewards, propensities, logged_arms, target_arms, r_hat_logged, r_hat_target)``."""
    rng = np.random.default_rng(0)
    n = 200
    rewards, prop = rng.gamma(2.0, 1.0, n), rng.choice([0.2, 0.5], n)
    logged, target = rng.integers(0, 3, n), rng.integers(0, 3, n)
    r_log, r_tgt = rng.normal(2, 0.5, n), rng.normal(2, 0.5, n)
    got = dr_estimate(rewards, prop, logged, target, r_log, r_tgt)
    if not attempted(got, "9.4"):
        return
    match = logged == target
    expected = np.mean(r_tgt + match / prop * (rewards - r_log))
    compare(number(got, "9.4"), expected, "9.4", "the DR estimate of a test log", {
        "that is IPS: add the reward model's prediction for the target arm, r_hat_target, to every term.":
            np.mean(match / prop * (rewards - r_log)),
        "plain IPS ignores the reward model; DR corrects r_hat_target with the weighted residual.":
            np.mean(match / prop * rewards),
        "divide the indicator by the propensity (importance weight), do not multiply.":
            np.mean(r_tgt + match * prop * (rewards - r_log)),
        "the residual uses the model at the *logged* arm (r_hat_logged), not at the target arm.":
            np.mean(r_tgt + match / prop * (rewards - r_tgt)),
        "keep the indicator 1[logged == target]: only requests where the logged arm is the target's carry a residual.":
            np.mean(r_tgt + 1 / prop * (rewards - r_log)),
    }, rtol=1e-9)
    passed("9.4", "your doubly robust estimate matches the reference on a test log.")


def check_launch_memo(answer, regret_fixed, ope, fixed_value: float) -> None:
    """Exercise 9.5: launch now (a), not because of the oracle (b) or IPS (c), or test online first (d)?"""
    final = float(np.mean(np.asarray(regret_fixed)[:, -1]))
    lo = float(ope.loc["DR", "2.5%"])
    clear = lo > fixed_value
    where = f"the DR interval starts at {lo:.3f} EUR; the single strategy earns {fixed_value:.3f}"
    check_choice("9.5", answer, {
        "a": (clear, f"{where}, so the gain is clear offline too; still guard purchases online." if clear else
              f"{where}: the offline interval does not exclude 'no gain' (the simulated regret is {final:+.1f} EUR)."),
        "b": (False, "the oracle knows each user; growing regret against it is a ceiling no deployable policy "
              "reaches, not a failure to converge."),
        "c": (False, "IPS's width is not the question: read DR's interval, and ask whether it excludes no gain."),
        "d": (not clear, f"{where}: plausible, not proven; an online test settles it." if not clear else
              f"{where}: the interval already excludes no gain."),
    })
