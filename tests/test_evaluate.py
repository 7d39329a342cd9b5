"""Tests of the code notebook 07 exports: the A/B simulator (abtest) and the statistics (inference, off_policy)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from make_shop import generate
from scipy import stats

from course_lib import abtest, inference, metrics, off_policy
from course_lib.data import head_items


@pytest.fixture(scope="module")
def small():
    """A small shop, and fixed-slate policies over 30 random candidates per user."""
    data = generate(n_users=300, n_items=200, n_days=10, seed=3)
    s = data.shop
    rng = np.random.default_rng(0)
    users = np.arange(s.n_users)
    cands = np.argsort(rng.random((s.n_users, s.n_items)), axis=1)[:, :30]
    p = s.probabilities(users[:, None], cands, 0)
    by_ctr = np.take_along_axis(cands, np.argsort(-p["p_click"], axis=1), axis=1)
    by_gmv = np.take_along_axis(cands, np.argsort(-p["p_purchase"] * s.price[cands], axis=1), axis=1)
    return {
        "shop": s,
        "by_ctr": by_ctr,
        "ctr": abtest.policy_from_slates(users, by_ctr),
        "gmv": abtest.policy_from_slates(users, by_gmv),
        "worst": abtest.policy_from_slates(users, by_ctr[:, ::-1]),
        "head": head_items(data.impressions, s.n_items),
    }


# -- inference (exported from 07) ---------------------------------------------------------


def test_bootstrap_ci_is_the_percentile_interval_of_resampled_means():
    values = np.random.default_rng(1).exponential(2.0, size=80)
    estimate, low, high = inference.bootstrap_ci(values, n_boot=300, seed=7)
    rng = np.random.default_rng(7)  # the same draws, written out: 100 replicates at a time
    reps = np.concatenate([values[rng.integers(0, 80, size=(100, 80))].mean(axis=1) for _ in range(3)])
    assert (low, high) == pytest.approx(tuple(np.quantile(reps, [0.025, 0.975])))
    assert estimate == pytest.approx(values.mean())
    library = stats.bootstrap((values,), np.mean, n_resamples=2000, method="percentile",
                              rng=np.random.default_rng(0)).confidence_interval
    assert (low, high) == pytest.approx((library.low, library.high), abs=0.15 * (high - low))


def test_bootstrap_ci_covers_a_known_mean_at_about_the_nominal_rate():
    rng = np.random.default_rng(2)
    covered = sum(
        low <= 1.5 <= high
        for rep in range(200)
        for _, low, high in [inference.bootstrap_ci(rng.poisson(1.5, size=100), n_boot=300, seed=rep)]
    )
    assert 0.90 <= covered / 200 <= 0.99, covered


def test_paired_difference_matches_scipy_and_handles_identical_arms():
    rng = np.random.default_rng(4)
    a = rng.exponential(10, 500)
    b = a + rng.normal(0.5, 3, 500)
    mine = inference.paired_difference(a, b)
    ref = stats.ttest_rel(b, a)
    assert mine["diff"] == pytest.approx(b.mean() - a.mean())
    assert (mine["low"], mine["high"]) == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-9)
    assert mine["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    same = inference.paired_difference(a, a)
    assert same["diff"] == 0 and same["p_value"] == 1.0 and same["low"] == same["high"] == 0


# -- difference tests of the A/B table ------------------------------------------------------


def test_difference_test_uses_the_paired_and_welch_t_tests():
    rng = np.random.default_rng(4)
    a = rng.exponential(10, 500)
    b = a + rng.normal(0.5, 3, 500)
    paired = abtest.difference_test(a, b, paired=True)
    assert paired["p_value"] == pytest.approx(stats.ttest_rel(b, a).pvalue, rel=1e-9)
    assert paired["a"] == pytest.approx(a.mean()) and paired["test"] == "paired t"
    welch = abtest.difference_test(a, b[:300], paired=False)
    ref = stats.ttest_ind(b[:300], a, equal_var=False)
    assert welch["p_value"] == pytest.approx(ref.pvalue, rel=1e-9)
    assert (welch["low"], welch["high"]) == pytest.approx(tuple(ref.confidence_interval(0.95)), rel=1e-9)
    assert welch["test"] == "Welch t"
    with pytest.raises(ValueError, match="same units"):
        abtest.difference_test(a, b[:300], paired=True)


def test_delta_method_matches_the_bootstrap_spread_of_a_ratio():
    rng = np.random.default_rng(5)
    clicks_a, clicks_b = rng.poisson(2, 3000).astype(float), rng.poisson(2.2, 3000).astype(float)
    buys_a, buys_b = rng.binomial(clicks_a.astype(int), 0.3), rng.binomial(clicks_b.astype(int), 0.25)
    res = abtest.difference_test(buys_a, buys_b, clicks_a, clicks_b, paired=False)
    assert res["diff"] == pytest.approx(buys_b.sum() / clicks_b.sum() - buys_a.sum() / clicks_a.sum())
    assert res["test"] == "Welch t (delta method)"
    idx = rng.integers(0, 3000, size=(2, 2000, 3000))
    reps = buys_b[idx[1]].sum(1) / clicks_b[idx[1]].sum(1) - buys_a[idx[0]].sum(1) / clicks_a[idx[0]].sum(1)
    assert (res["high"] - res["low"]) / (2 * 1.96) == pytest.approx(reps.std(), rel=0.1)


# -- the simulated A/B test (abtest, exported from 07) ---------------------------------------


def test_policy_from_slates_looks_users_up():
    policy = abtest.policy_from_slates([10, 3, 7], np.array([[5, 6], [7, 8], [9, 10]]))
    np.testing.assert_array_equal(policy(np.array([7, 10, 7]), 0), [[9, 10], [5, 6], [9, 10]])
    with pytest.raises(ValueError, match="no slate"):
        policy(np.array([4]), 0)


def test_expected_value_agrees_with_a_long_simulation(small):
    s = small["shop"]
    truth = abtest.expected_value(small["ctr"], s, k=10)
    per_req = abtest.request_metrics(s.simulate(lambda u, d: small["ctr"](u, d)[:, :10], 40_000, seed=11), s)
    for col in ["clicks", "gmv"]:
        assert abs(per_req[col].mean() - truth[col]) < 4 * per_req[col].std() / np.sqrt(len(per_req)), col


def test_ab_table_values_by_hand(small):
    s = small["shop"]
    log_a = s.simulate(lambda u, d: small["ctr"](u, d)[:, :10], 3000, seed=5)
    log_b = s.simulate(lambda u, d: small["gmv"](u, d)[:, :10], 3000, seed=5)
    table = abtest.ab_table(log_a, log_b, s, head=small["head"])
    assert table.loc["ctr", "a"] == pytest.approx(log_a["clicked"].mean())
    assert table.loc["conversion", "b"] == pytest.approx(log_b["purchased"].sum() / log_b["clicked"].sum())
    gmv_b = (log_b["purchased"] * log_b["price"]).groupby(log_b["request_id"]).sum()
    assert table.loc["gmv", "b"] == pytest.approx(gmv_b.mean())
    assert table.loc["tail_share", "a"] == pytest.approx((~np.isin(log_a["item_id"], small["head"])).mean())
    assert table.loc["diversity", "a"] == pytest.approx(
        metrics.intra_list_diversity(categories=s.category[log_a["item_id"].to_numpy().reshape(-1, 10)]).mean())
    assert (table["low"] <= table["diff"]).all() and (table["diff"] <= table["high"]).all()
    assert table.loc["gmv", "test"] == "paired t" and table.loc["ctr", "test"] == "paired t (delta method)"
    with pytest.raises(ValueError, match="same arriving users"):
        abtest.ab_table(log_a, s.simulate(lambda u, d: small["gmv"](u, d)[:, :10], 3000, seed=6), s)


def test_aa_tests_rarely_come_out_significant(small):
    s = small["shop"]
    gmv = np.concatenate([abtest.request_metrics(s.simulate(small["ctr"], 10_000, seed=seed), s)["gmv"]
                          for seed in range(8)]).reshape(200, 2, 200)
    rate = (stats.ttest_ind(gmv[:, 1], gmv[:, 0], axis=1, equal_var=False).pvalue < 0.05).mean()
    assert 0.01 <= rate <= 0.10, rate


def test_aa_with_common_random_numbers_is_exactly_null(small):
    table = abtest.ab_test(small["ctr"], small["ctr"], 500, seed=1, shop=small["shop"], head=small["head"])
    assert (table["diff"] == 0).all() and (table["p_value"] == 1).all()


def test_crn_interval_covers_the_true_difference_and_is_narrower(small):
    s = small["shop"]
    truth = abtest.expected_value(small["gmv"], s)["gmv"] - abtest.expected_value(small["ctr"], s)["gmv"]
    crn = [abtest.ab_test(small["ctr"], small["gmv"], 1000, seed=seed, shop=s).loc["gmv"] for seed in range(40)]
    indep = [abtest.ab_test(small["ctr"], small["gmv"], 1000, seed=seed, shop=s, common_random_numbers=False).loc["gmv"]
             for seed in range(10)]
    covered = np.mean([t["low"] <= truth <= t["high"] for t in crn])
    assert 0.85 <= covered <= 1.0, covered
    assert np.mean([t["high"] - t["low"] for t in crn]) < 0.8 * np.mean([t["high"] - t["low"] for t in indep])


def test_clearly_better_policy_is_detected(small):
    table = abtest.ab_test(small["worst"], small["ctr"], 2000, seed=0, shop=small["shop"])
    assert table.loc["ctr", "diff"] > 0 and table.loc["ctr", "p_value"] < 1e-6 and table.loc["ctr", "significant"]


def test_ab_test_rejects_short_slates_and_other_tables(small):
    with pytest.raises(ValueError, match="K >= 10"):
        abtest.ab_test(lambda u, d: small["by_ctr"][u, :5], small["ctr"], 100, seed=0, shop=small["shop"])
    with pytest.raises(ValueError, match="missing columns"):
        abtest.request_metrics(pd.DataFrame({"request_id": [0]}), small["shop"])


# -- off-policy estimation (exported from 07) -----------------------------------------------


def test_ips_is_unbiased_and_snips_close_on_a_known_case():
    mu = np.array([0.4, 0.3, 0.2, 0.1])  # logging policy
    pi = np.array([0.1, 0.2, 0.3, 0.4])  # target policy
    reward_rate = np.array([0.1, 0.5, 0.2, 0.8])
    exact = float(pi @ reward_rate)  # 0.48; the logs say 0.31 without reweighting
    rng = np.random.default_rng(8)
    ips, snips = [], []
    for _ in range(500):
        a = rng.choice(4, size=200, p=mu)
        r = (rng.random(200) < reward_rate[a]).astype(float)
        ips.append(off_policy.ips(r, pi[a], mu[a]))
        snips.append(off_policy.snips(r, pi[a], mu[a]))
    assert abs(np.mean(ips) - exact) < 4 * np.std(ips) / np.sqrt(len(ips))
    assert abs(np.mean(snips) - exact) < 0.01 and abs(float(mu @ reward_rate) - exact) > 0.1


def test_weights_and_effective_sample_size():
    r = (np.random.default_rng(9).random(500) < 0.3).astype(float)
    assert off_policy.ips(r, np.full(500, 0.2), np.full(500, 0.2)) == pytest.approx(r.mean())  # weights of 1
    assert off_policy.effective_sample_size(np.ones(500)) == pytest.approx(500)
    assert off_policy.effective_sample_size([1.0, 1.0, 0.0, 2.0]) == pytest.approx(16 / 6)
    assert off_policy.effective_sample_size(np.zeros(3)) == 0.0
    with pytest.raises(ValueError, match="positive"):
        off_policy.importance_weights([0.5, 0.5], [0.5, 0.0])


def test_abtest_never_imports_tensorflow():
    import subprocess
    import sys

    code = "import sys, course_lib.abtest; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
