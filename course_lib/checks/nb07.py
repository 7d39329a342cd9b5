"""Self-checks of the exercises in notebooks/07_evaluation.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, check_choice, choice, compare, expect, fail, number, passed

OPTIONS = {
    "7.2": {
        "a": (False, "the delta method gives a ratio its honest width; it is applied with and without CRN alike, so it "
                     "cannot explain the difference between the two columns."),
        "b": (True, "CRN helps as much as the two arms' outcomes are correlated: high for clicks (the same user and "
                    "dice at each slot), low for diversity (it depends only on which items each policy picks)."),
        "c": (False, "every metric of the table comes from the same 20,000 requests per arm."),
        "d": (False, "GMV and profit are not binary, and CRN narrows their intervals too."),
    },
    "7.3": {
        "a": (False, "the true difference is zero, but each test sees noise; at the 5% level, 5% of tests find a "
                     "'difference' by chance. That is what the 5% means."),
        "b": (True, "under the null hypothesis p-values are uniform, so 5% of 500 tests, about 25, fall below 0.05."),
        "c": (False, "that would be a 10% false-positive rate, twice what a 5% test promises."),
        "d": (False, "a p-value below 0.05 happens with probability 0.05 under the null, not 0.5."),
    },
    "7.6": {
        "a": (False, "the target's certainty is what hurts: it puts almost all its probability on one item per user, "
                     "and most logged requests did not show that item first, so their weights go to 0."),
        "b": (False, "the log is the same, but the weights are not: they depend on the target's probabilities."),
        "c": (True, "the few requests where the logger showed the target's favourite first carry all the weight."),
    },
}
check_crn_read = choice(OPTIONS, "7.2", "why CRN narrows CTR's interval most and diversity's least.")
check_aa_prediction = choice(OPTIONS, "7.3", "how many of 500 A/A tests come out significant at 5%.")
check_ess_prediction = choice(OPTIONS, "7.6", "what a near-deterministic target does to the effective sample size.")


def _pair(answer) -> tuple[float, float]:
    try:
        low, high = (float(x) for x in answer)
    except (TypeError, ValueError):
        raise ExerciseError("Exercise 7.1: return a pair of numbers (low, high).") from None
    return low, high


def check_paired_interval(paired_interval, gmv_a, gmv_b) -> None:
    """Exercise 7.1: ``paired_interval(gmv_a, gmv_b, n_boot, seed)``, a 95% paired percentile bootstrap interval."""
    from course_lib.inference import bootstrap_ci

    a, b = np.asarray(gmv_a, dtype=float), np.asarray(gmv_b, dtype=float)
    answer = paired_interval(a, b, n_boot=1000, seed=0)
    if not attempted(answer, "7.1"):
        return
    (low, high), diff, n = _pair(answer), b - a, len(a)
    expect(low < high, "7.1", f"low ({low:.3f}) should be below high ({high:.3f}).")
    expect(low <= diff.mean() <= high, "7.1",
           f"the interval [{low:.3f}, {high:.3f}] should contain the observed mean difference {diff.mean():.3f}.")
    width, paired_width = high - low, 2 * 1.96 * diff.std(ddof=1) / np.sqrt(n)
    unpaired_width = 2 * 1.96 * np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
    if unpaired_width > 1.3 * paired_width and abs(width - unpaired_width) < abs(width - paired_width):
        fail("7.1", "your interval is as wide as an unpaired one. Resample the same users for both policies (one set "
             "of indices per replicate, applied to the per-user differences).")
    expect(0.8 * paired_width <= width <= 1.25 * paired_width, "7.1",
           f"the width {width:.3f} is far from what a paired bootstrap gives (about {paired_width:.3f}): resample "
           "users with replacement, average the differences, and take the 2.5% and 97.5% quantiles.")
    # On a small skewed sample the percentile interval is asymmetric; a mean +- 1.96 se interval is not.
    skewed = np.random.default_rng(7).lognormal(0.0, 1.2, size=60)
    s_low, s_high = _pair(paired_interval(np.zeros_like(skewed), skewed, n_boot=4000, seed=1))
    _, r_low, r_high = bootstrap_ci(skewed, n_boot=20_000, seed=12345)
    mean, se, ref_width = skewed.mean(), skewed.std(ddof=1) / np.sqrt(len(skewed)), r_high - r_low
    if abs(s_low - (mean - 1.96 * se)) < 0.03 * ref_width and abs(s_high - (mean + 1.96 * se)) < 0.03 * ref_width:
        fail("7.1", "that is the normal approximation (mean +- 1.96 standard errors), not the bootstrap: on a skewed "
             "sample the percentile interval is not symmetric. Take the quantiles of the replicates.")
    expect(abs(s_low - r_low) < 0.1 * ref_width and abs(s_high - r_high) < 0.1 * ref_width, "7.1",
           f"on a small skewed sample your interval is [{s_low:.3f}, {s_high:.3f}], the percentile bootstrap gives "
           f"about [{r_low:.3f}, {r_high:.3f}]: use the 2.5% and 97.5% quantiles of n_boot replicate means.")
    passed("7.1", f"Paired interval [{low:.2f}, {high:.2f}] EUR, {unpaired_width / width:.1f}x narrower than unpaired.")


def check_launch_memo(answer, ab, max_click_loss_pct: float, max_purchase_loss_pct: float) -> None:
    """Exercise 7.4: the launch memo, judged against the A/B table ``ab`` and the pre-registered guardrails."""
    if not attempted(answer, "7.4"):
        return

    def pct(metric, col):
        return 100 * float(ab.loc[metric, col]) / float(ab.loc[metric, "a"])

    bounds = {"ctr": max_click_loss_pct, "purchases": max_purchase_loss_pct}
    holds = {m: pct(m, "low") >= -bound for m, bound in bounds.items()}  # the whole interval within the guardrail
    gmv_up = float(ab.loc["gmv", "low"]) > 0
    decided = (gmv_up or float(ab.loc["gmv", "high"]) < 0) and all(  # each interval on one side of its bound
        holds[m] or pct(m, "high") < -bound for m, bound in bounds.items())
    gmv = f"GMV {pct('gmv', 'diff'):+.0f}% [{pct('gmv', 'low'):+.0f}%, {pct('gmv', 'high'):+.0f}%]"
    clicks = f"clicks {pct('ctr', 'diff'):+.0f}% (bound -{max_click_loss_pct:.0f}%)"
    buys = (f"purchases {pct('purchases', 'diff'):+.0f}% [{pct('purchases', 'low'):+.0f}%, "
            f"{pct('purchases', 'high'):+.0f}%] (bound -{max_purchase_loss_pct:.0f}%)")
    right = ("d" if not decided else "a" if gmv_up and holds["ctr"] and holds["purchases"]
             else "c" if gmv_up and holds["purchases"] else "b")
    why = {
        "a": f"{gmv}, and both guardrails hold: {clicks}, {buys}." if right == "a"
        else f"{gmv} is the goal, but the rule you wrote has guardrails too: {clicks}; {buys}.",
        "b": f"{buys}: B earns more by selling fewer, pricier items, which the rule written before the test forbids; "
             "report the gain and test a variant that holds purchases." if not holds["purchases"]
        else f"{buys} is within its guardrail." + ("" if gmv_up else f" But {gmv}: nothing to launch."),
        "c": f"{clicks}: within the guardrail, so clicks are not the problem." if holds["ctr"]
        else f"{clicks}: beyond the guardrail.",
        "d": "each interval lies clearly on one side of its bound (zero for GMV): more traffic would not change the "
             "decision." if decided else "some interval still straddles its bound: more traffic could decide.",
    }
    check_choice("7.4", answer, {letter: (letter == right, reason) for letter, reason in why.items()})


def check_snips(snips, rewards, target_probs, logging_propensities) -> None:
    """Exercise 7.5: ``snips(rewards, target_probs, logging_propensities)``, self-normalised IPS."""
    r, pt, pl = (np.asarray(x, dtype=float) for x in (rewards, target_probs, logging_propensities))
    answer = snips(r, pt, pl)
    if not attempted(answer, "7.5"):
        return
    value, w, inv = number(answer, "7.5"), pt / pl, pl / pt.clip(1e-300)
    compare(value, (w * r).sum() / w.sum(), "7.5", "SNIPS on the logged requests", {
        "that is plain IPS (the mean of w r). SNIPS divides sum(w r) by sum(w).": (w * r).mean(),
        "the weights are upside down: w = target / logging probability.": (inv * r).sum() / inv.sum(),
        "that is the logged click rate, without any weights.": r.mean(),
    })
    # A case known by heart: weights (2, 1, 1) and rewards (1, 0, 0) give 2 / 4.
    small = snips(np.array([1.0, 0.0, 0.0]), np.array([0.4, 0.2, 0.2]), np.array([0.2, 0.2, 0.2]))
    expect(small is not None and np.isclose(float(small), 0.5), "7.5",
           "with rewards (1, 0, 0), target (0.4, 0.2, 0.2) and logging (0.2, 0.2, 0.2) SNIPS is 2 / 4 = 0.5.")
    passed("7.5", f"SNIPS {value:.4f} on {len(r)} logged requests.")
