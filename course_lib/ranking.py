"""Score fusion: from several predicted objectives to one ranking, and what it is worth.

A candidate's fused score is the weighted product of five signals, in log form (``fuse_log_product``,
notebook 04): ``w = (1, 0, 0, 0, 0)`` ranks by predicted CTR, ``(1, 1, 1, 0, 0)`` by expected GMV,
``(1, 1, 1, 1, 0)`` by expected profit. Only the direction of ``w`` matters, so the weights live on the
simplex (``normalise_weights``). ``evaluate_population`` scores a whole population of weight vectors in
one batched call (fuse, top-K, every objective), fast enough for PSO and NSGA-II; every objective is
higher-is-better. Plain NumPy (pandas only to build a candidate set): never imports Keras or TensorFlow.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np

from course_lib import metrics
from course_lib.fusion import (  # noqa: F401 - the fusion of notebook 04, re-exported for the tuners
    N_WEIGHTS,
    PRESETS,
    SIGNALS,
    fuse_log_product,
    log_signals,
    normalise_weights,
)

#: The objectives ``evaluate`` returns, in the column order of ``evaluate_population``. All: higher is better.
OBJECTIVES = ("ndcg", "clicks", "purchases", "gmv", "profit", "diversity", "coverage", "novelty")
#: Graded relevance of a logged interaction in the evaluation window (for NDCG).
_GAIN_CLICK, _GAIN_PURCHASE = 1.0, 3.0

_ARRAY_FIELDS = ("item_ids", "p_click", "p_purchase", "price", "margin", "category", "popularity", "true_p_click",
                 "true_p_purchase", "gains")


@dataclass(eq=False)
class CandidateSet:
    """Everything needed to rank and evaluate one window's candidates (``candidate_set`` builds it).

    Arrays are ``(n_users, n_candidates)`` (row = user, column = candidate, in retrieval order), except
    ``user_ids (n_users,)`` and ``item_popularity (n_items,)``. item_ids, category: ints. p_click,
    p_purchase: predicted P(click) and P(click and purchase) at the top slot; true_p_click,
    true_p_purchase: the shop's true ones. price: EUR; margin: EUR per sale. popularity: train-window
    clicks of each candidate. gains: relevance logged in the window (1 click, 3 purchase, 0 none).
    position_decay: slot s is examined with probability ``(1 + s) ** -position_decay`` (the shop's).
    item_popularity: train-window clicks of every catalogue item, by id; it sets the catalogue size
    (coverage) and the popularity shares (novelty); None rebuilds it from the candidates.
    window: the window's name. Treat the arrays as read-only: derived tensors are cached.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    p_click: np.ndarray
    p_purchase: np.ndarray
    price: np.ndarray
    margin: np.ndarray
    category: np.ndarray
    popularity: np.ndarray
    true_p_click: np.ndarray
    true_p_purchase: np.ndarray
    gains: np.ndarray
    position_decay: float
    item_popularity: np.ndarray | None = None
    window: str | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.user_ids = np.asarray(self.user_ids)
        shape = np.shape(self.item_ids)
        if self.user_ids.ndim != 1 or len(shape) != 2 or shape[0] != self.user_ids.size or shape[1] < 1:
            raise ValueError(f"user_ids must have shape (n_users,) and item_ids (n_users, n_candidates), got "
                             f"{self.user_ids.shape} and {shape}")
        for name in _ARRAY_FIELDS:
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise ValueError(f"{name} must have shape {shape} like item_ids, got {value.shape}")
            value = value.astype(np.int64 if name in ("item_ids", "category") else np.float64, copy=False)
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{name} must be finite, found NaN or inf")
            setattr(self, name, value)
        for name in ("price", "margin"):
            if np.any(getattr(self, name) <= 0):
                raise ValueError(f"{name} must be positive (EUR), found values <= 0")
        for name in ("p_click", "p_purchase", "true_p_click", "true_p_purchase"):
            v = getattr(self, name)
            if np.any(v < 0) or np.any(v > 1):
                raise ValueError(f"{name} must hold probabilities in [0, 1], got {v.min():.3g}..{v.max():.3g}")
        for name in ("item_ids", "popularity", "gains"):
            if np.any(getattr(self, name) < 0):
                raise ValueError(f"{name} must be non-negative")
        if self.item_popularity is None:
            self.item_popularity = np.zeros(int(self.item_ids.max()) + 1)
            self.item_popularity[self.item_ids.ravel()] = self.popularity.ravel()
        self.item_popularity = np.asarray(self.item_popularity, dtype=np.float64)
        if self.item_popularity.ndim != 1 or self.item_popularity.size <= self.item_ids.max():
            raise ValueError(f"item_popularity must be 1-D with an entry for every item id (> {self.item_ids.max()}), "
                             f"got shape {self.item_popularity.shape}")

    @property
    def n_users(self) -> int:
        return int(self.item_ids.shape[0])

    @property
    def n_candidates(self) -> int:
        return int(self.item_ids.shape[1])

    @property
    def n_items(self) -> int:
        """Catalogue size: the denominator of coverage."""
        return int(self.item_popularity.size)

    def take(self, rows) -> CandidateSet:
        """A new CandidateSet with only the given rows (user positions, not user ids)."""
        kwargs = {name: getattr(self, name)[np.asarray(rows)] for name in ("user_ids",) + _ARRAY_FIELDS}
        return CandidateSet(**kwargs, position_decay=self.position_decay, item_popularity=self.item_popularity,
                            window=self.window)


def candidate_set(predictions, data, window: str) -> CandidateSet:
    """Turn a predictions table into a ``CandidateSet`` for ``window`` ("valid" or "test").

    predictions: DataFrame with user_id, item_id, p_click, p_purchase (and usually retrieval_rank,
    which orders the columns); every user must have the same number of distinct candidates.
    data: the ``ShopData``. Popularity counts clicks in ``data.WINDOWS["train"]``; a candidate's gain
    is the best of its impressions logged in ``window`` (3 purchase, 1 click, 0 otherwise).
    """
    import pandas as pd

    from course_lib.data import WINDOWS
    from course_lib.shop import BEHAVIOUR, CATEGORY_NAMES

    if window not in WINDOWS:
        raise ValueError(f"window must be one of {sorted(WINDOWS)}, got {window!r}")
    if not isinstance(predictions, pd.DataFrame):
        raise ValueError(f"predictions must be a pandas DataFrame, got {type(predictions).__name__}")
    missing = [c for c in ("user_id", "item_id", "p_click", "p_purchase") if c not in predictions.columns]
    if missing:
        raise ValueError(f"predictions lacks column(s) {missing}; expected user_id, item_id, p_click, p_purchase")
    if len(predictions) == 0:
        raise ValueError("predictions is empty")
    order = ["user_id", "retrieval_rank"] if "retrieval_rank" in predictions.columns else ["user_id"]
    pred = predictions.sort_values(order, kind="stable")
    users, counts = np.unique(pred["user_id"].to_numpy(), return_counts=True)
    if counts.min() != counts.max():
        raise ValueError(f"predictions must hold the same number of candidates per user, got {counts.min()} to "
                         f"{counts.max()}")
    shape = (users.size, int(counts[0]))
    item_ids = pred["item_id"].to_numpy(np.int64).reshape(shape)
    n_items = len(data.items)
    if item_ids.min() < 0 or item_ids.max() >= n_items:
        raise ValueError(f"predictions.item_id must lie in 0..{n_items - 1}, got {item_ids.min()}..{item_ids.max()}")
    sorted_items = np.sort(item_ids, axis=1)
    if np.any(sorted_items[:, 1:] == sorted_items[:, :-1]):
        raise ValueError("predictions list some item twice for the same user; candidates must be distinct")

    items = data.items.sort_values("item_id")
    price = items["price"].to_numpy(np.float64)
    margin = price * items["margin_rate"].to_numpy(np.float64)
    category = pd.Categorical(items["category"], categories=CATEGORY_NAMES).codes.astype(np.int64)
    imp = data.impressions
    day, clicked = imp["day"].to_numpy(), imp["clicked"].to_numpy()
    start, end = WINDOWS["train"]
    train_clicks = imp["item_id"].to_numpy()[(day >= start) & (day < end) & clicked]
    item_popularity = np.bincount(train_clicks, minlength=n_items).astype(np.float64)

    start, end = WINDOWS[window]
    win = imp.loc[(day >= start) & (day < end) & clicked, ["user_id", "item_id", "purchased"]]
    pair_key = win["user_id"].to_numpy(np.int64) * n_items + win["item_id"].to_numpy(np.int64)
    pair_gain = np.where(win["purchased"].to_numpy(), _GAIN_PURCHASE, _GAIN_CLICK)
    gains = np.zeros(shape)
    if pair_key.size:
        keys, inverse = np.unique(pair_key, return_inverse=True)
        best = np.zeros(keys.size)
        np.maximum.at(best, inverse, pair_gain)
        cand_key = users[:, None].astype(np.int64) * n_items + item_ids
        pos = np.clip(np.searchsorted(keys, cand_key), 0, keys.size - 1)
        gains = np.where(keys[pos] == cand_key, best[pos], 0.0)

    truth = data.shop.probabilities(users[:, None], item_ids, positions=0)
    return CandidateSet(
        user_ids=users,
        item_ids=item_ids,
        p_click=pred["p_click"].to_numpy(np.float64).reshape(shape),
        p_purchase=pred["p_purchase"].to_numpy(np.float64).reshape(shape),
        price=price[item_ids],
        margin=margin[item_ids],
        category=category[item_ids],
        popularity=item_popularity[item_ids],
        true_p_click=truth["p_click"],
        true_p_purchase=truth["p_purchase"],
        gains=gains,
        position_decay=BEHAVIOUR["position_decay"],
        item_popularity=item_popularity,
        window=window,
    )


def top_k(cs: CandidateSet, weights, k: int = 10) -> np.ndarray:
    """Item ids of each user's top-k under the weighted-product fusion, best first, ``(n_users, k)``; ties go
    to the earlier candidate column (the better retrieval rank)."""
    cols = top_k_columns(cs, normalise_weights(weights)[None, :], k)[0]
    return np.take_along_axis(cs.item_ids, cols, axis=1)


# ---- Fast batched evaluation ----

#: Memory for one chunk of scores in ``evaluate_population`` (bytes).
CHUNK_BYTES = 48 * 2**20


def _shifted_signals(cs: CandidateSet) -> np.ndarray:
    """Log-signals as ``(5, n_users * n_candidates)``, each shifted to be >= 0 (cached).

    Adding a constant to a signal adds ``w_j x constant`` to every score, so no ranking changes;
    non-negative scores let ``top_k_columns`` search on their bit patterns.
    """
    if "signals" not in cs._cache:
        s = log_signals(cs).reshape(-1, N_WEIGHTS).T
        cs._cache["signals"] = np.ascontiguousarray(s - s.min(axis=1, keepdims=True))
    return cs._cache["signals"]


def _value_table(cs: CandidateSet, k: int, truth: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-candidate values the objectives add up, as ``(6, n_users * n_candidates)`` (cached).

    Rows: p_click, p_purchase, GMV (EUR), profit (EUR), self-information (bits) and the NDCG gain
    divided by the user's ideal DCG@k. Also returns the ``(6, k)`` slot weights (examination for the
    first four, 1 / k, log2 discount) and the ``(6,)`` divisors (users; users with a positive for NDCG).
    """
    key = ("values", k, truth)
    if key not in cs._cache:
        pc = cs.true_p_click if truth else cs.p_click
        pp = cs.true_p_purchase if truth else cs.p_purchase
        ideal = metrics.ideal_dcg_at_k(cs.gains, k)
        has_pos = ideal > 0
        norm_gain = cs.gains / np.where(has_pos, ideal, 1.0)[:, None]
        info = metrics.self_information(cs.item_popularity)[cs.item_ids]
        table = np.stack([pc, pp, pp * cs.price, pp * cs.margin, info, norm_gain]).reshape(6, -1)
        exam = metrics.position_discount(k, cs.position_decay)
        slot_w = np.stack([exam, exam, exam, exam, np.full(k, 1.0 / k), metrics.log2_discount(k)])
        n_pos = int(has_pos.sum())
        divisors = np.array([cs.n_users] * 5 + [n_pos if n_pos else np.nan], dtype=np.float64)
        cs._cache[key] = (np.ascontiguousarray(table), slot_w, divisors)
    return cs._cache[key]


@functools.cache
def _blas_controller():
    """threadpoolctl's controller (threadpoolctl comes with scikit-learn), made once."""
    from threadpoolctl import ThreadpoolController

    return ThreadpoolController()


def top_k_columns(cs: CandidateSet, W, k: int = 10) -> np.ndarray:
    """Candidate columns of the top-k for each weight vector, best first, shape ``(n_pop, n_users, k)``.

    W: ``(n_pop, 5)`` non-negative weights (normalised here). Each float64 score >= 0 and its column
    are packed into one int64 (the score's bits, in float order, the lowest replaced by the column: a
    change under 1e-13 of the score), so one ``np.partition`` plus a sort of k numbers per row finds
    the best k in order, ties to the lower column. One weight vector at a time, in one reused buffer
    that stays in the CPU cache, BLAS on one thread (the products are too small to gain from threads).
    """
    if not isinstance(k, int | np.integer) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    W = normalise_weights(np.atleast_2d(W))
    n_users, n_cand = cs.n_users, cs.n_candidates
    k = min(int(k), n_cand)
    sig = _shifted_signals(cs)
    bits = max(1, int(n_cand - 1).bit_length())
    low = np.int64((1 << bits) - 1)
    tie = (n_cand - 1 - np.arange(n_cand)).astype(np.int64)  # lower column = larger key on ties
    out = np.empty((W.shape[0], n_users, k), dtype=np.int64)
    scores = np.empty(sig.shape[1])
    key = scores.view(np.int64).reshape(-1, n_cand)  # scores >= 0: int order = float order
    with _blas_controller().limit(limits=1, user_api="blas"):
        for i, wi in enumerate(W):  # one vector-matrix product per weight vector (faster than a gemm here)
            np.dot(wi, sig, out=scores)
            np.bitwise_and(key, ~low, out=key)
            np.bitwise_or(key, tie, out=key)
            key.partition(n_cand - k, axis=1)  # in place: the buffer is rewritten for the next vector
            best = np.sort(key[:, n_cand - k :], axis=1)
            np.subtract(n_cand - 1, best[:, ::-1] & low, out=out[i])
    return out


#: The objectives summed from ``_value_table``'s rows, in the order of its rows.
_TABLE_OBJECTIVES = ("clicks", "purchases", "gmv", "profit", "novelty", "ndcg")


def _evaluate_columns(cs: CandidateSet, cols: np.ndarray, truth: bool, wanted: tuple[str, ...]) -> np.ndarray:
    """The ``wanted`` objectives (others NaN) of rankings ``cols (n_pop, n_users, k)``, ``(n_pop, len(OBJECTIVES))``."""
    n_pop, n_users, k = cols.shape
    table, slot_w, divisors = _value_table(cs, k, truth)
    flat = cols + (np.arange(n_users, dtype=np.int64) * cs.n_candidates)[None, :, None]  # (n_pop, n_users, k)
    result = np.full((n_pop, len(OBJECTIVES)), np.nan)
    rows = [r for r, name in enumerate(_TABLE_OBJECTIVES) if name in wanted]
    if rows:
        flat_t = np.ascontiguousarray(flat.transpose(0, 2, 1))  # (n_pop, k, n_users): sums run over the last axis
        sums = np.stack([np.take(table[r], flat_t).sum(axis=-1) for r in rows])  # (rows, n_pop, k): over users
        values = np.einsum("mpk,mk->pm", sums, slot_w[rows]) / divisors[rows]  # (n_pop, rows)
        result[:, [OBJECTIVES.index(_TABLE_OBJECTIVES[r]) for r in rows]] = values
    if "diversity" in wanted:
        if k == 1:
            result[:, 5] = 0.0
        elif k <= 20:  # metrics.intra_list_diversity's share of differing pairs, counted slot pair by slot pair
            cat = np.take(cs.category.ravel(), flat.transpose(0, 2, 1))  # (n_pop, k, n_users)
            same = np.zeros((n_pop, n_users), dtype=np.int64)
            for i in range(k - 1):
                for j in range(i + 1, k):
                    same += cat[:, i] == cat[:, j]
            result[:, 5] = (1.0 - same / (k * (k - 1) / 2)).mean(axis=1)
        else:
            result[:, 5] = metrics.intra_list_diversity(categories=cs.category.ravel()[flat]).mean(axis=1)
    if "coverage" in wanted:  # distinct items over all users' lists: one bincount for the whole population
        items = cs.item_ids.ravel()[flat].reshape(n_pop, -1) + (np.arange(n_pop) * cs.n_items)[:, None]
        counts = np.bincount(items.ravel(), minlength=n_pop * cs.n_items).reshape(n_pop, cs.n_items)
        result[:, 6] = np.count_nonzero(counts, axis=1) / cs.n_items
    return result


def _evaluate_chunks(cs: CandidateSet, W, k: int, truths: tuple[bool, ...], objectives=None) -> tuple[np.ndarray, ...]:
    """Objectives of every weight vector, valued once per entry of ``truths``; each top-k is found once.

    The population goes in chunks that fit ``CHUNK_BYTES`` of float64 scores, so memory stays bounded.
    objectives: the names from ``OBJECTIVES`` to compute (None: all); the other columns are NaN.
    """
    wanted = OBJECTIVES if objectives is None else tuple(objectives)
    unknown = [o for o in wanted if o not in OBJECTIVES]
    if unknown:
        raise ValueError(f"objectives must be names from {OBJECTIVES}, got {unknown}")
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must have shape (n_pop, {N_WEIGHTS}), got {W.shape}")
    chunk = max(1, int(CHUNK_BYTES // (cs.n_users * cs.n_candidates * 8)))
    parts = [[] for _ in truths]
    for s in range(0, len(W), chunk):
        cols = top_k_columns(cs, W[s : s + chunk], k)
        for part, truth in zip(parts, truths, strict=True):
            part.append(_evaluate_columns(cs, cols, truth, wanted))
    return tuple(np.concatenate(p) if p else np.empty((0, len(OBJECTIVES))) for p in parts)


def evaluate_population(cs: CandidateSet, W, k: int = 10, truth: bool = False, objectives=None) -> np.ndarray:
    """Every objective for every weight vector, in one batched call: shape ``(n_pop, len(OBJECTIVES))``.

    W: ``(n_pop, 5)`` non-negative weights (each normalised to the simplex). Objectives (means over
    users, columns in ``OBJECTIVES`` order): NDCG@k of the logged gains (users without a positive left
    out); expected clicks, purchases, GMV and profit (EUR) per request with the examination discount,
    predicted or, with ``truth=True``, true (the rankings always use the predictions); intra-list
    category diversity; catalogue coverage; novelty (bits). objectives: names from ``OBJECTIVES`` to
    compute (the others are NaN; three of them take about half the time).
    """
    return _evaluate_chunks(cs, W, k, (truth,), objectives)[0]


def evaluate_population_both(cs: CandidateSet, W, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(predicted, true)`` objectives of every weight vector, each ``(n_pop, len(OBJECTIVES))``.

    ``evaluate_population`` with ``truth=False`` and ``truth=True``, each top-k found once.
    """
    return _evaluate_chunks(cs, W, k, (False, True))


def evaluate(cs: CandidateSet, weights, k: int = 10, truth: bool = False) -> dict[str, float]:
    """Every objective of one weight vector, as ``{objective: mean over users}`` (keys: ``OBJECTIVES``)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (N_WEIGHTS,):
        raise ValueError(f"weights must have shape ({N_WEIGHTS},) for {SIGNALS}, got {w.shape}")
    return dict(zip(OBJECTIVES, evaluate_population(cs, w[None, :], k, truth)[0].tolist(), strict=True))


def evaluate_scores(cs: CandidateSet, scores, k: int = 10, truth: bool = False) -> dict[str, float]:
    """Every objective of the ranking given by any ``scores (n_users, n_candidates)`` (higher first)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != cs.item_ids.shape:
        raise ValueError(f"scores must have shape {cs.item_ids.shape}, got {s.shape}")
    row = _evaluate_columns(cs, metrics.top_k_indices(s, k)[None], truth, OBJECTIVES)[0]
    return dict(zip(OBJECTIVES, row.tolist(), strict=True))
