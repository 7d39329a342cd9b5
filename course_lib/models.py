"""Multi-task models in Keras 3: one network, several objectives.

Every model here predicts, for one impression (a user, an item, a slot), the
probability of a click and the probability of a click followed by a purchase.
They differ only in what the two tasks share (notebook 03 draws each one):

* ``click_only`` / ``purchase_only``: single-task baselines, nothing shared;
* ``shared_bottom``: one shared hidden layer, one small tower per task;
* ``mmoe``: several experts mixed by one softmax gate per task (Ma et al., KDD 2018);
* ``ple``: task-specific experts next to shared ones, one gate per task
  (one extraction layer of Tang et al., RecSys 2020);
* ``esmm``: a CTR tower and a CVR tower with pCTCVR = pCTR x pCVR, both
  trained over all impressions (Ma et al., SIGIR 2018), so the CVR tower never
  meets the sample selection bias of training on clicks only;
* ``cvr_only``: the naive conversion model, P(purchase | click), meant to be
  trained on clicked impressions only (the selection-bias demonstration).

Inputs (``model_inputs``): user features (segment, region, device), item
features (ID, category, brand, price bucket, standardised log price, title
tokens; encoded with ``features.build_item_preprocessing``), the user's recent
events (``features.user_histories``) and the logged position. The history and
the candidate share one item-ID embedding table; their elementwise product is
a learned taste match.

Position bias: the position enters only through a *shallow tower*, one learned
logit offset per slot and task, added to the task's logit. During training the
slot explains the clicks that the top slots get just for being on top; at
prediction time every row is put in slot 0, so scores compare items as if each
were shown on top ("position as a feature, predict at position 0"). Because
the offset is added and does not interact with anything else, it cannot soak up
user or item effects, and the shop's own position effect, a factor
``(1 + slot) ** -0.7`` on P(click), is close to additive on the logit scale.
"""

from __future__ import annotations

import gc
import json
import os
import time
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from keras import layers, ops  # noqa: E402

from course_lib import artifacts as _artifacts  # noqa: E402
from course_lib import data as _data  # noqa: E402
from course_lib import features  # noqa: E402
from course_lib.shop import SLATE_SIZE, ShopData  # noqa: E402

TASKS = ("click", "purchase")
KINDS = ("click_only", "purchase_only", "shared_bottom", "mmoe", "ple", "esmm", "cvr_only")
#: Events per user history (the newest ones). Half of features.MAX_LEN: it covers the whole history of
#: most users and makes training about a fifth cheaper than 20, for a loss of under 0.01 AUC efficiency.
HISTORY_LEN = 10
#: Slots of a slate; the position input takes 0..N_POSITIONS-1.
N_POSITIONS = SLATE_SIZE
#: The recipe version stamped on the predictions artifact (kept in ``course_lib.artifacts``, which
#: reads the artifact without TensorFlow): bump it there when the recipe below changes.
RECIPE_VERSION = _artifacts.PREDICTIONS_RECIPE_VERSION
#: The model behind ``ensure_predictions`` and its training settings.
BEST = {"kind": "esmm", "epochs": 1, "batch_size": 1024, "learning_rate": 0.02, "seed": 0}
#: Model kinds whose predictions ``ensure_predictions`` stores (``p_click__<kind>`` columns).
PREDICTION_KINDS = ("esmm", "mmoe")
PREDICTION_WINDOWS = _artifacts.WINDOWS
MODEL_FILE = "multitask_{kind}.keras"
SIDECAR = _artifacts.PREDICTIONS_SIDECAR


# ---------------------------------------------------------------------------
# 1. Inputs: per-user and per-item lookup tables, then one row per impression
# ---------------------------------------------------------------------------


def feature_tables(data: ShopData, fit_before_day: int | None = None) -> dict:
    """Encode the observable user and item features once, as integer lookup tables.

    Items go through the encoders' preprocessing layers
    (``features.build_item_preprocessing``, adapted on the items launched
    before ``fit_before_day``, default the end of the train window).
    Returns a dict with
      ``users``: segment, region, device codes, each (n_users,) int32 by user_id;
      ``items``: category, brand, price_bucket (n_items,) int32, log_price
      (n_items,) float32 (standardised), title (n_items, 6) int32 tokens (0 = padding);
      ``vocab``: the embedding table size of every categorical input;
      ``n_items``: the item count (also the history's padding row).
    """
    users = data.users.sort_values("user_id")
    items = data.items.sort_values("item_id")
    if not np.array_equal(items["item_id"].to_numpy(), np.arange(len(items))):
        raise ValueError("data.items must hold item_id 0..n_items-1 exactly once")
    pre = features.build_item_preprocessing(data.items, fit_before_day=fit_before_day)
    raw = features.item_inputs(items)
    log_price = np.log(raw["price"]).astype(np.float32)[:, None]

    def run(layer, x):
        return np.asarray(ops.convert_to_numpy(layer(x)))

    item_cols = {
        "category": run(pre["category"], raw["category"]).astype(np.int32),
        "brand": run(pre["brand"], raw["brand"]).astype(np.int32),
        "price_bucket": run(pre["price_bucket"], log_price)[:, 0].astype(np.int32),
        "log_price": run(pre["log_price"], log_price)[:, 0].astype(np.float32),
        "title": run(pre["title"], raw["title"]).astype(np.int32),
    }
    user_cols = {c: users[c].cat.codes.to_numpy(np.int32) for c in ["segment", "region", "device"]}
    vocab = {c: int(users[c].cat.categories.size) for c in user_cols}
    vocab.update(
        category=int(pre["category"].vocabulary_size()),
        brand=int(pre["brand"].vocabulary_size()),
        price_bucket=int(pre["price_bucket"].get_config().get("num_bins") or item_cols["price_bucket"].max() + 1),
        title=int(pre["title"].vocabulary_size()),
        item_id=len(items),
        position=N_POSITIONS,
    )
    return {"users": user_cols, "items": item_cols, "vocab": vocab, "n_items": len(items)}


def histories_for_rows(data: ShopData, user_ids, days, max_len: int = HISTORY_LEN) -> np.ndarray:
    """Point-in-time histories: for each row, the user's events strictly before that row's day.

    user_ids, days: (n,) ints. Returns (n, max_len) int32 item ids, newest
    last, padded with ``features.PAD`` (from ``features.user_histories``). A
    row never sees its own day's clicks, so its label cannot leak into its inputs.
    """
    user_ids, days = np.asarray(user_ids), np.asarray(days)
    out = np.empty((len(user_ids), max_len), dtype=np.int32)
    for day in np.unique(days):
        rows = days == day
        out[rows] = features.user_histories(data, int(day), max_len)[user_ids[rows]]
    return out


def model_inputs(tables: dict, user_ids, item_ids, positions, histories) -> dict[str, np.ndarray]:
    """The dict of arrays every model here takes, one row per (user, item, slot).

    tables: from ``feature_tables``. user_ids, item_ids: (n,) ints;
    positions: (n,) slots 0..9, or a scalar (0 scores every row as if shown on
    top); histories: (n, max_len) item ids padded with ``features.PAD``.
    Returns (n,) int32 arrays (float32 ``log_price``), ``title`` (n, 6) and
    ``history`` (n, max_len) int32 where padding becomes ``n_items`` (the item
    table's extra row).
    """
    user_ids = np.asarray(user_ids, dtype=np.int64)
    item_ids = np.asarray(item_ids, dtype=np.int64)
    histories = np.asarray(histories)
    n, n_items = len(user_ids), tables["n_items"]
    if user_ids.ndim != 1 or item_ids.shape != (n,):
        raise ValueError(f"user_ids and item_ids must be 1-D of one length, got {user_ids.shape} and {item_ids.shape}")
    if n and (item_ids.min() < 0 or item_ids.max() >= n_items):
        raise ValueError(f"item_ids must lie in 0..{n_items - 1}, got {item_ids.min()}..{item_ids.max()}")
    if histories.ndim != 2 or len(histories) != n:
        raise ValueError(f"histories must be (n_rows, max_len) with n_rows={n}, got shape {histories.shape}")
    positions = np.broadcast_to(np.asarray(positions, dtype=np.int32), (n,))
    if n and (positions.min() < 0 or positions.max() >= N_POSITIONS):
        raise ValueError(f"positions must lie in 0..{N_POSITIONS - 1}, got {positions.min()}..{positions.max()}")
    out = {name: col[user_ids] for name, col in tables["users"].items()}
    out["item_id"] = item_ids.astype(np.int32)
    out.update({name: col[item_ids] for name, col in tables["items"].items()})
    out["history"] = np.where(histories == features.PAD, n_items, histories).astype(np.int32)
    out["position"] = np.ascontiguousarray(positions)
    return out


def impression_inputs(data: ShopData, tables: dict, rows: pd.DataFrame, history_day: int | None = None,
                      max_len: int = HISTORY_LEN) -> tuple[dict, dict]:
    """Inputs and labels for logged impressions.

    rows: impressions with user_id, item_id, position, day, clicked, purchased
    (e.g. one window of ``data.impression_table``). history_day: None for
    point-in-time histories (each row's own day, for training), or one day for
    every row (the first day of an evaluation window, as at serving time).
    Returns (inputs, labels); labels holds (n,) float32 ``click``, ``purchase``
    (click and purchase) and ``cvr`` (purchase; meaningful on clicked rows only).
    """
    missing = [c for c in ["user_id", "item_id", "position", "day", "clicked", "purchased"] if c not in rows.columns]
    if missing:
        raise ValueError(f"rows is missing the column(s) {missing}")
    users = rows["user_id"].to_numpy()
    days = rows["day"].to_numpy() if history_day is None else np.full(len(rows), history_day)
    hist = histories_for_rows(data, users, days, max_len)
    inputs = model_inputs(tables, users, rows["item_id"].to_numpy(), rows["position"].to_numpy(), hist)
    purchased = rows["purchased"].to_numpy(np.float32)
    labels = {"click": rows["clicked"].to_numpy(np.float32), "purchase": purchased, "cvr": purchased}
    return inputs, labels


def subset(arrays: dict, rows) -> dict:
    """The same dict with every array restricted to ``rows`` (a boolean mask or indices)."""
    return {k: v[rows] for k, v in arrays.items()}


# ---------------------------------------------------------------------------
# 2. Building blocks and the models
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="course_lib")
class MixExperts(layers.Layer):
    """The gated mixture of MMoE and PLE.

    Inputs [gate (batch, K), e_1, ..., e_K (batch, d)]; output (batch, d),
    the sum over k of gate[:, k] * e_k.
    """

    def call(self, inputs):
        gate, experts = inputs[0], ops.stack(inputs[1:], axis=1)  # (batch, K, d)
        return ops.sum(ops.expand_dims(gate, -1) * experts, axis=1)


def _model_inputs(history_len: int, title_len: int) -> dict:
    ints = ["segment", "region", "device", "item_id", "category", "brand", "price_bucket", "position"]
    spec = {name: keras.Input(shape=(), dtype="int32", name=name) for name in ints}
    spec["log_price"] = keras.Input(shape=(), dtype="float32", name="log_price")
    spec["title"] = keras.Input(shape=(title_len,), dtype="int32", name="title")
    spec["history"] = keras.Input(shape=(history_len,), dtype="int32", name="history")
    return spec


def _features(inputs: dict, vocab: dict, dim: int, seed: int):
    """The shared representation of one row: (batch, width) float32.

    Small embeddings of the user and item features, the standardised log
    price, the mean title-token embedding, the candidate item's ID embedding,
    the mean embedding of the user's history (same table) and the elementwise
    product of the two: a learned taste match the layers above can use.
    """

    def init(k):
        return keras.initializers.RandomNormal(stddev=0.05, seed=seed + k)

    parts = []
    for k, name in enumerate(["segment", "region", "device", "category", "brand", "price_bucket"]):
        width = 4 if vocab[name] <= 16 else 8
        parts.append(layers.Embedding(vocab[name], width, embeddings_initializer=init(k), name=f"{name}_embedding")(
            inputs[name]))
    tokens = layers.Embedding(vocab["title"], 8, embeddings_initializer=init(10), name="title_embedding")(
        inputs["title"])
    title = features.MaskedMeanPooling(name="title_mean")(tokens, mask=ops.not_equal(inputs["title"], 0))
    # One table for the candidate and the history; its extra last row is the padding id.
    item_table = layers.Embedding(vocab["item_id"] + 1, dim, embeddings_initializer=init(20), name="item_embedding")
    item = item_table(inputs["item_id"])
    history = features.MaskedMeanPooling(name="history_mean")(
        item_table(inputs["history"]), mask=ops.not_equal(inputs["history"], vocab["item_id"]))
    match = layers.Multiply(name="taste_match")([item, history])
    price = layers.Reshape((1,), name="price")(inputs["log_price"])
    return layers.Concatenate(name="features")(parts + [price, title, item, history, match])


def _mlp(x, units, seed: int, name: str):
    # GELU, not ReLU: with ReLU some candidates drove every unit of a tower to zero,
    # so their prediction collapsed to the head's bias (many items tied at one score).
    for i, u in enumerate(units):
        x = layers.Dense(u, activation="gelu", kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
                         name=f"{name}_{i}")(x)
    return x


def _head(x, position, task: str, seed: int, use_position: bool = True):
    """A task's probability: sigmoid(Dense(1)(x) + position offset of the slot).

    The position offset (the shallow tower) is an ``Embedding(N_POSITIONS, 1)``
    started at zero, named ``<task>_position_bias``.
    """
    z = layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed), name=f"{task}_logit")(x)
    if use_position:
        bias = layers.Embedding(N_POSITIONS, 1, embeddings_initializer="zeros", name=f"{task}_position_bias")(position)
    else:
        # P(purchase | click) does not depend on the slot: a frozen zero offset adds nothing and only keeps
        # the position input connected (Keras before 3.13 rejects a model with an unused input).
        bias = layers.Embedding(N_POSITIONS, 1, embeddings_initializer="zeros", trainable=False,
                                name=f"{task}_position_unused")(position)
    z = layers.Add(name=f"{task}_with_position")([z, bias])
    z = layers.Reshape((), name=f"{task}_flat")(z)
    return layers.Activation("sigmoid", name=task)(z)


def _gate(x, n: int, task: str, seed: int):
    return layers.Dense(n, activation="softmax", kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
                        name=f"gate_{task}")(x)


def build_model(kind: str, vocab: dict[str, int], *, embedding_dim: int = 8, hidden: tuple[int, ...] = (64, 32),
                n_experts: int = 4, expert_units: int = 32, history_len: int = HISTORY_LEN, title_len: int = 6,
                seed: int = 0, learning_rate=0.01) -> keras.Model:
    """Build and compile one of ``KINDS`` (Adam, binary cross-entropy per task, equal weights).

    learning_rate: a float or a ``keras.optimizers.schedules.LearningRateSchedule``.
    vocab: ``feature_tables(data)["vocab"]``. Inputs: the dict of
    ``model_inputs``. Outputs: a dict of (batch,) probabilities, ``click``
    (P(click)) and ``purchase`` (P(click and purchase)); single-task models
    have one of them, ``cvr_only`` has ``cvr`` (P(purchase | click)).
    Named layers the notebook reads: ``cvr`` in ``esmm`` (P(purchase | click)),
    ``gate_click`` / ``gate_purchase`` in ``mmoe`` and ``ple`` (softmax over
    experts), ``<task>_position_bias``. hidden: the widths of the shared layer
    (shared-bottom) and of each task tower; in single-task and ESMM towers,
    all of them. Every expert's weights start from its own seed
    (``seed + 1000 + 10 k``): with identical starts the gates could not tell
    the experts apart and MMoE would collapse to a shared bottom.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    inputs = _model_inputs(history_len, title_len)
    x = _features(inputs, vocab, embedding_dim, seed)
    pos = inputs["position"]
    outputs = {}
    if kind in ("click_only", "purchase_only", "cvr_only"):
        task = kind.removesuffix("_only")
        outputs[task] = _head(_mlp(x, hidden, seed + 100, f"{task}_tower"), pos, task, seed + 200,
                              use_position=task != "cvr")
    elif kind == "shared_bottom":
        bottom = _mlp(x, hidden[:1], seed + 100, "shared_bottom")
        for t, task in enumerate(TASKS):
            tower = _mlp(bottom, hidden[1:], seed + 300 + 10 * t, f"{task}_tower")
            outputs[task] = _head(tower, pos, task, seed + 200 + t)
    elif kind == "mmoe":
        experts = [_mlp(x, (expert_units,), seed + 1000 + 10 * k, f"expert_{k}") for k in range(n_experts)]
        for t, task in enumerate(TASKS):
            mixed = MixExperts(name=f"{task}_mixture")([_gate(x, n_experts, task, seed + 500 + t)] + experts)
            outputs[task] = _head(_mlp(mixed, hidden[1:], seed + 300 + 10 * t, f"{task}_tower"), pos, task,
                                  seed + 200 + t)
    elif kind == "ple":
        n_own = max(1, n_experts // 2)
        shared = [_mlp(x, (expert_units,), seed + 1000 + 10 * k, f"shared_expert_{k}") for k in range(n_own)]
        for t, task in enumerate(TASKS):
            own = [_mlp(x, (expert_units,), seed + 2000 + 100 * t + 10 * k, f"{task}_expert_{k}") for k in range(n_own)]
            pool = own + shared
            mixed = MixExperts(name=f"{task}_mixture")([_gate(x, len(pool), task, seed + 500 + t)] + pool)
            outputs[task] = _head(_mlp(mixed, hidden[1:], seed + 300 + 10 * t, f"{task}_tower"), pos, task,
                                  seed + 200 + t)
    else:  # esmm
        p_ctr = _head(_mlp(x, hidden, seed + 100, "ctr_tower"), pos, "click", seed + 200)
        p_cvr = _head(_mlp(x, hidden, seed + 400, "cvr_tower"), pos, "cvr", seed + 201, use_position=False)
        outputs["click"] = p_ctr
        outputs["purchase"] = layers.Multiply(name="purchase")([p_ctr, p_cvr])
    model = keras.Model(inputs, outputs, name=kind)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss={task: keras.losses.BinaryCrossentropy() for task in outputs})
    return model


def layer_output_model(model: keras.Model, layer_name: str) -> keras.Model:
    """A model with the same inputs that returns one inner layer's output (e.g. ``"cvr"``, ``"gate_click"``)."""
    try:
        layer = model.get_layer(layer_name)
    except ValueError:
        names = [ly.name for ly in model.layers]
        raise ValueError(f"model {model.name!r} has no layer {layer_name!r}; its layers are {names}") from None
    return keras.Model(model.inputs, layer.output, name=f"{model.name}_{layer_name}")


# ---------------------------------------------------------------------------
# 3. Training and prediction
# ---------------------------------------------------------------------------


def make_dataset(inputs: dict, labels: dict | None = None, batch_size: int = 2048, shuffle: bool = False,
                 seed: int = 0, epochs: int = 1, drop_remainder: bool = False):
    """A ``tf.data.Dataset`` of (inputs, labels) batches (inputs only when labels is None).

    With ``shuffle``, each epoch visits the rows in a fresh permutation drawn
    from ``seed``; the epochs are chained into one dataset. Each batch is
    gathered from the NumPy arrays by index as the dataset is read: much
    cheaper than letting tf.data shuffle row by row (about 10 s a pass on
    400,000 rows on a laptop), and no copy of the arrays is made.
    ``drop_remainder`` skips each epoch's last, smaller batch (training does,
    so that Keras traces its training step for one batch shape only).
    """
    import tensorflow as tf

    n = len(next(iter(inputs.values())))
    if n == 0 or (drop_remainder and n < batch_size):
        raise ValueError(f"inputs has {n} rows, fewer than one batch of {batch_size if drop_remainder else 1}")
    rng = np.random.default_rng(seed)
    orders = [rng.permutation(n) if shuffle else np.arange(n) for _ in range(epochs)]
    stop = n - n % batch_size if drop_remainder else n

    def batches():
        for order in orders:
            for start in range(0, stop, batch_size):
                idx = order[start:start + batch_size]
                x = {k: v[idx] for k, v in inputs.items()}
                yield x if labels is None else (x, {k: v[idx] for k, v in labels.items()})

    def spec(arrays):
        return {k: tf.TensorSpec((None, *v.shape[1:]), tf.as_dtype(v.dtype)) for k, v in arrays.items()}

    signature = spec(inputs) if labels is None else (spec(inputs), spec(labels))
    n_batches = epochs * -(-stop // batch_size)
    ds = tf.data.Dataset.from_generator(batches, output_signature=signature)
    return ds.apply(tf.data.experimental.assert_cardinality(n_batches)).prefetch(2)


def fit(model: keras.Model, inputs: dict, labels: dict, epochs: int = 1, batch_size: int = 1024, seed: int = 0,
        verbose: int = 0) -> dict[str, list[float]]:
    """Train ``model`` on the labels of its outputs; returns the Keras history dict.

    labels: a dict holding at least one (n,) array per model output name. The
    epochs are chained into one pass over a reshuffled dataset, so the history
    has one entry: the mean losses over all epochs.
    """
    missing = [t for t in model.output_names if t not in labels]
    if missing:
        raise ValueError(f"labels has no {missing} for the outputs of {model.name!r}; got {list(labels)}")
    task_labels = {task: labels[task] for task in model.output_names}
    ds = make_dataset(inputs, task_labels, batch_size, shuffle=True, seed=seed, epochs=epochs, drop_remainder=True)
    return model.fit(ds, epochs=1, verbose=verbose, shuffle=False).history


def predict(model: keras.Model, inputs: dict, batch_size: int = 16384) -> dict[str, np.ndarray]:
    """The model's outputs as float32 arrays keyed by output name: (n,) per task.

    Runs ``predict_on_batch`` over chunks of the NumPy inputs, which keeps
    memory flat even for the 500,000 candidate rows of a window.
    """
    n = len(next(iter(inputs.values())))
    names = list(model.output_names)
    chunks = []
    for start in range(0, n, batch_size):
        out = model.predict_on_batch({k: v[start:start + batch_size] for k, v in inputs.items()})
        out = out if isinstance(out, dict) else dict(zip(names, out if isinstance(out, list) else [out], strict=True))
        chunks.append({k: np.asarray(v, dtype=np.float32) for k, v in out.items()})
    joined = {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
    return {k: v.reshape(n) if v.size == n else v for k, v in joined.items()}


def layer_output(model: keras.Model, layer_name: str, inputs: dict) -> np.ndarray:
    """One inner layer's output on ``inputs``: (n,) for ``cvr``, (n, K) for a gate."""
    return next(iter(predict(layer_output_model(model, layer_name), inputs).values()))


def train(kind: str, tables: dict, inputs: dict, labels: dict, *, seed: int = 0, epochs: int = BEST["epochs"],
          batch_size: int = BEST["batch_size"], learning_rate: float = BEST["learning_rate"], decay: bool = True,
          verbose: int = 0, **model_kwargs) -> keras.Model:
    """Seed everything, build ``kind`` and fit it: the one call per (model, seed) of notebook 03.

    With ``decay`` the learning rate falls from ``learning_rate`` to 5% of it
    along a cosine over the whole run: large steps first, fine ones at the
    end, which gets more out of a single pass over the data.
    """
    gc.collect()  # Keras models hold reference cycles: free the graphs of models no longer used
    keras.utils.set_random_seed(seed)
    n = len(next(iter(inputs.values())))
    steps = epochs * (n // batch_size)
    rate = keras.optimizers.schedules.CosineDecay(learning_rate, steps, alpha=0.05) if decay else learning_rate
    model = build_model(kind, tables["vocab"], seed=seed, learning_rate=rate, **model_kwargs)
    fit(model, inputs, labels, epochs=epochs, batch_size=batch_size, seed=seed, verbose=verbose)
    model.train_function = None  # free the traced training step (about 30 MB); a later fit() traces it again
    return model


# ---------------------------------------------------------------------------
# 4. Measuring: AUC against the oracle, calibration, gates
# ---------------------------------------------------------------------------


def auc_efficiency(auc, auc_oracle):
    """(AUC - 0.5) / (AUC_oracle - 0.5): the share of the achievable lift over chance, 1 = as good as the truth."""
    auc, auc_oracle = np.asarray(auc, dtype=float), np.asarray(auc_oracle, dtype=float)
    if np.any(auc_oracle <= 0.5):
        raise ValueError(f"auc_oracle must exceed 0.5, got {auc_oracle}")
    out = (auc - 0.5) / (auc_oracle - 0.5)
    return float(out) if out.ndim == 0 else out


def reliability_table(y, p, n_bins: int = 10) -> pd.DataFrame:
    """Calibration in ``n_bins`` equal-count bins of the prediction.

    y: (n,) 0/1 outcomes; p: (n,) predicted probabilities. Returns one row per
    bin: ``count``, ``mean_predicted``, ``observed_rate``. Equal-count bins
    suit rare events: with equal-width bins nearly every purchase prediction
    would land in the first bin.
    """
    y, p = np.asarray(y, dtype=float).ravel(), np.asarray(p, dtype=float).ravel()
    if y.shape != p.shape or y.size == 0:
        raise ValueError(f"y and p must be non-empty and of one shape, got {y.shape} and {p.shape}")
    order = np.argsort(p, kind="stable")
    bins = np.empty(len(p), dtype=np.int64)
    bins[order] = np.arange(len(p)) * n_bins // len(p)
    frame = pd.DataFrame({"bin": bins, "y": y, "p": p})
    table = frame.groupby("bin").agg(count=("y", "size"), mean_predicted=("p", "mean"), observed_rate=("y", "mean"))
    return table.reset_index(drop=True)


def expected_calibration_error(y, p, n_bins: int = 10) -> float:
    """ECE = sum over bins of (bin share) x |mean prediction - observed rate|, equal-count bins.

    Same units as the probabilities (an ECE of 0.002 on P(click) means the
    predictions are off by 0.2 percentage points on average).
    """
    t = reliability_table(y, p, n_bins)
    return float((t["count"] / t["count"].sum() * (t["mean_predicted"] - t["observed_rate"]).abs()).sum())


def task_scores(labels: dict, preds: dict, oracle: dict | None = None, n_bins: int = 10) -> pd.DataFrame:
    """AUC, log loss and ECE per task, with the oracle's AUC and the AUC efficiency when ``oracle`` is given.

    labels, preds, oracle: dicts of (n,) arrays keyed by task (the oracle
    holds the true probabilities of the same rows). Only tasks in all of
    them are scored. Returns one row per task.
    """
    from sklearn.metrics import log_loss, roc_auc_score

    rows = []
    for task in [t for t in preds if t in labels and (oracle is None or t in oracle)]:
        y, p = np.asarray(labels[task]), np.clip(np.asarray(preds[task], dtype=float), 1e-7, 1 - 1e-7)
        row = {"task": task, "auc": roc_auc_score(y, p), "log_loss": log_loss(y, p),
               "ece": expected_calibration_error(y, p, n_bins)}
        if oracle is not None:
            row["auc_oracle"] = roc_auc_score(y, oracle[task])
            row["efficiency"] = auc_efficiency(row["auc"], row["auc_oracle"])
        rows.append(row)
    return pd.DataFrame(rows).set_index("task")


def summarize_runs(runs: pd.DataFrame, metrics=("auc", "efficiency", "log_loss", "ece")) -> pd.DataFrame:
    """Mean and standard deviation over seeds.

    runs: one row per (model, seed, task) with the ``metrics`` columns.
    Returns a frame indexed by (model, task) with ``<metric>`` (mean) and
    ``<metric>_std`` columns, in the order the models first appear.
    """
    missing = [c for c in ["model", "seed", "task", *metrics] if c not in runs.columns]
    if missing:
        raise ValueError(f"runs is missing the column(s) {missing}")
    g = runs.groupby(["model", "task"], sort=False)[list(metrics)]
    return g.mean().join(g.std(ddof=1).add_suffix("_std"))


def one_hot_features(inputs: dict, vocab: dict[str, int], history: bool = True):
    """The models' inputs as a sparse design matrix for a linear baseline (scipy CSR, float64).

    One-hot columns for every categorical input (segment, region, device,
    item_id, category, brand, price_bucket, position), the standardised log
    price, and with ``history`` a bag of the user's history items (one column
    per item: how often it appears). Title tokens are left out. A linear model
    on these columns adds effects up; it cannot cross the history with the
    candidate item, which is what the networks' taste match does.
    """
    import scipy.sparse as sp

    names = ["segment", "region", "device", "item_id", "category", "brand", "price_bucket", "position"]
    n = len(inputs["item_id"])
    offsets = np.cumsum([0] + [vocab[k] for k in names])
    price_col = offsets[-1]
    # One row of the matrix per input row: the 8 one-hot columns, then the log price.
    cols = [np.stack([inputs[k].astype(np.int64) + offsets[i] for i, k in enumerate(names)] + [np.full(n, price_col)], 1)]
    vals = [np.c_[np.ones((n, len(names))), inputs["log_price"].astype(np.float64)]]
    width = price_col + 1
    if history:  # history items: one column per item, padding left out
        h = inputs["history"]
        cols.append(np.where(h < vocab["item_id"], h + width, -1))
        vals.append(np.ones(h.shape))
        width += vocab["item_id"]
    cols, vals = np.concatenate(cols, axis=1), np.concatenate(vals, axis=1)
    keep = cols >= 0
    indptr = np.r_[0, np.cumsum(keep.sum(axis=1))]
    matrix = sp.csr_matrix((vals[keep], cols[keep].astype(np.int32), indptr), shape=(n, width))
    matrix.sum_duplicates()  # an item twice in a history counts 2
    return matrix


def compare_to_truth(pred, true_p, seed: int = 0) -> dict[str, float]:
    """How close predicted probabilities are to the true ones, where no outcome is observed.

    pred, true_p: (n,) probabilities of the same rows. Returns
    ``logit_corr`` (Pearson correlation of the logits; NaN if either is constant), ``mean_pred`` and
    ``mean_true``, ``kl`` (mean KL divergence of Bernoulli(true) from
    Bernoulli(pred), in nats: 0 when equal), ``auc`` (AUC of ``pred`` against
    outcomes drawn from ``true_p`` with ``seed``) and ``auc_truth`` (the truth's
    own AUC on those draws: the ceiling).
    """
    from sklearn.metrics import roc_auc_score

    p = np.clip(np.asarray(pred, dtype=float), 1e-6, 1 - 1e-6)
    q = np.clip(np.asarray(true_p, dtype=float), 1e-6, 1 - 1e-6)
    if p.shape != q.shape:
        raise ValueError(f"pred and true_p must have one shape, got {p.shape} and {q.shape}")
    draws = np.random.default_rng(seed).random(q.shape) < q
    kl = q * np.log(q / p) + (1 - q) * np.log((1 - q) / (1 - p))
    logits = np.log(p / (1 - p)), np.log(q / (1 - q))
    constant = min(np.std(logits[0]), np.std(logits[1])) == 0
    return {
        "logit_corr": float("nan") if constant else float(np.corrcoef(*logits)[0, 1]),
        "mean_pred": float(p.mean()),
        "mean_true": float(q.mean()),
        "kl": float(kl.mean()),
        "auc": float(roc_auc_score(draws, p)),
        "auc_truth": float(roc_auc_score(draws, q)),
    }


def gate_usage(model: keras.Model, inputs: dict) -> pd.DataFrame:
    """Mean gate weight per expert (columns) for each task (rows) of an MMoE or PLE model."""
    out = {}
    for task in TASKS:
        out[task] = layer_output(model, f"gate_{task}", inputs).mean(axis=0)
    width = max(len(v) for v in out.values())
    if model.name == "ple":
        n_own = width // 2
        names = [f"own_{k}" for k in range(n_own)] + [f"shared_{k}" for k in range(width - n_own)]
    else:
        names = [f"expert_{k}" for k in range(width)]
    return pd.DataFrame(out, index=names).T


# ---------------------------------------------------------------------------
# 5. The predictions artifact for notebooks 04 to 07
# ---------------------------------------------------------------------------


def _window_first_day(window: str) -> int:
    _artifacts.check_window(window)
    return int(_data.WINDOWS[window][0])


def train_for_predictions(data: ShopData, kind: str = BEST["kind"], verbose: int = 0) -> tuple[keras.Model, dict]:
    """Train the ``BEST`` recipe (with model ``kind``) on the whole train window; returns (model, tables)."""
    first, end = _data.WINDOWS["train"]
    tables = feature_tables(data, fit_before_day=end)
    imp = data.impressions
    rows = imp[(imp["day"] >= first) & (imp["day"] < end)]
    inputs, labels = impression_inputs(data, tables, rows)
    settings = {k: v for k, v in BEST.items() if k != "kind"}
    return train(kind, tables, inputs, labels, verbose=verbose, **settings), tables


def score_candidates(model: keras.Model, tables: dict, data: ShopData, candidates: pd.DataFrame,
                     window: str, chunk: int = 65536) -> dict[str, np.ndarray]:
    """Predicted P(click) and P(click and purchase) of every candidate row, in slot 0.

    The histories are the users' events strictly before the window's first day.
    Returns {"click": (n,), "purchase": (n,)} float32.
    """
    first = _window_first_day(window)
    histories = features.user_histories(data, first, HISTORY_LEN)
    users, items = candidates["user_id"].to_numpy(), candidates["item_id"].to_numpy()
    parts = []
    for start in range(0, len(users), chunk):  # chunks keep memory flat
        rows = slice(start, start + chunk)
        inputs = model_inputs(tables, users[rows], items[rows], 0, histories[users[rows]])
        parts.append(predict(model, inputs))
    return {task: np.concatenate([p[task] for p in parts]) for task in TASKS}


def _stale_reason(data: ShopData, path: Path, window: str) -> str | None:
    """Why the stored predictions (or the saved models) cannot be used, or None when they can."""
    files = [path / f"predictions_{window}.parquet"] + [path / MODEL_FILE.format(kind=k) for k in PREDICTION_KINDS]
    return _artifacts.stale_reason(files, path / SIDECAR, _artifacts.predictions_expected(data, path))


def build_predictions(data: ShopData, path: Path, trained: dict | None = None,
                      verbose: int = 0) -> dict[str, pd.DataFrame]:
    """Train the prediction models, score both windows' candidates, write models, Parquet and sidecar.

    trained: optional {kind: model} already trained with the ``BEST`` settings
    on the train window (notebook 03 passes its seed-0 models); the other
    kinds of ``PREDICTION_KINDS`` are trained here.
    """
    trained = dict(trained or {})
    path.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    candidates = {w: features.ensure_candidates(w, data=data, path=path) for w in PREDICTION_WINDOWS}
    out = {w: c[["user_id", "item_id", "retrieval_rank", "retrieval_score"]].copy() for w, c in candidates.items()}
    tables = feature_tables(data, fit_before_day=_data.WINDOWS["train"][1])
    for kind in PREDICTION_KINDS:
        model = trained[kind] if kind in trained else train_for_predictions(data, kind, verbose=verbose)[0]
        model.save(path / MODEL_FILE.format(kind=kind))
        for w in PREDICTION_WINDOWS:
            p = score_candidates(model, tables, data, candidates[w], w)
            if kind == BEST["kind"]:
                out[w]["p_click"], out[w]["p_purchase"] = p["click"], p["purchase"]
            out[w][f"p_click__{kind}"], out[w][f"p_purchase__{kind}"] = p["click"], p["purchase"]
    for w, frame in out.items():
        frame.to_parquet(path / f"predictions_{w}.parquet", index=False)
    meta = _artifacts.predictions_expected(data, path)
    meta.update(recipe=BEST, kinds=list(PREDICTION_KINDS), seconds=round(time.perf_counter() - start, 1))
    (path / SIDECAR).write_text(json.dumps(meta, indent=1) + "\n")
    return out


def ensure_predictions(window: str, data: ShopData | None = None, path: str | Path | None = None,
                       trained: dict | None = None) -> pd.DataFrame:
    """The candidates of ``window`` ("valid" or "test") with the best model's predictions, loaded or rebuilt.

    Loads ``<path>/predictions_{window}.parquet`` (default path ``data.ARTIFACTS``)
    when its sidecar ``predictions.json`` matches this dataset, these
    candidates files and ``RECIPE_VERSION`` (``course_lib.artifacts`` checks it, and reads the file
    without TensorFlow for notebooks 04 to 07); otherwise prints why and rebuilds:
    candidates (``features.ensure_candidates``), then the ``BEST`` recipe
    trained on the train window (about half a minute on a laptop CPU).
    Returns the candidate columns (user_id, item_id, retrieval_rank,
    retrieval_score) plus ``p_click`` (float32, predicted P(click) in the top
    slot) and ``p_purchase`` (float32, predicted P(click and purchase) in the
    top slot) from the ``BEST`` model, and ``p_click__<kind>``,
    ``p_purchase__<kind>`` for each of ``PREDICTION_KINDS``. Histories are the
    events before the window's first day; the model is trained on the train window.
    trained: {kind: model} trained with exactly the ``BEST`` settings (seed
    included) on the train window, used instead of retraining when a rebuild
    is needed; anything else would store predictions the recipe did not make.
    """
    _window_first_day(window)
    data = _data.load_shop() if data is None else data
    path = Path(_data.ARTIFACTS if path is None else path)
    for w in PREDICTION_WINDOWS:  # make sure the candidates exist and are current before comparing checksums
        features.ensure_candidates(w, data=data, path=path)
    reason = _stale_reason(data, path, window)
    if reason is None:
        return pd.read_parquet(path / f"predictions_{window}.parquet")
    to_train = [k for k in PREDICTION_KINDS if k not in (trained or {})]
    print(f"Predictions for {window!r} need a rebuild ({reason}): "
          + (f"training {', '.join(to_train)} ({BEST['epochs']} epoch(s) on the train window) and " if to_train else "")
          + f"scoring the candidates of {PREDICTION_WINDOWS}...")
    start = time.perf_counter()
    out = build_predictions(data, path, trained=trained)
    print(f"Saved predictions and models to {path} in {time.perf_counter() - start:.0f} s.")
    return out[window]


def load_model(kind: str = BEST["kind"], path: str | Path | None = None) -> keras.Model:
    """A saved prediction model, loaded with ``safe_mode=True`` (run ``ensure_predictions`` first)."""
    file = Path(_data.ARTIFACTS if path is None else path) / MODEL_FILE.format(kind=kind)
    if not file.exists():
        raise FileNotFoundError(f"{file} is missing; run models.ensure_predictions('valid') to build it")
    return keras.saving.load_model(file, safe_mode=True)
