"""Self-checks of the exercises in notebooks/06_ga_nsga2_tuning.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import attempted, expect, expect_close, passed


def check_dominates(dominates) -> None:
    """Exercise 6.1: ``dominates(a, b)`` for minimised objective vectors."""
    cases = [
        ([1, 2], [2, 3], True, "a is better in both objectives"),
        ([1, 2], [1, 3], True, "a is as good in one and better in the other"),
        ([1, 2], [1, 2], False, "equal vectors do not dominate each other (strictly better somewhere is needed)"),
        ([1, 3], [2, 2], False, "a is better in one objective but worse in the other: neither dominates"),
        ([2, 3], [1, 2], False, "b is better everywhere, so a does not dominate b (we minimise)"),
        ([0, 0, 5], [1, 1, 4], False, "three objectives: a is worse in the last one"),
        ([0, 1, 4], [1, 1, 4], True, "three objectives: as good in two, better in one"),
    ]
    first = dominates(np.array(cases[0][0]), np.array(cases[0][1]))
    if not attempted(first, "6.1"):
        return
    for a, b, expected, why in cases:
        got = dominates(np.array(a, dtype=float), np.array(b, dtype=float))
        expect(bool(got) == expected, "6.1", f"dominates({a}, {b}) should be {expected}: {why}.")
    passed("6.1", "at least as good everywhere, strictly better somewhere.")


def check_hv_2d(hv_2d) -> None:
    """Exercise 6.2: ``hv_2d(F, ref)``, the area dominated by 2-D minimised points up to ``ref``."""
    from course_lib import optimize

    hand = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    first = hv_2d(hand, 1.1)
    if not attempted(first, "6.2"):
        return
    expect_close(first, 0.46, "6.2", "the area of (0, 1), (0.5, 0.5), (1, 0) up to (1.1, 1.1)")
    rng = np.random.default_rng(62)
    for _ in range(5):
        F = rng.random((12, 2)) * 1.2  # some points dominated, some beyond the reference point
        expected = optimize.hypervolume(F, np.zeros(2), np.ones(2), ref=1.1)
        got = hv_2d(F, 1.1)
        expect(np.isclose(got, expected, rtol=1e-9),
               "6.2", f"on random points you get {float(got):.4f}, pymoo's HV {expected:.4f}: skip dominated points "
               "and points beyond the reference point, and sort by the first objective.")
    passed("6.2", "rectangles between consecutive front points, summed.")


def check_asf_choice(answer, F, importance, ideal, nadir) -> None:
    """Exercise 6.3: index of the front point with the smallest ASF for ``importance``."""
    from course_lib import optimize

    if not attempted(answer, "6.3"):
        return
    values = optimize.asf(F, importance, ideal, nadir)
    expected = int(np.argmin(values))
    expect(np.ndim(answer) == 0, "6.3", "return one index (an int) into the front.")
    expect(int(answer) != int(np.argmax(values)), "6.3", "that is the largest ASF; the best point has the smallest.")
    raw = np.max(np.asarray(importance) * (np.asarray(F) - ideal), axis=1)
    expect(int(answer) == expected or int(answer) != int(np.argmin(raw)), "6.3",
           "normalise each objective by (nadir - ideal) first, or the objective in euros drowns the others.")
    expect(int(answer) == expected, "6.3", f"ASF picks point {expected} (ASF {values[expected]:.3f}); yours has ASF "
           f"{values[int(answer)]:.3f}. ASF = max over objectives of importance x normalised gap to the ideal.")
    passed("6.3", f"point {expected}.")
