"""Tests of course_lib.models on a tiny shop: inputs, architectures, identities, metrics, saving, artifacts."""

from __future__ import annotations

import json

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from course_lib import artifacts, data, features, models, shop

N_USERS, N_ITEMS, N_DAYS = 300, 200, 10
OUTPUTS = {
    "click_only": ["click"],
    "purchase_only": ["purchase"],
    "cvr_only": ["cvr"],
    "shared_bottom": ["click", "purchase"],
    "mmoe": ["click", "purchase"],
    "ple": ["click", "purchase"],
    "esmm": ["click", "purchase"],
}


@pytest.fixture(scope="module")
def tiny():
    return shop.generate(n_users=N_USERS, n_items=N_ITEMS, n_days=N_DAYS, seed=3)


@pytest.fixture(scope="module")
def tables(tiny):
    return models.feature_tables(tiny, fit_before_day=6)


@pytest.fixture(scope="module")
def batch(tiny, tables):
    """Inputs and labels of 64 impressions of days 6 and 7 (histories point-in-time)."""
    imp = tiny.impressions
    rows = imp[imp["day"].isin([6, 7])].iloc[:64]
    return models.impression_inputs(tiny, tables, rows)


def _weights(model, prefix):
    return {ly.name: ly.get_weights()[0] for ly in model.layers if ly.name.startswith(prefix) and ly.get_weights()}


# -- inputs -----------------------------------------------------------------------


def test_feature_tables_encode_every_item_and_user(tiny, tables):
    assert set(tables["users"]) == {"segment", "region", "device"}
    for name, col in tables["users"].items():
        assert col.shape == (N_USERS,) and col.min() >= 0 and col.max() < tables["vocab"][name]
    for name in ["category", "brand", "price_bucket"]:
        col = tables["items"][name]
        assert col.shape == (N_ITEMS,) and col.min() >= 0 and col.max() < tables["vocab"][name]
    assert tables["items"]["title"].shape == (N_ITEMS, 6)
    # standardised log price: same order as the prices, mean 0 over the items it was adapted on
    price = tiny.items.sort_values("item_id")["price"].to_numpy()
    assert np.array_equal(np.argsort(tables["items"]["log_price"], kind="stable"), np.argsort(price, kind="stable"))
    # the category codes agree with the category names, one code per name
    names = tiny.items.sort_values("item_id")["category"].astype(str).to_numpy()
    pairs = set(zip(names, tables["items"]["category"], strict=True))
    assert len(pairs) == len(set(names))


def test_model_inputs_shapes_padding_and_errors(tiny, tables):
    hist = np.full((3, models.HISTORY_LEN), features.PAD, dtype=np.int32)
    hist[0, -2:] = [5, 7]
    x = models.model_inputs(tables, [0, 1, 2], [10, 11, 12], 0, hist)
    assert x["position"].tolist() == [0, 0, 0]
    assert x["history"][0, -2:].tolist() == [5, 7]
    assert (x["history"][1] == N_ITEMS).all()  # padding -> the extra embedding row
    assert x["segment"][1] == tables["users"]["segment"][1]
    assert x["brand"][2] == tables["items"]["brand"][12]
    with pytest.raises(ValueError, match="positions"):
        models.model_inputs(tables, [0], [1], 10, hist[:1])
    with pytest.raises(ValueError, match="item_ids"):
        models.model_inputs(tables, [0], [N_ITEMS], 0, hist[:1])
    with pytest.raises(ValueError, match="histories"):
        models.model_inputs(tables, [0, 1], [1, 2], 0, hist[:1])
    with pytest.raises(ValueError, match="rows is missing"):
        models.impression_inputs(tiny, tables, tiny.impressions[["user_id", "item_id"]])


def test_point_in_time_histories_never_see_their_own_day(tiny):
    imp = tiny.impressions
    rows = imp[imp["day"].isin([3, 4])].iloc[::7]
    hist = models.histories_for_rows(tiny, rows["user_id"], rows["day"])
    for day in [3, 4]:
        m = (rows["day"] == day).to_numpy()
        expected = features.user_histories(tiny, day, models.HISTORY_LEN)[rows["user_id"].to_numpy()[m]]
        assert np.array_equal(hist[m], expected)
    # a click made on day 4 is never in the history of a day-4 row
    later = imp[(imp["day"] == 4) & imp["clicked"]]
    first_click = later.groupby("user_id")["item_id"].first()
    before = features.user_histories(tiny, 4, models.HISTORY_LEN)
    for user, item in first_click.items():
        if item not in before[user]:
            row = (rows["user_id"] == user).to_numpy() & (rows["day"] == 4).to_numpy()
            assert not np.isin(item, hist[row]).any()


# -- the architectures ----------------------------------------------------------------


@pytest.mark.parametrize("kind", list(OUTPUTS))
def test_output_names_and_shapes(tables, batch, kind):
    x, _ = batch
    model = models.build_model(kind, tables["vocab"], seed=1)
    out = models.predict(model, x, batch_size=40)  # two chunks
    assert sorted(out) == sorted(OUTPUTS[kind])
    for p in out.values():
        assert p.shape == (64,) and p.dtype == np.float32
        assert ((p > 0) & (p < 1)).all()


def test_esmm_purchase_is_ctr_times_cvr(tables, batch):
    x, _ = batch
    model = models.build_model("esmm", tables["vocab"], seed=2)
    out = models.predict(model, x)
    cvr = models.layer_output(model, "cvr", x)
    np.testing.assert_allclose(out["purchase"], out["click"] * cvr, rtol=1e-5, atol=1e-7)
    assert (out["purchase"] <= out["click"]).all()
    # the CVR tower ignores the slot: moving every row to slot 9 leaves pCVR unchanged, lowers nothing else
    x9 = {**x, "position": np.full_like(x["position"], 9)}
    np.testing.assert_allclose(models.layer_output(model, "cvr", x9), cvr, rtol=1e-6)


@pytest.mark.parametrize("kind", ["mmoe", "ple"])
def test_gates_are_distributions_over_experts(tables, batch, kind):
    x, _ = batch
    model = models.build_model(kind, tables["vocab"], n_experts=4, seed=3)
    for task in models.TASKS:
        g = models.layer_output(model, f"gate_{task}", x)
        assert g.shape[1] == 4
        assert (g >= 0).all()
        np.testing.assert_allclose(g.sum(axis=1), 1.0, rtol=1e-5)
    usage = models.gate_usage(model, x)
    assert list(usage.index) == list(models.TASKS)
    np.testing.assert_allclose(usage.sum(axis=1), 1.0, rtol=1e-5)
    # the gated mixture is the gate-weighted sum of the experts' outputs
    gate = models.layer_output(model, "gate_click", x)
    names = [n for n in _weights(model, "expert_") if n.endswith("_0")] if kind == "mmoe" else \
        ["click_expert_0_0", "click_expert_1_0", "shared_expert_0_0", "shared_expert_1_0"]
    experts = np.stack([models.layer_output(model, n, x) for n in names], axis=1)
    mixed = models.layer_output(model, "click_mixture", x)
    np.testing.assert_allclose(mixed, (gate[:, :, None] * experts).sum(axis=1), rtol=1e-4, atol=1e-6)


def test_experts_start_from_distinct_weights_and_seeds_reproduce(tables):
    model = models.build_model("mmoe", tables["vocab"], n_experts=4, seed=5)
    kernels = list(_weights(model, "expert_").values())
    assert len(kernels) == 4
    for a in range(4):
        for b in range(a + 1, 4):
            assert not np.allclose(kernels[a], kernels[b]), f"experts {a} and {b} start identical"
    again = list(_weights(models.build_model("mmoe", tables["vocab"], n_experts=4, seed=5), "expert_").values())
    other = list(_weights(models.build_model("mmoe", tables["vocab"], n_experts=4, seed=6), "expert_").values())
    assert all(np.array_equal(a, b) for a, b in zip(kernels, again, strict=True))
    assert not np.allclose(kernels[0], other[0])


def test_position_tower_only_shifts_the_logit(tables, batch):
    x, _ = batch
    model = models.build_model("shared_bottom", tables["vocab"], seed=4)
    offsets = np.linspace(0.0, -1.8, models.N_POSITIONS).astype(np.float32)[:, None]
    model.get_layer("click_position_bias").set_weights([offsets])
    p0 = models.predict(model, {**x, "position": np.zeros_like(x["position"])})["click"]
    p5 = models.predict(model, {**x, "position": np.full_like(x["position"], 5)})["click"]

    def logit(p):
        return np.log(p / (1 - p))

    np.testing.assert_allclose(logit(p5) - logit(p0), offsets[5, 0] - offsets[0, 0], atol=2e-4)


def test_unknown_kind_and_missing_labels_are_refused(tables, batch):
    x, y = batch
    with pytest.raises(ValueError, match="kind"):
        models.build_model("transformer", tables["vocab"])
    model = models.build_model("esmm", tables["vocab"])
    with pytest.raises(ValueError, match="labels"):
        models.fit(model, x, {"click": y["click"]})
    with pytest.raises(ValueError, match="no layer"):
        models.layer_output_model(model, "gate_click")


def test_safe_mode_round_trip_gives_the_same_predictions(tables, batch, tmp_path):
    x, y = batch
    for kind in ["mmoe", "esmm"]:
        model = models.build_model(kind, tables["vocab"], seed=7)
        models.fit(model, x, y, epochs=1, batch_size=32)  # a trained model also carries its optimizer state
        model.save(tmp_path / f"{kind}.keras")
        loaded = keras.saving.load_model(tmp_path / f"{kind}.keras", safe_mode=True)
        before, after = models.predict(model, x), models.predict(loaded, x)
        for task in before:
            np.testing.assert_allclose(after[task], before[task], rtol=1e-6, atol=1e-7)


# -- training ---------------------------------------------------------------------


def test_dataset_visits_every_row_once_per_epoch_in_a_seeded_order():
    x = {"a": np.arange(10, dtype=np.int32), "b": np.arange(10, dtype=np.float32) * 2}
    y = {"click": (np.arange(10) % 2).astype(np.float32)}
    batches = list(models.make_dataset(x, y, batch_size=4, shuffle=True, seed=1, epochs=2))
    assert [len(b[0]["a"]) for b in batches] == [4, 4, 2, 4, 4, 2]
    seen = np.concatenate([b[0]["a"].numpy() for b in batches])
    assert sorted(seen[:10]) == list(range(10)) and sorted(seen[10:]) == list(range(10))
    assert not np.array_equal(seen[:10], np.arange(10))
    assert models.make_dataset(x, y, 4, True, 1, 2).cardinality().numpy() == 6
    # training drops each epoch's incomplete batch: one batch shape, 8 distinct rows per epoch
    dropped = list(models.make_dataset(x, y, batch_size=4, shuffle=True, seed=1, epochs=2, drop_remainder=True))
    assert [len(b[0]["a"]) for b in dropped] == [4, 4, 4, 4]
    assert len(set(np.concatenate([b[0]["a"].numpy() for b in dropped[:2]]))) == 8
    with pytest.raises(ValueError, match="fewer than one batch"):
        models.make_dataset(x, y, batch_size=16, drop_remainder=True)
    in_order = np.concatenate([b["a"].numpy() for b in models.make_dataset(x, batch_size=3)])
    assert in_order.tolist() == list(range(10))
    for bx, by in batches:  # inputs and labels stay aligned
        np.testing.assert_array_equal(bx["b"].numpy(), bx["a"].numpy() * 2)
        np.testing.assert_array_equal(by["click"].numpy(), bx["a"].numpy() % 2)
    again = np.concatenate([b[0]["a"].numpy() for b in models.make_dataset(x, y, 4, True, 1, 2)])
    assert np.array_equal(seen, again)


def test_training_learns_clicks_beyond_chance(tiny):
    tables = models.feature_tables(tiny, fit_before_day=7)
    imp = tiny.impressions
    x, y = models.impression_inputs(tiny, tables, imp[imp["day"] < 7])
    xv, yv = models.impression_inputs(tiny, tables, imp[imp["day"] >= 7], history_day=7)
    model = models.train("shared_bottom", tables, x, y, epochs=3, batch_size=256, seed=0)
    p = models.predict(model, xv)
    assert roc_auc_score(yv["click"], p["click"]) > 0.62  # the slot alone gives about 0.6
    # the learned slot offsets fall with the slot, as the shop's examination does
    offsets = model.get_layer("click_position_bias").get_weights()[0][:, 0]
    assert offsets[0] > offsets[4] > offsets[9]


# -- measuring --------------------------------------------------------------------


def test_auc_efficiency_by_hand():
    assert models.auc_efficiency(0.75, 0.8) == pytest.approx(0.25 / 0.3)
    np.testing.assert_allclose(models.auc_efficiency([0.5, 0.8], 0.8), [0.0, 1.0])
    with pytest.raises(ValueError, match="auc_oracle"):
        models.auc_efficiency(0.7, 0.5)


def test_reliability_table_and_ece_by_hand():
    y = np.array([0, 0, 1, 0, 1, 1])
    p = np.array([0.1, 0.2, 0.3, 0.6, 0.7, 0.9])
    t = models.reliability_table(y, p, n_bins=2)
    assert t["count"].tolist() == [3, 3]
    np.testing.assert_allclose(t["mean_predicted"], [0.2, 2.2 / 3])
    np.testing.assert_allclose(t["observed_rate"], [1 / 3, 2 / 3])
    expected = 0.5 * abs(0.2 - 1 / 3) + 0.5 * abs(2.2 / 3 - 2 / 3)
    assert models.expected_calibration_error(y, p, n_bins=2) == pytest.approx(expected)
    # perfectly calibrated bins give zero
    assert models.expected_calibration_error([0, 1, 0, 1], [0.5, 0.5, 0.5, 0.5], n_bins=1) == pytest.approx(0.0)
    with pytest.raises(ValueError, match="shape"):
        models.reliability_table([0, 1], [0.5])


def test_task_scores_agree_with_sklearn():
    rng = np.random.default_rng(0)
    truth = {"click": rng.uniform(0.01, 0.6, 2000), "purchase": rng.uniform(0.001, 0.1, 2000)}
    labels = {t: (rng.random(2000) < q).astype(np.float32) for t, q in truth.items()}
    preds = {t: np.clip(q + rng.normal(0, 0.05, 2000), 1e-3, 0.99) for t, q in truth.items()}
    s = models.task_scores(labels, preds, truth)
    for t in truth:
        assert s.loc[t, "auc"] == pytest.approx(roc_auc_score(labels[t], preds[t]))
        assert s.loc[t, "log_loss"] == pytest.approx(log_loss(labels[t], preds[t]))
        assert s.loc[t, "auc_oracle"] == pytest.approx(roc_auc_score(labels[t], truth[t]))
        assert s.loc[t, "efficiency"] == pytest.approx((s.loc[t, "auc"] - 0.5) / (s.loc[t, "auc_oracle"] - 0.5))


# -- the predictions artifact -----------------------------------------------------


def test_predictions_are_built_loaded_and_rebuilt_when_stale(tiny, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(data.WINDOWS, "train", (0, 6))
    monkeypatch.setitem(data.WINDOWS, "valid", (6, 8))
    monkeypatch.setitem(data.WINDOWS, "test", (8, 10))
    monkeypatch.setitem(features.RECIPE, "epochs", 1)
    monkeypatch.setitem(features.RECIPE, "batch_size", 64)
    monkeypatch.setitem(models.BEST, "epochs", 1)
    monkeypatch.setitem(models.BEST, "batch_size", 512)
    monkeypatch.setattr(models, "PREDICTION_KINDS", ("esmm",))  # one model keeps the test quick
    pred = models.ensure_predictions("valid", data=tiny, path=tmp_path)
    assert "need a rebuild" in capsys.readouterr().out
    cands = features.ensure_candidates("valid", data=tiny, path=tmp_path)
    pd.testing.assert_frame_equal(pred[list(cands.columns)], cands)
    assert str(pred["p_click"].dtype) == "float32" and str(pred["p_purchase"].dtype) == "float32"
    assert ((pred["p_purchase"] > 0) & (pred["p_purchase"] <= pred["p_click"]) & (pred["p_click"] < 1)).all()
    for kind in models.PREDICTION_KINDS:
        assert f"p_click__{kind}" in pred and f"p_purchase__{kind}" in pred
    np.testing.assert_array_equal(pred["p_click"], pred[f"p_click__{models.BEST['kind']}"])
    # the saved model loads in safe mode and reproduces the stored predictions (slot 0, history before day 6)
    model = models.load_model(path=tmp_path)
    tables = models.feature_tables(tiny, fit_before_day=6)
    again = models.score_candidates(model, tables, tiny, cands.iloc[:500], "valid")
    np.testing.assert_allclose(again["click"], pred["p_click"].to_numpy()[:500], rtol=1e-5)
    # the TensorFlow-free reader of notebooks 04 to 07 accepts what was written
    assert artifacts.predictions_stale_reason(tiny, tmp_path, "valid") is None
    pd.testing.assert_frame_equal(artifacts.load_predictions("valid", data=tiny, path=tmp_path), pred)
    # a second call loads; a changed recipe version triggers a rebuild
    test = models.ensure_predictions("test", data=tiny, path=tmp_path)
    assert capsys.readouterr().out == ""
    assert len(test) == N_USERS * features.N_CANDIDATES
    meta = json.loads((tmp_path / models.SIDECAR).read_text())
    meta["recipe_version"] = "old"
    (tmp_path / models.SIDECAR).write_text(json.dumps(meta))
    models.ensure_predictions("test", data=tiny, path=tmp_path)
    assert "recipe_version changed" in capsys.readouterr().out
    with pytest.raises(ValueError, match="window"):
        models.ensure_predictions("train", data=tiny, path=tmp_path)


def test_one_hot_features_match_a_dense_construction(tables, batch):
    x, _ = batch
    vocab = tables["vocab"]
    names = ["segment", "region", "device", "item_id", "category", "brand", "price_bucket", "position"]
    for with_history in [False, True]:
        got = models.one_hot_features(x, vocab, history=with_history).toarray()
        parts = [np.eye(vocab[k])[x[k]] for k in names] + [x["log_price"][:, None]]
        if with_history:
            bag = np.zeros((64, vocab["item_id"]))
            for r, row in enumerate(x["history"]):
                for item in row[row < vocab["item_id"]]:
                    bag[r, item] += 1
            parts.append(bag)
        np.testing.assert_allclose(got, np.hstack(parts).astype(float), rtol=1e-6)


def test_compare_to_truth_by_hand_and_summaries():
    q = np.array([0.1, 0.2, 0.3, 0.4])
    same = models.compare_to_truth(q, q)
    assert same["kl"] == pytest.approx(0.0, abs=1e-12)
    assert same["logit_corr"] == pytest.approx(1.0)
    assert same["auc"] == pytest.approx(same["auc_truth"])
    off = models.compare_to_truth(np.full(4, 0.25), q)
    expected_kl = np.mean(q * np.log(q / 0.25) + (1 - q) * np.log((1 - q) / 0.75))
    assert off["kl"] == pytest.approx(expected_kl)
    assert off["mean_pred"] == pytest.approx(0.25) and off["mean_true"] == pytest.approx(0.25)
    assert np.isnan(off["logit_corr"])
    runs = pd.DataFrame({"model": ["a", "a", "b", "b"], "seed": [0, 1, 0, 1], "task": ["click"] * 4,
                         "auc": [0.7, 0.8, 0.6, 0.6], "efficiency": [0.5, 0.7, 0.3, 0.3]})
    s = models.summarize_runs(runs, metrics=("auc", "efficiency"))
    assert list(s.index) == [("a", "click"), ("b", "click")]
    assert s.loc[("a", "click"), "auc"] == pytest.approx(0.75)
    assert s.loc[("a", "click"), "auc_std"] == pytest.approx(np.std([0.7, 0.8], ddof=1))
    assert s.loc[("b", "click"), "efficiency_std"] == pytest.approx(0.0)
    with pytest.raises(ValueError, match="missing"):
        models.summarize_runs(runs.drop(columns="seed"))
