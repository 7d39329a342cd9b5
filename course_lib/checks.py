"""Self-checks for the exercises: each says what is wrong, or that all is well.

Every check prints a line starting with "✅" when the answer is right and raises
an ``ExerciseError`` (an AssertionError) that says what is wrong otherwise.
Solutions live in each notebook, behind a collapsible "Solution" cell.
"""

from __future__ import annotations

import numpy as np


class ExerciseError(AssertionError):
    """An exercise answer is not right yet; the message says why."""


def attempted(answer, exercise: str) -> bool:
    """False (with a friendly line) while the learner's stub still returns None or ``...``."""
    if answer is None or answer is Ellipsis:
        print(f"⏳ Exercise {exercise}: not attempted yet. Write your answer in the cell above and run this one again.")
        return False
    return True


def passed(exercise: str, message: str = "") -> None:
    """Print the success line of an exercise."""
    print(f"✅ Exercise {exercise}: correct. {message}".rstrip())


def expect(condition: bool, exercise: str, hint: str) -> None:
    """Raise ExerciseError with ``hint`` unless ``condition`` holds."""
    if not condition:
        raise ExerciseError(f"Exercise {exercise}: not yet. {hint}")


def expect_close(answer, expected, exercise: str, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """Raise ExerciseError unless ``answer`` is numerically close to ``expected``."""
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(
            f"Exercise {exercise}: {what} should be a number or an array, got {type(answer).__name__}"
        ) from None
    e = np.asarray(expected, dtype=float)
    if a.shape != e.shape:
        raise ExerciseError(f"Exercise {exercise}: {what} should have shape {e.shape}, got {a.shape}")
    if not np.allclose(a, e, rtol=rtol, atol=atol, equal_nan=True):
        raise ExerciseError(f"Exercise {exercise}: {what} is {np.round(a, 4)}, expected about {np.round(e, 4)}")


# ---- 00_welcome -------------------------------------------------------------


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


# ---- 01_behaviour_analysis --------------------------------------------------


def _nb01_series(answer, exercise: str, what: str, index_name: str):
    """The answer as a float Series, or an ExerciseError saying what shape was expected."""
    import pandas as pd

    if not isinstance(answer, pd.Series):
        raise ExerciseError(f"Exercise {exercise}: return a pandas Series of {what} indexed by {index_name}, "
                            f"got {type(answer).__name__}")
    return answer.astype(float)


def check_conversion_by_segment(answer, table) -> None:
    """Exercise 1.1: a DataFrame indexed by segment with columns ctr and purchase_per_click."""
    import pandas as pd

    if not attempted(answer, "1.1"):
        return
    expect(isinstance(answer, pd.DataFrame), "1.1", f"return a DataFrame, got {type(answer).__name__}")
    missing = {"ctr", "purchase_per_click"} - set(answer.columns)
    expect(not missing, "1.1", f"the DataFrame needs the columns ctr and purchase_per_click; missing {sorted(missing)}")
    g = table.groupby("segment", observed=True)
    ctr = g["clicked"].mean()
    per_click = g["purchased"].sum() / g["clicked"].sum()
    got = answer.reindex(ctr.index)
    expect(got.notna().all().all(), "1.1",
           f"index the result by segment: expected the rows {list(ctr.index.astype(str))}, got {list(answer.index)}")
    per_impression = g["purchased"].mean()
    expect(not np.allclose(got["purchase_per_click"], per_impression, rtol=1e-6), "1.1",
           "purchase_per_click divides purchases by clicks, not by impressions.")
    expect_close(got["ctr"].to_numpy(), ctr.to_numpy(), "1.1", "ctr (clicks per impression) by segment")
    expect_close(got["purchase_per_click"].to_numpy(), per_click.to_numpy(), "1.1", "purchase_per_click by segment")
    best = per_click.idxmax()
    passed("1.1", f"the {best} segment buys most often once it clicks ({per_click.max():.1%} of clicks).")


def check_exposure_gini(answer, impressions, n_items: int) -> None:
    """Exercise 1.2: the Gini coefficient of impressions per item (every item of the catalogue)."""
    from course_lib import metrics

    if not attempted(answer, "1.2"):
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 1.2: return one number (a float), got {type(answer).__name__}") from None
    exposure = np.bincount(impressions["item_id"], minlength=n_items)
    clicks = np.bincount(impressions["item_id"][impressions["clicked"]], minlength=n_items)
    expected = metrics.gini(exposure)
    expect(0.0 <= value <= 1.0, "1.2", f"a Gini coefficient lies between 0 and 1, got {value:.4f}")
    expect(not np.isclose(value, metrics.gini(clicks), rtol=1e-4), "1.2",
           "that is the Gini of clicks; count impressions (rows of the impressions table) per item instead.")
    area = (1 - expected) / 2
    expect(not np.isclose(value, area, rtol=1e-3), "1.2",
           "that looks like the area under the Lorenz curve; the Gini is 1 - 2 x area.")
    expect_close(value, expected, "1.2", "the Gini of impressions per item", rtol=1e-3)
    passed("1.2", f"exposure Gini {expected:.3f} vs click Gini {metrics.gini(clicks):.3f}.")


def check_debiased_ctr(answer, impressions) -> None:
    """Exercise 1.3: per-item mean of clicked / (1 + position) ** -0.7, a Series indexed by item_id."""
    import pandas as pd

    if not attempted(answer, "1.3"):
        return
    got = _nb01_series(answer, "1.3", "debiased click-through rates", "item_id")
    exam = (1.0 + impressions["position"].to_numpy()) ** -0.7
    clicked = impressions["clicked"].to_numpy()
    items = impressions["item_id"]
    expected = (clicked / exam).astype(float)
    expected = pd.Series(expected, index=impressions.index).groupby(items).mean()
    expect(len(got) == len(expected), "1.3", f"return one value per item shown: {len(expected)} items, got {len(got)}")
    got = got.reindex(expected.index)
    expect(got.notna().all(), "1.3", "index the Series by item_id (the items that appear in the impressions).")
    naive = pd.Series(clicked.astype(float), index=impressions.index).groupby(items).mean()
    expect(not np.allclose(got, naive, rtol=1e-6), "1.3",
           "that is the naive CTR; divide each click by the examination probability of its slot first.")
    times = pd.Series(clicked * exam, index=impressions.index).groupby(items).mean()
    expect(not np.allclose(got, times, rtol=1e-6), "1.3",
           "divide by the examination probability (1 + position) ** -0.7 instead of multiplying.")
    expect_close(got.to_numpy(), expected.to_numpy(), "1.3", "the debiased CTR per item", rtol=1e-6)
    passed("1.3", f"the debiased CTR averages {got.mean() / naive.mean():.2f} x the naive one: "
           "it estimates the CTR an item would get in the top slot.")

# ---- 02_encoders ------------------------------------------------------------


def _nb02_masked_mean_reference(x, mask):
    m = np.asarray(mask, dtype=float)[..., None]
    return (np.asarray(x, dtype=float) * m).sum(1) / np.maximum(m.sum(1), 1.0)


def check_masked_mean(masked_mean) -> None:
    """Exercise 2.1: ``masked_mean(x, mask)`` for x (batch, T, d) and mask (batch, T) bool -> (batch, d)."""
    rng = np.random.default_rng(21)
    x = rng.normal(size=(4, 5, 3))
    mask = np.array([[0, 0, 1, 1, 1], [1, 1, 1, 1, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]], dtype=bool)
    answer = masked_mean(x, mask)
    if not attempted(answer, "2.1"):
        return
    answer = np.asarray(answer, dtype=float)
    expect(answer.shape == (4, 3), "2.1", f"the result should have shape (batch, d) = (4, 3), got {answer.shape}.")
    expect(np.isfinite(answer).all(), "2.1", "a user with no event (an all-False mask row) must give zeros, not NaN: "
           "divide by max(count, 1).")
    expect(not np.allclose(answer[0], x[0].mean(0)), "2.1", "row 0 has two padded steps: average only the steps "
           "where mask is True.")
    expect_close(answer, _nb02_masked_mean_reference(x, mask), "2.1", "masked_mean(x, mask)")
    passed("2.1", "Padded steps are ignored and an empty history gives zeros.")


def check_recall_ndcg(answer, ranked, relevant, k: int) -> None:
    """Exercise 2.2: ``answer = (recall, ndcg)`` at ``k`` of one ranked list against a set of relevant items."""
    if not attempted(answer, "2.2"):
        return
    expect(len(answer) == 2, "2.2", "return a pair (recall, ndcg).")
    top = list(ranked)[:k]
    hits = np.array([item in set(relevant) for item in top], dtype=float)
    discount = 1.0 / np.log2(np.arange(k) + 2.0)
    recall = hits.sum() / len(set(relevant))
    ndcg = (hits * discount[: len(top)]).sum() / discount[: min(len(set(relevant)), k)].sum()
    expect(not np.isclose(answer[0], hits.sum() / k), "2.2", "that is precision@K (hits / K); recall divides the "
           "hits by the number of relevant items.")
    expect_close(answer[0], recall, "2.2", "recall", rtol=1e-4)
    expect_close(answer[1], ndcg, "2.2", "NDCG (gain 1 / log2(rank + 2) for rank 0, 1, ...; ideal DCG puts all "
                 "relevant items first, at most K of them)", rtol=1e-4)
    passed("2.2", f"Recall@{k} = {recall:.3f}, NDCG@{k} = {ndcg:.3f}.")


def check_nearest(nearest, vectors) -> None:
    """Exercise 2.3: ``nearest(vectors, i, k)`` -> the k items most cosine-similar to item i, best first, without i."""
    vectors = np.asarray(vectors, dtype=float)
    answer = nearest(vectors, 0, 5)
    if not attempted(answer, "2.3"):
        return
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    for i in [0, 7, len(vectors) - 1]:
        got = np.asarray(nearest(vectors, i, 5)).ravel()
        sims = unit @ unit[i]
        sims[i] = -np.inf
        best = np.argsort(-sims, kind="stable")[:5]
        expect(len(got) == 5, "2.3", f"nearest(vectors, {i}, 5) should return 5 item ids, got {len(got)}.")
        expect(i not in got, "2.3", f"item {i} is its own nearest neighbour: leave it out.")
        expect_close(sims[got], sims[best], "2.3", f"the cosine similarities of item {i}'s neighbours", rtol=1e-5)
    passed("2.3", "Nearest neighbours by cosine similarity, best first.")


# ---- 03_multi_objective_model -----------------------------------------------


def _nb03_ece_reference(y, p, n_bins: int) -> float:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    total = 0.0
    for idx in np.array_split(order, n_bins):
        total += len(idx) / len(p) * abs(p[idx].mean() - y[idx].mean())
    return float(total)


def check_ece(ece) -> None:
    """Exercise 3.1: ``ece(y, p, n_bins)``: expected calibration error with equal-count bins."""
    rng = np.random.default_rng(31)
    p = rng.uniform(0.01, 0.3, 1000)
    y = (rng.random(1000) < 0.15 + 0.5 * (p - 0.15)).astype(float)  # too extreme: low ones too low, high ones too high
    answer = ece(y, p, 10)
    if not attempted(answer, "3.1"):
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 3.1: ece should return one number, got {type(answer).__name__}") from None
    expect(0 <= value <= 1, "3.1", f"an ECE is an average of |mean prediction - observed rate|, so it lies in [0, 1]; "
           f"got {value:.4f}.")
    expect(not np.isclose(value, abs(p.mean() - y.mean())), "3.1", "you compared the overall means; the gaps of "
           "the bins must be taken one by one (absolute value), then averaged with the bins' shares as weights.")
    equal_width = sum(
        (m.sum() / len(p)) * abs(p[m].mean() - y[m].mean())
        for m in [(p >= lo) & (p < lo + 0.1) for lo in np.arange(0, 1, 0.1)] if m.any()
    )
    expect(not np.isclose(value, equal_width), "3.1", "you used equal-width bins; sort the predictions and cut them "
           "into n_bins groups of equal size (np.array_split on the sorted order).")
    expect_close(value, _nb03_ece_reference(y, p, 10), "3.1", "ece(y, p, 10)", rtol=1e-6)
    perfect = ece(np.array([0, 1, 0, 1, 0, 1, 1, 0]), np.full(8, 0.5), 2)
    expect_close(perfect, 0.0, "3.1", "the ECE of predictions of 0.5 on half-positive bins", atol=1e-9)
    passed("3.1", "Equal-count bins, weighted by their share of rows.")


def check_esmm_cvr(answer, expected) -> None:
    """Exercise 3.2: ESMM's pCVR from its two outputs, pCTCVR / pCTR, for every row."""
    if not attempted(answer, "3.2"):
        return
    a = np.asarray(answer, dtype=float)
    e = np.asarray(expected, dtype=float)
    expect(a.shape == e.shape, "3.2", f"one pCVR per row: expected shape {e.shape}, got {a.shape}.")
    expect(np.all(a <= 1 + 1e-6), "3.2", "some values exceed 1: divide pCTCVR (purchase) by pCTR (click), "
           "not the other way round.")
    expect(not np.allclose(a, 0) and a.mean() > 0.01, "3.2", "the values are far too small: pCVR = pCTCVR / pCTR, "
           "a division, not a product.")
    expect_close(a, e, "3.2", "pCVR", rtol=1e-3, atol=1e-6)
    passed("3.2", "pCVR = pCTCVR / pCTR: the identity ESMM is built on.")


def check_revenue_head(model, esmm, inputs: dict, price) -> None:
    """Exercise 3.3: ``model`` adds a ``revenue`` output (P(click and purchase) x price, EUR) to ``esmm``.

    inputs: the ESMM inputs of a few rows; price: their prices (EUR). The
    model must take the ESMM inputs plus ``price`` and return click,
    purchase and revenue.
    """
    if not attempted(model, "3.3"):
        return
    price = np.asarray(price, dtype=np.float32)
    try:
        out = model.predict_on_batch({**inputs, "price": price})
    except Exception as err:  # any failure becomes a hint
        raise ExerciseError(f"Exercise 3.3: the model does not run on the ESMM inputs plus 'price': {err}") from None
    expect(isinstance(out, dict) and {"click", "purchase", "revenue"} <= set(out), "3.3",
           "the model should return a dict with the outputs 'click', 'purchase' and 'revenue' "
           f"(got {sorted(out) if isinstance(out, dict) else type(out).__name__}).")
    base = esmm.predict_on_batch(inputs)
    for task in ["click", "purchase"]:
        expect_close(np.ravel(out[task]), np.ravel(base[task]), "3.3", f"the {task} output (reuse ESMM's)", rtol=1e-5)
    revenue = np.ravel(out["revenue"])
    expect(not np.allclose(revenue, np.ravel(base["click"]) * price, rtol=1e-4), "3.3",
           "revenue = P(click) x price counts clicks that never buy: use the purchase output.")
    expect_close(revenue, np.ravel(base["purchase"]) * price, "3.3", "the revenue output", rtol=1e-4)
    passed("3.3", "Expected revenue per impression = P(click and purchase) x price.")


# ---- 04_ranking_objectives --------------------------------------------------


def _nb04_ndcg_reference(ranked_gains, k: int) -> float:
    g = np.asarray(ranked_gains, dtype=float)
    disc = 1.0 / np.log2(np.arange(len(g)) + 2.0)
    ideal = (np.sort(g)[::-1][:k] * disc[:k]).sum()
    return float((g[:k] * disc[:k]).sum() / ideal) if ideal > 0 else float("nan")


def _nb04_compare(got, expected: float, wrong: dict, exercise: str, what: str) -> None:
    """Pass if ``got`` is close to ``expected``; else name the first known mistake it matches."""
    try:
        value = float(got)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise {exercise}: return one number for {what}, got {type(got).__name__}") from None
    if np.isclose(value, expected, rtol=1e-6, atol=1e-12):
        return
    for hint, wrong_value in wrong.items():
        if np.isclose(value, wrong_value, rtol=1e-6, atol=1e-12):
            raise ExerciseError(f"Exercise {exercise}: not yet, for {what}: {hint}")
    raise ExerciseError(f"Exercise {exercise}: {what} is {value:.4f}, expected about {expected:.4f}")


def check_ndcg_one(fn) -> None:
    """Exercise 4.1: ``fn(ranked_gains, k)`` returns the NDCG@k of one ranked list (NaN without positives)."""
    cases = [([3, 0, 1, 0, 2, 1], 3), ([0, 0, 1], 2), ([1, 3, 0, 0], 4), ([2, 1, 0], 10), ([0, 0, 0], 2)]
    if not attempted(fn(*cases[0]), "4.1"):
        return
    for gains, k in cases:
        got = fn(list(gains), k)
        expected = _nb04_ndcg_reference(gains, k)
        if np.isnan(expected):
            expect(got is not None and bool(np.isnan(float(got))), "4.1",
                   f"a list without any positive gain has no ideal ranking: return float('nan'), got {got!r}")
            continue
        g = np.asarray(gains, dtype=float)
        disc = 1.0 / np.log2(np.arange(len(g)) + 2.0)
        wrong = {
            "you returned the DCG; divide it by the ideal DCG (the same gains sorted best first).":
                float((g[:k] * disc[:k]).sum()),
            "use the gain itself (linear gain), not 2 ** gain - 1.":
                _nb04_ndcg_reference(2**g - 1, k),
        }
        _nb04_compare(got, expected, wrong, "4.1", f"NDCG@{k} of {gains}")
    passed("4.1", "Your NDCG matches course_lib's on every test list.")


def check_intra_list_diversity(fn) -> None:
    """Exercise 4.2: ``fn(categories)`` returns the share of pairs of one list whose categories differ."""
    from course_lib import metrics

    cases = [[0, 0, 1], [2, 2, 2, 2], [0, 1, 2, 3], [5, 1, 5, 1, 5, 7, 7, 0, 3, 5]]
    if not attempted(fn(list(cases[0])), "4.2"):
        return
    for cats in cases:
        expected = float(metrics.intra_list_diversity(categories=np.array([cats]))[0])
        n = len(cats)
        wrong = {
            "count each unordered pair once and leave out an item paired with itself (k (k - 1) / 2 pairs).":
                sum(a != b for a in cats for b in cats) / (n * n),
            "that is the share of pairs in the *same* category; diversity is the share that differ.": 1 - expected,
            "that is the number of distinct categories over k; count pairs instead.": len(set(cats)) / n,
        }
        _nb04_compare(fn(list(cats)), expected, wrong, "4.2", f"the intra-list diversity of {cats}")
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
    target = np.array([0.0, 1.0, 1.0, 1.0, 0.0]) / 3
    expect(w[0] < 1e-9 or not np.allclose(w, np.array([1.0, 1.0, 1.0, 1.0, 0.0]) / 4), "4.3",
           "that ranks by expected profit per impression, p_click x P(purchase | click) x margin: "
           "drop the click signal.")
    expect(w[2] > 1e-9, "4.3", "margin (EUR) = price x margin rate, so the price signal needs the same weight "
                               "as the margin_rate signal.")
    expect(w[4] < 1e-9, "4.3", "popularity plays no part in P(purchase | click) x margin.")
    expect_close(w, target, "4.3", "your weights (normalised to sum to 1)", rtol=1e-6, atol=1e-9)
    passed("4.3", "Indeed log(P(purchase | click) x margin) = log(p_purchase / p_click) + log price + log margin_rate.")


def check_fitness(fitness, cs) -> None:
    """Exercise 4.4: ``fitness(w)`` = predicted GMV + 20 x diversity of the top-10 under weights w."""
    from course_lib import ranking

    probes = [np.array(ranking.PRESETS["ctr"]), np.array(ranking.PRESETS["gmv"]), np.array([0.2, 0.1, 0.1, 0.1, 0.5])]
    first = fitness(probes[0])
    if not attempted(first, "4.4"):
        return
    values = [float(fitness(w)) for w in probes]
    expect(len(set(np.round(values, 9))) > 1, "4.4",
           "your fitness gives the same value for very different weights: it cannot depend on the ranking. "
           "Compute it from ranking.evaluate(cs, w).")
    for w, got in zip(probes, values, strict=True):
        obj = ranking.evaluate(cs, w)
        truth = ranking.evaluate(cs, w, truth=True)
        expect(not np.isclose(got, truth["gmv"] + 20 * truth["diversity"], rtol=1e-9)
               or np.isclose(truth["gmv"], obj["gmv"]), "4.4",
               "a tuner only sees predictions: use the predicted objectives (truth=False), the shop's truth is for "
               "judging afterwards.")
        expect_close(got, obj["gmv"] + 20 * obj["diversity"], "4.4", f"fitness({np.round(w, 2).tolist()})", rtol=1e-6)
    passed("4.4", f"Your fitness ranges from {min(values):.2f} to {max(values):.2f} over the probes: it depends on w.")


# ---- 05_pso_tuning ----------------------------------------------------------


def check_velocity_update(velocity_update) -> None:
    """Exercise 5.1: ``velocity_update(v, x, pbest, gbest, r1, r2, w, c1, c2)`` -> new velocities (n, d)."""
    rng = np.random.default_rng(51)
    v, x, pbest, r1, r2 = (rng.normal(size=(4, 3)) for _ in range(5))
    gbest = rng.normal(size=3)
    w, c1, c2 = 0.7, 1.5, 1.3
    answer = velocity_update(v, x, pbest, gbest, r1, r2, w, c1, c2)
    if not attempted(answer, "5.1"):
        return
    answer = np.asarray(answer, dtype=float)
    expected = w * v + c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x)
    expect(answer.shape == expected.shape, "5.1", f"return one velocity per particle, shape {expected.shape}, got {answer.shape}")
    expect(not np.allclose(answer, expected - w * v), "5.1", "the inertia term w * v is missing.")
    expect(not np.allclose(answer, c2 * r2 * (gbest - x) + w * v), "5.1",
           "the cognitive term is missing (or always zero): pull towards each particle's own best, pbest - x.")
    expect(not np.allclose(answer, w * v + c1 * r1 * (x - pbest) + c2 * r2 * (x - gbest)), "5.1",
           "the pulls point the wrong way: a particle moves towards a best, so use pbest - x and gbest - x.")
    expect_close(answer, expected, "5.1", "the new velocities")
    passed("5.1", "inertia + a random pull to the own best + a random pull to the swarm's best.")


def check_gmv_fitness(answer, cs) -> None:
    """Exercise 5.2: the scalarised objective (optimize.SCALAR_TERMS) of the GMV ranking (1, 1, 1, 0, 0)."""
    from course_lib import optimize, ranking

    if not attempted(answer, "5.2"):
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 5.2: return one number (a float), got {type(answer).__name__}") from None
    values = ranking.evaluate(cs, np.array([1.0, 1.0, 1.0, 0.0, 0.0]))
    refs = optimize.scalar_refs(cs, optimize.SCALAR_TERMS)
    raw = sum(coef * values[name] for name, coef in optimize.SCALAR_TERMS.items())
    expect(not np.isclose(value, raw, rtol=1e-6), "5.2",
           "divide each term by the CTR ranking's value first, so euros and clicks become comparable.")
    expected = sum(coef * values[name] / refs[name] for name, coef in optimize.SCALAR_TERMS.items())
    expect_close(value, expected, "5.2", "the scalarised value of the GMV ranking", rtol=1e-6)
    passed("5.2", f"{expected:.3f}, against {sum(optimize.SCALAR_TERMS.values()):.1f} for the CTR ranking.")


def check_retuned_weights(answer, cs, terms: dict) -> None:
    """Exercise 5.3: PSO-tuned weights (5,) for ``terms``, within 1% of the dense-grid optimum on ``cs``."""
    from course_lib import optimize, ranking

    if not attempted(answer, "5.3"):
        return
    w = np.asarray(answer, dtype=float).ravel()
    expect(w.shape == (5,), "5.3", f"return the 5 fusion weights, got shape {w.shape}")
    expect(bool(np.all(w >= 0)) and w.sum() > 0, "5.3", "weights must be non-negative with a positive sum.")
    refs = optimize.scalar_refs(cs, terms)
    grid = optimize.simplex_grid(10)
    grid_best = optimize.scalarise(ranking.evaluate_population(cs, grid), terms, refs).max()
    value = optimize.scalarise(ranking.evaluate_population(cs, optimize.to_simplex(w)[None, :]), terms, refs)[0]
    expect(value >= 0.99 * grid_best, "5.3",
           f"your weights score {value:.4f} on the new objective, more than 1% below the grid optimum "
           f"{grid_best:.4f}: check that f uses the new terms (not the old ones) and that you return PSO's best x.")
    passed("5.3", f"{value:.4f} vs the grid's {grid_best:.4f} ({value / grid_best - 1:+.2%}); weights {np.round(optimize.to_simplex(w), 2)}.")


# ---- 06_ga_nsga2_tuning -----------------------------------------------------


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


# ---- 07_evaluation ----------------------------------------------------------


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
