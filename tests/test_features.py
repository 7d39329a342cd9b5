"""Tests of course_lib.features on a tiny shop: histories, encoders, masking, saving, candidates, metrics."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import ndcg_score

from course_lib import data, features, shop

N_USERS, N_ITEMS, N_DAYS = 300, 200, 10


@pytest.fixture(scope="module")
def tiny():
    return shop.generate(n_users=N_USERS, n_items=N_ITEMS, n_days=N_DAYS, seed=1)


def _events_by_hand(tiny, before_day):
    """Click and purchase events before ``before_day``, in time order per user, from the impressions."""
    imp = tiny.impressions[tiny.impressions["day"] < before_day]
    rows = []
    for r in imp.itertuples():
        if r.clicked:
            rows.append((r.user_id, r.timestamp, r.impression_id, 1, r.item_id))
        if r.purchased:
            rows.append((r.user_id, r.timestamp, r.impression_id, 2, r.item_id))
    return sorted(rows)


# -- behaviour sequences ----------------------------------------------------------


def test_user_histories_match_a_by_hand_log(tiny):
    hist = features.user_histories(tiny, before_day=6, max_len=5)
    assert hist.shape == (N_USERS, 5) and hist.dtype == np.int32
    ev = _events_by_hand(tiny, 6)
    for u in range(N_USERS):
        items = [e[4] for e in ev if e[0] == u][-5:]
        expected = [features.PAD] * (5 - len(items)) + items  # right-aligned, newest last
        assert hist[u].tolist() == expected, u
    assert (hist == features.PAD).any() and (hist != features.PAD).any()


def test_views_are_optional_and_bad_event_types_are_refused(tiny):
    with_views = features.user_histories(tiny, 6, 5, event_types=("view", "click", "purchase"))
    assert (with_views != features.PAD).sum() > (features.user_histories(tiny, 6, 5) != features.PAD).sum()
    with pytest.raises(ValueError, match="event_types"):
        features.user_histories(tiny, 6, 5, event_types=("like",))
    with pytest.raises(ValueError, match="max_len"):
        features.user_histories(tiny, 6, 0)


def test_training_examples_hold_the_history_strictly_before_each_click(tiny):
    ex = features.training_examples(tiny, first_day=3, end_day=8, max_len=4)
    imp = tiny.impressions
    clicks = imp[(imp["day"] >= 3) & (imp["day"] < 8) & imp["clicked"]]
    assert len(ex["item_id"]) == len(clicks)
    assert ex["history"].shape == (len(clicks), 4)
    np.testing.assert_array_equal(np.sort(ex["weight"]), np.sort(np.where(clicks["purchased"], 2.0, 1.0)))
    ev = _events_by_hand(tiny, 8)
    rng = np.random.default_rng(0)
    for i in rng.choice(len(ex["item_id"]), 40, replace=False):
        u, item = ex["user_id"][i], ex["item_id"][i]
        mine = [e for e in ev if e[0] == u]
        # the i-th example is one click of (u, item); its history is the events before that click
        starts = [j for j, e in enumerate(mine) if e[3] == 1 and e[4] == item]
        expected = [[features.PAD] * (4 - len(mine[:j][-4:])) + [e[4] for e in mine[:j][-4:]] for j in starts]
        assert ex["history"][i].tolist() in expected


# -- encoders -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def vocab(tiny):
    return np.unique(features.training_examples(tiny, 0, N_DAYS, 5)["item_id"])


def test_item_encoder_shapes_and_unit_length(tiny, vocab):
    enc = features.build_item_encoder(tiny.items, dim=8, id_vocabulary=vocab, fit_before_day=N_DAYS)
    v = features.embed(enc, features.item_inputs(tiny.items))
    assert v.shape == (N_ITEMS, 8)
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)


def test_item_preprocessing_maps_unknown_ids_to_oov_and_buckets_prices(tiny):
    pre = features.build_item_preprocessing(tiny.items, id_vocabulary=[3, 5, 7], n_price_bins=4, fit_before_day=N_DAYS)
    idx = keras.ops.convert_to_numpy(pre["item_id"](np.array([3, 5, 7, 4])))
    assert idx.tolist() == [1, 2, 3, 0]  # index 0 is the one OOV bucket
    log_price = np.log(tiny.items["price"].to_numpy(np.float32))[:, None]
    buckets = keras.ops.convert_to_numpy(pre["price_bucket"](log_price)).ravel()
    counts = np.bincount(buckets, minlength=4)
    assert counts.size == 4 and counts.min() > 0.15 * len(buckets)  # quantile bins are roughly balanced
    with pytest.raises(ValueError, match="fit_before_day"):
        features.build_item_preprocessing(tiny.items, fit_before_day=-10_000)


@pytest.mark.parametrize("kind", features.ENCODER_KINDS)
def test_user_encoder_shapes(tiny, vocab, kind):
    enc = features.build_user_encoder(kind, tiny.users, vocab, max_len=5, dim=8)
    u = features.embed(enc, features.user_inputs(tiny.users, features.user_histories(tiny, 6, 5)))
    assert u.shape == (N_USERS, 8) and np.isfinite(u).all()
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("kind", features.ENCODER_KINDS)
def test_padded_steps_never_change_the_output(kind):
    enc = features.build_sequence_encoder(kind, max_len=6, dim=8, seed=3)
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(5, 6, 8)).astype(np.float32)
    mask = np.ones((5, 6), dtype=bool)
    mask[0, :6] = False  # no history at all
    mask[1, :4] = False  # right-aligned: 2 real events, newest last
    mask[2, :1] = False
    out = keras.ops.convert_to_numpy(enc({"sequence": seq, "mask": mask}))
    noisy = np.where(mask[..., None], seq, 100.0 * rng.normal(size=seq.shape)).astype(np.float32)
    out_noisy = keras.ops.convert_to_numpy(enc({"sequence": noisy, "mask": mask}))
    assert out.shape == (5, 8) and np.isfinite(out).all()
    np.testing.assert_allclose(out, out_noisy, atol=1e-5)
    # ...while changing a real step does change it
    changed = seq.copy()
    changed[1, 5] += 1.0
    assert not np.allclose(keras.ops.convert_to_numpy(enc({"sequence": changed, "mask": mask}))[1], out[1])


def test_masked_mean_pooling_matches_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    mask = np.array([[0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    out = keras.ops.convert_to_numpy(features.MaskedMeanPooling()(x, mask=mask))
    expected = np.stack([x[0, 2:].mean(0), x[1].mean(0), np.zeros(2)])
    np.testing.assert_allclose(out, expected, rtol=1e-6, atol=1e-7)


def test_unknown_encoder_kind_is_refused(tiny, vocab):
    with pytest.raises(ValueError, match="kind"):
        features.build_sequence_encoder("transformer")


def test_towers_survive_a_safe_mode_round_trip(tiny, vocab, tmp_path):
    user = features.build_user_encoder("attention", tiny.users, vocab, max_len=5, dim=8)
    item = features.build_item_encoder(tiny.items, dim=8, id_vocabulary=vocab, fit_before_day=N_DAYS)
    ux = features.user_inputs(tiny.users, features.user_histories(tiny, 6, 5))
    ix = features.item_inputs(tiny.items)
    user.save(tmp_path / "u.keras")
    item.save(tmp_path / "i.keras")
    user2 = keras.saving.load_model(tmp_path / "u.keras", safe_mode=True)
    item2 = keras.saving.load_model(tmp_path / "i.keras", safe_mode=True)
    np.testing.assert_allclose(features.embed(user2, ux), features.embed(user, ux), atol=1e-6)
    np.testing.assert_allclose(features.embed(item2, ix), features.embed(item, ix), atol=1e-6)
    assert features.history_length(user2) == 5


# -- the in-batch softmax -------------------------------------------------------------


def test_in_batch_softmax_loss_matches_numpy():
    rng = np.random.default_rng(4)
    u = rng.normal(size=(4, 3)).astype(np.float32)
    v = rng.normal(size=(4, 3)).astype(np.float32)
    x = {
        "item_id": np.array([7, 8, 7, 9]),
        "log_q": np.log(np.array([0.5, 0.25, 0.5, 0.25], dtype=np.float32)),
        "weight": np.array([1.0, 2.0, 1.0, 1.0], dtype=np.float32),
    }
    for logq in [False, True]:
        model = features.TwoTower(None, None, temperature=0.5, logq=logq)
        loss = float(keras.ops.convert_to_numpy(model.compute_loss(x=x, y_pred=(u, v))))
        logits = u @ v.T / 0.5 - (x["log_q"][None, :] if logq else 0.0)
        logits[0, 2] = logits[2, 0] = -np.inf  # rows 0 and 2 share item 7: not a negative for each other
        log_softmax = logits - np.log(np.exp(logits).sum(1, keepdims=True))
        expected = -(np.diag(log_softmax) * x["weight"]).sum() / x["weight"].sum()
        assert loss == pytest.approx(expected, rel=1e-5)


# -- retrieval helpers ------------------------------------------------------------------


def test_top_k_matches_a_full_sort_and_respects_allowed():
    rng = np.random.default_rng(5)
    s = rng.normal(size=(7, 30))
    allowed = rng.random(30) < 0.7
    ids, scores = features.top_k(s, 5, allowed)
    masked = np.where(allowed, s, -np.inf)
    np.testing.assert_array_equal(ids, np.argsort(-masked, axis=1)[:, :5])
    np.testing.assert_allclose(scores, np.take_along_axis(s, ids, 1), rtol=1e-6)
    ids, _ = features.top_k(np.zeros(6), 3, tiebreak=np.array([1, 5, 2, 9, 0, 3]))
    assert ids.tolist() == [[3, 1, 5]]  # equal scores: the tie-break decides
    with pytest.raises(ValueError, match="allowed"):
        features.top_k(s, 5, np.zeros(30, dtype=bool))


def test_retrieval_metrics_hand_worked_and_against_sklearn():
    top = np.array([[3, 1, 2, 0, 4], [0, 1, 2, 3, 4]])
    truth = {0: np.array([1, 5])}
    m = features.retrieval_metrics(top, truth, ks=(2, 5))
    assert m["recall@2"] == pytest.approx(0.5) and m["recall@5"] == pytest.approx(0.5)
    assert m["ndcg@2"] == pytest.approx((1 / np.log2(3)) / (1 + 1 / np.log2(3)))
    assert m["users"] == 1
    rng = np.random.default_rng(6)
    n_items = 12
    scores = rng.random((20, n_items))
    top = np.argsort(-scores, axis=1)
    truth = {u: np.sort(rng.choice(n_items, rng.integers(1, 4), replace=False)) for u in range(20)}
    y_true = np.zeros((20, n_items))
    for u, rel in truth.items():
        y_true[u, rel] = 1
    got = features.retrieval_metrics(top, truth, ks=(5, 10))
    assert got["ndcg@5"] == pytest.approx(ndcg_score(y_true, scores, k=5))
    assert got["ndcg@10"] == pytest.approx(ndcg_score(y_true, scores, k=10))


def test_cooccurrence_and_content_scores_match_brute_force(tiny):
    X = (features.interaction_matrix(tiny, 6).toarray() > 0).astype(float)
    co = features.cooccurrence_scores(tiny, 6)
    items = tiny.items.sort_values("item_id")
    cat, brand = items["category"].astype(str).to_numpy(), items["brand"].to_numpy()
    counts = features.interaction_matrix(tiny, 6).toarray()
    content = features.content_scores(tiny, 6)
    for u in np.flatnonzero(X.sum(1) >= 2)[:5]:
        for j in [0, 17, 101]:
            sims = [
                (X[:, i] * X[:, j]).sum() / np.sqrt(max(X[:, i].sum(), 1) * max(X[:, j].sum(), 1))
                for i in np.flatnonzero(X[u])
                if i != j
            ]
            assert co[u, j] == pytest.approx(sum(sims))
            share = (counts[u] * (cat == cat[j])).sum() / counts[u].sum() + (counts[u] * (brand == brand[j])).sum() / counts[u].sum()
            assert content[u, j] == pytest.approx(share)


def test_true_recall_counts_the_truly_best_items_found():
    true_p = np.array([[0.9, 0.1, 0.8, 0.2], [0.1, 0.2, 0.3, 0.4]])
    top = np.array([[0, 3], [3, 2]])
    assert features.true_recall(top, true_p, n_true=2) == pytest.approx((0.5 + 1.0) / 2)


# -- candidates ---------------------------------------------------------------------------


def test_candidates_are_complete_launched_and_rebuilt_when_stale(tiny, tmp_path, monkeypatch, capsys):
    # Windows that fit the 10-day shop, so launch days and history cut-offs matter.
    monkeypatch.setitem(data.WINDOWS, "train", (0, 6))
    monkeypatch.setitem(data.WINDOWS, "valid", (6, 8))
    monkeypatch.setitem(data.WINDOWS, "test", (8, 10))
    monkeypatch.setitem(features.RECIPE, "epochs", 1)
    monkeypatch.setitem(features.RECIPE, "batch_size", 64)
    cutoffs = []
    real_histories = features.user_histories

    def spy(data_, before_day, *args, **kwargs):
        cutoffs.append(before_day)
        return real_histories(data_, before_day, *args, **kwargs)

    monkeypatch.setattr(features, "user_histories", spy)
    cands = features.ensure_candidates("valid", data=tiny, path=tmp_path)
    assert "need a rebuild" in capsys.readouterr().out
    assert cutoffs == [6, 8]  # the valid and test histories stop before each window's first day
    assert list(cands.columns) == ["user_id", "item_id", "retrieval_rank", "retrieval_score"]
    assert [str(t) for t in cands.dtypes] == ["int32", "int32", "int16", "float32"]
    per_user = cands.groupby("user_id")
    assert sorted(per_user.groups) == list(range(N_USERS))
    assert (per_user.size() == features.N_CANDIDATES).all()
    assert (per_user["item_id"].nunique() == features.N_CANDIDATES).all()
    assert (per_user["retrieval_rank"].apply(lambda r: r.tolist() == list(range(100)))).all()
    assert (per_user["retrieval_score"].apply(lambda s: s.is_monotonic_decreasing)).all()
    launch = tiny.items.set_index("item_id")["launch_day"]
    assert (launch.loc[cands["item_id"]].to_numpy() <= 6).all()
    assert (launch > 6).any()  # the tiny shop does have items launched later
    # a second call loads without rebuilding, and the towers load in safe mode
    again = features.ensure_candidates("valid", data=tiny, path=tmp_path)
    assert capsys.readouterr().out == ""
    pd.testing.assert_frame_equal(again, cands)
    user_tower, item_tower = features.load_towers(tmp_path)
    assert features.history_length(user_tower) == features.MAX_LEN
    test = features.ensure_candidates("test", data=tiny, path=tmp_path)
    assert (launch.loc[test["item_id"]].to_numpy() <= 8).all()
    # another recipe version, or another dataset, makes the files stale
    meta = json.loads((tmp_path / features.CANDIDATES_SIDECAR).read_text())
    meta["recipe_version"] = "old"
    (tmp_path / features.CANDIDATES_SIDECAR).write_text(json.dumps(meta))
    features.ensure_candidates("test", data=tiny, path=tmp_path)
    assert "recipe_version changed (stored 'old'" in capsys.readouterr().out
    other = shop.generate(n_users=N_USERS, n_items=N_ITEMS, n_days=N_DAYS, seed=2)
    features.ensure_candidates("test", data=other, path=tmp_path)
    assert "dataset_checksum changed" in capsys.readouterr().out
    with pytest.raises(ValueError, match="window"):
        features.ensure_candidates("train", data=tiny, path=tmp_path)
