"""Ranking and business metrics, vectorised over users x candidates.

Plain NumPy (no Keras, no TensorFlow). Most functions take arrays of shape
``(n_users, n_candidates)`` and return one value per user; averages over users
are left to the caller (use ``np.nanmean`` where a metric may be NaN).
"""

from __future__ import annotations

import numpy as np


def _as_1d_nonnegative(values, name: str = "values") -> np.ndarray:
    v = np.asarray(values, dtype=np.float64).ravel()
    if v.size == 0:
        raise ValueError(f"{name} must hold at least one value, got an empty array")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    if np.any(v < 0):
        raise ValueError(f"{name} must be non-negative (counts, exposures, sales), got a minimum of {v.min()}")
    return v


def lorenz_curve(values) -> tuple[np.ndarray, np.ndarray]:
    """Lorenz curve of non-negative ``values`` (e.g. clicks per item).

    Sorts the values ascending and returns ``(x, y)``, both of shape ``(n + 1,)``
    and starting at 0: ``x[i] = i / n`` is the share of items (the poorest first)
    and ``y[i]`` the share of the total they hold. Perfect equality is the
    diagonal ``y = x``. If every value is zero, ``y`` is the diagonal too.
    """
    v = np.sort(_as_1d_nonnegative(values))
    n = v.size
    x = np.arange(n + 1, dtype=np.float64) / n
    total = v.sum()
    if total == 0:
        return x, x.copy()
    y = np.concatenate([[0.0], np.cumsum(v) / total])
    return x, y


def gini(values) -> float:
    """Gini coefficient of non-negative ``values``: 0 = all equal, near 1 = one holds all.

    Equals one minus twice the area under the Lorenz curve, computed exactly
    from the sorted values: ``G = sum_i (2 i - n - 1) v_(i) / (n sum v)`` with
    ``i = 1..n`` (the population form; its maximum is ``(n - 1) / n``).
    Returns 0.0 when every value is zero.
    """
    return float(gini_rows(_as_1d_nonnegative(values)[None, :])[0])


def gini_rows(x) -> np.ndarray:
    """``gini`` of each row of a non-negative ``(b, m)`` array at once, shape ``(b,)``.

    Used where many Gini coefficients are needed together (bootstrap replicates).
    """
    v = np.sort(np.asarray(x, dtype=np.float64), axis=1)
    m = v.shape[1]
    i = np.arange(1, m + 1, dtype=np.float64)
    total = v.sum(axis=1)
    return np.where(total > 0, ((2 * i - m - 1) * v).sum(axis=1) / (m * np.where(total > 0, total, 1.0)), 0.0)


# ---------------------------------------------------------------------------
# Positions and top-K
# ---------------------------------------------------------------------------

#: The shop's examination decay: a user looks at slot k (0-based) with probability (1 + k) ** -0.7.
POSITION_DECAY = 0.7


def position_discount(k: int, decay: float = POSITION_DECAY) -> np.ndarray:
    """Examination probability of slots 0..k-1, ``(1 + slot) ** -decay``, shape ``(k,)``.

    This is the discount of the *expected business* metrics (clicks, GMV, profit):
    under the shop's position-based model an item shown in slot ``s`` is clicked
    with probability ``position_discount(k)[s] * p_click_at_top``.
    """
    _check_k(k)
    return (1.0 + np.arange(k, dtype=np.float64)) ** -float(decay)


def log2_discount(k: int) -> np.ndarray:
    """The DCG discount of slots 0..k-1, ``1 / log2(slot + 2)``, shape ``(k,)``."""
    _check_k(k)
    return 1.0 / np.log2(np.arange(k, dtype=np.float64) + 2.0)


def _check_k(k) -> None:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")


def _as_2d(x, name: str) -> np.ndarray:
    a = np.asarray(x)
    if a.ndim != 2:
        raise ValueError(f"{name} must be a 2-D array (n_users, n_candidates), got shape {a.shape}")
    return a


def top_k_indices(scores, k: int) -> np.ndarray:
    """Column indices of each row's ``k`` highest scores, best first, shape ``(n_users, k)``.

    scores: ``(n_users, n_candidates)``, higher is better. Ties are broken in
    favour of the lower column (a stable sort), so results are deterministic.
    ``k`` larger than ``n_candidates`` is clipped to ``n_candidates``.
    """
    s = _as_2d(scores, "scores")
    _check_k(k)
    k = min(int(k), s.shape[1])
    return np.argsort(-s, axis=1, kind="stable")[:, :k]


def _ranked(values, order: np.ndarray, name: str) -> np.ndarray:
    """``values`` (n_users, n_candidates) re-ordered by ``order`` (n_users, k)."""
    v = _as_2d(values, name)
    if v.shape[0] != order.shape[0]:
        raise ValueError(f"{name} must have one row per user ({order.shape[0]}), got shape {v.shape}")
    return np.take_along_axis(v, order, axis=1)


def _check_same_shape(scores: np.ndarray, **arrays) -> None:
    for name, a in arrays.items():
        if np.shape(a) != scores.shape:
            raise ValueError(f"{name} must have the shape of scores {scores.shape}, got {np.shape(a)}")


# ---------------------------------------------------------------------------
# Relevance metrics: NDCG@K and recall@K
# ---------------------------------------------------------------------------


def dcg_at_k(scores, gains, k: int) -> np.ndarray:
    """Discounted cumulative gain of each user's top-k, shape ``(n_users,)``.

    Linear gain (the gain itself, not ``2 ** gain - 1``) and the log2 discount:
    ``DCG@k = sum_{slot < k} gain[slot] / log2(slot + 2)``.
    """
    s = _as_2d(scores, "scores")
    _check_same_shape(s, gains=gains)
    order = top_k_indices(s, k)
    return (_ranked(gains, order, "gains") * log2_discount(order.shape[1])).sum(axis=1)


def ideal_dcg_at_k(gains, k: int) -> np.ndarray:
    """The best DCG@k any ranking of each user's candidates can reach, shape ``(n_users,)``."""
    g = _as_2d(gains, "gains").astype(np.float64)
    _check_k(k)
    k = min(int(k), g.shape[1])
    best = -np.sort(-g, axis=1)[:, :k]
    return (best * log2_discount(k)).sum(axis=1)


def ndcg_at_k(scores, gains, k: int) -> np.ndarray:
    """Normalised DCG@k (Järvelin & Kekäläinen 2002), one value per user, shape ``(n_users,)``.

    scores: ``(n_users, n_candidates)``, higher ranks first; gains: the graded
    relevance of each candidate (>= 0; e.g. 1 for a click, 3 for a purchase).
    Linear gain, log2 discount, and the ideal DCG computed from the user's own
    gains, so 1.0 means the best possible order of these candidates.

    Users without any positive gain get **NaN**, not 0 or 1: no ranking can be
    better or worse for them, so they carry no information. Average with
    ``np.nanmean`` (as ``course_lib.ranking`` does), which excludes them. This
    is where we differ from scikit-learn's ``ndcg_score``, which scores such
    users 0 and so drags the mean down by the share of users without clicks.
    """
    s = _as_2d(scores, "scores")
    g = np.asarray(gains, dtype=np.float64)
    _check_same_shape(s, gains=g)
    if np.any(g < 0) or not np.all(np.isfinite(g)):
        raise ValueError("gains must be finite and non-negative")
    ideal = ideal_dcg_at_k(g, k)
    dcg = dcg_at_k(s, g, k)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), np.nan)


def recall_at_k(scores, gains, k: int) -> np.ndarray:
    """Share of each user's relevant candidates (gain > 0) that reach the top-k, shape ``(n_users,)``.

    NaN for users without any relevant candidate (excluded by ``np.nanmean``).
    """
    s = _as_2d(scores, "scores")
    rel = np.asarray(gains) > 0
    _check_same_shape(s, gains=rel)
    order = top_k_indices(s, k)
    hits = _ranked(rel, order, "gains").sum(axis=1)
    n_rel = rel.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n_rel > 0, hits / np.maximum(n_rel, 1), np.nan)


# ---------------------------------------------------------------------------
# Expected business value of a ranked list
# ---------------------------------------------------------------------------


def _expected_at_k(scores, value, k: int, decay: float, name: str) -> np.ndarray:
    s = _as_2d(scores, "scores")
    _check_same_shape(s, **{name: value})
    order = top_k_indices(s, k)
    return (_ranked(np.asarray(value, dtype=np.float64), order, name) * position_discount(order.shape[1], decay)).sum(
        axis=1
    )


def expected_clicks_at_k(scores, p_click, k: int, decay: float = POSITION_DECAY) -> np.ndarray:
    """Expected clicks on each user's top-k, shape ``(n_users,)``.

    p_click: P(click) of each candidate if shown in the top slot (position 0).
    Under the position-based model, slot ``s`` multiplies it by ``(1 + s) ** -decay``:
    ``E[clicks] = sum_s (1 + s) ** -decay * p_click[item in slot s]``.
    """
    return _expected_at_k(scores, p_click, k, decay, "p_click")


def expected_purchases_at_k(scores, p_purchase, k: int, decay: float = POSITION_DECAY) -> np.ndarray:
    """Expected purchases on each user's top-k, shape ``(n_users,)``.

    p_purchase: P(click **and** purchase) at the top slot (pCTCVR, as in the
    course's predictions), so no further multiplication by p_click is needed.
    """
    return _expected_at_k(scores, p_purchase, k, decay, "p_purchase")


def expected_gmv_at_k(scores, p_purchase, price, k: int, decay: float = POSITION_DECAY) -> np.ndarray:
    """Expected gross merchandise value (EUR) of each user's top-k, shape ``(n_users,)``.

    ``E[GMV] = sum_s (1 + s) ** -decay * p_purchase * price``, where p_purchase is
    P(click and purchase) at the top slot (= p_click x P(purchase | click)).
    If you hold the two factors separately, pass their product.
    """
    s = _as_2d(scores, "scores")
    _check_same_shape(s, p_purchase=p_purchase, price=price)
    return _expected_at_k(s, np.asarray(p_purchase, np.float64) * np.asarray(price, np.float64), k, decay, "value")


def expected_profit_at_k(scores, p_purchase, margin, k: int, decay: float = POSITION_DECAY) -> np.ndarray:
    """Expected profit (EUR) of each user's top-k, shape ``(n_users,)``.

    margin: EUR earned per sale (price x margin rate). Otherwise as ``expected_gmv_at_k``.
    """
    s = _as_2d(scores, "scores")
    _check_same_shape(s, p_purchase=p_purchase, margin=margin)
    return _expected_at_k(s, np.asarray(p_purchase, np.float64) * np.asarray(margin, np.float64), k, decay, "value")


# ---------------------------------------------------------------------------
# Beyond accuracy: diversity, coverage, novelty (these take the ranked lists)
# ---------------------------------------------------------------------------


def intra_list_diversity(categories=None, vectors=None) -> np.ndarray:
    """Intra-list diversity (Ziegler et al. 2005): mean pairwise distance within each list.

    Distance = 1 - cosine similarity of the items' vectors, averaged over the
    ``k (k - 1) / 2`` pairs of a list; returns shape ``(n_users,)``, in [0, 1] for
    non-negative vectors. Give exactly one of:

    categories: ``(n_users, k)`` int codes (>= 0) of the listed items (the default
        choice: a one-hot category vector, so the distance is 1 for two items of
        different categories and 0 for the same category, and the metric is the
        share of pairs that differ in category);
    vectors: ``(n_users, k, d)`` item vectors (e.g. embeddings); none may be all zero.
    """
    if (categories is None) == (vectors is None):
        raise ValueError("give exactly one of categories (n_users, k) or vectors (n_users, k, d)")
    if categories is not None:
        c = np.asarray(categories)
        if c.ndim < 2 or not np.issubdtype(c.dtype, np.integer) or (c.size and c.min() < 0):
            raise ValueError(f"categories must be non-negative int codes of shape (n_users, k), got {c.dtype} {c.shape}")
        k = c.shape[-1]
        if k < 2:
            raise ValueError(f"intra-list diversity needs lists of at least 2 items, got k={k}")
        # Pairs in the same category: sum over categories c of n_c (n_c - 1) / 2, where n_c
        # counts the list's items of category c (one bincount over all lists at once).
        lists = c.reshape(-1, k).astype(np.int64)
        n_cat = int(lists.max()) + 1
        counts = np.bincount((np.arange(len(lists))[:, None] * n_cat + lists).ravel(), minlength=len(lists) * n_cat)
        same = (counts * (counts - 1)).reshape(len(lists), n_cat).sum(axis=1) / 2
        return (1.0 - same / (k * (k - 1) / 2)).reshape(c.shape[:-1])
    v = np.asarray(vectors, dtype=np.float64)
    if v.ndim != 3:
        raise ValueError(f"vectors must have shape (n_users, k, d), got {v.shape}")
    k = v.shape[1]
    if k < 2:
        raise ValueError(f"intra-list diversity needs lists of at least 2 items, got k={k}")
    norms = np.linalg.norm(v, axis=2, keepdims=True)
    if np.any(norms == 0):
        raise ValueError("vectors must not contain all-zero item vectors (cosine similarity is undefined)")
    u = v / norms
    sim_sum = np.einsum("nid,njd->n", u, u) - k  # all pairs, both orders, minus the diagonal
    return 1.0 - sim_sum / (k * (k - 1))


def catalog_coverage(top_items, n_items: int) -> float:
    """Share of the catalogue that appears in at least one list: distinct items / ``n_items``.

    top_items: ``(n_users, k)`` item ids (0..n_items-1) recommended to each user.
    """
    t = np.asarray(top_items)
    if t.size and (t.min() < 0 or t.max() >= n_items):
        raise ValueError(f"top_items must be item ids in 0..{n_items - 1}, got {t.min()}..{t.max()}")
    if n_items < 1:
        raise ValueError(f"n_items must be positive, got {n_items}")
    return float(np.unique(t).size / n_items)


def self_information(popularity) -> np.ndarray:
    """Self-information (bits) of each item, ``-log2(share)``, shape ``(n_items,)``.

    popularity: ``(n_items,)`` non-negative counts (e.g. train-window clicks),
    indexed by item id. The share is add-one smoothed,
    ``(popularity + 1) / (popularity.sum() + n_items)``, so an item nobody
    clicked has a large but finite self-information.
    """
    pop = _as_1d_nonnegative(popularity, "popularity")
    share = (pop + 1.0) / (pop.sum() + pop.size)
    return -np.log2(share)


def novelty(top_items, popularity) -> np.ndarray:
    """Mean self-information (bits) of each user's listed items, shape ``(n_users,)``.

    top_items: ``(n_users, k)`` item ids; popularity: ``(n_items,)`` counts
    indexed by item id (see ``self_information``). Higher = less popular items
    (Castells et al.: novelty as expected surprisal).
    """
    info = self_information(popularity)
    t = np.asarray(top_items)
    if t.size and (t.min() < 0 or t.max() >= info.size):
        raise ValueError(f"top_items must be item ids in 0..{info.size - 1}, got {t.min()}..{t.max()}")
    return info[t].mean(axis=-1)
