"""shop.write_large_log: a large event log in chunks, deterministic, bounded, the shop's own world."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from make_shop import generate

from course_lib import shop


@pytest.fixture(scope="module")
def world():
    """A small shop: only its world (items, truth_items, params) is used by the writer."""
    return generate(n_users=300, n_items=200, n_days=10, seed=7)


@pytest.fixture(scope="module")
def small_log(world, tmp_path_factory):
    out = tmp_path_factory.mktemp("large_log")
    return out, shop.write_large_log(world, out, n_chunks=3, users_per_chunk=150, seed=3)


def test_writes_one_partition_per_chunk_with_the_event_schema(world, small_log):
    out, manifest = small_log
    parts = sorted((out / "events").glob("part-*.parquet"))
    assert [p.name for p in parts] == ["part-00000.parquet", "part-00001.parquet", "part-00002.parquet"]
    assert json.loads((out / "manifest.json").read_text()) == manifest
    events = pd.read_parquet(out / "events")
    assert list(events.columns) == list(world.events.columns)
    assert len(events) == manifest["rows"] == sum(manifest["rows_per_chunk"])
    assert set(events["event_type"].unique()) == {"view", "click", "cart", "purchase"}
    assert events["item_id"].between(0, len(world.items) - 1).all()
    assert events["item_id"].dtype == np.int32 and events["user_id"].dtype == np.int32


def test_chunks_hold_disjoint_users_and_sessions(small_log):
    out, manifest = small_log
    users = pd.read_parquet(out / "users")
    assert users["user_id"].tolist() == list(range(manifest["n_users"]))
    seen_users, seen_sessions = set(), set()
    for k in range(manifest["n_chunks"]):
        ev = pd.read_parquet(out / "events" / f"part-{k:05d}.parquet")
        assert ev["user_id"].between(k * 150, (k + 1) * 150 - 1).all()
        assert ev["session_id"].between(k * shop.SESSION_STRIDE, (k + 1) * shop.SESSION_STRIDE - 1).all()
        assert seen_users.isdisjoint(ev["user_id"]) and seen_sessions.isdisjoint(ev["session_id"])
        seen_users |= set(ev["user_id"])
        seen_sessions |= set(ev["session_id"])


def test_a_chunk_depends_only_on_seed_and_its_number(world, small_log, tmp_path):
    out, _ = small_log
    # Written alone, in a log of a different length, chunk 1 comes out the same.
    shop.write_large_log(world, tmp_path, n_chunks=2, users_per_chunk=150, seed=3)
    a = pd.read_parquet(out / "events" / "part-00001.parquet")
    b = pd.read_parquet(tmp_path / "events" / "part-00001.parquet")
    pd.testing.assert_frame_equal(a, b)
    # A shorter log removes the part files of the longer one it replaces.
    assert not (tmp_path / "events" / "part-00002.parquet").exists()
    shop.write_large_log(world, tmp_path, n_chunks=1, users_per_chunk=150, seed=4)
    assert sorted(p.name for p in (tmp_path / "events").glob("*.parquet")) == ["part-00000.parquet"]
    c = pd.read_parquet(tmp_path / "events" / "part-00000.parquet")
    assert not c.equals(pd.read_parquet(out / "events" / "part-00000.parquet")), "another seed, another log"


def test_the_log_is_shaped_like_the_shops(world, small_log):
    out, _ = small_log
    events = pd.read_parquet(out / "events")
    ours, theirs = events["event_type"].value_counts(), world.events["event_type"].value_counts()
    for kind in ["click", "purchase"]:
        assert ours[kind] / ours["view"] == pytest.approx(theirs[kind] / theirs["view"], rel=0.35)
    views_per_session = events[events["event_type"] == "view"].groupby("session_id").size()
    assert (views_per_session % shop.SLATE_SIZE == 0).all(), "every page shows a full slate"


def test_policy_slates_follow_the_logging_policy(world):
    rng = np.random.default_rng(0)
    s = world.shop
    users = np.full(4000, 5)
    days = np.full(4000, 3)
    slates, props = shop._policy_slates(s, users, days, rng)
    assert slates.shape == props.shape == (4000, shop.SLATE_SIZE)
    assert all(len(set(row)) == shop.SLATE_SIZE for row in slates), "no item twice in a slate"
    p = s.logging_probs(users[:1], days[:1])[0]
    assert np.all(p[slates] > 0), "only items the policy can show"
    # Slot 0 is drawn from p itself; later propensities are p given the slots above, as sample_slates gives them.
    freq = np.bincount(slates[:, 0], minlength=s.n_items) / len(users)
    top = np.argsort(-p)[:5]
    assert np.all(np.abs(freq[top] - p[top]) <= 4 * np.sqrt(p[top] / len(users))), (freq[top], p[top])
    chosen = p[slates]
    np.testing.assert_allclose(props, chosen / (1 - (np.cumsum(chosen, axis=1) - chosen)))
    np.testing.assert_allclose(props[:, 0], p[slates[:, 0]])


def test_refuses_bad_sizes(world, tmp_path):
    with pytest.raises(ValueError, match="positive"):
        shop.write_large_log(world, tmp_path, n_chunks=0)
