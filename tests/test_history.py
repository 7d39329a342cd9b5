"""History features (course_lib.history, from notebook 03a) and scoring against the oracle (course_lib.scoring)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.history import (
    COUNT_FEATURES,
    HISTORY_FEATURES,
    HISTORY_KEYS,
    PRIOR_WEIGHT,
    RECENT_DAYS,
    history_features,
    smoothed_rate,
    sums_before,
)
from course_lib.scoring import TASK_COLUMNS, auc_efficiency, score_against_oracle


@pytest.fixture(scope="module")
def shop():
    """A small random shop: 30 users, 40 items, 12 days of impressions with clicks and purchases."""
    rng = np.random.default_rng(0)
    items = pd.DataFrame({
        "item_id": np.arange(40, dtype=np.int32),
        "category": pd.Categorical(rng.choice(["books", "home", "toys"], 40)),
        "brand": rng.choice(["A", "B", "C", "D"], 40),
        "price": np.round(rng.lognormal(3, 1, 40), 2),
    })
    users = pd.DataFrame({"user_id": np.arange(30, dtype=np.int32),
                          "segment": pd.Categorical(rng.choice(["explorer", "premium"], 30))})
    n = 3000
    clicked = rng.random(n) < 0.2
    impressions = pd.DataFrame({
        "user_id": rng.integers(0, 30, n).astype(np.int32), "item_id": rng.integers(0, 40, n).astype(np.int32),
        "day": np.sort(rng.integers(0, 12, n)).astype(np.int16), "position": rng.integers(0, 10, n).astype(np.int8),
        "clicked": clicked, "purchased": clicked & (rng.random(n) < 0.3),
    })
    return impressions, items, users


def test_smoothed_rate_falls_back_on_the_prior_and_tends_to_the_raw_rate():
    assert smoothed_rate(0, 0, 0.07) == pytest.approx(0.07)
    assert smoothed_rate(1, 1, 0.07, weight=20) == pytest.approx((1 + 20 * 0.07) / 21)
    assert smoothed_rate(70_000, 1_000_000, 0.5) == pytest.approx(0.07, abs=1e-3)
    np.testing.assert_allclose(smoothed_rate([0, 3], [0, 10], np.array([0.1, 0.2]), 10), [0.1, 5 / 20])


def test_sums_before_sees_only_earlier_days_and_keeps_the_rows_order():
    log = pd.DataFrame({"user_id": [7, 7, 7, 7, 8], "day": [0, 0, 1, 3, 1], "clicked": [1, 0, 1, 1, 1]})
    rows = pd.DataFrame({"user_id": [8, 7, 7, 7, 7, 9], "day": [5, 4, 3, 1, 0, 2]}, index=[10, 11, 12, 13, 14, 15])
    got = sums_before(log, rows, ["user_id"], ["clicked"])
    assert list(got.index) == list(rows.index)
    assert got["clicked"].tolist() == [1, 3, 2, 1, 0, 0]
    as_of = sums_before(log, rows, ["user_id"], ["clicked"], as_of_day=3)
    assert as_of["clicked"].tolist() == [1, 2, 2, 1, 0, 0]


def test_sums_before_groups_by_several_keys():
    log = pd.DataFrame({"user_id": [1, 1, 1, 2], "category": [0, 1, 0, 0], "day": [0, 0, 1, 0], "clicked": [1, 1, 1, 1]})
    rows = pd.DataFrame({"user_id": [1, 1, 2], "category": [0, 1, 1], "day": [2, 2, 2]})
    assert sums_before(log, rows, ["user_id", "category"], ["clicked"])["clicked"].tolist() == [2, 1, 0]


def test_history_features_shape_names_and_alignment(shop):
    impressions, items, users = shop
    rows = impressions.sample(200, random_state=1)
    feats = history_features(impressions, items, users, rows)
    assert list(feats.columns) == HISTORY_FEATURES
    assert feats.index.equals(rows.index)
    assert (feats.dtypes == np.float32).all()
    assert not feats.isna().any().any()
    assert set(COUNT_FEATURES) < set(HISTORY_FEATURES)
    assert (feats[COUNT_FEATURES] >= 0).all().all()
    assert len(HISTORY_FEATURES) == 4 * len(HISTORY_KEYS) + 7


def test_a_row_never_sees_its_own_day_or_the_future(shop):
    """Flip every label on or after day 6: the features of the rows of day 6 do not move."""
    impressions, items, users = shop
    rows = impressions[impressions["day"] == 6]
    before = history_features(impressions, items, users, rows)
    changed = impressions.copy()
    later = changed["day"] >= 6
    changed.loc[later, "clicked"] = ~changed.loc[later, "clicked"]
    changed.loc[later, "purchased"] = changed.loc[later, "clicked"]
    after = history_features(changed, items, users, rows)
    pd.testing.assert_frame_equal(before, after)
    earlier = changed.copy()
    earlier.loc[earlier["day"] == 5, "clicked"] = True  # the day before does count
    assert not history_features(earlier, items, users, rows).equals(before)


def test_as_of_day_cuts_the_history_at_the_window_start(shop):
    impressions, items, users = shop
    rows = impressions[impressions["day"] >= 9]
    as_of = history_features(impressions, items, users, rows, as_of_day=9)
    pinned = history_features(impressions, items, users, rows.assign(day=9))
    pd.testing.assert_frame_equal(as_of, pinned)


def test_counts_and_rates_by_hand(shop):
    impressions, items, users = shop
    rows = impressions[impressions["day"] == 8].head(5)
    feats = history_features(impressions, items, users, rows)
    past = impressions[impressions["day"] < 8]
    prior = impressions.loc[impressions["day"] < rows["day"].max(), "clicked"].mean()
    for idx, row in rows.iterrows():
        mine = past[past["user_id"] == row["user_id"]]
        assert feats.loc[idx, "user_impressions"] == len(mine)
        assert feats.loc[idx, "user_clicks"] == mine["clicked"].sum()
        expected = (mine["clicked"].sum() + PRIOR_WEIGHT * prior) / (len(mine) + PRIOR_WEIGHT)
        assert feats.loc[idx, "user_click_rate"] == pytest.approx(expected, rel=1e-5)
        recent = mine[mine["day"] >= 8 - RECENT_DAYS]
        assert feats.loc[idx, "user_recent_clicks"] == recent["clicked"].sum()
        item = past[past["item_id"] == row["item_id"]]
        assert feats.loc[idx, "item_impressions"] == len(item)


def test_auc_efficiency_and_scores():
    assert auc_efficiency(0.8, 0.8) == pytest.approx(1.0)
    assert auc_efficiency(0.5, 0.9) == pytest.approx(0.0)
    np.testing.assert_allclose(auc_efficiency(np.array([0.6, 0.7]), 0.9), [0.25, 0.5])
    with pytest.raises(ValueError, match="exceed 0.5"):
        auc_efficiency(0.7, 0.5)
    rng = np.random.default_rng(0)
    p = rng.uniform(0.01, 0.5, 5000)
    y = rng.random(5000) < p
    s = score_against_oracle(y, p, p)
    assert set(s) == {"auc", "oracle_auc", "efficiency"} and s["efficiency"] == pytest.approx(1.0)
    assert score_against_oracle(y, p + rng.normal(0, 0.2, 5000), p)["efficiency"] < 1
    assert set(TASK_COLUMNS) == {"click", "purchase"}
