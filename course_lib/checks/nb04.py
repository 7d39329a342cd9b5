"""Self-checks of the exercises in notebooks/04_ranking_objectives.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib import metrics, ranking
from course_lib.checks import attempted, check_choice, compare, expect, expect_close, passed


def _ndcg(gains, k: int) -> float:
    """NDCG@k of one list of gains, ranked as given (NaN without positives)."""
    return float(metrics.ndcg_at_k(-np.arange(len(gains))[None, :], np.asarray(gains, dtype=float)[None, :], k)[0])


def check_ndcg_one(fn) -> None:
    """Exercise 4.1: ``fn(ranked_gains, k)`` returns the NDCG@k of one ranked list (NaN without positives)."""
    cases = [([3, 0, 1, 0, 2, 1], 3), ([0, 0, 1], 2), ([1, 3, 0, 0], 4), ([2, 1, 0], 10), ([0, 0, 0], 2)]
    if not attempted(fn(*cases[0]), "4.1"):
        return
    for gains, k in cases:
        got, g = fn(list(gains), k), np.array(gains, dtype=float)
        if np.isnan(_ndcg(g, k)):
            expect(got is not None and bool(np.isnan(float(got))), "4.1",
                   f"a list without any positive gain has no ideal ranking: return float('nan'), got {got!r}")
            continue
        compare(got, _ndcg(g, k), "4.1", f"NDCG@{k} of {gains}", {
            "you returned the DCG; divide it by the ideal DCG (the same gains sorted best first).":
                g[:k] @ metrics.log2_discount(len(g[:k])),
            "use the gain itself (linear gain), not 2 ** gain - 1.": _ndcg(2**g - 1, k),
        })
    passed("4.1", "Your NDCG matches course_lib's on every test list.")


def check_intra_list_diversity(fn) -> None:
    """Exercise 4.2: ``fn(categories)`` returns the share of pairs of one list whose categories differ."""
    cases = [[0, 0, 1], [2, 2, 2, 2], [0, 1, 2, 3], [5, 1, 5, 1, 5, 7, 7, 0, 3, 5]]
    if not attempted(fn(list(cases[0])), "4.2"):
        return
    for cats in cases:
        expected, n = float(metrics.intra_list_diversity(categories=np.array([cats]))[0]), len(cats)
        compare(fn(list(cats)), expected, "4.2", f"the intra-list diversity of {cats}", {
            "count each unordered pair once and leave out an item paired with itself (k (k - 1) / 2 pairs).":
                sum(a != b for a in cats for b in cats) / (n * n),
            "that is the share of pairs in the *same* category; diversity is the share that differ.": 1 - expected,
            "that is the number of distinct categories over k; count pairs instead.": len(set(cats)) / n,
        })
    passed("4.2", "Your diversity matches metrics.intra_list_diversity.")


def check_margin_per_click_weights(answer) -> None:
    """Exercise 4.3: the fusion weights that rank by P(purchase | click) x margin (EUR)."""
    if not attempted(answer, "4.3"):
        return
    w = np.asarray(answer, dtype=float)
    expect(w.shape == (5,), "4.3", f"give 5 weights, one per signal (click, conversion, price, margin_rate, novelty), "
                                   f"got shape {w.shape}")
    expect(bool(np.all(w >= 0)) and w.sum() > 0, "4.3", "weights are non-negative and not all zero.")
    w = w / w.sum()
    expect(w[0] < 1e-9 or not np.allclose(w, np.array([1.0, 1.0, 1.0, 1.0, 0.0]) / 4), "4.3",
           "that ranks by expected profit per impression, p_click x P(purchase | click) x margin: "
           "drop the click signal.")
    expect(w[2] > 1e-9, "4.3", "margin (EUR) = price x margin rate, so the price signal needs the same weight "
                               "as the margin_rate signal.")
    expect(w[4] < 1e-9, "4.3", "popularity plays no part in P(purchase | click) x margin.")
    expect_close(w, np.array([0.0, 1.0, 1.0, 1.0, 0.0]) / 3, "4.3", "your weights (normalised to sum to 1)")
    passed("4.3", "Indeed log(P(purchase | click) x margin) = log(p_purchase / p_click) + log price + log margin_rate.")


def check_fitness(fitness, cs) -> None:
    """Exercise 4.6: ``fitness(w)`` = predicted GMV + 20 x diversity of the top-10 under weights w."""
    probes = [np.array(ranking.PRESETS["ctr"]), np.array(ranking.PRESETS["gmv"]), np.array([0.2, 0.1, 0.1, 0.1, 0.5])]
    if not attempted(fitness(probes[0]), "4.6"):
        return
    values = [float(fitness(w)) for w in probes]
    expect(len(set(np.round(values, 9))) > 1, "4.6",
           "your fitness gives the same value for very different weights: it cannot depend on the ranking. "
           "Compute it from ranking.evaluate(cs, w).")
    for w, got in zip(probes, values, strict=True):
        obj, truth = ranking.evaluate(cs, w), ranking.evaluate(cs, w, truth=True)
        expect(not np.isclose(got, truth["gmv"] + 20 * truth["diversity"], rtol=1e-9)
               or np.isclose(truth["gmv"], obj["gmv"]), "4.6",
               "a tuner only sees predictions: use the predicted objectives (truth=False), the shop's truth is for "
               "judging afterwards.")
        expect_close(got, obj["gmv"] + 20 * obj["diversity"], "4.6", f"fitness({np.round(w, 2).tolist()})")
    passed("4.6", f"Your fitness ranges from {min(values):.2f} to {max(values):.2f} over the probes: it depends on w.")


def check_gmv_bias_read(answer, presets) -> None:
    """Exercise 4.4: read the presets table; is predicted GMV above, below, or on both sides of the truth?"""
    ratio = presets.xs("predicted", level="values")["gmv"] / presets.xs("true", level="values")["gmv"]
    above, below = bool((ratio > 1).all()), bool((ratio < 1).all())
    shown = "predicted / true GMV is " + ", ".join(f"{name} {r:.2f}" for name, r in ratio.items())
    check_choice("4.4", answer, {
        "a": (above, f"{shown}: " + ("above 1 for every ranking, so the model is optimistic." if above
                                     else "not above 1 everywhere.")),
        "b": (below, f"{shown}: " + ("below 1 for every ranking, so the model is pessimistic." if below
                                     else "not below 1 everywhere.")),
        "c": (not above and not below, f"{shown}: " + ("every ratio lies on the same side of 1." if above or below
                                                        else "on both sides of 1.")),
    })


def check_diversity_sweep_prediction(answer, diversity) -> None:
    """Exercise 4.5: the shape of true diversity along the price sweep (a rises, b falls, c hump, d flat)."""
    d = np.asarray(diversity, dtype=float)
    peak, flat = int(d.argmax()), d.max() - d.min() < 0.02
    hump = not flat and 0 < peak < len(d) - 1 and d[peak] > max(d[0], d[-1]) + 0.02
    what = f"diversity goes {d[0]:.2f} -> {d[peak]:.2f} (peak) -> {d[-1]:.2f}"
    check_choice("4.5", answer, {
        "a": (not flat and not hump and d[-1] > d[0],
              f"{what}; a lot of price weight crowds the lists with the few expensive categories."),
        "b": (not flat and not hump and d[-1] < d[0], f"{what}; watch the middle of the sweep, not only its ends."),
        "c": (hump, f"{what}: a little price weight mixes dearer categories in, a lot of it crowds them out."),
        "d": (flat, f"{what}; the categories on top change with the price weight."),
    })
