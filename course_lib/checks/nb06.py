"""Self-checks of the exercises in notebooks/06_ga_nsga2_tuning.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, check_choice, expect, expect_close, passed


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
    if not attempted(dominates(np.array(cases[0][0]), np.array(cases[0][1])), "6.1"):
        return
    for a, b, expected, why in cases:
        got = dominates(np.array(a, dtype=float), np.array(b, dtype=float))
        expect(bool(got) == expected, "6.1", f"dominates({a}, {b}) should be {expected}: {why}.")
    passed("6.1", "at least as good everywhere, strictly better somewhere.")


def check_missed_end(answer, reference_values, found_values, objectives) -> None:
    """Exercise 6.2: along which objective the reference front reaches further than the found points.

    reference_values, found_values: (n, 3) natural-sign (higher is better) objective values.
    """
    ref, found = np.asarray(reference_values, dtype=float), np.asarray(found_values, dtype=float)
    span = ref.max(axis=0) - ref.min(axis=0)
    shortfall = (ref.max(axis=0) - found.max(axis=0)) / np.where(span > 0, span, 1.0)
    right = "abc"[int(np.argmax(shortfall))] if shortfall.max() > 0.02 else "d"  # the end missed by > 2% of the range
    gaps = ", ".join(f"{o} {s:.0%}" for o, s in zip(objectives, shortfall, strict=True))
    options = {letter: (right == letter, f"NSGA-II's shortfall at each end, as a share of the front's range: {gaps}. "
                        + (f"The {name} end is the one it misses." if right == letter else
                           f"At the {name} end NSGA-II is (nearly) as far as the grid; compare the other panels."))
               for letter, name in zip("abc", objectives, strict=True)}
    options["d"] = (right == "d", f"shortfalls: {gaps}. " + ("Every end is reached." if right == "d" else
                    "One end is clearly missing: find the panel where only grid points reach the far side."))
    check_choice("6.2", answer, options)


def check_hv_2d(hv_2d) -> None:
    """Exercise 6.3: ``hv_2d(F, ref)``, the area dominated by 2-D minimised points up to ``(ref, ref)``."""
    from pymoo.indicators.hv import HV

    hand = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]])
    first = hv_2d(hand, 1.1)
    if not attempted(first, "6.3"):
        return
    expect_close(first, 0.46, "6.3", "the area of (0, 1), (0.5, 0.5), (1, 0) up to (1.1, 1.1)")
    expect_close(hv_2d(np.vstack([hand, [[0.8, 0.8]]]), 1.1), 0.46, "6.3",
                 "the area with a dominated point (0.8, 0.8) added (it must add nothing: skip dominated points)")
    expect_close(hv_2d(np.vstack([hand, [[0.2, 1.3]]]), 1.1), 0.46, "6.3",
                 "the area with a point beyond the reference point added (it must add nothing)")
    rng = np.random.default_rng(62)
    for _ in range(5):
        F = rng.random((12, 2)) * 1.2  # some points dominated, some beyond the reference point
        expected, got = float(HV(ref_point=np.full(2, 1.1))(F)), hv_2d(F, 1.1)
        expect(np.isclose(got, expected, rtol=1e-9),
               "6.3", f"on random points you get {float(got):.4f}, pymoo's HV {expected:.4f}: skip dominated points "
               "and points beyond the reference point, and sort by the first objective.")
    passed("6.3", "rectangles between consecutive front points, summed.")


def check_igd_prediction(answer, igd_medians: dict, hv_medians: dict) -> None:
    """Exercise 6.4: which method (a NSGA-II, b MOPSO-CD, c random) has the lowest median IGD to the grid front."""
    best, top_hv = min(igd_medians, key=igd_medians.get), max(hv_medians, key=hv_medians.get)
    said = "median IGD: " + ", ".join(f"{n} {v:.3f}" for n, v in igd_medians.items())
    options = {}
    for letter, name in zip("abc", igd_medians, strict=True):
        if name == best:
            why = f"{said}. {name} is closest, on average, to every point of the grid front" + (
                f", although {top_hv} has the highest hypervolume: IGD rewards spread as much as quality."
                if name != top_hv else ", and it has the highest hypervolume too.")
        else:
            why = f"{said}. {name} is not the lowest" + (
                "; a method that misses one end of the grid front pays for it at every reference point there."
                if name != "random" else "; spreading points uniformly is not always enough.")
        options[letter] = (name == best, why)
    check_choice("6.4", answer, options)


def check_asf_choice(asf_choice, F, importance, ideal, nadir) -> None:
    """Exercise 6.5: ``asf_choice(F, importance, ideal, nadir)``: index of the point with the smallest ASF.

    Checked against pymoo's ASF for ``importance`` and two other importance vectors.
    """
    from pymoo.decomposition.asf import ASF

    F, ideal, nadir, importance = (np.asarray(a, dtype=float) for a in (F, ideal, nadir, importance))
    first = asf_choice(F, importance, ideal, nadir)
    if not attempted(first, "6.5"):
        return
    for imp in (importance, np.array([0.6, 0.2, 0.2]), np.array([0.2, 0.2, 0.6])):
        answer = first if imp is importance else asf_choice(F, imp, ideal, nadir)
        if np.ndim(answer) != 0:
            raise ExerciseError("Exercise 6.5: return one index (an int) into the front.")
        values = ASF().do((F - ideal) / (nadir - ideal), 1 / imp)
        expected = int(np.argmin(values))
        expect(int(answer) != int(np.argmax(values)) or expected == int(np.argmax(values)), "6.5",
               "that is the largest ASF; the best point has the smallest.")
        raw = np.max(imp * (F - ideal), axis=1)
        expect(int(answer) == expected or int(answer) != int(np.argmin(raw)), "6.5",
               "normalise each objective by (nadir - ideal) first, or the objective in euros drowns the others.")
        expect(int(answer) == expected, "6.5", f"for importances {imp.tolist()} ASF picks point {expected} "
               f"(ASF {values[expected]:.3f}); yours has ASF {values[int(answer)]:.3f}. "
               "ASF = max over objectives of importance x normalised gap to the ideal.")
    passed("6.5", f"point {int(first)}.")


def check_launch_choice(answer, table, min_clicks_share: float = 0.9, baseline: str = "CTR ranking") -> None:
    """Exercise 6.6: the row of ``table`` with the most GMV among those keeping clicks >= share x baseline's."""
    if not attempted(answer, "6.6"):
        return
    expect(answer in table.index, "6.6", f"answer with a row label of the table, one of {list(table.index)}.")
    floor = min_clicks_share * table.loc[baseline, "clicks"]
    right, row = table[table["clicks"] >= floor]["gmv"].idxmax(), table.loc[answer]
    expect(row["clicks"] >= floor, "6.6",
           f"{answer!r} has {row['clicks']:.3f} expected clicks, below the memo's floor of {floor:.3f} "
           f"({min_clicks_share:.0%} of the {baseline}'s): sellers would leave, whatever its GMV.")
    expect(answer == right, "6.6",
           f"{answer!r} keeps enough clicks, but {right!r} also does and earns more GMV "
           f"({table.loc[right, 'gmv']:.2f} against {row['gmv']:.2f} EUR per request).")
    passed("6.6", f"{right!r}: the most GMV ({row['gmv']:.2f} EUR) with clicks at "
           f"{row['clicks'] / table.loc[baseline, 'clicks']:.0%} of today's.")
