"""Tests of the simulated shop: realism of the shipped dataset, reproducibility, and the Shop truth API.

The figures pinned in ``CARD`` and ``CONFLICT`` are the ones datasets/README.md states; if the shop
changes, regenerate the card's numbers (``python tools/shop_card.py``) and update both.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import load_tool
from make_shop import generate
from scipy.stats import norm
from sklearn.metrics import roc_auc_score

from course_lib import data, shop

shop_card = load_tool("shop_card")

# The data card's realism figures (datasets/README.md), rounded as stated there.
CARD = {
    "ctr": 0.0720,
    "cart_rate_per_click": 0.420,
    "purchase_rate_per_click": 0.215,
    "oracle_auc": 0.830,
    "coarse_auc": 0.747,
    "individual_taste_share": 0.685,
}
# The data card's conflict table: mean expected outcomes per request of 10 slots.
CONFLICT = pd.DataFrame(
    {
        "clicks": [0.413, 1.969, 1.869, 1.710, 1.547, 1.584],
        "purchases": [0.064, 0.573, 0.628, 0.394, 0.344, 0.341],
        "gmv": [1.47, 12.34, 10.48, 15.51, 13.74, 7.92],
        "profit": [0.37, 3.19, 3.01, 4.08, 4.44, 2.08],
        "tail_share": [0.798, 0.581, 0.554, 0.576, 0.630, 1.000],
    },
    index=["random", "ctr", "purchases", "gmv", "profit", "long_tail_first"],
)


@pytest.fixture(scope="module")
def shipped():
    return data.load_shop()


@pytest.fixture(scope="module")
def small():
    return generate(n_users=300, n_items=200, n_days=10, seed=5).shop


# ---------------------------------------------------------------------------
# Realism of the shipped dataset
# ---------------------------------------------------------------------------


def test_realism_ranges_independently(shipped):
    imp = shipped.impressions
    truth = shipped.truth
    assert (truth["impression_id"].to_numpy() == imp["impression_id"].to_numpy()).all()
    ctr = imp["clicked"].mean()
    assert 0.02 <= ctr <= 0.10
    auc = roc_auc_score(imp["clicked"], truth["p_click"])
    assert 0.75 <= auc <= 0.85
    # Individual taste: 1 - R^2 of the segment x category cell means, on random pairs (own seed).
    s = shipped.shop
    rng = np.random.default_rng(123)
    u = rng.integers(s.n_users, size=100_000)
    i = rng.integers(s.n_items, size=100_000)
    taste = s._taste(u, i)
    cell = s.segment[u] * len(shop.CATEGORIES) + s.category[i]
    means = np.bincount(cell, weights=taste) / np.maximum(np.bincount(cell), 1)
    share = np.mean((taste - means[cell]) ** 2) / np.var(taste)
    assert share >= 1 / 3
    assert share == pytest.approx(CARD["individual_taste_share"], abs=0.01)
    # The taste the shop's coarse view sees is far from the truth too.
    assert np.corrcoef(taste, s._taste(u, i, coarse=True))[0, 1] ** 2 <= 2 / 3


def test_card_figures(shipped):
    figures = shop_card.shop_realism(shipped)
    for name, value in CARD.items():
        tol = 0.0005 if name == "ctr" else 0.002
        assert figures[name] == pytest.approx(value, abs=tol), name
    assert figures["coarse_auc"] < figures["oracle_auc"] - 0.05  # coarse features cannot reach the oracle


def test_objectives_conflict(shipped):
    table = shop_card.objective_conflict(shipped)
    pd.testing.assert_frame_equal(table[CONFLICT.columns], CONFLICT, check_names=False, rtol=0.005, atol=0.006)
    # Each objective is won by the ranking built for it, and every winner loses elsewhere.
    assert table["clicks"].idxmax() == "ctr"
    assert table["purchases"].idxmax() == "purchases"
    assert table["gmv"].idxmax() == "gmv"
    assert table["profit"].idxmax() == "profit"
    assert table["tail_share"].idxmax() == "long_tail_first"
    assert table.loc["gmv", "clicks"] < 0.9 * table.loc["ctr", "clicks"]
    assert table.loc["ctr", "gmv"] < 0.85 * table.loc["gmv", "gmv"]
    assert table.loc["gmv", "profit"] < table.loc["profit", "profit"]
    assert table.loc["long_tail_first", "gmv"] < 0.6 * table.loc["gmv", "gmv"]


def test_card_counts(shipped):
    """The sizes and counts datasets/README.md states."""
    summary = shipped.summary()
    expected = {"users": 5000, "items": 2000, "days": 30, "requests": 59618, "impressions": 596180,
                "events": 666323, "clicks": 42903, "carts": 18032, "purchases": 9208}
    assert summary.to_dict() == expected
    assert {n: len(p) for n, p in data.split_by_time(shipped.impressions).items()} == {
        "train": 403260, "valid": 84140, "test": 108780}
    assert (shipped.items["launch_day"] >= 0).sum() == 233
    assert (shipped.users["signup_day"] >= 0).sum() == 992
    assert shipped.items["category"].value_counts()["fashion"] == 296
    assert shipped.users["segment"].value_counts().to_dict() == {
        "bargain_hunter": 1739, "explorer": 1483, "brand_loyalist": 1012, "premium": 766}
    ctr = shipped.impressions.groupby("position")["clicked"].mean()
    assert ctr[0] == pytest.approx(0.182, abs=0.0005) and ctr[9] == pytest.approx(0.036, abs=0.0005)
    total = sum(p.stat().st_size for p in data.SHOP_PATH.iterdir())
    assert total <= 20e6


def test_regeneration_is_identical(shipped):
    fresh = generate(seed=42)
    assert fresh.params == shipped.params
    for name in shop.TABLES:
        # NumPy's vectorised exp may differ in the last bit between CPUs (AVX2 vs AVX-512 builds): the
        # log-normal columns of truth_users (price_sensitivity, activity_rate) then differ by 1 ulp, and
        # nothing else does. Every other table is compared exactly.
        exact = name != "truth_users"
        pd.testing.assert_frame_equal(getattr(fresh, name), getattr(shipped, name), check_exact=exact,
                                      rtol=1e-14, obj=name)
    pd.testing.assert_frame_equal(fresh.truth, shipped.truth, obj="truth")


# The checksums of the tables that existed before ads and ratings: drawing the new quantities from their
# own random streams must leave them untouched (notebooks 00-07 were executed on them).
OLD_CHECKSUMS = {
    "items.parquet": "3aac223614538ee0f9024d5eaae66823e65d9ac1308d5123c3a89b879c596cc0",
    "users.parquet": "25885223d02cf7d2bd89e93dadd3772f0048507f57652afb709ee6bf6f2127da",
    "impressions.parquet": "ca6e1dac5477c51fdea88b25cf670fdd4e80339b6e2f0fc60fd03012f8aa44ed",
    "events.parquet": "7940915079e5cc7449b46df6e6760489535a569c254fdfe7ba8892f8fa32d5d6",
    "truth_items.parquet": "7cbfcfee44d3c82b3969f9423baee473d95532d05f7254ac92d60daa0aeb86b5",
    "truth_users.parquet": "4b69d139484a2fad913aafe6226c2b1f52a873da83bb7b3cdf3205e688ff9984",
    "params.json": "ecbe5547fef1c405beeb9e26e5765b403bc4fb91974404c92d05438639ca82e4",
}


def test_older_tables_keep_their_checksums():
    for name, digest in OLD_CHECKSUMS.items():
        assert data._sha256_of(data.SHOP_PATH / name) == digest, name
    listed = dict(line.split()[::-1] for line in (data.SHOP_PATH / "SHA256SUMS").read_text().splitlines())
    assert {k: listed[k] for k in OLD_CHECKSUMS} == OLD_CHECKSUMS
    assert set(listed) == set(OLD_CHECKSUMS) | {"ads.parquet", "ratings.parquet"}


# ---------------------------------------------------------------------------
# Beyond one request: sponsored items, stars, retention, in-session intent
# ---------------------------------------------------------------------------


def test_ads_and_ratings_shipped(shipped):
    """The figures of the data card's 'Beyond one request' section."""
    ads, ratings, s = shipped.ads, shipped.ratings, shipped.shop
    assert list(ads.columns) == ["item_id", "sponsored", "bid"] and len(ads) == s.n_items
    assert int(ads["sponsored"].sum()) == 284
    assert ((ads["bid"] > 0) == ads["sponsored"]).all() and ads["bid"].max() <= 2.0
    assert ads.loc[ads["sponsored"], "bid"].median() == pytest.approx(0.40)
    np.testing.assert_array_equal(s.bid, ads["bid"].to_numpy())
    # Weaker and newer items advertise more, by construction.
    quality = shipped.truth_items["quality"].to_numpy()
    assert quality[s.sponsored].mean() < quality[~s.sponsored].mean() - 0.2
    # One rating per purchase, in impression order.
    bought = shipped.impressions[shipped.impressions["purchased"]]
    assert list(ratings.columns) == ["impression_id", "user_id", "item_id", "day", "stars"]
    np.testing.assert_array_equal(ratings["impression_id"], bought["impression_id"])
    np.testing.assert_array_equal(ratings["item_id"], bought["item_id"])
    assert ratings["stars"].between(1, 5).all()
    share = ratings["stars"].value_counts(normalize=True).sort_index().round(3).to_dict()
    assert share == {1: 0.107, 2: 0.069, 3: 0.111, 4: 0.158, 5: 0.555}
    # The observed mean agrees with the true expected stars of the same purchases.
    expected = s.expected_rating(ratings["user_id"].to_numpy(), ratings["item_id"].to_numpy())
    se = ratings["stars"].std() / np.sqrt(len(ratings))
    assert abs(ratings["stars"].mean() - expected.mean()) < 4 * se


def test_expected_rating(small):
    rng = np.random.default_rng(3)
    u = rng.integers(small.n_users, size=200)
    i = rng.integers(small.n_items, size=200)
    # The ordered probit: P(stars >= j + 1) = P(r > threshold_j), r ~ N(rating mean, noise ** 2).
    z = (small._rating_mean(u, i)[:, None] - np.array(shop.RATING["thresholds"])) / shop.RATING["noise"]
    at_least = np.hstack([np.ones((200, 1)), norm.cdf(z), np.zeros((200, 1))])
    probs = at_least[:, :-1] - at_least[:, 1:]
    assert (probs >= 0).all()
    expected = small.expected_rating(u, i)
    np.testing.assert_allclose(expected, probs @ np.arange(1, 6), rtol=1e-12)
    grid = small.expected_rating(u[:100].reshape(50, 2), i[:100].reshape(50, 2))
    np.testing.assert_allclose(grid, expected[:100].reshape(50, 2))
    # Monte Carlo with the shop's own draw: 4,000 noises per pair.
    noise = rng.standard_normal((4000, 200))
    stars = small._draw_stars(u[None, :], i[None, :], noise)
    freq = np.stack([(stars == k).mean(0) for k in range(1, 6)], axis=-1)
    np.testing.assert_allclose(freq, probs, atol=0.035)
    # Taste, quality and a fair price raise the stars.
    base = small._rating_mean(u, i)
    assert np.corrcoef(base, small._taste(u, i))[0, 1] > 0.3


def _top_policy(s, score_of):
    users = np.arange(s.n_users)
    scores = score_of(users[:, None], np.arange(s.n_items)[None, :])
    slates = np.argsort(-scores, axis=1)[:, :10]
    return lambda user_ids, day: slates[user_ids], slates


def test_simulate_days(small):
    good, good_slates = _top_policy(small, small.expected_rating)
    bad, bad_slates = _top_policy(small, lambda u, i: -small.expected_rating(u, i))
    a = small.simulate_days(good, n_days=20, seed=1)
    pd.testing.assert_frame_equal(a, small.simulate_days(good, n_days=20, seed=1))  # deterministic
    b = small.simulate_days(bad, n_days=20, seed=1)
    assert list(a.columns) == ["day", "in_shop", "visitors", "returning", "left", "clicks", "purchases", "gmv",
                               "profit", "ad_revenue", "mean_stars", "satisfaction"]
    assert a["day"].tolist() == list(range(10, 30))
    # Bookkeeping: nobody comes back after leaving; returning visitors are visitors; day 0 has none.
    np.testing.assert_array_equal(a["in_shop"].to_numpy()[1:], (a["in_shop"] - a["left"]).to_numpy()[:-1])
    assert (a["returning"] <= a["visitors"]).all() and a["returning"].iloc[0] == 0
    # Common random numbers: the same users visit on day 0 whatever the policy.
    assert a["visitors"].iloc[0] == b["visitors"].iloc[0]
    # Disappointing slates lose users.
    assert b["in_shop"].iloc[-1] < a["in_shop"].iloc[-1]
    assert b["satisfaction"].mean() < a["satisfaction"].mean()
    # Realised clicks agree with the exact expectation on the first day (4 standard errors).
    rng = np.random.default_rng([1, shop.STREAMS["days"], 0])
    visitors = np.flatnonzero((small.signup_day <= 10) & (rng.random(small.n_users) < 1 - np.exp(-small.activity)))
    p = small.probabilities(visitors[:, None], good_slates[visitors], np.arange(10)[None, :])["p_click"]
    assert abs(a["clicks"].iloc[0] - p.sum()) < 4 * np.sqrt((p * (1 - p)).sum()) + 1
    exact = small.expected_long_term(visitors, good_slates[visitors])
    assert list(exact.columns) == ["ad_revenue", "stars", "satisfaction"]
    np.testing.assert_allclose(exact["ad_revenue"], (p * small.bid[good_slates[visitors]]).sum(1))


def test_intent(small):
    rng = np.random.default_rng(4)
    users = rng.integers(small.n_users, size=50)
    slates = rng.integers(small.n_items, size=(50, 10))
    clicked = rng.random((50, 10)) < 0.3
    zero = np.zeros((50, len(shop.CATEGORIES)))
    base = small.probabilities(users[:, None], slates, np.arange(10)[None, :])
    same = small.probabilities(users[:, None], slates, np.arange(10)[None, :], intent=zero)
    np.testing.assert_allclose(same["p_click"], base["p_click"])
    intent = small._next_intent(zero, slates, clicked)
    expected = np.zeros_like(zero)
    for r in range(50):
        for k in range(10):
            expected[r, small.category[slates[r, k]]] += shop.INTENT["shift"] * clicked[r, k]
    np.testing.assert_allclose(intent, expected)
    decayed = small._next_intent(intent, slates, np.zeros_like(clicked))
    np.testing.assert_allclose(decayed, shop.INTENT["decay"] * intent)
    boosted = small.probabilities(users[:, None], slates, 0, intent=intent)
    a = small._attractiveness(users[:, None], slates) + np.take_along_axis(intent, small.category[slates], 1)
    np.testing.assert_allclose(boosted["p_click"], 1 / (1 + np.exp(-a)))
    np.testing.assert_allclose(boosted["p_purchase_given_click"], base["p_purchase_given_click"])
    one = small.probabilities(users, slates[:, 0], 0, intent=intent)["p_click"]  # (n,) items
    np.testing.assert_allclose(one, boosted["p_click"][:, 0])


def test_simulate_sessions(small):
    def static(users, day, shown, clicked):
        return (users[:, None] * 7 + np.arange(10)[None, :] * 13 + shown.shape[1]) % small.n_items

    def same_category(users, day, shown, clicked):
        if shown.shape[1] == 0:
            return static(users, day, shown, clicked)
        last = shown[:, -1, 0]  # stay in the category of the last page's top item
        pool = np.argsort(small.category, kind="stable")
        start = np.searchsorted(small.category[pool], small.category[last])
        return pool[(start[:, None] + np.arange(10)[None, :] + shown.shape[1] * 10) % small.n_items]

    log = small.simulate_sessions(static, n_sessions=2000, n_pages=3, seed=5)
    assert len(log) == 2000 * 3 * 10
    first = log[log["page"] == 0]
    np.testing.assert_allclose(first["p_click"], first["p_click_static"])
    later = log[log["page"] > 0]
    assert (later["p_click"] >= later["p_click_static"] - 1e-12).all()
    assert (later["p_click"] > later["p_click_static"]).any()
    se = np.sqrt((log["p_click"] * (1 - log["p_click"])).sum())
    assert abs(log["clicked"].sum() - log["p_click"].sum()) < 4 * se
    other = small.simulate_sessions(same_category, n_sessions=2000, n_pages=3, seed=5)
    np.testing.assert_array_equal(other["user_id"], log["user_id"])  # common random numbers
    with pytest.raises(ValueError, match="n_sessions, K"):
        small.simulate_sessions(lambda u, d, s, c: np.zeros(3, dtype=int), n_sessions=5)


# ---------------------------------------------------------------------------
# The Shop API
# ---------------------------------------------------------------------------


def _fixed_policy(n_items: int, shift: int = 0):
    """A policy that shows every user the same slate of 10 distinct items (by user id)."""

    def policy(users, day):
        return (users[:, None] * 7 + np.arange(10)[None, :] * 13 + shift) % n_items

    return policy


def test_expected_outcomes_match_monte_carlo(small):
    policy = _fixed_policy(small.n_items)
    sim = small.simulate(policy, n_requests=40_000, seed=1)
    users = sim.groupby("request_id")["user_id"].first().to_numpy()
    slates = sim["item_id"].to_numpy().reshape(-1, 10)
    np.testing.assert_array_equal(slates, policy(users, 10))
    exact = small.expected_outcomes(users, slates)
    assert list(exact.columns) == ["clicks", "purchases", "gmv", "profit"]
    p = small.probabilities(users[:, None], slates, np.arange(10)[None, :])
    np.testing.assert_allclose(exact["clicks"], p["p_click"].sum(1))
    np.testing.assert_allclose(sim["p_click"].to_numpy().reshape(-1, 10), p["p_click"])
    # Realised totals agree with the exact expectation within 4 standard errors.
    for label, prob in [("clicked", "p_click"), ("carted", "p_cart"), ("purchased", "p_purchase")]:
        q = sim[prob].to_numpy()
        se = np.sqrt(np.sum(q * (1 - q)))
        assert abs(sim[label].sum() - q.sum()) < 4 * se, label
    for value, col in [(sim["price"], "gmv"), (sim["margin"], "profit")]:
        realised = (sim["purchased"] * value).sum()
        q = sim["p_purchase"].to_numpy()
        se = np.sqrt(np.sum(q * (1 - q) * value.to_numpy() ** 2))
        assert abs(realised - exact[col].sum()) < 4 * se, col


def test_common_random_numbers(small):
    a = _fixed_policy(small.n_items)

    def b(users, day):
        slates = a(users, day).copy()
        slates[:, 4] = (slates[:, 4] + 1) % small.n_items  # differs in slot 4 only (still distinct items)
        slates[:, 9] = (slates[:, 9] + 2) % small.n_items
        return slates

    run_a = small.simulate(a, n_requests=5000, seed=7)
    pd.testing.assert_frame_equal(run_a, small.simulate(a, n_requests=5000, seed=7))
    run_b = small.simulate(b, n_requests=5000, seed=7)
    np.testing.assert_array_equal(run_a["user_id"], run_b["user_id"])  # same arriving users
    same = (run_a["item_id"] == run_b["item_id"]).to_numpy()
    assert same.mean() == pytest.approx(0.8)
    for col in ["clicked", "carted", "purchased"]:
        np.testing.assert_array_equal(run_a.loc[same, col], run_b.loc[same, col])
    assert (run_a.loc[~same, "clicked"] != run_b.loc[~same, "clicked"]).any()
    other_seed = small.simulate(a, n_requests=5000, seed=8)
    assert not np.array_equal(other_seed["user_id"], run_a["user_id"])


def test_logging_probs_and_propensities(shipped):
    s = shipped.shop
    imp = shipped.impressions
    rng = np.random.default_rng(0)
    requests = rng.choice(imp["request_id"].unique(), size=300, replace=False)
    rows = imp[imp["request_id"].isin(requests)].sort_values(["request_id", "position"])
    first = rows[rows["position"] == 0]
    second = rows[rows["position"] == 1]
    probs = s.logging_probs(first["user_id"].to_numpy(), first["day"].to_numpy())
    assert probs.shape == (len(first), s.n_items)
    np.testing.assert_allclose(probs.sum(1), 1.0, rtol=1e-9)
    not_launched = s.launch_day[None, :] > first["day"].to_numpy()[:, None]
    assert (probs[not_launched] == 0).all()
    k = np.arange(len(first))
    p0 = probs[k, first["item_id"].to_numpy()]
    np.testing.assert_allclose(first["propensity"], p0, rtol=1e-5)
    # Slot 1 is drawn without replacement: its propensity is conditional on slot 0's item.
    p1 = probs[k, second["item_id"].to_numpy()] / (1 - p0)
    np.testing.assert_allclose(second["propensity"], p1, rtol=1e-5)


def test_probability_identities(small):
    rng = np.random.default_rng(2)
    u = rng.integers(small.n_users, size=5000)
    i = rng.integers(small.n_items, size=5000)
    pos = rng.integers(10, size=5000)
    p = small.probabilities(u, i, pos)
    np.testing.assert_allclose(p["p_purchase"], p["p_click"] * p["p_purchase_given_click"], rtol=1e-12)
    np.testing.assert_allclose(p["p_cart"], p["p_click"] * np.sqrt(p["p_purchase_given_click"]), rtol=1e-12)
    assert (p["p_purchase"] <= p["p_cart"]).all() and (p["p_cart"] <= p["p_click"]).all()
    assert ((p["p_click"] > 0) & (p["p_click"] < 1)).all()
    top = small.probabilities(u, i, 0)
    np.testing.assert_allclose(p["p_click"], top["p_click"] * (1.0 + pos) ** -0.7, rtol=1e-12)
    np.testing.assert_allclose(p["p_purchase_given_click"], top["p_purchase_given_click"])  # no position effect
    # Broadcasting: (n, 1) users against (n, K) items.
    grid = small.probabilities(u[:50, None], i[:200].reshape(50, 4), 0)["p_click"]
    assert grid.shape == (50, 4)
    np.testing.assert_allclose(grid[:, 0], small.probabilities(u[:50], i[:200].reshape(50, 4)[:, 0], 0)["p_click"])


def test_generate_rejects_bad_sizes():
    with pytest.raises(ValueError, match="n_users"):
        generate(n_users=0)
    with pytest.raises(ValueError, match="n_items must be at least 30"):
        generate(n_items=10)
