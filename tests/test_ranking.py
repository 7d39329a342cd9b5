"""course_lib.ranking against brute-force loops on a small shop."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from make_shop import generate

from course_lib import fusion, metrics, ranking
from course_lib.data import WINDOWS

N_CAND = 20


@pytest.fixture(scope="module")
def small():
    """A small 30-day shop and noisy predictions for 20 distinct candidates per user."""
    data = generate(n_users=150, n_items=120, n_days=30, seed=5)
    s = data.shop
    rng = np.random.default_rng(0)
    launched = np.flatnonzero(s.launch_day <= WINDOWS["valid"][0])
    users = np.arange(s.n_users)
    items = np.array([rng.choice(launched, size=N_CAND, replace=False) for _ in users])
    truth = s.probabilities(users[:, None], items, 0)
    noise = np.exp(rng.normal(0, 0.3, size=items.shape))
    pc = np.clip(truth["p_click"] * noise, 0, 1)
    pp = np.minimum(truth["p_purchase"] * np.exp(rng.normal(0, 0.3, size=items.shape)), pc)
    pred = pd.DataFrame(
        {
            "user_id": np.repeat(users, N_CAND).astype(np.int32),
            "item_id": items.ravel().astype(np.int32),
            "retrieval_rank": np.tile(np.arange(N_CAND), len(users)).astype(np.int16),
            "retrieval_score": rng.random(items.size).astype(np.float32),
            "p_click": pc.ravel().astype(np.float32),
            "p_purchase": pp.ravel().astype(np.float32),
        }
    )
    shuffled = pred.sample(frac=1.0, random_state=1)  # candidate_set must restore the retrieval order
    cs = ranking.candidate_set(shuffled, data, "valid")
    return data, pred, cs


# ---------------------------------------------------------------------------
# Building the candidate set
# ---------------------------------------------------------------------------


def test_candidate_set_arrays_match_the_sources(small):
    data, pred, cs = small
    s = data.shop
    assert (cs.n_users, cs.n_candidates, cs.n_items) == (150, N_CAND, 120)
    np.testing.assert_array_equal(cs.user_ids, np.arange(150))
    np.testing.assert_array_equal(cs.item_ids, pred["item_id"].to_numpy().reshape(150, N_CAND))
    np.testing.assert_allclose(cs.p_click, pred["p_click"].to_numpy().reshape(150, N_CAND))
    np.testing.assert_allclose(cs.price, s.price[cs.item_ids])
    np.testing.assert_allclose(cs.margin, s.margin[cs.item_ids])
    np.testing.assert_array_equal(cs.category, s.category[cs.item_ids])
    truth = s.probabilities(cs.user_ids[:, None], cs.item_ids, 0)
    np.testing.assert_allclose(cs.true_p_click, truth["p_click"])
    np.testing.assert_allclose(cs.true_p_purchase, truth["p_purchase"])
    assert cs.window == "valid"


def test_candidate_set_popularity_and_gains_brute_force(small):
    data, _, cs = small
    imp = data.impressions
    clicks = {}
    gains = {}
    for row in imp.itertuples(index=False):
        if not row.clicked:
            continue
        if WINDOWS["train"][0] <= row.day < WINDOWS["train"][1]:
            clicks[row.item_id] = clicks.get(row.item_id, 0) + 1
        if WINDOWS["valid"][0] <= row.day < WINDOWS["valid"][1]:
            g = 3.0 if row.purchased else 1.0
            key = (row.user_id, row.item_id)
            gains[key] = max(gains.get(key, 0.0), g)
    for item in range(cs.n_items):
        assert cs.item_popularity[item] == clicks.get(item, 0)
    for u in range(cs.n_users):
        for j in range(cs.n_candidates):
            item = cs.item_ids[u, j]
            assert cs.popularity[u, j] == clicks.get(item, 0)
            assert cs.gains[u, j] == gains.get((cs.user_ids[u], item), 0.0)
    assert cs.gains.max() == 3.0 and (cs.gains > 0).sum() > 10  # the fixture must exercise the gains


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda p: p.drop(columns="p_purchase"), "lacks column"),
        (lambda p: p.iloc[1:], "same number of candidates"),
        (lambda p: p.assign(item_id=np.where(np.arange(len(p)) == 1, p["item_id"].iloc[0], p["item_id"])), "twice"),
        (lambda p: p.assign(p_click=p["p_click"] + 2), "probabilities"),
        (lambda p: p.assign(item_id=p["item_id"] + 10_000), "item_id must lie"),
    ],
)
def test_candidate_set_rejects_bad_predictions(small, mutate, message):
    data, pred, _ = small
    with pytest.raises(ValueError, match=message):
        ranking.candidate_set(mutate(pred), data, "valid")


def test_candidate_set_rejects_unknown_window(small):
    data, pred, _ = small
    with pytest.raises(ValueError, match="window must be one of"):
        ranking.candidate_set(pred, data, "validation")


def test_take_keeps_rows(small):
    _, _, cs = small
    sub = cs.take([3, 1])
    np.testing.assert_array_equal(sub.item_ids, cs.item_ids[[3, 1]])
    np.testing.assert_array_equal(sub.item_popularity, cs.item_popularity)
    assert sub.n_users == 2


# ---------------------------------------------------------------------------
# Fusion
# ---------------------------------------------------------------------------


def test_normalise_weights():
    np.testing.assert_allclose(ranking.normalise_weights([2, 0, 2, 0, 0]), [0.5, 0, 0.5, 0, 0])
    np.testing.assert_allclose(ranking.normalise_weights(np.ones((3, 5))).sum(1), 1.0)
    for bad, msg in [([1, 2, 3], "shape"), ([1, -1, 0, 0, 0], "non-negative"), ([0] * 5, "at least one positive")]:
        with pytest.raises(ValueError, match=msg):
            ranking.normalise_weights(bad)


def test_presets_rank_by_ctr_gmv_and_profit(small):
    _, _, cs = small
    for name, value in [("ctr", cs.p_click), ("gmv", cs.p_purchase * cs.price), ("profit", cs.p_purchase * cs.margin)]:
        expected = np.take_along_axis(cs.item_ids, np.argsort(-value, axis=1, kind="stable")[:, :10], 1)
        np.testing.assert_array_equal(ranking.top_k(cs, ranking.PRESETS[name], 10), expected, err_msg=name)


def test_scale_invariance(small):
    _, _, cs = small
    w = np.array([0.4, 0.1, 0.3, 0.05, 0.15])
    np.testing.assert_array_equal(ranking.top_k(cs, w), ranking.top_k(cs, 7.5 * w))
    assert ranking.evaluate(cs, w) == ranking.evaluate(cs, 0.01 * w)


def test_fuse_log_product_is_the_weighted_product(small):
    _, _, cs = small
    w = np.array([0.2, 0.3, 0.1, 0.3, 0.1])
    u, j = 7, 4
    pc, pp = cs.p_click[u, j], cs.p_purchase[u, j]
    product = pc**w[0] * (pp / pc) ** w[1] * cs.price[u, j] ** w[2] * (cs.margin[u, j] / cs.price[u, j]) ** w[3]
    product *= (1 / (1 + cs.popularity[u, j])) ** w[4]
    assert ranking.fuse_log_product(cs, w)[u, j] == pytest.approx(np.log(product), rel=1e-12)


def test_fuse_weighted_sum_brute_force(small):
    _, _, cs = small
    w = np.array([0.5, 0.1, 0.2, 0.1, 0.1])
    raw = np.stack(
        [cs.p_click, cs.p_purchase / cs.p_click, cs.price, cs.margin / cs.price, 1 / (1 + cs.popularity)], axis=-1
    )
    u = 11
    minmax = (raw[u] - raw[u].min(0)) / (raw[u].max(0) - raw[u].min(0))
    np.testing.assert_allclose(fusion.fuse_weighted_sum(cs, w, "minmax")[u], minmax @ w, rtol=1e-9)
    ranks = np.array([[sorted(raw[u, :, s]).index(raw[u, j, s]) for s in range(5)] for j in range(N_CAND)])
    if len(np.unique(raw[u, :, 4])) == N_CAND:  # no tied popularity in this row: rank is unambiguous
        np.testing.assert_allclose(fusion.fuse_weighted_sum(cs, w, "rank")[u], ranks / (N_CAND - 1) @ w)
    with pytest.raises(ValueError, match="normalise"):
        fusion.fuse_weighted_sum(cs, w, "zscore")


def test_top_k_breaks_ties_by_candidate_column():
    cs = _tiny_candidate_set(p_click=np.array([[0.2, 0.5, 0.5, 0.1, 0.5]]))
    np.testing.assert_array_equal(ranking.top_k(cs, [1, 0, 0, 0, 0], 4), [[11, 12, 14, 10]])


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


def _brute_force_objectives(cs, w, k, truth):
    """Loops over users and slots with the fused score computed element by element."""
    w = np.asarray(w, float) / np.sum(w)
    pc_all = cs.true_p_click if truth else cs.p_click
    pp_all = cs.true_p_purchase if truth else cs.p_purchase
    total_pop = cs.item_popularity.sum()
    sums = dict.fromkeys(["clicks", "purchases", "gmv", "profit", "diversity", "novelty"], 0.0)
    ndcgs, shown = [], set()
    for u in range(cs.n_users):
        def score(j, u=u):
            pc, pp = (max(p[u, j], fusion.PROB_FLOOR) for p in (cs.p_click, cs.p_purchase))
            return (
                w[0] * np.log(pc) + w[1] * np.log(pp / pc) + w[2] * np.log(cs.price[u, j])
                + w[3] * np.log(cs.margin[u, j] / cs.price[u, j]) - w[4] * np.log(1 + cs.popularity[u, j])
            )  # fmt: skip

        ranked = sorted(range(cs.n_candidates), key=lambda j: -score(j))[:k]
        dcg = 0.0
        for slot, j in enumerate(ranked):
            examined = (1 + slot) ** -0.7
            sums["clicks"] += examined * pc_all[u, j]
            sums["purchases"] += examined * pp_all[u, j]
            sums["gmv"] += examined * pp_all[u, j] * cs.price[u, j]
            sums["profit"] += examined * pp_all[u, j] * cs.margin[u, j]
            share = (cs.popularity[u, j] + 1) / (total_pop + cs.n_items)
            sums["novelty"] += -np.log2(share) / k
            dcg += cs.gains[u, j] / np.log2(slot + 2)
            shown.add(cs.item_ids[u, j])
        pairs = [(a, b) for i, a in enumerate(ranked) for b in ranked[i + 1 :]]
        sums["diversity"] += np.mean([cs.category[u, a] != cs.category[u, b] for a, b in pairs])
        best = sorted(cs.gains[u], reverse=True)[:k]
        ideal = sum(g / np.log2(slot + 2) for slot, g in enumerate(best))
        if ideal > 0:
            ndcgs.append(dcg / ideal)
    out = {name: value / cs.n_users for name, value in sums.items()}
    out["ndcg"] = float(np.mean(ndcgs))
    out["coverage"] = len(shown) / cs.n_items
    return out


@pytest.mark.parametrize("truth", [False, True])
@pytest.mark.parametrize("seed", [0, 1])
def test_evaluate_matches_brute_force(small, truth, seed):
    _, _, cs = small
    w = np.random.default_rng(seed).dirichlet(np.ones(5))
    ours = ranking.evaluate(cs, w, k=10, truth=truth)
    assert tuple(ours) == ranking.OBJECTIVES
    expected = _brute_force_objectives(cs, w, 10, truth)
    for name in ranking.OBJECTIVES:
        assert ours[name] == pytest.approx(expected[name], rel=1e-9, abs=1e-12), name


def test_evaluate_agrees_with_metrics_module(small):
    _, _, cs = small
    w = np.array([0.5, 0.2, 0.2, 0.0, 0.1])
    scores = ranking.fuse_log_product(cs, w)
    ours = ranking.evaluate(cs, w, k=5)
    assert ours["ndcg"] == pytest.approx(np.nanmean(metrics.ndcg_at_k(scores, cs.gains, 5)))
    gmv = metrics.expected_at_k(scores, cs.p_purchase * cs.price, 5, cs.position_decay)
    assert ours["gmv"] == pytest.approx(gmv.mean())
    top = ranking.top_k(cs, w, 5)
    assert ours["coverage"] == pytest.approx(metrics.catalog_coverage(top, cs.n_items))
    assert ours["novelty"] == pytest.approx(metrics.novelty(top, cs.item_popularity).mean())
    assert ranking.evaluate_scores(cs, scores, k=5) == pytest.approx(ours)


def test_evaluate_population_rows_equal_single_evaluations_across_chunks(small, monkeypatch):
    _, _, cs = small
    W = np.random.default_rng(2).dirichlet(np.ones(5), size=7)
    single = np.array([list(ranking.evaluate(cs, w, k=10).values()) for w in W])
    monkeypatch.setattr(ranking, "CHUNK_BYTES", cs.n_users * cs.n_candidates * 8 * 2)  # chunks of 2 vectors
    batched = ranking.evaluate_population(cs, W, k=10)
    assert batched.shape == (7, len(ranking.OBJECTIVES))
    np.testing.assert_allclose(batched, single, rtol=1e-12)
    assert ranking.evaluate_population(cs, np.empty((0, 5))).shape == (0, 8)


def test_truth_changes_values_not_rankings(small):
    _, _, cs = small
    pred, true = ranking.evaluate(cs, ranking.PRESETS["gmv"]), ranking.evaluate(cs, ranking.PRESETS["gmv"], truth=True)
    for name in ("ndcg", "diversity", "coverage", "novelty"):
        assert pred[name] == true[name]
    assert pred["gmv"] != true["gmv"]


def test_gmv_ranking_trades_clicks_for_revenue(small):
    """The conflict the course is about, measured with the truth on a small shop."""
    _, _, cs = small
    ctr = ranking.evaluate(cs, ranking.PRESETS["ctr"], truth=True)
    gmv = ranking.evaluate(cs, ranking.PRESETS["gmv"], truth=True)
    assert gmv["gmv"] > 1.05 * ctr["gmv"]
    assert gmv["clicks"] < ctr["clicks"]


def test_evaluate_rejects_bad_weights(small):
    _, _, cs = small
    with pytest.raises(ValueError, match="weights must have shape"):
        ranking.evaluate(cs, np.ones((2, 5)))
    with pytest.raises(ValueError, match="W must have shape"):
        ranking.evaluate_population(cs, np.ones(5))
    with pytest.raises(ValueError, match="non-negative"):
        ranking.evaluate_population(cs, -np.ones((2, 5)))


def _tiny_candidate_set(p_click):
    n_users, n_cand = p_click.shape
    ones = np.ones_like(p_click)
    return ranking.CandidateSet(
        user_ids=np.arange(n_users),
        item_ids=10 + np.arange(n_cand)[None, :].repeat(n_users, 0),
        p_click=p_click,
        p_purchase=0.1 * p_click,
        price=10 * ones,
        margin=2 * ones,
        category=np.zeros_like(p_click, dtype=int),
        popularity=ones,
        true_p_click=p_click,
        true_p_purchase=0.1 * p_click,
        gains=0 * ones,
        position_decay=0.7,
    )


def test_candidate_set_validates_shapes_and_values():
    cs = _tiny_candidate_set(np.full((2, 3), 0.5))
    assert cs.n_items == 13  # rebuilt from the candidates: ids 0..12
    with pytest.raises(ValueError, match="price must have shape"):
        ranking.CandidateSet(**{**_fields(cs), "price": np.ones((2, 2))})
    with pytest.raises(ValueError, match="margin must be positive"):
        ranking.CandidateSet(**{**_fields(cs), "margin": np.zeros((2, 3))})


def _fields(cs):
    names = ("user_ids", "position_decay") + ranking._ARRAY_FIELDS
    return {name: getattr(cs, name) for name in names}


def test_importing_ranking_does_not_import_tensorflow():
    code = "import sys, course_lib.ranking, course_lib.metrics; print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_evaluate_population_both_and_columns(small):
    _, _, cs = small
    W = np.random.default_rng(8).dirichlet(np.ones(5), size=5)
    pred, true = ranking.evaluate_population_both(cs, W)
    np.testing.assert_allclose(pred, ranking.evaluate_population(cs, W), rtol=1e-12)
    np.testing.assert_allclose(true, ranking.evaluate_population(cs, W, truth=True), rtol=1e-12)
    cols = ranking.top_k_columns(cs, W, 10)
    np.testing.assert_allclose(ranking._evaluate_columns(cs, cols, True, ranking.OBJECTIVES), true, rtol=1e-12)
    # Only the objectives asked for are computed; the others are NaN.
    some = ranking.evaluate_population(cs, W, objectives=("gmv", "diversity"))
    asked = [ranking.OBJECTIVES.index(o) for o in ("gmv", "diversity")]
    np.testing.assert_allclose(some[:, asked], pred[:, asked], rtol=1e-12)
    assert np.isnan(np.delete(some, asked, axis=1)).all()
    with pytest.raises(ValueError, match="objectives must be names"):
        ranking.evaluate_population(cs, W, objectives=("revenue",))
