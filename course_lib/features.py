"""Encoders: how users and items become vectors, and the candidate generator.

The learning wing's first Keras module (Keras 3, TensorFlow backend). Read it
top to bottom, in the order notebook 02 teaches it:

1. **Behaviour sequences.** ``user_histories`` turns the impression log into
   each user's last ``max_len`` events (clicks and purchases), right-aligned,
   newest last, padded with ``PAD = -1``. ``training_examples`` gives one row
   per click with the history strictly before it.
2. **Item encoder.** ``build_item_encoder`` maps raw item features (ID,
   category, brand, price, title) through Keras preprocessing layers
   (``IntegerLookup``, ``StringLookup``, ``Discretization``, ``Normalization``,
   ``TextVectorization``) and embeddings to one unit-length vector per item.
3. **User encoders.** ``build_sequence_encoder`` pools a padded sequence of
   item vectors in one of three ways (masked mean, GRU, self-attention with
   learned positions); ``build_user_encoder`` adds user features (segment, and
   a hashed region x device cross) and returns one unit vector per user.
4. **Two towers.** ``TwoTower`` trains both encoders with an in-batch softmax
   (optionally with the logQ popularity correction); ``train_two_tower`` runs it.
5. **Retrieval and baselines.** Popularity, item-item co-occurrence and
   content (category and brand affinity) scores; ``top_k``; ``retrieval_metrics``
   (Recall@K, NDCG@K); truth-based quality from the shop.
6. **Candidates.** ``ensure_candidates(window)`` returns 100 candidates per user
   for the "valid" or "test" window, loading ``artifacts/candidates_{window}.parquet``
   or rebuilding it (and the towers) with a printed message when missing or stale.

What counts as an event: a click or a purchase of a shown item (views are
every impression, mostly driven by what the logging policy chose to show, so
they are left out by default; pass ``event_types=("view", "click", "purchase")``
to include them). A purchase always follows a click of the same item, so a
bought item appears twice in a history: a purchase weighs more.
"""

from __future__ import annotations

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
from course_lib.shop import ShopData  # noqa: E402

#: Pad id of histories: ``user_histories`` fills empty slots with it.
PAD = -1
#: Event types that make up a history by default (views are left out).
HISTORY_EVENTS = ("click", "purchase")
#: Events kept per user (the newest ones).
MAX_LEN = 20
#: Width of the user and item vectors.
EMBED_DIM = 32
#: Candidates per user handed to notebooks 03 to 07.
N_CANDIDATES = 100
#: Bump when the candidate recipe changes: stored artifacts then count as stale.
RECIPE_VERSION = _artifacts.CANDIDATES_RECIPE_VERSION
#: The recipe of the shipped candidates: the user encoder and training settings.
RECIPE = {"kind": "mean", "epochs": 6, "batch_size": 1536, "learning_rate": 0.015, "temperature": 0.1, "logq": True, "seed": 42}
ENCODER_KINDS = ("mean", "gru", "attention")
_EVENT_ORDER = {"view": 0, "click": 1, "purchase": 2}


# ---------------------------------------------------------------------------
# 1. Behaviour sequences
# ---------------------------------------------------------------------------


def _check_event_types(event_types) -> tuple[str, ...]:
    event_types = tuple(event_types)
    bad = [e for e in event_types if e not in _EVENT_ORDER]
    if not event_types or bad:
        raise ValueError(f"event_types must be a non-empty subset of {tuple(_EVENT_ORDER)}, got {event_types!r}")
    return event_types


def event_log(data: ShopData, end_day: int, event_types=HISTORY_EVENTS, first_day: int = 0) -> pd.DataFrame:
    """The behaviour events of days ``[first_day, end_day)``, in time order per user.

    Built from ``data.impressions``: a clicked impression gives a "click", a
    purchased one also a "purchase", and every impression a "view" (only when
    asked for). Returns columns user_id, item_id (int32), kind (str), day
    (int16), purchased (bool: the click led to a purchase), sorted by user,
    then time, then impression, then view < click < purchase.
    """
    event_types = _check_event_types(event_types)
    imp = data.impressions
    m = (imp["day"].to_numpy() >= first_day) & (imp["day"].to_numpy() < end_day)
    cols = ["impression_id", "user_id", "item_id", "timestamp", "day", "clicked", "purchased"]
    imp = imp.loc[m, cols]
    parts = []
    for kind in event_types:
        rows = imp if kind == "view" else imp[imp["clicked"] if kind == "click" else imp["purchased"]]
        parts.append(rows.assign(kind=kind, _order=_EVENT_ORDER[kind]))
    ev = pd.concat(parts, ignore_index=True)
    ev = ev.sort_values(["user_id", "timestamp", "impression_id", "_order"], kind="stable").reset_index(drop=True)
    return ev[["user_id", "item_id", "kind", "day", "purchased"]]


def user_histories(
    data: ShopData, before_day: int, max_len: int = MAX_LEN, event_types=HISTORY_EVENTS
) -> np.ndarray:
    """Each user's last ``max_len`` events strictly before ``before_day``.

    Returns an int32 array of item ids, shape (n_users, max_len), row u for
    user_id u, right-aligned with the newest event last (column max_len - 1)
    and empty slots on the left filled with ``PAD`` (-1). A user with no event
    gets a row of PAD. See the module docstring for what counts as an event.
    """
    if int(max_len) < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
    n_users = len(data.users)
    ev = event_log(data, before_day, event_types)
    out = np.full((n_users, max_len), PAD, dtype=np.int32)
    users = ev["user_id"].to_numpy()
    from_end = ev.groupby("user_id", sort=False).cumcount(ascending=False).to_numpy()
    keep = from_end < max_len
    out[users[keep], max_len - 1 - from_end[keep]] = ev["item_id"].to_numpy()[keep]
    return out


def training_examples(
    data: ShopData, first_day: int, end_day: int, max_len: int = MAX_LEN, event_types=HISTORY_EVENTS
) -> dict[str, np.ndarray]:
    """One training row per click in days ``[first_day, end_day)``, with the history before it.

    Returns a dict of arrays, n = number of clicks: ``user_id`` (n,) int32,
    ``item_id`` (n,) int32 (the clicked item, the positive), ``history``
    (n, max_len) int32 (the user's previous events, as in ``user_histories``,
    including those before ``first_day``), and ``weight`` (n,) float32: 2 when
    the click led to a purchase, else 1.
    """
    ev = event_log(data, end_day, event_types)
    users = ev["user_id"].to_numpy()
    items = ev["item_id"].to_numpy().astype(np.int32)
    start = np.r_[0, np.flatnonzero(users[1:] != users[:-1]) + 1]
    user_start = np.repeat(start, np.diff(np.r_[start, len(users)]))
    pos = np.flatnonzero((ev["kind"].to_numpy() == "click") & (ev["day"].to_numpy() >= first_day))
    idx = pos[:, None] - max_len + np.arange(max_len)[None, :]
    valid = idx >= user_start[pos][:, None]
    history = np.where(valid, items[np.clip(idx, 0, None)], PAD).astype(np.int32)
    return {
        "user_id": users[pos].astype(np.int32),
        "item_id": items[pos],
        "history": history,
        "weight": np.where(ev["purchased"].to_numpy()[pos], 2.0, 1.0).astype(np.float32),
    }


def window_truth(data: ShopData, window: str) -> dict[int, np.ndarray]:
    """The items each user clicked (or bought) in a window: {user_id: sorted unique item ids}.

    Users without a click in the window are absent. window: a key of ``data.WINDOWS``.
    """
    first, end = _window(window)
    imp = data.impressions
    m = (imp["day"].to_numpy() >= first) & (imp["day"].to_numpy() < end) & imp["clicked"].to_numpy()
    pairs = imp.loc[m, ["user_id", "item_id"]].drop_duplicates().sort_values(["user_id", "item_id"])
    return {int(u): g.to_numpy() for u, g in pairs.groupby("user_id")["item_id"]}


def _window(window: str) -> tuple[int, int]:
    if window not in _data.WINDOWS:
        raise ValueError(f"window must be one of {tuple(_data.WINDOWS)}, got {window!r}")
    return _data.WINDOWS[window]


# ---------------------------------------------------------------------------
# 2. The item encoder
# ---------------------------------------------------------------------------


def item_inputs(items: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw item features as the item encoder's inputs, one entry per row of ``items``.

    Returns ``item_id`` (n,) int32, ``category`` and ``brand`` (n,) str,
    ``price`` (n,) float32 in EUR, ``title`` (n,) str.
    """
    missing = [c for c in ["item_id", "category", "brand", "price", "title"] if c not in items.columns]
    if missing:
        raise ValueError(f"items is missing the column(s) {missing}")
    return {
        "item_id": items["item_id"].to_numpy(np.int32),
        "category": items["category"].astype(str).to_numpy(dtype=object),
        "brand": items["brand"].astype(str).to_numpy(dtype=object),
        "price": items["price"].to_numpy(np.float32),
        "title": items["title"].astype(str).to_numpy(dtype=object),
    }


def _item_keras_inputs() -> dict:
    return {
        "item_id": keras.Input(shape=(), dtype="int32", name="item_id"),
        "category": keras.Input(shape=(), dtype="string", name="category"),
        "brand": keras.Input(shape=(), dtype="string", name="brand"),
        "price": keras.Input(shape=(), dtype="float32", name="price"),
        "title": keras.Input(shape=(), dtype="string", name="title"),
    }


def build_item_preprocessing(
    items: pd.DataFrame, id_vocabulary=None, fit_before_day: int | None = None, n_price_bins: int = 8
) -> dict[str, layers.Layer]:
    """The item encoder's preprocessing layers, adapted on the items known at fit time.

    items: the catalogue; only items launched before ``fit_before_day``
    (default: the end of the train window) are used to adapt the layers, so
    nothing from the future leaks into the vocabularies or price bins.
    id_vocabulary: item ids that get their own ID embedding (default: those
    items); any other id maps to the one out-of-vocabulary (OOV) index.
    Returns layers keyed ``item_id`` (IntegerLookup), ``category`` and
    ``brand`` (StringLookup), ``price_bucket`` (Discretization of log price,
    ``n_price_bins`` quantile bins), ``log_price`` (Normalization), ``title``
    (TextVectorization: lowercase words, 6 tokens, 0 = padding).
    """
    fit_before_day = _data.WINDOWS["train"][1] if fit_before_day is None else int(fit_before_day)
    known = items[items["launch_day"].to_numpy() < fit_before_day]
    if len(known) == 0:
        raise ValueError(f"no item was launched before fit_before_day={fit_before_day}")
    x = item_inputs(known)
    ids = np.sort(np.asarray(x["item_id"] if id_vocabulary is None else id_vocabulary, dtype=np.int64))
    log_price = np.log(x["price"]).astype(np.float32)[:, None]
    pre = {
        "item_id": layers.IntegerLookup(vocabulary=ids, num_oov_indices=1, name="item_id_lookup"),
        "category": layers.StringLookup(vocabulary=sorted(set(x["category"])), name="category_lookup"),
        "brand": layers.StringLookup(vocabulary=sorted(set(x["brand"])), name="brand_lookup"),
        "price_bucket": layers.Discretization(num_bins=n_price_bins, name="price_bucket"),
        "log_price": layers.Normalization(axis=-1, name="log_price_norm"),
        "title": layers.TextVectorization(max_tokens=1000, output_sequence_length=6, name="title_tokens"),
    }
    pre["price_bucket"].adapt(log_price)
    pre["log_price"].adapt(log_price)
    pre["title"].adapt(x["title"].astype(str))
    return pre


def build_item_encoder(
    items: pd.DataFrame,
    dim: int = EMBED_DIM,
    id_vocabulary=None,
    fit_before_day: int | None = None,
    n_price_bins: int = 8,
    seed: int = 0,
    name: str = "item_tower",
) -> keras.Model:
    """The item encoder: raw item features -> one unit vector per item.

    Inputs: the dict of ``item_inputs`` (batch,) each. Output: (batch, dim)
    float32 with L2 norm 1. Inside: ID embedding (dim wide; the OOV row is
    shared by every item not in ``id_vocabulary``, e.g. items launched after
    training, which then rely on their content features), category (8) and
    brand (8) embeddings, price-bucket embedding (4), the normalised log price
    (1), and the masked mean of title-token embeddings (16); concatenated,
    then Dense(64, relu) -> Dense(dim) -> unit length.
    See ``build_item_preprocessing`` for the arguments.
    """
    keras.utils.set_random_seed(seed)
    pre = build_item_preprocessing(items, id_vocabulary, fit_before_day, n_price_bins)
    inp = _item_keras_inputs()
    log_price = ops.expand_dims(ops.log(inp["price"]), -1)
    tokens = pre["title"](inp["title"])  # (batch, 6) ints, 0 = padding
    title_emb = layers.Embedding(pre["title"].vocabulary_size(), 16, name="title_embedding")(tokens)
    parts = [
        layers.Embedding(pre["item_id"].vocabulary_size(), dim, name="id_embedding")(pre["item_id"](inp["item_id"])),
        layers.Embedding(pre["category"].vocabulary_size(), 8, name="category_embedding")(
            pre["category"](inp["category"])
        ),
        layers.Embedding(pre["brand"].vocabulary_size(), 8, name="brand_embedding")(pre["brand"](inp["brand"])),
        layers.Embedding(n_price_bins, 4, name="price_bucket_embedding")(
            ops.squeeze(pre["price_bucket"](log_price), -1)
        ),
        pre["log_price"](log_price),
        MaskedMeanPooling(name="title_pooling")(title_emb, mask=ops.not_equal(tokens, 0)),
    ]
    h = layers.Concatenate(name="item_features")(parts)
    h = layers.Dense(64, activation="relu", name="item_hidden")(h)
    out = layers.UnitNormalization(name="item_vector")(layers.Dense(dim, name="item_projection")(h))
    return keras.Model(inp, out, name=name)


# ---------------------------------------------------------------------------
# 3. User encoders
# ---------------------------------------------------------------------------


@keras.saving.register_keras_serializable(package="course_lib")
class MaskedMeanPooling(layers.Layer):
    """Mean over the time axis of the unmasked steps only.

    call(x, mask): x (batch, T, d), mask (batch, T) bool (True = a real step).
    Returns (batch, d); a row with no real step gives zeros (never NaN).
    """

    def call(self, x, mask=None):
        if mask is None:
            return ops.mean(x, axis=1)
        m = ops.expand_dims(ops.cast(mask, x.dtype), -1)
        return ops.sum(x * m, axis=1) / ops.maximum(ops.sum(m, axis=1), 1.0)

    def compute_mask(self, inputs, mask=None):
        return None

    def get_config(self):
        return super().get_config()


@keras.saving.register_keras_serializable(package="course_lib")
class PositionalEmbedding(layers.Layer):
    """Adds a learned vector per position: x (batch, T, d) -> x + P[0..T-1], P (max_len, d).

    Self-attention alone is blind to order (it treats a history as a set);
    this layer tells it which event came when. Position T-1 is the newest.
    """

    def __init__(self, max_len: int, dim: int, **kwargs):
        super().__init__(**kwargs)
        self.max_len = int(max_len)
        self.dim = int(dim)

    def build(self, input_shape):
        self.positions = self.add_weight(
            shape=(self.max_len, self.dim), initializer=keras.initializers.RandomNormal(stddev=0.05), name="positions"
        )

    def call(self, x):
        return x + ops.expand_dims(self.positions, 0)

    def get_config(self):
        return {**super().get_config(), "max_len": self.max_len, "dim": self.dim}


def build_sequence_encoder(kind: str, max_len: int = MAX_LEN, dim: int = EMBED_DIM, seed: int = 0) -> keras.Model:
    """Pool a padded sequence of event vectors into one vector.

    kind: "mean" (masked mean pooling: order-blind), "gru" (a GRU reading the
    real steps oldest to newest; its last state), or "attention" (learned
    positional embeddings, one self-attention block built from
    ``keras.layers.MultiHeadAttention`` with 2 heads and a key padding mask,
    residual + LayerNorm + feed-forward, then masked mean pooling).
    Inputs: ``sequence`` (batch, max_len, dim) float32 and ``mask``
    (batch, max_len) bool (True = a real event). Output: (batch, dim).
    Masked steps never change the output.
    """
    if kind not in ENCODER_KINDS:
        raise ValueError(f"kind must be one of {ENCODER_KINDS}, got {kind!r}")
    keras.utils.set_random_seed(seed)
    seq = keras.Input(shape=(max_len, dim), name="sequence")
    mask = keras.Input(shape=(max_len,), dtype="bool", name="mask")
    if kind == "mean":
        out = MaskedMeanPooling(name="mean_pool")(seq, mask=mask)
    elif kind == "gru":
        out = layers.GRU(dim, name="gru")(seq, mask=mask)
    else:
        x = PositionalEmbedding(max_len, dim, name="positions")(seq)
        # attention_mask (batch, T queries, T keys): a query may only look at real events.
        att_mask = ops.logical_and(ops.expand_dims(mask, 1), ops.ones((1, max_len, 1), dtype="bool"))
        att = layers.MultiHeadAttention(num_heads=2, key_dim=dim // 2, name="self_attention")(
            x, x, attention_mask=att_mask
        )
        x = layers.LayerNormalization(name="norm_1")(x + att)
        ff = layers.Dense(2 * dim, activation="relu", name="ffn_1")(x)
        x = layers.LayerNormalization(name="norm_2")(x + layers.Dense(dim, name="ffn_2")(ff))
        out = MaskedMeanPooling(name="mean_pool")(x, mask=mask)
    return keras.Model({"sequence": seq, "mask": mask}, out, name=f"{kind}_sequence_encoder")


def user_inputs(users: pd.DataFrame, histories: np.ndarray) -> dict[str, np.ndarray]:
    """Raw user features as the user encoder's inputs.

    users: the users table (n rows); histories: (n, max_len) item ids from
    ``user_histories`` (row i belongs to ``users`` row i). Returns ``history``
    (n, max_len) int32 and ``segment``, ``region``, ``device`` (n,) str.
    """
    histories = np.asarray(histories)
    if histories.ndim != 2 or len(histories) != len(users):
        raise ValueError(f"histories must have shape (len(users), max_len) = ({len(users)}, L), got {histories.shape}")
    return {
        "history": histories.astype(np.int32),
        "segment": users["segment"].astype(str).to_numpy(dtype=object),
        "region": users["region"].astype(str).to_numpy(dtype=object),
        "device": users["device"].astype(str).to_numpy(dtype=object),
    }


def build_user_encoder(
    kind: str,
    users: pd.DataFrame,
    id_vocabulary,
    max_len: int = MAX_LEN,
    dim: int = EMBED_DIM,
    seed: int = 0,
    name: str = "user_tower",
) -> keras.Model:
    """The user encoder: last events + user features -> one unit vector per user.

    kind: the sequence encoder ("mean", "gru", "attention").
    users: the users table (adapts the segment vocabulary).
    id_vocabulary: item ids with their own history embedding (others share the OOV row).
    Inputs: the dict of ``user_inputs``: ``history`` (batch, max_len) int32
    padded with PAD, and ``segment``, ``region``, ``device`` (batch,) str.
    Output: (batch, dim) float32 with L2 norm 1. Inside: IntegerLookup maps
    PAD to index 0, an Embedding gives each event a dim-wide vector, the
    sequence encoder pools them (mask = history != PAD), then the pooled vector,
    a segment embedding (4) and a hashed region x device cross (HashedCrossing,
    16 bins, embedded in 4) go through Dense(64, relu) -> Dense(dim) -> unit length.
    """
    keras.utils.set_random_seed(seed)
    inp = {
        "history": keras.Input(shape=(max_len,), dtype="int32", name="history"),
        "segment": keras.Input(shape=(), dtype="string", name="segment"),
        "region": keras.Input(shape=(), dtype="string", name="region"),
        "device": keras.Input(shape=(), dtype="string", name="device"),
    }
    ids = np.sort(np.asarray(id_vocabulary, dtype=np.int64))
    lookup = layers.IntegerLookup(vocabulary=ids, mask_token=PAD, num_oov_indices=1, name="history_lookup")
    segment = layers.StringLookup(vocabulary=sorted(set(users["segment"].astype(str))), name="segment_lookup")
    cross = layers.HashedCrossing(num_bins=16, name="region_x_device")
    events = layers.Embedding(lookup.vocabulary_size(), dim, name="history_embedding")(lookup(inp["history"]))
    mask = ops.not_equal(inp["history"], PAD)
    pooled = build_sequence_encoder(kind, max_len, dim, seed)({"sequence": events, "mask": mask})
    parts = [
        pooled,
        layers.Embedding(segment.vocabulary_size(), 4, name="segment_embedding")(segment(inp["segment"])),
        layers.Embedding(16, 4, name="region_x_device_embedding")(cross((inp["region"], inp["device"]))),
    ]
    h = layers.Dense(64, activation="relu", name="user_hidden")(layers.Concatenate(name="user_features")(parts))
    out = layers.UnitNormalization(name="user_vector")(layers.Dense(dim, name="user_projection")(h))
    return keras.Model(inp, out, name=name)


# ---------------------------------------------------------------------------
# 4. Two towers trained with an in-batch softmax
# ---------------------------------------------------------------------------

USER_KEYS = ("history", "segment", "region", "device")
ITEM_KEYS = ("item_id", "category", "brand", "price", "title")


class TwoTower(keras.Model):
    """A user tower and an item tower trained so that clicked pairs score high.

    call(x) -> (u, v): u (batch, dim) user vectors of x's user inputs, v
    (batch, dim) item vectors of x's positive items. The loss is an in-batch
    softmax: row b of the (batch, batch) logits ``u @ v.T / temperature``
    should pick column b, the other rows' positives serving as negatives.
    Two refinements: a column holding the same item as the row's own positive
    is not a negative (masked out), and with ``logq=True`` each column's logit
    is lowered by ``log q(item)``, the item's share of the training clicks:
    popular items are over-sampled as in-batch negatives, and the correction
    removes that bias (Yi et al. 2019). Examples are weighted by ``weight``.
    """

    def __init__(self, user_tower, item_tower, temperature: float = 0.1, logq: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.user_tower = user_tower
        self.item_tower = item_tower
        self.temperature = float(temperature)
        self.logq = bool(logq)

    def call(self, x, training=False):
        u = self.user_tower({k: x[k] for k in USER_KEYS}, training=training)
        v = self.item_tower({k: x[k] for k in ITEM_KEYS}, training=training)
        return u, v

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        u, v = y_pred
        logits = ops.matmul(u, ops.transpose(v)) / self.temperature  # (batch, batch)
        if self.logq:
            logits = logits - ops.expand_dims(ops.cast(x["log_q"], logits.dtype), 0)
        rows = ops.arange(ops.shape(logits)[0])
        diagonal = ops.equal(ops.expand_dims(rows, 1), ops.expand_dims(rows, 0))
        same_item = ops.equal(ops.expand_dims(x["item_id"], 1), ops.expand_dims(x["item_id"], 0))
        logits = ops.where(ops.logical_and(same_item, ops.logical_not(diagonal)), -1e9, logits)
        loss = keras.losses.sparse_categorical_crossentropy(rows, logits, from_logits=True)
        w = ops.cast(x["weight"], loss.dtype)
        return ops.sum(loss * w) / ops.sum(w)


def _training_dataset(data: ShopData, ex: dict[str, np.ndarray], batch_size: int, seed: int):
    """A tf.data pipeline of shuffled batches of training examples with their raw features.

    The shuffle buffer holds only example indices; each batch gathers its
    rows from constant tensors (per-example arrays, and the user and item
    tables), which keeps memory small.
    """
    import tensorflow as tf

    users = data.users.sort_values("user_id")
    items = data.items.sort_values("item_id")
    counts = np.bincount(ex["item_id"], minlength=len(items))
    per_example = {
        "user_id": ex["user_id"].astype(np.int32),
        "item_id": ex["item_id"].astype(np.int32),
        "history": ex["history"].astype(np.int32),
        "log_q": np.log(counts[ex["item_id"]] / counts.sum()).astype(np.float32),
        "weight": ex["weight"].astype(np.float32),
    }
    user_table = {k: v for k, v in user_inputs(users, np.zeros((len(users), 1), np.int32)).items() if k != "history"}
    item_table = {k: v for k, v in item_inputs(items).items() if k != "item_id"}
    per_example = {k: tf.constant(v) for k, v in per_example.items()}
    user_table = {k: tf.constant(v.astype(str)) for k, v in user_table.items()}
    item_table = {k: tf.constant(v if k == "price" else v.astype(str)) for k, v in item_table.items()}

    def gather(idx):
        x = {k: tf.gather(v, idx) for k, v in per_example.items()}
        x.update({k: tf.gather(v, x["user_id"]) for k, v in user_table.items()})
        x.update({k: tf.gather(v, x["item_id"]) for k, v in item_table.items()})
        return x

    n = len(ex["item_id"])
    return (
        tf.data.Dataset.range(n)
        .shuffle(n, seed=seed, reshuffle_each_iteration=True)
        .batch(batch_size, drop_remainder=True)
        .map(gather)
        .prefetch(2)
    )


def train_two_tower(
    data: ShopData,
    kind: str = RECIPE["kind"],
    epochs: int = RECIPE["epochs"],
    batch_size: int = RECIPE["batch_size"],
    temperature: float = RECIPE["temperature"],
    logq: bool = RECIPE["logq"],
    seed: int = RECIPE["seed"],
    max_len: int = MAX_LEN,
    dim: int = EMBED_DIM,
    learning_rate: float = RECIPE["learning_rate"],
    window: str = "train",
    max_examples: int | None = None,
    verbose: int = 0,
) -> TwoTower:
    """Train a two-tower model on one window's clicks (default: the train window).

    kind: the user encoder's sequence encoder ("mean", "gru", "attention").
    Each click of the window is an example (its history = the user's events
    before it, up to ``max_len``); purchased clicks weigh 2. ``max_examples``
    keeps a random subsample (for quick comparisons). The item and history ID
    vocabularies are the items clicked in the window; everything else is OOV.
    Seeded with ``keras.utils.set_random_seed(seed)``: the same arguments on
    the same machine give the same model. Returns the trained ``TwoTower``
    (its ``history`` attribute holds the per-epoch loss).
    """
    first, end = _window(window)
    keras.utils.set_random_seed(seed)
    ex = training_examples(data, first, end, max_len)
    vocab = np.unique(ex["item_id"])
    if max_examples is not None and max_examples < len(ex["item_id"]):
        keep = np.sort(np.random.default_rng(seed).choice(len(ex["item_id"]), int(max_examples), replace=False))
        ex = {k: v[keep] for k, v in ex.items()}
    user_tower = build_user_encoder(kind, data.users, vocab, max_len, dim, seed=seed)
    item_tower = build_item_encoder(data.items, dim, vocab, fit_before_day=end, seed=seed + 1)
    model = TwoTower(user_tower, item_tower, temperature=temperature, logq=logq)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate))
    ds = _training_dataset(data, ex, batch_size, seed)
    fit = model.fit(ds, epochs=epochs, verbose=verbose, shuffle=False)
    model.history = fit
    release_memory()
    return model


def release_memory() -> None:
    """Hand freed memory back to the operating system (after training or scoring).

    TensorFlow frees its temporary buffers, but glibc keeps the freed pages
    for reuse, so a notebook's resident memory only grows. ``malloc_trim``
    returns them; on systems without glibc this only runs the garbage collector.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def embed(model: keras.Model, inputs: dict[str, np.ndarray], batch_size: int = 1024) -> np.ndarray:
    """Run a tower on a dict of raw inputs in chunks: (n, dim) float32 (no retracing)."""
    n = len(next(iter(inputs.values())))
    out = [
        ops.convert_to_numpy(model({k: v[s : s + batch_size] for k, v in inputs.items()}, training=False))
        for s in range(0, n, batch_size)
    ]
    return np.concatenate(out).astype(np.float32)


def history_length(user_tower: keras.Model) -> int:
    """The number of events a user tower reads (its ``history`` input's width)."""
    return int(user_tower.input["history"].shape[1])


def two_tower_scores(user_tower, item_tower, data: ShopData, before_day: int) -> np.ndarray:
    """Dot products of every user's vector (history before ``before_day``) with every item's: (n_users, n_items)."""
    histories = user_histories(data, before_day, history_length(user_tower))
    u = embed(user_tower, user_inputs(data.users, histories))
    v = embed(item_tower, item_inputs(data.items))
    return u @ v.T


# ---------------------------------------------------------------------------
# 5. Baselines, top-K and retrieval metrics
# ---------------------------------------------------------------------------


def launched(data: ShopData, day: int) -> np.ndarray:
    """(n_items,) bool: the item was launched on or before ``day``."""
    return data.items.sort_values("item_id")["launch_day"].to_numpy() <= day


def popularity(data: ShopData, before_day: int, first_day: int = 0) -> np.ndarray:
    """Clicks per item in days [first_day, before_day): (n_items,) float64."""
    imp = data.impressions
    day = imp["day"].to_numpy()
    m = (day >= first_day) & (day < before_day) & imp["clicked"].to_numpy()
    return np.bincount(imp["item_id"].to_numpy()[m], minlength=len(data.items)).astype(np.float64)


def interaction_matrix(data: ShopData, before_day: int, event_types=HISTORY_EVENTS):
    """Sparse (n_users, n_items) counts of each user's events before ``before_day`` (scipy CSR)."""
    import scipy.sparse as sp

    ev = event_log(data, before_day, event_types)
    return sp.csr_matrix(
        (np.ones(len(ev)), (ev["user_id"].to_numpy(), ev["item_id"].to_numpy())),
        shape=(len(data.users), len(data.items)),
    )


def cooccurrence_scores(data: ShopData, before_day: int) -> np.ndarray:
    """Item-item collaborative filtering: (n_users, n_items) float32 scores.

    With X the binary user x item matrix of events before ``before_day``,
    C = X.T X counts the users who interacted with both items; cosine
    normalisation C_ij / sqrt(n_i n_j) keeps popular items from dominating;
    a user's score for item j sums the similarities of j to their items.
    """
    X = interaction_matrix(data, before_day).astype(np.float32)
    X.data[:] = 1.0
    C = (X.T @ X).toarray()
    n = np.sqrt(np.maximum(np.diag(C), 1.0))
    S = C / n[:, None] / n[None, :]
    np.fill_diagonal(S, 0.0)
    return np.asarray(X @ S, dtype=np.float32)


def content_scores(data: ShopData, before_day: int) -> np.ndarray:
    """Content-based: affinity to the item's category and brand, (n_users, n_items) float32.

    score(u, i) = share of u's events in i's category + share in i's brand,
    from the events before ``before_day`` (zeros for a user with none).
    """
    X = interaction_matrix(data, before_day).astype(np.float32)
    items = data.items.sort_values("item_id")
    total = np.maximum(np.asarray(X.sum(1)), 1.0).astype(np.float32)
    scores = None
    for col in ["category", "brand"]:
        codes, _ = pd.factorize(items[col].astype(str))
        onehot = np.eye(codes.max() + 1, dtype=np.float32)[codes]  # (n_items, n_values)
        share = np.asarray(X @ onehot) / total  # (n_users, n_values)
        if scores is None:
            scores = share[:, codes]
        else:
            scores += share[:, codes]
    return scores


def top_k(scores: np.ndarray, k: int, allowed: np.ndarray | None = None, tiebreak: np.ndarray | None = None):
    """The k best items per user: (ids (n_users, k) int32 best first, scores (n_users, k) float32).

    scores: (n_users, n_items), or (n_items,) for one ranking shared by all
    users (then one row comes back). allowed: (n_items,) bool; other items
    are never returned. tiebreak: (n_items,) secondary key for equal scores
    (e.g. popularity), higher first. Works through users in chunks to keep
    memory low.
    """
    s = np.atleast_2d(np.asarray(scores))
    n_items = s.shape[1]
    if allowed is not None and int(np.sum(allowed)) < k:
        raise ValueError(f"only {int(np.sum(allowed))} items are allowed, fewer than k={k}")
    if k > n_items:
        raise ValueError(f"k={k} is larger than the number of items {n_items}")
    # Sort the columns by the tie-break first: a stable sort then keeps that order among equal scores.
    perm = np.arange(n_items) if tiebreak is None else np.argsort(-np.asarray(tiebreak), kind="stable")
    ok = np.ones(n_items, dtype=bool) if allowed is None else np.asarray(allowed, dtype=bool)
    ids = np.empty((len(s), k), dtype=np.int32)
    out = np.empty((len(s), k), dtype=np.float32)
    for a in range(0, len(s), 1000):
        c = np.where(ok[None, :], s[a : a + 1000], -np.inf)[:, perm]
        order = np.argsort(-c, axis=1, kind="stable")[:, :k]
        ids[a : a + 1000] = perm[order]
        out[a : a + 1000] = np.take_along_axis(c, order, 1)
    return ids, out


def retrieval_metrics(top: np.ndarray, truth: dict[int, np.ndarray], ks=(10, 50)) -> dict[str, float]:
    """Recall@K and NDCG@K (binary relevance) averaged over the users in ``truth``.

    top: (n_users, >= max(ks)) ranked item ids, row u for user_id u.
    truth: {user_id: relevant item ids} (users absent from it are skipped).
    Recall@K = hits in the top K / number of relevant items; NDCG@K = DCG /
    ideal DCG with gains 1 / log2(rank + 2). Returns {"recall@10": ..., "ndcg@10": ..., "users": n}.
    """
    if top.shape[1] < max(ks):
        raise ValueError(f"top must hold at least {max(ks)} items per user, got {top.shape[1]}")
    users = np.fromiter(truth.keys(), dtype=np.int64)
    out: dict[str, float] = {}
    discount = 1.0 / np.log2(np.arange(max(ks)) + 2.0)
    for k in ks:
        rec, ndcg = [], []
        for u in users:
            rel = truth[int(u)]
            hit = np.isin(top[u, :k], rel)
            rec.append(hit.sum() / len(rel))
            ndcg.append((hit * discount[:k]).sum() / discount[: min(len(rel), k)].sum())
        out[f"recall@{k}"] = float(np.mean(rec))
        out[f"ndcg@{k}"] = float(np.mean(ndcg))
    out["users"] = len(users)
    return out


def true_click_matrix(data: ShopData, user_ids, day: int) -> np.ndarray:
    """True P(click) at position 0 of every item for each user: (len(user_ids), n_items).

    Items not launched by ``day`` get -1 (so they never count as a true top item).
    From the shop's truth: what real life never tells you.
    """
    user_ids = np.asarray(user_ids)
    shop, items, ok = data.shop, np.arange(len(data.items))[None, :], launched(data, day)[None, :]
    out = np.empty((len(user_ids), items.shape[1]), dtype=np.float32)
    for a in range(0, len(user_ids), 250):  # chunks keep the (users, items, taste) product small
        p = shop.probabilities(user_ids[a : a + 250, None], items, 0)["p_click"]
        out[a : a + 250] = np.where(ok, p, -1.0)
    return out


def true_top_items(data: ShopData, user_ids, day: int, n: int = 10) -> np.ndarray:
    """Each user's ``n`` truly most clickable items launched by ``day``: (len(user_ids), n) int32, best first.

    Ranked by the true P(click) at position 0 (the shop's truth), in chunks of
    users so that memory stays small.
    """
    user_ids = np.asarray(user_ids)
    out = np.empty((len(user_ids), n), dtype=np.int32)
    for a in range(0, len(user_ids), 500):
        p = true_click_matrix(data, user_ids[a : a + 500], day)
        out[a : a + 500] = np.argsort(-p, axis=1, kind="stable")[:, :n]
    return out


def share_found(top: np.ndarray, best: np.ndarray) -> float:
    """Mean over rows of the share of ``best``'s items found in ``top``'s: top (n, K), best (n, m) item ids."""
    top, best = np.asarray(top), np.asarray(best)
    if len(top) != len(best):
        raise ValueError(f"top and best must have one row per user each, got {len(top)} and {len(best)}")
    hits = [(best[a : a + 500, :, None] == top[a : a + 500, None, :]).any(axis=2) for a in range(0, len(top), 500)]
    return float(np.concatenate(hits).mean()) if hits else float("nan")


def true_recall(top: np.ndarray, true_p: np.ndarray, n_true: int = 10) -> float:
    """Mean share of each user's ``n_true`` truly best items found in their ``top`` row.

    top: (n, K) item ids; true_p: (n, n_items) true scores of the same n users
    (e.g. from ``true_click_matrix``), row i of both for the same user.
    """
    top, true_p = np.asarray(top), np.asarray(true_p)
    if len(top) != len(true_p):
        raise ValueError(f"top and true_p must have one row per user each, got {len(top)} and {len(true_p)}")
    best = np.argpartition(-true_p, n_true - 1, axis=1)[:, :n_true]
    in_top = np.zeros(true_p.shape, dtype=bool)
    np.put_along_axis(in_top, top.astype(np.int64), True, axis=1)
    return float(np.take_along_axis(in_top, best, 1).mean())


# ---------------------------------------------------------------------------
# 6. Candidates for notebooks 03 to 07
# ---------------------------------------------------------------------------

CANDIDATE_WINDOWS = ("valid", "test")
USER_TOWER_FILE = "two_tower_user.keras"
ITEM_TOWER_FILE = "two_tower_item.keras"
CANDIDATES_SIDECAR = _artifacts.CANDIDATES_SIDECAR


dataset_checksum = _artifacts.dataset_checksum


def candidates_frame(user_ids: np.ndarray, ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    """The candidates table: one row per (user, candidate), best first per user.

    user_ids: (n_users,); ids and scores: (n_users, n) from ``top_k``.
    Columns: user_id (int32), item_id (int32), retrieval_rank (int16, 0 = best),
    retrieval_score (float32).
    """
    n_users, n = ids.shape
    return pd.DataFrame(
        {
            "user_id": np.repeat(np.asarray(user_ids), n).astype(np.int32),
            "item_id": ids.ravel().astype(np.int32),
            "retrieval_rank": np.tile(np.arange(n), n_users).astype(np.int16),
            "retrieval_score": scores.ravel().astype(np.float32),
        }
    )


def retrieve_candidates(
    user_tower, item_tower, data: ShopData, window: str, n: int = N_CANDIDATES
) -> pd.DataFrame:
    """The two-tower model's ``n`` best items for every user, for one window.

    History: the events strictly before the window's first day; allowed
    items: those launched on or before that day. A user with no history is
    still embedded from their segment, region and device (cold start), so
    every user 0..n_users-1 gets exactly ``n`` distinct items. Scores are
    the cosine similarity of the two unit vectors; popularity before the
    window breaks ties. Returns ``candidates_frame``'s columns.
    """
    first, _ = _window(window)
    release_memory()
    scores = two_tower_scores(user_tower, item_tower, data, first)
    ids, s = top_k(scores, n, launched(data, first), tiebreak=popularity(data, first))
    del scores
    release_memory()
    return candidates_frame(data.users["user_id"].to_numpy(), ids, s)


def save_candidates(model: TwoTower, data: ShopData, path: str | Path | None = None) -> dict[str, pd.DataFrame]:
    """Save a trained model's towers and both windows' candidates, with the sidecar.

    Writes ``two_tower_user.keras``, ``two_tower_item.keras``,
    ``candidates_valid.parquet``, ``candidates_test.parquet`` and
    ``candidates.json`` (dataset checksum, recipe version) into ``path``
    (default ``data.ARTIFACTS``). Only a model trained with ``RECIPE`` should be
    saved there: ``ensure_candidates`` trusts the files. Returns {window: candidates}.
    """
    path = Path(_data.ARTIFACTS if path is None else path)
    path.mkdir(parents=True, exist_ok=True)
    out = {w: retrieve_candidates(model.user_tower, model.item_tower, data, w) for w in CANDIDATE_WINDOWS}
    model.user_tower.save(path / USER_TOWER_FILE)
    model.item_tower.save(path / ITEM_TOWER_FILE)
    for w, frame in out.items():
        frame.to_parquet(path / f"candidates_{w}.parquet", index=False)
    meta = {
        "dataset_checksum": dataset_checksum(data),
        "recipe_version": RECIPE_VERSION,
        "recipe": RECIPE,
        "max_len": MAX_LEN,
        "n_candidates": N_CANDIDATES,
    }
    (path / CANDIDATES_SIDECAR).write_text(json.dumps(meta, indent=1) + "\n")
    return out


def build_candidates(data: ShopData, path: str | Path | None = None, verbose: int = 0) -> dict[str, pd.DataFrame]:
    """Train the two-tower model with ``RECIPE`` on the train window, then ``save_candidates``."""
    model = train_two_tower(data, verbose=verbose, **RECIPE)
    return save_candidates(model, data, path)


def _stale_reason(data: ShopData, path: Path, window: str) -> str | None:
    """Why the stored candidates (and towers) cannot be used, or None when they can."""
    towers = [f.name for f in (path / USER_TOWER_FILE, path / ITEM_TOWER_FILE) if not f.exists()]
    if towers:
        return f"missing {', '.join(towers)}"
    return _artifacts.candidates_stale_reason(data, path, window)


def ensure_candidates(window: str, data: ShopData | None = None, path: str | Path | None = None) -> pd.DataFrame:
    """Each user's 100 candidates for ``window`` ("valid" or "test"), loaded or rebuilt.

    Loads ``<path>/candidates_{window}.parquet`` (default path ``data.ARTIFACTS``)
    when it was written from this dataset with the current ``RECIPE_VERSION``;
    otherwise prints why and rebuilds everything with ``build_candidates``
    (trains the two-tower model: under a minute on a laptop CPU).
    data: the shop (default ``data.load_shop()``).
    Returns columns user_id (int32), item_id (int32), retrieval_rank (int16,
    0 = best), retrieval_score (float32); exactly 100 rows per user for every
    user 0..n_users-1, sorted by user then rank.
    """
    if window not in CANDIDATE_WINDOWS:
        raise ValueError(f"window must be one of {CANDIDATE_WINDOWS}, got {window!r}")
    data = _data.load_shop() if data is None else data
    path = Path(_data.ARTIFACTS if path is None else path)
    reason = _stale_reason(data, path, window)
    if reason is None:
        return pd.read_parquet(path / f"candidates_{window}.parquet")
    print(f"Candidates for {window!r} need a rebuild ({reason}): training the two-tower model "
          f"({RECIPE['kind']} user encoder, {RECIPE['epochs']} epochs) and retrieving {N_CANDIDATES} items per user...")
    start = time.perf_counter()
    out = build_candidates(data, path)
    print(f"Saved candidates and towers to {path} in {time.perf_counter() - start:.0f} s.")
    return out[window]


def load_towers(path: str | Path | None = None) -> tuple[keras.Model, keras.Model]:
    """The saved (user_tower, item_tower), loaded with ``safe_mode=True`` (run ``ensure_candidates`` first)."""
    path = Path(_data.ARTIFACTS if path is None else path)
    towers = []
    for name in [USER_TOWER_FILE, ITEM_TOWER_FILE]:
        if not (path / name).exists():
            raise FileNotFoundError(f"{path / name} is missing; run features.ensure_candidates('valid') to build it")
        towers.append(keras.saving.load_model(path / name, safe_mode=True))
    return towers[0], towers[1]
