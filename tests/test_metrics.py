"""course_lib.metrics against independent computations: scikit-learn and brute-force loops."""

import math

import numpy as np
import pytest
from sklearn.metrics import ndcg_score

from course_lib import metrics
from course_lib.shop import BEHAVIOUR, Shop

# ---------------------------------------------------------------------------
# Gini and Lorenz
# ---------------------------------------------------------------------------


def _gini_pairs(x):
    """Gini as the mean absolute difference over all ordered pairs / (2 mean): O(n^2) loops."""
    n = len(x)
    total = sum(abs(a - b) for a in x for b in x)
    return total / (2 * n * n * (sum(x) / n))


def test_gini_hand_cases():
    assert metrics.gini([3, 3, 3]) == 0.0
    assert metrics.gini([0, 0, 0, 8]) == pytest.approx(0.75)  # (n - 1) / n: one item holds everything
    assert metrics.gini([0, 0, 0]) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_gini_matches_pairwise_definition(seed):
    x = np.random.default_rng(seed).exponential(size=37).tolist()
    assert metrics.gini(x) == pytest.approx(_gini_pairs(x), abs=1e-12)


def test_gini_rows_matches_the_pairwise_definition_row_by_row():
    x = np.random.default_rng(3).exponential(size=(6, 23))
    x[2] = 0.0  # an all-zero row has Gini 0
    expected = [0.0 if not row.any() else _gini_pairs(row.tolist()) for row in x]
    np.testing.assert_allclose(metrics.gini_rows(x), expected, atol=1e-12)


def test_gini_is_one_minus_twice_area_under_lorenz():
    x = np.random.default_rng(5).pareto(1.5, size=500)
    lx, ly = metrics.lorenz_curve(x)
    area = np.sum((lx[1:] - lx[:-1]) * (ly[1:] + ly[:-1]) / 2)  # trapezoids (exact: the curve is piecewise linear)
    assert metrics.gini(x) == pytest.approx(1 - 2 * area, abs=1e-12)


def test_lorenz_curve_hand_case():
    x, y = metrics.lorenz_curve([3, 1, 0, 4])
    np.testing.assert_allclose(x, [0, 0.25, 0.5, 0.75, 1.0])
    np.testing.assert_allclose(y, [0, 0, 1 / 8, 4 / 8, 1.0])


@pytest.mark.parametrize("bad", [[], [1.0, -1.0], [1.0, np.nan]])
def test_gini_and_lorenz_reject_bad_values(bad):
    with pytest.raises(ValueError, match="values"):
        metrics.gini(bad)
    with pytest.raises(ValueError, match="values"):
        metrics.lorenz_curve(bad)


# ---------------------------------------------------------------------------
# Discounts and top-K
# ---------------------------------------------------------------------------


def test_position_discount_is_the_shops_examination():
    np.testing.assert_allclose(metrics.position_discount(10, BEHAVIOUR["position_decay"]), Shop.examination(np.arange(10)))
    np.testing.assert_allclose(metrics.log2_discount(3), [1.0, 1 / math.log2(3), 0.5])


def test_top_k_indices_orders_best_first_and_breaks_ties_by_column():
    scores = np.array([[0.1, 0.9, 0.5, 0.9], [3.0, 2.0, 1.0, 0.0]])
    np.testing.assert_array_equal(metrics.top_k_indices(scores, 3), [[1, 3, 2], [0, 1, 2]])
    assert metrics.top_k_indices(scores, 99).shape == (2, 4)
    with pytest.raises(ValueError, match="k a positive int"):
        metrics.top_k_indices(scores, 0)
    with pytest.raises(ValueError, match="scores must be"):
        metrics.top_k_indices(scores[0], 2)


# ---------------------------------------------------------------------------
# NDCG and recall
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("k", [1, 3, 10, 25])
@pytest.mark.parametrize("seed", [0, 1])
def test_ndcg_matches_sklearn_on_continuous_scores(k, seed):
    rng = np.random.default_rng(seed)
    scores = rng.random((200, 25))  # continuous: no ties, so sklearn's tie averaging never applies
    gains = rng.choice([0.0, 0.0, 0.0, 1.0, 3.0], size=scores.shape)
    gains[:, 0] += 1.0  # every user has a positive (sklearn would score the others 0, we give NaN)
    ours = metrics.ndcg_at_k(scores, gains, k)
    per_user = [ndcg_score(gains[i : i + 1], scores[i : i + 1], k=k) for i in range(len(scores))]
    np.testing.assert_allclose(ours, per_user, rtol=0, atol=1e-9)
    assert ours.mean() == pytest.approx(ndcg_score(gains, scores, k=k), abs=1e-9)


def test_ndcg_hand_case_and_nan_for_users_without_positives():
    scores = np.array([[0.9, 0.1, 0.5], [0.3, 0.2, 0.1]])
    gains = np.array([[0.0, 3.0, 1.0], [0.0, 0.0, 0.0]])
    # user 0: top-2 = columns 0, 2 -> DCG = 0 + 1/log2(3); ideal = 3 + 1/log2(3)
    expected = (1 / math.log2(3)) / (3 + 1 / math.log2(3))
    out = metrics.ndcg_at_k(scores, gains, 2)
    assert out[0] == pytest.approx(expected, abs=1e-12)
    assert np.isnan(out[1])
    assert metrics.ideal_dcg_at_k(gains, 2)[0] == pytest.approx(3 + 1 / math.log2(3))


def test_ndcg_rejects_bad_gains_and_shapes():
    with pytest.raises(ValueError, match="gains must be finite, >= 0"):
        metrics.ndcg_at_k(np.zeros((1, 3)), np.array([[0.0, -1.0, 0.0]]), 2)
    with pytest.raises(ValueError, match="shaped like scores"):
        metrics.ndcg_at_k(np.zeros((2, 3)), np.zeros((2, 4)), 2)


def test_recall_at_k_brute_force():
    rng = np.random.default_rng(3)
    scores, gains = rng.random((40, 12)), rng.choice([0.0, 1.0, 3.0], size=(40, 12), p=[0.8, 0.15, 0.05])
    out = metrics.recall_at_k(scores, gains, 4)
    for u in range(40):
        ranked = sorted(range(12), key=lambda j: -scores[u, j])[:4]
        relevant = [j for j in range(12) if gains[u, j] > 0]
        if not relevant:
            assert np.isnan(out[u])
        else:
            assert out[u] == pytest.approx(sum(j in relevant for j in ranked) / len(relevant))


# ---------------------------------------------------------------------------
# Expected business value
# ---------------------------------------------------------------------------


def test_expected_metrics_brute_force():
    rng = np.random.default_rng(4)
    n_users, n_cand, k = 30, 15, 5
    scores = rng.normal(size=(n_users, n_cand))
    p_click = rng.uniform(0.05, 0.6, size=scores.shape)
    p_purchase = p_click * rng.uniform(0.0, 0.4, size=scores.shape)  # P(click and purchase)
    price = rng.lognormal(3, 1, size=scores.shape)
    margin = price * rng.uniform(0.05, 0.5, size=scores.shape)
    clicks, purchases, gmv, profit = (np.zeros(n_users) for _ in range(4))
    for u in range(n_users):
        ranked = sorted(range(n_cand), key=lambda j: -scores[u, j])[:k]
        for slot, j in enumerate(ranked):
            examined = (1 + slot) ** -0.7
            clicks[u] += examined * p_click[u, j]
            purchases[u] += examined * p_purchase[u, j]
            gmv[u] += examined * p_purchase[u, j] * price[u, j]
            profit[u] += examined * p_purchase[u, j] * margin[u, j]
    def expected(value):
        return metrics.expected_at_k(scores, value, k, 0.7)

    np.testing.assert_allclose(expected(p_click), clicks, rtol=1e-12)
    np.testing.assert_allclose(expected(p_purchase), purchases, rtol=1e-12)
    np.testing.assert_allclose(expected(p_purchase * price), gmv, rtol=1e-12)
    np.testing.assert_allclose(expected(p_purchase * margin), profit, rtol=1e-12)
    with pytest.raises(ValueError, match="shaped like scores"):
        expected(price[:, :3])


def test_expected_clicks_match_the_shops_exact_expectation():
    """With true probabilities, our expected clicks/GMV equal Shop.expected_outcomes of the same slates."""
    from make_shop import generate

    data = generate(n_users=60, n_items=80, n_days=3, seed=11)
    s = data.shop
    rng = np.random.default_rng(0)
    users = np.arange(60)
    items = np.array([rng.choice(80, size=20, replace=False) for _ in users])
    truth = s.probabilities(users[:, None], items, 0)
    scores = rng.random(items.shape)
    order = metrics.top_k_indices(scores, 10)
    exact = s.expected_outcomes(users, np.take_along_axis(items, order, 1))
    decay = BEHAVIOUR["position_decay"]
    np.testing.assert_allclose(metrics.expected_at_k(scores, truth["p_click"], 10, decay), exact["clicks"], rtol=1e-9)
    np.testing.assert_allclose(
        metrics.expected_at_k(scores, truth["p_purchase"] * s.price[items], 10, decay), exact["gmv"], rtol=1e-9
    )
    np.testing.assert_allclose(
        metrics.expected_at_k(scores, truth["p_purchase"] * s.margin[items], 10, decay), exact["profit"], rtol=1e-9
    )


# ---------------------------------------------------------------------------
# Diversity, coverage, novelty
# ---------------------------------------------------------------------------


def test_intra_list_diversity_categories_hand_case():
    cats = np.array([[0, 0, 1], [2, 2, 2], [0, 1, 2]])
    np.testing.assert_allclose(metrics.intra_list_diversity(categories=cats), [2 / 3, 0.0, 1.0])


def test_intra_list_diversity_vectors_brute_force_and_one_hot_equivalence():
    rng = np.random.default_rng(6)
    vecs = rng.normal(size=(8, 6, 4))
    out = metrics.intra_list_diversity(vectors=vecs)
    for u in range(8):
        dists = []
        for i in range(6):
            for j in range(i + 1, 6):
                a, b = vecs[u, i], vecs[u, j]
                dists.append(1 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))
        assert out[u] == pytest.approx(np.mean(dists), abs=1e-12)
    cats = rng.integers(0, 4, size=(8, 6))
    one_hot = np.eye(4)[cats]
    np.testing.assert_allclose(
        metrics.intra_list_diversity(vectors=one_hot), metrics.intra_list_diversity(categories=cats), atol=1e-12
    )


def test_intra_list_diversity_rejects_ambiguous_input():
    with pytest.raises(ValueError, match="exactly one"):
        metrics.intra_list_diversity()
    with pytest.raises(ValueError, match="all-zero"):
        metrics.intra_list_diversity(vectors=np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match="at least 2"):
        metrics.intra_list_diversity(categories=np.zeros((3, 1), dtype=int))


def test_catalog_coverage_and_novelty_hand_cases():
    top = np.array([[0, 1], [1, 2]])
    assert metrics.catalog_coverage(top, 6) == pytest.approx(3 / 6)
    with pytest.raises(ValueError, match="item ids in 0..3"):
        metrics.catalog_coverage(top + 2, 4)
    popularity = np.array([5.0, 1.0, 0.0, 2.0])  # total 8, smoothed shares (p + 1) / 12
    info = metrics.self_information(popularity)
    np.testing.assert_allclose(info, [-math.log2(6 / 12), -math.log2(2 / 12), -math.log2(1 / 12), -math.log2(3 / 12)])
    np.testing.assert_allclose(metrics.novelty(top, popularity), [(1 + math.log2(6)) / 2, (math.log2(6) + math.log2(12)) / 2])
