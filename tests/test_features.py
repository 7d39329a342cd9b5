"""Tests of the encoders' inputs (course_lib.features) and of the encoders notebook 02 exports (course_lib.encoders)."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from make_shop import generate

from course_lib import encoders, features

N_USERS, N_ITEMS, N_DAYS = 300, 200, 10


@pytest.fixture(scope="module")
def tiny():
    return generate(n_users=N_USERS, n_items=N_ITEMS, n_days=N_DAYS, seed=1)


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


def _np(x):
    return keras.ops.convert_to_numpy(x)


# -- behaviour sequences and input tables (features) ---------------------------------------------


def test_user_histories_match_a_by_hand_log(tiny):
    hist = features.user_histories(tiny, before_day=6, max_len=5)
    assert hist.shape == (N_USERS, 5) and hist.dtype == np.int32
    ev = _events_by_hand(tiny, 6)
    for u in range(N_USERS):
        items = [e[4] for e in ev if e[0] == u][-5:]
        expected = [features.PAD] * (5 - len(items)) + items  # right-aligned, newest last
        assert hist[u].tolist() == expected, u
    assert (hist == features.PAD).any() and (hist != features.PAD).any()


def test_views_are_optional_and_bad_arguments_are_refused(tiny):
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
        starts = [j for j, e in enumerate(mine) if e[3] == 1 and e[4] == item]
        expected = [[features.PAD] * (4 - len(mine[:j][-4:])) + [e[4] for e in mine[:j][-4:]] for j in starts]
        assert ex["history"][i].tolist() in expected


def test_input_tables_have_one_entry_per_row(tiny):
    x = features.item_inputs(tiny.items)
    assert set(x) == {"item_id", "category", "brand", "price", "title"}
    assert all(len(v) == N_ITEMS for v in x.values())
    with pytest.raises(ValueError, match="price"):
        features.item_inputs(tiny.items.drop(columns="price"))
    hist = features.user_histories(tiny, 6, 5)
    y = features.user_inputs(tiny.users, hist)
    assert y["history"].shape == (N_USERS, 5) and len(y["segment"]) == N_USERS
    with pytest.raises(ValueError, match="histories"):
        features.user_inputs(tiny.users, hist[:10])


# -- the encoders exported from notebook 02 -------------------------------------------------------


@pytest.fixture(scope="module")
def vocab(tiny):
    return np.unique(features.training_examples(tiny, 0, N_DAYS, 5)["item_id"])


def test_item_preprocessing_maps_unknown_ids_to_oov_and_buckets_prices(tiny):
    pre = encoders.build_item_preprocessing(tiny.items, id_vocabulary=[3, 5, 7], n_price_bins=4, fit_before_day=N_DAYS)
    assert _np(pre["item_id"](np.array([3, 5, 7, 4]))).tolist() == [1, 2, 3, 0]  # 0 is the one OOV index
    log_price = np.log(tiny.items["price"].to_numpy(np.float32))[:, None]
    counts = np.bincount(_np(pre["price_bucket"](log_price)).ravel(), minlength=4)
    assert counts.size == 4 and counts.min() > 0.15 * N_ITEMS  # quantile bins are roughly balanced
    tokens = _np(pre["title"](np.array(["zzz unknownword", ""])))
    assert tokens.shape == (2, 6) and (tokens[1] == 0).all()  # an empty title is all padding
    with pytest.raises(ValueError, match="fit_before_day"):
        encoders.build_item_preprocessing(tiny.items, fit_before_day=-10_000)


def test_item_tower_gives_unit_vectors(tiny, vocab):
    tower = encoders.build_item_tower(tiny.items, dim=8, id_vocabulary=vocab, fit_before_day=N_DAYS)
    v = encoders.embed(tower, features.item_inputs(tiny.items), batch_size=64)
    assert v.shape == (N_ITEMS, 8) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)


def test_masked_mean_pooling_matches_numpy_and_gives_zeros_without_steps():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4, 2)).astype(np.float32)
    mask = np.array([[0, 0, 1, 1], [1, 1, 1, 1], [0, 0, 0, 0]], dtype=bool)
    out = _np(encoders.MaskedMeanPooling()(x, mask=mask))
    np.testing.assert_allclose(out, np.stack([x[0, 2:].mean(0), x[1].mean(0), np.zeros(2)]), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", encoders.ENCODER_KINDS)
def test_padded_steps_never_change_the_output_but_real_ones_do(kind):
    enc = encoders.build_sequence_encoder(kind, max_len=6, dim=8, seed=3)
    rng = np.random.default_rng(1)
    seq = rng.normal(size=(5, 6, 8)).astype(np.float32)
    mask = np.ones((5, 6), dtype=bool)
    mask[0, :] = False  # no history at all
    mask[1, :4] = False  # right-aligned: 2 real events, newest last
    mask[2, :1] = False
    out = _np(enc({"sequence": seq, "mask": mask}))
    noisy = np.where(mask[..., None], seq, 100.0 * rng.normal(size=seq.shape)).astype(np.float32)
    assert out.shape == (5, 8) and np.isfinite(out).all()
    np.testing.assert_allclose(_np(enc({"sequence": noisy, "mask": mask})), out, atol=1e-5)
    changed = seq.copy()
    changed[1, 5] += 1.0
    assert not np.allclose(_np(enc({"sequence": changed, "mask": mask}))[1], out[1])


def test_attention_block_is_assembled_from_keras_layers():
    enc = encoders.build_sequence_encoder("attention", max_len=6, dim=8)
    kinds = {type(layer).__name__ for layer in enc.layers}
    assert {"MultiHeadAttention", "LayerNormalization", "Dense", "PositionalEmbedding"} <= kinds
    with pytest.raises(ValueError, match="kind"):
        encoders.build_sequence_encoder("transformer")


@pytest.mark.parametrize("kind", encoders.ENCODER_KINDS)
def test_user_tower_gives_unit_vectors_for_every_user(tiny, vocab, kind):
    tower = encoders.build_user_tower(kind, tiny.users, vocab, max_len=5, dim=8)
    u = encoders.embed(tower, features.user_inputs(tiny.users, features.user_histories(tiny, 6, 5)))
    assert u.shape == (N_USERS, 8) and np.isfinite(u).all()
    np.testing.assert_allclose(np.linalg.norm(u, axis=1), 1.0, rtol=1e-5)


def _loss_by_numpy(u, v, item_ids, log_q, temperature):
    logits = u @ v.T / temperature - log_q[None, :]
    twin = (item_ids[:, None] == item_ids[None, :]) & ~np.eye(len(item_ids), dtype=bool)
    logits[twin] = -np.inf  # a twin of the positive is not a negative
    return -np.diag(logits - np.log(np.exp(logits).sum(1, keepdims=True)))


def test_in_batch_softmax_loss_and_two_tower_loss_match_numpy():
    rng = np.random.default_rng(4)
    u = rng.normal(size=(5, 3)).astype(np.float32)
    v = rng.normal(size=(5, 3)).astype(np.float32)
    ids = np.array([7, 8, 7, 9, 8])
    log_q = np.log(np.array([0.4, 0.3, 0.4, 0.05, 0.3], dtype=np.float32))
    weight = np.array([1.0, 2.0, 1.0, 1.0, 2.0], dtype=np.float32)
    per_row = _np(encoders.in_batch_softmax_loss(u, v, ids, log_q, 0.5))
    np.testing.assert_allclose(per_row, _loss_by_numpy(u, v, ids, log_q, 0.5), rtol=1e-4, atol=1e-5)
    x = {"item_id": ids, "log_q": log_q, "weight": weight}
    for logq in [True, False]:
        model = encoders.TwoTower(None, None, temperature=0.5, logq=logq)
        loss = float(_np(model.compute_loss(x=x, y_pred=(u, v))))
        rows = _loss_by_numpy(u, v, ids, log_q if logq else np.zeros(5), 0.5)
        assert loss == pytest.approx((rows * weight).sum() / weight.sum(), rel=1e-4)
    # the correction matters: popular columns are lowered, so the loss changes
    assert not np.allclose(per_row, _loss_by_numpy(u, v, ids, np.zeros(5), 0.5))


def test_training_inputs_gather_each_examples_features(tiny):
    ex = features.training_examples(tiny, 0, 6, 5)
    x = encoders.training_inputs(tiny, ex)
    assert set(x) == {*encoders.USER_KEYS, *encoders.ITEM_KEYS, "log_q", "weight"}
    assert all(len(v) == len(ex["item_id"]) for v in x.values())
    i = len(ex["item_id"]) // 2
    item = tiny.items.set_index("item_id").loc[ex["item_id"][i]]
    assert x["brand"][i] == str(item["brand"]) and x["price"][i] == pytest.approx(item["price"])
    assert x["segment"][i] == str(tiny.users.set_index("user_id").loc[ex["user_id"][i], "segment"])
    clicks = np.bincount(ex["item_id"])
    assert np.exp(x["log_q"][i]) == pytest.approx(clicks[ex["item_id"][i]] / clicks.sum(), rel=1e-5)


def test_train_two_tower_runs_on_a_tiny_shop(tiny):
    model = encoders.train_two_tower(tiny, epochs=1, batch_size=256, max_len=5, dim=8, seed=3)
    assert len(model.history.history["loss"]) == 1 and np.isfinite(model.history.history["loss"]).all()
    u = encoders.embed(model.user_tower, features.user_inputs(tiny.users, features.user_histories(tiny, 6, 5)))
    v = encoders.embed(model.item_tower, features.item_inputs(tiny.items))
    assert u.shape == (N_USERS, 8) and v.shape == (N_ITEMS, 8)
