"""Self-checks of the exercises in notebooks/07_evaluation.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, expect, expect_close, passed


def check_paired_interval(answer, gmv_a, gmv_b) -> None:
    """Exercise 7.1: a 95% paired bootstrap interval (low, high) of mean(gmv_b - gmv_a) over users."""
    if not attempted(answer, "7.1"):
        return
    try:
        low, high = (float(x) for x in answer)
    except (TypeError, ValueError):
        raise ExerciseError("Exercise 7.1: return a pair of numbers (low, high).") from None
    a, b = np.asarray(gmv_a, dtype=float), np.asarray(gmv_b, dtype=float)
    n = len(a)
    diff = b - a
    expect(low < high, "7.1", f"low ({low:.3f}) should be below high ({high:.3f}).")
    expect(low <= diff.mean() <= high, "7.1",
           f"the interval [{low:.3f}, {high:.3f}] should contain the observed mean difference {diff.mean():.3f}.")
    paired_width = 2 * 1.96 * diff.std(ddof=1) / np.sqrt(n)
    unpaired_width = 2 * 1.96 * np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
    width = high - low
    if abs(width - unpaired_width) < abs(width - paired_width) and unpaired_width > 1.3 * paired_width:
        raise ExerciseError(
            "Exercise 7.1: your interval is as wide as an unpaired one. Resample the same users for both "
            "policies (one set of indices per replicate, applied to the per-user differences)."
        )
    expect(0.75 * paired_width <= width <= 1.25 * paired_width, "7.1",
           f"the width {width:.3f} is far from what a paired bootstrap gives (about {paired_width:.3f}): "
           "resample users with replacement, average the differences, and take the 2.5% and 97.5% quantiles.")
    passed("7.1", f"Paired interval [{low:.2f}, {high:.2f}] EUR, {unpaired_width / width:.1f}x narrower than unpaired.")


def check_aa_pvalues(answer, policy, shop, n_requests: int = 5000) -> None:
    """Exercise 7.2: the GMV p-values of 40 A/A tests without common random numbers (seeds 0..39)."""
    if not attempted(answer, "7.2"):
        return
    from course_lib import evaluate

    p = np.asarray(answer, dtype=float).ravel()
    expect(p.shape == (40,), "7.2", f"return 40 p-values, one per seed 0..39; got {p.size}.")
    expect(bool(np.all((p >= 0) & (p <= 1))), "7.2", "p-values lie between 0 and 1.")
    for seed in (0, 1):
        ref = evaluate.ab_test(policy, policy, n_requests, seed, shop=shop, common_random_numbers=False)
        expect(np.isclose(p[seed], ref.loc["gmv", "p_value"], rtol=1e-6), "7.2",
               f"the p-value for seed {seed} should be {ref.loc['gmv', 'p_value']:.4f} (GMV, {n_requests} requests, "
               f"common_random_numbers=False), got {p[seed]:.4f}. With common random numbers an A/A test is exactly "
               "null: both arms see the same users and draws.")
    rate = float((p < 0.05).mean())
    expect(rate <= 0.2, "7.2", f"{rate:.0%} of A/A tests came out significant; about 5% should.")
    passed("7.2", f"{rate:.1%} of the 40 A/A tests are significant at 5%: the test keeps its promise.")


def check_snips(answer, rewards, target_probs, logging_propensities) -> None:
    """Exercise 7.3: (SNIPS estimate, effective sample size) computed by hand."""
    if not attempted(answer, "7.3"):
        return
    try:
        snips, ess = (float(x) for x in answer)
    except (TypeError, ValueError):
        raise ExerciseError("Exercise 7.3: return a pair of numbers (snips, ess).") from None
    w = np.asarray(target_probs, dtype=float) / np.asarray(logging_propensities, dtype=float)
    r = np.asarray(rewards, dtype=float)
    expected_snips = (w * r).sum() / w.sum()
    expected_ess = w.sum() ** 2 / (w**2).sum()
    if np.isclose(snips, (w * r).mean(), rtol=1e-6) and not np.isclose(snips, expected_snips, rtol=1e-6):
        raise ExerciseError("Exercise 7.3: that is plain IPS (mean of w r). SNIPS divides sum(w r) by sum(w).")
    expect_close(snips, expected_snips, "7.3", "SNIPS", rtol=1e-6)
    expect_close(ess, expected_ess, "7.3", "the effective sample size (sum w)^2 / sum(w^2)", rtol=1e-6)
    passed("7.3", f"SNIPS {snips:.4f} from an effective {ess:.0f} of {len(w)} logged requests.")
