"""Tests of course_lib.evaluate: intervals that cover, tests that hold their size, unbiased IPS."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from course_lib import evaluate, metrics
from course_lib import shop as shop_mod


@pytest.fixture(scope="module")
def small():
    """A small shop, and two fixed-slate policies over 30 random candidates per user."""
    data = shop_mod.generate(n_users=300, n_items=200, n_days=10, seed=3)
    s = data.shop
    rng = np.random.default_rng(0)
    users = np.arange(s.n_users)
    cands = np.argsort(rng.random((s.n_users, s.n_items)), axis=1)[:, :30]
    p = s.probabilities(users[:, None], cands, 0)
    by_ctr = np.take_along_axis(cands, np.argsort(-p["p_click"], axis=1), axis=1)
    by_gmv = np.take_along_axis(cands, np.argsort(-p["p_purchase"] * s.price[cands], axis=1), axis=1)
    return {
        "data": data,
        "shop": s,
        "users": users,
        "by_ctr": by_ctr,
        "ctr": evaluate.policy_from_slates(users, by_ctr),
        "gmv": evaluate.policy_from_slates(users, by_gmv),
        "worst": evaluate.policy_from_slates(users, by_ctr[:, ::-1]),
        "head": evaluate.head_items(data.impressions, s.n_items),
    }


# -- bootstrap ---------------------------------------------------------------------


def test_bootstrap_replicates_match_direct_resampling():
    values = np.random.default_rng(1).normal(size=(50, 2))
    reps = evaluate.bootstrap_replicates(values, n_boot=30, seed=7)
    idx = np.random.default_rng(7).integers(0, 50, size=(30, 50))  # the same draws, done the slow way
    np.testing.assert_allclose(reps, values[idx].mean(axis=1), rtol=1e-12)


def test_bootstrap_ci_covers_known_mean_at_nominal_rate():
    rng = np.random.default_rng(2)
    true_mean, covered = 1.5, 0
    for rep in range(200):
        sample = rng.poisson(true_mean, size=100)  # skewed counts, like clicks per user
        ci = evaluate.bootstrap_ci(sample, n_boot=400, level=0.95, seed=rep).loc["value"]
        assert ci["low"] <= sample.mean() <= ci["high"]
        covered += ci["low"] <= true_mean <= ci["high"]
    assert 0.90 <= covered / 200 <= 0.99, f"coverage {covered / 200}"


def test_bootstrap_ci_ratio_and_dataframe():
    rng = np.random.default_rng(3)
    df = pd.DataFrame({"purchases": rng.poisson(1, 400).astype(float), "gmv": rng.exponential(30, 400)})
    clicks = rng.poisson(3, 400) + 1.0
    ci = evaluate.bootstrap_ci(df, denominator=np.column_stack([clicks, clicks]), n_boot=300)
    assert list(ci.index) == ["purchases", "gmv"]
    assert ci.loc["purchases", "estimate"] == pytest.approx(df["purchases"].sum() / clicks.sum())
    assert (ci["low"] < ci["estimate"]).all() and (ci["estimate"] < ci["high"]).all()


def test_bootstrap_rejects_bad_input():
    with pytest.raises(ValueError, match="level"):
        evaluate.bootstrap_ci([1.0, 2.0, 3.0], level=95)
    with pytest.raises(ValueError, match="finite"):
        evaluate.bootstrap_ci([1.0, np.nan, 3.0])
    with pytest.raises(ValueError, match="at least 2"):
        evaluate.bootstrap_ci([1.0])


# -- difference tests ---------------------------------------------------------------


def test_difference_test_matches_scipy():
    rng = np.random.default_rng(4)
    a = rng.exponential(10, 500)
    b = a + rng.normal(0.5, 3, 500)
    paired = evaluate.difference_test(a, b, paired=True)
    assert paired["diff"] == pytest.approx(b.mean() - a.mean())
    assert paired["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)
    ci = stats.ttest_rel(b, a).confidence_interval(0.95)
    assert (paired["low"], paired["high"]) == pytest.approx((ci.low, ci.high), rel=1e-9)
    welch = evaluate.difference_test(a, b[:300], paired=False)
    assert welch["p_value"] == pytest.approx(stats.ttest_ind(b[:300], a, equal_var=False).pvalue, rel=1e-9)
    assert welch["test"] == "Welch t" and paired["test"] == "paired t"


def test_delta_method_matches_bootstrap_spread_of_a_ratio():
    rng = np.random.default_rng(5)
    clicks_a, clicks_b = rng.poisson(2, 3000).astype(float), rng.poisson(2.2, 3000).astype(float)
    buys_a, buys_b = rng.binomial(clicks_a.astype(int), 0.3), rng.binomial(clicks_b.astype(int), 0.25)
    res = evaluate.difference_test(buys_a, buys_b, clicks_a, clicks_b, paired=False)
    assert res["diff"] == pytest.approx(buys_b.sum() / clicks_b.sum() - buys_a.sum() / clicks_a.sum())
    se_delta = (res["high"] - res["low"]) / (2 * 1.96)
    reps_a = evaluate.bootstrap_replicates(buys_a, 2000, seed=1, denominator=clicks_a)[:, 0]
    reps_b = evaluate.bootstrap_replicates(buys_b, 2000, seed=2, denominator=clicks_b)[:, 0]
    assert se_delta == pytest.approx(np.std(reps_b - reps_a), rel=0.1)
    assert res["test"] == "Welch t (delta method)"


# -- the simulated A/B test ------------------------------------------------------------


def test_category_diversity_and_head_items_by_hand():
    cats = np.array([[0, 0, 1, 1], [2, 2, 2, 2], [0, 1, 2, 3]])
    expected = [np.mean([x != y for x, y in itertools.permutations(row, 2)]) for row in cats]
    np.testing.assert_allclose(metrics.intra_list_diversity(categories=cats), expected)
    imp = pd.DataFrame({"item_id": [0, 0, 1, 2, 2, 2, 3, 4], "clicked": [1, 1, 1, 1, 1, 0, 0, 1]})
    np.testing.assert_array_equal(evaluate.head_items(imp, n_items=10, share=0.2), [0, 2])  # ties go to the smaller id


def test_policy_from_slates_looks_users_up():
    slates = np.array([[5, 6], [7, 8], [9, 10]])
    policy = evaluate.policy_from_slates([10, 3, 7], slates)
    np.testing.assert_array_equal(policy(np.array([7, 10, 7]), 0), [[9, 10], [5, 6], [9, 10]])
    with pytest.raises(ValueError, match="no slate"):
        policy(np.array([4]), 0)


def test_expected_value_agrees_with_a_long_simulation(small):
    s = small["shop"]
    truth = evaluate.expected_value(small["ctr"], s, k=10)
    log = s.simulate(lambda u, d: small["ctr"](u, d)[:, :10], 40_000, seed=11)
    per_req = evaluate.request_metrics(log, s)
    for col in ["clicks", "gmv"]:
        se = per_req[col].std() / np.sqrt(len(per_req))
        assert abs(per_req[col].mean() - truth[col]) < 4 * se, col


def test_ab_table_values_by_hand(small):
    s = small["shop"]
    table, log_a, log_b = evaluate.ab_test(
        small["ctr"], small["gmv"], 3000, seed=5, shop=s, head=small["head"], return_logs=True
    )
    assert table.loc["ctr", "a"] == pytest.approx(log_a["clicked"].mean())
    assert table.loc["conversion", "b"] == pytest.approx(log_b["purchased"].sum() / log_b["clicked"].sum())
    gmv_b = (log_b["purchased"] * log_b["price"]).groupby(log_b["request_id"]).sum()
    assert table.loc["gmv", "b"] == pytest.approx(gmv_b.mean())
    exposure = log_a["item_id"].value_counts().reindex(range(s.n_items), fill_value=0)
    assert table.loc["exposure_gini", "a"] == pytest.approx(metrics.gini(exposure.to_numpy()))
    tail = ~np.isin(log_a["item_id"], small["head"])
    assert table.loc["tail_share", "a"] == pytest.approx(tail.mean())
    assert (table["low"] <= table["diff"]).all() and (table["diff"] <= table["high"]).all()


def test_aa_tests_rarely_come_out_significant(small):
    s = small["shop"]
    pvals = pd.DataFrame(
        [
            evaluate.ab_test(small["ctr"], small["ctr"], 600, seed=seed, shop=s, common_random_numbers=False)["p_value"]
            for seed in range(200)
        ]
    )
    rate = (pvals < 0.05).mean()
    assert rate["gmv"] <= 0.10 and rate["ctr"] <= 0.10, rate.to_dict()
    assert rate[["ctr", "gmv", "profit", "purchases"]].mean() >= 0.01, "a test that never fires is suspicious"


def test_aa_with_common_random_numbers_is_exactly_null(small):
    table = evaluate.ab_test(small["ctr"], small["ctr"], 500, seed=1, shop=small["shop"], head=small["head"])
    assert (table["diff"] == 0).all() and (table["p_value"] == 1).all()


def test_crn_interval_covers_the_true_difference_and_is_narrower(small):
    s = small["shop"]
    truth = evaluate.expected_value(small["gmv"], s)["gmv"] - evaluate.expected_value(small["ctr"], s)["gmv"]
    covered, width_crn, width_indep = 0, [], []
    for seed in range(100):
        t = evaluate.ab_test(small["ctr"], small["gmv"], 1000, seed=seed, shop=s).loc["gmv"]
        covered += t["low"] <= truth <= t["high"]
        width_crn.append(t["high"] - t["low"])
    for seed in range(20):
        t = evaluate.ab_test(small["ctr"], small["gmv"], 1000, seed=seed, shop=s, common_random_numbers=False).loc[
            "gmv"
        ]
        width_indep.append(t["high"] - t["low"])
    assert 0.88 <= covered / 100 <= 1.0, covered
    assert np.mean(width_crn) < 0.8 * np.mean(width_indep)


def test_clearly_better_policy_is_detected(small):
    table = evaluate.ab_test(small["worst"], small["ctr"], 2000, seed=0, shop=small["shop"])
    assert table.loc["ctr", "diff"] > 0 and table.loc["ctr", "p_value"] < 1e-6
    assert table.loc["ctr", "significant"]


def test_ab_test_rejects_short_slates(small):
    with pytest.raises(ValueError, match="K >= 10"):
        evaluate.ab_test(lambda u, d: small["by_ctr"][u, :5], small["ctr"], 100, seed=0, shop=small["shop"])


# -- off-policy estimation --------------------------------------------------------------


def test_ips_is_unbiased_on_a_known_case():
    mu = np.array([0.4, 0.3, 0.2, 0.1])  # logging policy
    pi = np.array([0.1, 0.2, 0.3, 0.4])  # target policy
    reward_rate = np.array([0.1, 0.5, 0.2, 0.8])
    exact = float(pi @ reward_rate)  # 0.48
    rng = np.random.default_rng(8)
    ips, snips = [], []
    for _ in range(500):
        a = rng.choice(4, size=200, p=mu)
        r = (rng.random(200) < reward_rate[a]).astype(float)
        est = evaluate.ips_estimate(r, pi[a], mu[a], n_boot=1)["estimate"]
        ips.append(est["IPS"])
        snips.append(est["SNIPS"])
    ips = np.array(ips)
    assert abs(ips.mean() - exact) < 4 * ips.std() / np.sqrt(len(ips))
    naive = float(mu @ reward_rate)  # what the logs say without reweighting: 0.31
    assert abs(np.mean(snips) - exact) < 0.01 and abs(naive - exact) > 0.1


def test_ips_interval_and_effective_sample_size():
    rng = np.random.default_rng(9)
    r = rng.random(500) < 0.3
    same = evaluate.ips_estimate(r, np.full(500, 0.2), np.full(500, 0.2), n_boot=500)
    assert same.loc["IPS", "estimate"] == pytest.approx(r.mean())  # target = logging: weights of 1
    assert same.loc["SNIPS", "estimate"] == pytest.approx(r.mean())
    assert same.loc["IPS", "ess"] == pytest.approx(500)
    w = np.array([1.0, 1.0, 0.0, 2.0])
    assert evaluate.effective_sample_size(w) == pytest.approx(16 / 6)
    with pytest.raises(ValueError, match="logging_propensities"):
        evaluate.ips_estimate([1.0, 0.0], [0.5, 0.5], [0.5, 0.0])


def test_softmax_policy_and_target_probability():
    p = evaluate.softmax_policy(np.log([[1.0, 2.0, 1.0]]), temperature=1.0)
    np.testing.assert_allclose(p, [[0.25, 0.5, 0.25]])
    sharp = evaluate.softmax_policy(np.log([[1.0, 2.0, 1.0]]), temperature=0.01)
    assert sharp[0, 1] > 0.999
    items = np.array([[7, 8, 9], [7, 8, 9]])
    np.testing.assert_allclose(evaluate.target_probability(items, np.vstack([p, p]), [8, 3]), [0.5, 0.0])


# -- offline evaluation on a candidate set ---------------------------------------------------


@pytest.fixture(scope="module")
def small_cs(small):
    """A CandidateSet over the small shop's 30 random candidates per user, with noisy predictions."""
    from course_lib import ranking

    data, s = small["data"], small["shop"]
    rng = np.random.default_rng(1)
    users = small["users"]
    cands = np.sort(small["by_ctr"], axis=1)
    truth = s.probabilities(users[:, None], cands, 0)
    noise = np.exp(rng.normal(0, 0.3, cands.shape))
    pop = np.bincount(data.impressions.loc[data.impressions["clicked"], "item_id"], minlength=s.n_items).astype(float)
    gains = (rng.random(cands.shape) < 0.05) * rng.choice([1.0, 3.0], size=cands.shape)
    return ranking.CandidateSet(
        user_ids=users,
        item_ids=cands,
        p_click=np.clip(truth["p_click"] * noise, 0, 1),
        p_purchase=np.clip(truth["p_purchase"] * noise, 0, 1),
        price=s.price[cands],
        margin=s.margin[cands],
        category=s.category[cands],
        popularity=pop[cands],
        true_p_click=truth["p_click"],
        true_p_purchase=truth["p_purchase"],
        gains=gains,
        item_popularity=pop,
    )


@pytest.mark.parametrize("truth", [False, True])
def test_user_metrics_average_to_ranking_evaluate(small_cs, truth):
    from course_lib import ranking

    w = np.array([1.0, 1.0, 0.5, 0.2, 0.1])
    per_user = evaluate.user_metrics(small_cs, w, k=10, truth=truth)
    expected = ranking.evaluate(small_cs, w, k=10, truth=truth)
    for name in evaluate.USER_OBJECTIVES:
        assert np.nanmean(per_user[name]) == pytest.approx(expected[name], rel=1e-9), name
    slates = ranking.top_k(small_cs, w, k=10)  # the same policy given as slates
    pd.testing.assert_frame_equal(evaluate.user_metrics(small_cs, slates, truth=truth), per_user)


def test_offline_evaluate_intervals(small_cs):
    pop_slates = small_cs.item_ids[np.arange(small_cs.n_users)[:, None], np.argsort(-small_cs.popularity, axis=1)]
    table = evaluate.offline_evaluate(small_cs, pop_slates, n_boot=300)
    per_user = evaluate.user_metrics(small_cs, pop_slates)
    assert table.loc["gmv", "estimate"] == pytest.approx(per_user["gmv"].mean())
    assert table.loc["ndcg", "estimate"] == pytest.approx(per_user["ndcg"].mean())  # pandas skips NaN
    assert (table["low"] <= table["estimate"]).all() and (table["estimate"] <= table["high"]).all()
    se = per_user["gmv"].std() / np.sqrt(len(per_user))
    width = table.loc["gmv", "high"] - table.loc["gmv", "low"]
    assert width == pytest.approx(2 * 1.96 * se, rel=0.2)
    with pytest.raises(ValueError, match="candidates"):
        evaluate.offline_evaluate(small_cs, np.full((small_cs.n_users, 10), 10_000))


def test_evaluate_never_imports_tensorflow():
    import subprocess
    import sys

    code = "import sys, course_lib.evaluate; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_request_metrics_rejects_other_tables(small):
    with pytest.raises(ValueError, match="missing columns"):
        evaluate.request_metrics(pd.DataFrame({"request_id": [0]}), small["shop"])
