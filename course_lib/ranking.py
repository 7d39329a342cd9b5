"""Score fusion: from several predicted objectives to one ranking, and what it is worth.

Plain NumPy (pandas only to build a candidate set); never imports Keras or TensorFlow.

The fused score of a candidate is a **weighted product** of five signals, used in log form::

    score = w1 log p_click + w2 log(p_purchase / p_click) + w3 log price
          + w4 log margin_rate + w5 log(1 / (1 + popularity))

so ``w = (1, 0, 0, 0, 0)`` ranks by predicted CTR, ``(1, 1, 1, 0, 0)`` by expected
GMV (``p_purchase x price``) and ``(1, 1, 1, 1, 0)`` by expected profit
(``p_purchase x margin``). Multiplying every weight by the same ``c > 0``
multiplies every score by ``c``, which never changes the order: only the
*direction* of ``w`` matters. The weights therefore live on the simplex
(non-negative, summing to 1; ``normalise_weights``), which removes the one
redundant degree of freedom before an optimiser searches them.

``evaluate_population`` scores a whole population of weight vectors in one
batched call (fuse, top-K, every objective), fast enough for PSO and NSGA-II.
Every objective is "higher is better".
"""

from __future__ import annotations

import contextlib
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

_ARRAY_FIELDS = (
    "item_ids", "p_click", "p_purchase", "price", "margin", "category",
    "popularity", "true_p_click", "true_p_purchase", "gains",
)  # fmt: skip


@dataclass(eq=False)
class CandidateSet:
    """Everything needed to rank and evaluate one window's candidates.

    Every array is ``(n_users, n_candidates)`` (row = user, column = candidate,
    usually in retrieval order), except ``user_ids (n_users,)`` and
    ``item_popularity (n_items,)``.

    user_ids: the users (int). item_ids: the candidate items (int).
    p_click, p_purchase: predicted P(click) and P(click and purchase) at the top slot.
    price: EUR. margin: EUR per sale (price x margin rate). category: int codes.
    popularity: train-window click count of each candidate item.
    true_p_click, true_p_purchase: the shop's true probabilities at the top slot.
    gains: graded relevance from the window's logged events (1 click, 3 purchase, 0 none).
    item_popularity: optional ``(n_items,)`` train-window clicks of every catalogue
        item, indexed by item id; it sets the catalogue size for coverage and the
        popularity shares for novelty. When omitted it is rebuilt from the
        candidates (items never among them count as 0 clicks).
    window: optional name of the window ("valid", "test").
    position_decay: the examination decay of the shop's position-based model (slot s is examined
        with probability ``(1 + s) ** -position_decay``); ``candidate_set`` copies the shop's own.

    Treat the arrays as read-only: derived tensors are cached on first use.
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
    item_popularity: np.ndarray | None = None
    window: str | None = None
    position_decay: float | None = None
    _cache: dict = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.user_ids = np.asarray(self.user_ids)
        if self.user_ids.ndim != 1:
            raise ValueError(f"user_ids must be 1-D (n_users,), got shape {self.user_ids.shape}")
        shape = np.shape(self.item_ids)
        if len(shape) != 2 or shape[0] != self.user_ids.size or shape[1] < 1:
            raise ValueError(f"item_ids must have shape (n_users={self.user_ids.size}, n_candidates), got {shape}")
        for name in _ARRAY_FIELDS:
            value = np.asarray(getattr(self, name))
            if value.shape != shape:
                raise ValueError(f"{name} must have shape {shape} like item_ids, got {value.shape}")
            if name in ("item_ids", "category"):
                value = value.astype(np.int64, copy=False)
            else:
                value = value.astype(np.float64, copy=False)
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
        if np.any(self.popularity < 0) or np.any(self.gains < 0):
            raise ValueError("popularity and gains must be non-negative")
        if np.any(self.item_ids < 0):
            raise ValueError("item_ids must be non-negative item ids")
        if self.item_popularity is None:
            pop = np.zeros(int(self.item_ids.max()) + 1)
            pop[self.item_ids.ravel()] = self.popularity.ravel()
            self.item_popularity = pop
        self.item_popularity = np.asarray(self.item_popularity, dtype=np.float64)
        if self.item_popularity.ndim != 1 or self.item_popularity.size <= self.item_ids.max():
            raise ValueError(
                f"item_popularity must be 1-D with an entry for every item id (> {self.item_ids.max()}), "
                f"got shape {self.item_popularity.shape}"
            )

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
        rows = np.asarray(rows)
        kwargs = {name: getattr(self, name)[rows] for name in ("user_ids",) + _ARRAY_FIELDS}
        return CandidateSet(**kwargs, item_popularity=self.item_popularity, window=self.window,
                            position_decay=self.position_decay)

    def __len__(self) -> int:
        return self.n_users


# ---------------------------------------------------------------------------
# Building a candidate set from predictions and the shop
# ---------------------------------------------------------------------------


def candidate_set(predictions, data, window: str) -> CandidateSet:
    """Turn a predictions table into a ``CandidateSet`` for ``window`` ("valid" or "test").

    predictions: DataFrame with ``user_id``, ``item_id``, ``p_click``,
        ``p_purchase`` (and usually ``retrieval_rank``, which orders the
        columns); every user must have the same number of candidates, none twice.
    data: the ``ShopData`` (items, impressions, and the true ``Shop``).
    Popularity counts clicks in ``data.WINDOWS["train"]``; gains come from the
    impressions logged in ``window`` (max over a pair's impressions: 3 for a
    purchase, 1 for a click, 0 otherwise).
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
        raise ValueError(
            f"predictions must hold the same number of candidates per user, got {counts.min()} to {counts.max()}"
        )
    shape = (users.size, int(counts[0]))
    item_ids = pred["item_id"].to_numpy(np.int64).reshape(shape)
    n_items = len(data.items)
    if item_ids.min() < 0 or item_ids.max() >= n_items:
        raise ValueError(f"predictions.item_id must lie in 0..{n_items - 1}, got {item_ids.min()}..{item_ids.max()}")
    sorted_items = np.sort(item_ids, axis=1)
    if np.any(sorted_items[:, 1:] == sorted_items[:, :-1]):
        raise ValueError("predictions list some item twice for the same user; candidates must be distinct")

    items = data.items.sort_values("item_id")
    price_all = items["price"].to_numpy(np.float64)
    margin_all = price_all * items["margin_rate"].to_numpy(np.float64)
    category_all = pd.Categorical(items["category"], categories=CATEGORY_NAMES).codes.astype(np.int64)

    imp = data.impressions
    day = imp["day"].to_numpy()
    start, end = WINDOWS["train"]
    train_clicks = imp.loc[(day >= start) & (day < end) & imp["clicked"].to_numpy(), "item_id"].to_numpy()
    item_popularity = np.bincount(train_clicks, minlength=n_items).astype(np.float64)

    start, end = WINDOWS[window]
    in_window = (day >= start) & (day < end)
    win = imp.loc[in_window & imp["clicked"].to_numpy(), ["user_id", "item_id", "purchased"]]
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
        price=price_all[item_ids],
        margin=margin_all[item_ids],
        category=category_all[item_ids],
        popularity=item_popularity[item_ids],
        true_p_click=truth["p_click"],
        true_p_purchase=truth["p_purchase"],
        gains=gains,
        item_popularity=item_popularity,
        window=window,
        position_decay=BEHAVIOUR["position_decay"],
    )


# ---------------------------------------------------------------------------
# Fusion
# ---------------------------------------------------------------------------


def top_k(cs: CandidateSet, weights, k: int = 10) -> np.ndarray:
    """Item ids of each user's top-k under the weighted-product fusion, best first, shape ``(n_users, k)``.

    Ties are broken in favour of the earlier candidate column (the better retrieval rank).
    """
    cols = top_k_columns(cs, normalise_weights(weights)[None, :], k)[0]
    return np.take_along_axis(cs.item_ids, cols, axis=1)


# ---------------------------------------------------------------------------
# Fast batched evaluation
# ---------------------------------------------------------------------------

#: Memory for one chunk of scores in ``evaluate_population`` (bytes).
CHUNK_BYTES = 48 * 2**20


def _shifted_signals(cs: CandidateSet) -> np.ndarray:
    """Log-signals as ``(5, n_users * n_candidates)``, each shifted to be >= 0 (cached).

    Adding a constant to a signal adds ``w_j x constant`` to every score of a
    weight vector, so the ranking is unchanged; non-negative scores let the top-K
    search work on the scores' bit patterns (see ``top_k_columns``).
    """
    if "signals" not in cs._cache:
        s = log_signals(cs).reshape(-1, N_WEIGHTS).T
        cs._cache["signals"] = np.ascontiguousarray(s - s.min(axis=1, keepdims=True))
    return cs._cache["signals"]


def _value_table(cs: CandidateSet, k: int, truth: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-candidate values the objectives add up, as ``(6, n_users * n_candidates)`` (cached).

    Rows: p_click, p_purchase, GMV (EUR), profit (EUR), self-information (bits)
    and the NDCG gain already divided by the user's ideal DCG@k. Also returns the
    ``(6, k)`` slot weights (examination for the first four, 1 / k, log2 discount)
    and the ``(6,)`` divisors (users, or users with a positive for NDCG).
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
        if cs.position_decay is None:
            raise ValueError("CandidateSet.position_decay is not set: pass the shop's BEHAVIOUR['position_decay']")
        exam = metrics.position_discount(k, cs.position_decay)
        slot_w = np.stack([exam, exam, exam, exam, np.full(k, 1.0 / k), metrics.log2_discount(k)])
        n_pos = int(has_pos.sum())
        divisors = np.array([cs.n_users] * 5 + [n_pos if n_pos else np.nan], dtype=np.float64)
        cs._cache[key] = (np.ascontiguousarray(table), slot_w, divisors)
    return cs._cache[key]


_BLAS = {}


def _single_threaded_blas():
    """A context that keeps BLAS on one thread (if threadpoolctl is installed).

    The products here are too small to gain from threads, and idle BLAS threads
    spin on the CPU that other work (or another tuner) could use.
    """
    if "controller" not in _BLAS:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS["controller"] = ThreadpoolController()
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _BLAS["controller"] = None
    controller = _BLAS["controller"]
    return controller.limit(limits=1, user_api="blas") if controller is not None else contextlib.nullcontext()


def top_k_columns(cs: CandidateSet, W, k: int = 10) -> np.ndarray:
    """Candidate columns of the top-k for each weight vector, best first, shape ``(n_pop, n_users, k)``.

    W: ``(n_pop, 5)`` non-negative weights (normalised here). The top-k search
    packs each non-negative float64 score and its column into one int64 (the
    score's bit pattern, whose order matches the float order, with the lowest
    bits replaced by the column), so one ``np.partition`` plus a sort of k
    numbers per row finds the best k in order, ties going to the lower column.
    Replacing those bits changes a score by less than 1e-13 of its value.
    One weight vector at a time, in one reused buffer of scores that stays in the
    CPU cache (a third faster than passing a chunk of vectors through each step).
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
    with _single_threaded_blas():
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


def _wanted(objectives) -> tuple[str, ...]:
    """The objectives to compute (all of ``OBJECTIVES`` when None), checked."""
    if objectives is None:
        return OBJECTIVES
    wanted = tuple(objectives)
    unknown = [o for o in wanted if o not in OBJECTIVES]
    if unknown:
        raise ValueError(f"objectives must be names from {OBJECTIVES}, got {unknown}")
    return wanted


def evaluate_columns(cs: CandidateSet, cols, truth: bool = False, objectives=None) -> np.ndarray:
    """Every objective of given rankings, shape ``(n_pop, len(OBJECTIVES))``.

    cols: ``(n_pop, n_users, k)`` (or ``(n_users, k)``) candidate columns, best
    first, e.g. from ``top_k_columns``, or from any other ranker. Objectives
    (means over users): NDCG@k (logged gains; users without a positive excluded),
    expected clicks, purchases, GMV (EUR) and profit (EUR) per request with the
    examination discount ``(1 + slot) ** -position_decay`` (predicted, or true with
    ``truth=True``), intra-list category diversity, catalogue coverage and
    novelty (bits). objectives: optional names from ``OBJECTIVES`` to compute (a
    tuner that needs three of them runs about twice as fast); the other columns are NaN.
    """
    wanted = _wanted(objectives)
    cols = np.asarray(cols)
    if cols.ndim == 2:
        cols = cols[None]
    if cols.ndim != 3 or cols.shape[1] != cs.n_users or cols.shape[2] < 1:
        raise ValueError(f"cols must have shape (n_pop, n_users={cs.n_users}, k), got {cols.shape}")
    if cols.shape[0] == 0:
        return np.empty((0, len(OBJECTIVES)))
    if cols.min() < 0 or cols.max() >= cs.n_candidates:
        raise ValueError(f"cols must be candidate columns in 0..{cs.n_candidates - 1}")
    n_pop, n_users, k = cols.shape
    step = _population_chunk(cs)
    if n_pop > step:  # bound the memory of the gathered values
        return np.concatenate([evaluate_columns(cs, cols[s : s + step], truth, wanted) for s in range(0, n_pop, step)])
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


def _population_chunk(cs: CandidateSet) -> int:
    """How many weight vectors fit in ``CHUNK_BYTES`` of float64 scores."""
    return max(1, int(CHUNK_BYTES // (cs.n_users * cs.n_candidates * 8)))


def _evaluate_chunks(cs: CandidateSet, W, k: int, truths: tuple[bool, ...], objectives=None) -> tuple[np.ndarray, ...]:
    """Objectives of every weight vector, valued once per entry of ``truths``; each top-k is found once."""
    W = np.asarray(W, dtype=np.float64)
    if W.ndim != 2:
        raise ValueError(f"W must have shape (n_pop, {N_WEIGHTS}), got {W.shape}")
    chunk = _population_chunk(cs)
    parts = [[] for _ in truths]
    for s in range(0, len(W), chunk):
        cols = top_k_columns(cs, W[s : s + chunk], k)
        for part, truth in zip(parts, truths, strict=True):
            part.append(evaluate_columns(cs, cols, truth, objectives))
    return tuple(np.concatenate(p) if p else np.empty((0, len(OBJECTIVES))) for p in parts)


def evaluate_population(cs: CandidateSet, W, k: int = 10, truth: bool = False, objectives=None) -> np.ndarray:
    """Every objective for every weight vector, in one batched call: shape ``(n_pop, len(OBJECTIVES))``.

    W: ``(n_pop, 5)`` non-negative weights (each normalised to the simplex).
    Rankings always use the *predicted* scores; ``truth=True`` values those
    rankings with the shop's true probabilities instead of the predictions.
    Columns follow ``OBJECTIVES``; all are higher-is-better. Memory stays
    bounded: the population is processed in chunks of ``CHUNK_BYTES``.
    objectives: optional names from ``OBJECTIVES``: only those are computed (the
    tuners of notebooks 05 and 06 need three), the other columns are NaN.
    """
    return _evaluate_chunks(cs, W, k, (truth,), _wanted(objectives))[0]


def evaluate_population_both(cs: CandidateSet, W, k: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """``(predicted, true)`` objectives of every weight vector, each ``(n_pop, len(OBJECTIVES))``.

    The same as ``evaluate_population`` with ``truth=False`` and ``truth=True``,
    but each top-k is found once: use it to compare predicted with true values.
    """
    return _evaluate_chunks(cs, W, k, (False, True))


def evaluate(cs: CandidateSet, weights, k: int = 10, truth: bool = False) -> dict[str, float]:
    """Every objective of one weight vector, as ``{objective: mean over users}`` (keys: ``OBJECTIVES``)."""
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (N_WEIGHTS,):
        raise ValueError(f"weights must have shape ({N_WEIGHTS},) for {SIGNALS}, got {w.shape}")
    row = evaluate_population(cs, w[None, :], k, truth)[0]
    return dict(zip(OBJECTIVES, row.tolist(), strict=True))


def evaluate_scores(cs: CandidateSet, scores, k: int = 10, truth: bool = False) -> dict[str, float]:
    """Every objective of the ranking given by any ``scores (n_users, n_candidates)`` (higher first)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.shape != cs.item_ids.shape:
        raise ValueError(f"scores must have shape {cs.item_ids.shape}, got {s.shape}")
    row = evaluate_columns(cs, metrics.top_k_indices(s, k), truth)[0]
    return dict(zip(OBJECTIVES, row.tolist(), strict=True))
