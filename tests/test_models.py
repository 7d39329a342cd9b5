"""Tests of course_lib.multitask (exported from notebooks/03b_multi_task_model.ipynb) on tiny synthetic inputs."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from course_lib import multitask as mt  # noqa: E402

VOCAB = {"segment": 4, "region": 4, "device": 3, "category": 12, "brand": 60, "item_id": 50}
N_STATS = 5


def _inputs(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = {c: rng.integers(0, VOCAB[c], n).astype(np.int32) for c in (*mt.USER_COLUMNS, *mt.ITEM_COLUMNS)}
    x["item_id"] = rng.integers(0, VOCAB["item_id"], n).astype(np.int32)
    x["log_price"] = rng.normal(size=n).astype(np.float32)
    history = rng.integers(0, VOCAB["item_id"] + 1, (n, mt.HISTORY_LEN)).astype(np.int32)  # the last id pads
    history[0] = VOCAB["item_id"]  # one row with an empty history
    x["history"] = history
    x["stats"] = rng.normal(size=(n, N_STATS)).astype(np.float32)
    x["position"] = rng.integers(0, mt.N_POSITIONS, n).astype(np.int32)
    return x


def _targets(x: dict, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    click = (rng.random(len(x["item_id"])) < 0.3).astype(np.float32)
    return {"click": click, "purchase": click * (rng.random(len(click)) < 0.4), "cvr": click}


def _model(kind: str, seed: int = 0):
    return mt.build_model(kind, VOCAB, np.zeros(N_STATS), np.ones(N_STATS), seed=seed)


@pytest.mark.parametrize("kind", ["shared_bottom", "mmoe", "esmm", "cvr_only"])
def test_every_architecture_gives_one_probability_per_row(kind):
    x = _inputs(37)
    out = mt.predict(_model(kind), x)
    assert set(out) == ({"cvr"} if kind == "cvr_only" else set(mt.TASKS))
    for p in out.values():
        assert p.shape == (37,) and p.dtype == np.float32
        assert np.all((p > 0) & (p < 1))


def test_mix_experts_is_a_convex_mix_whose_weights_sum_to_one():
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(6, 4)).astype("float32")
    weights = np.asarray(mt.mix_experts(logits, np.broadcast_to(np.eye(4, dtype="float32"), (6, 4, 4))))
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=1e-5)  # experts = unit vectors: the output is the gate
    assert np.all(weights > 0)
    experts = rng.normal(size=(6, 4, 3)).astype("float32")
    mixed = np.asarray(mt.mix_experts(logits, experts))
    assert mixed.shape == (6, 3)
    assert np.all(mixed <= experts.max(axis=1) + 1e-5) and np.all(mixed >= experts.min(axis=1) - 1e-5)


def test_mmoe_gates_are_distinct_per_task_and_experts_start_apart():
    model = _model("mmoe", seed=3)
    gates = [model.get_layer(f"gate_{t}").logits.get_weights()[0] for t in mt.TASKS]
    assert not np.allclose(gates[0], gates[1])
    experts = [model.get_layer(f"expert_{k}_0").get_weights()[0] for k in range(4)]
    assert all(not np.allclose(experts[0], e) for e in experts[1:])
    again = _model("mmoe", seed=3).get_layer("expert_1_0").get_weights()[0]
    np.testing.assert_array_equal(experts[1], again)  # seeded: the same model twice


def test_esmm_purchase_never_exceeds_click_and_is_ctr_times_cvr():
    model = _model("esmm", seed=2)
    x = _inputs(64)
    out = mt.predict(model, x)
    assert np.all(out["purchase"] <= out["click"] + 1e-7)
    cvr = keras.Model(model.inputs, model.get_layer("cvr").output).predict_on_batch(x).reshape(-1)
    np.testing.assert_allclose(out["purchase"], out["click"] * cvr, rtol=1e-5)


def test_position_tower_is_an_additive_offset_that_starts_at_zero():
    model = _model("esmm", seed=4)
    x = _inputs(20)
    assert np.allclose(model.get_layer("click_position").get_weights()[0], 0.0)
    offsets = np.linspace(-1, 0.5, mt.N_POSITIONS).astype("float32")[:, None]
    model.get_layer("click_position").set_weights([offsets])
    p0 = mt.predict(model, {**x, "position": np.zeros(20, np.int32)})["click"]
    p5 = mt.predict(model, {**x, "position": np.full(20, 5, np.int32)})["click"]
    logit = lambda p: np.log(p / (1 - p))  # noqa: E731
    np.testing.assert_allclose(logit(p5) - logit(p0), offsets[5, 0] - offsets[0, 0], atol=1e-3)
    with pytest.raises(ValueError):
        model.get_layer("cvr_position")  # the purchase after a click does not depend on the slot


def test_make_dataset_visits_every_row_once_per_epoch_in_a_seeded_order():
    x = _inputs(103)
    y = _targets(x)
    order = [np.concatenate([b[0]["stats"].numpy()[:, 0] for b in mt.make_dataset(x, y, batch_size=10, seed=s)])
             for s in (5, 5, 6)]
    np.testing.assert_array_equal(np.sort(order[0]), np.sort(x["stats"][:, 0]))
    np.testing.assert_array_equal(order[0], order[1])
    assert not np.array_equal(order[0], order[2])
    plain = np.concatenate([b["stats"].numpy()[:, 0] for b in mt.make_dataset(x, batch_size=10)])
    np.testing.assert_array_equal(plain, x["stats"][:, 0])  # no seed: the rows in order, inputs only


def test_train_stops_on_the_stop_rows_and_is_reproducible():
    x, x_stop = _inputs(600, seed=1), _inputs(200, seed=2)
    fit, stop = (x, _targets(x)), (x_stop, _targets(x_stop, seed=3))
    model, history = mt.train("esmm", VOCAB, fit, stop, seed=7, verbose=0, epochs=2, batch_size=128)
    assert len(history["val_loss"]) in (1, 2) and len(history["loss"]) == len(history["val_loss"])
    again, _ = mt.train("esmm", VOCAB, fit, stop, seed=7, verbose=0, epochs=2, batch_size=128)
    np.testing.assert_allclose(mt.predict(model, x_stop)["click"], mt.predict(again, x_stop)["click"], rtol=1e-5)


def test_labels_are_click_and_click_and_purchase():
    import pandas as pd

    rows = pd.DataFrame({"clicked": [True, True, False], "purchased": [True, False, False]})
    y = mt.labels(rows)
    np.testing.assert_array_equal(y["click"], [1, 1, 0])
    np.testing.assert_array_equal(y["purchase"], [1, 0, 0])
