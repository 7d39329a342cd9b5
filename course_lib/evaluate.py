"""Evaluating rankings: bootstrap intervals, simulated A/B tests, off-policy estimates.

Three ways to ask "is ranking B better than ranking A?", from cheapest to most
trustworthy:

1. **Offline, on a held-out window** (``user_metrics``, ``offline_evaluate``):
   score each user's top K with the model's predictions (or the shop's truth)
   and put a bootstrap confidence interval around the mean over users.
2. **Off-policy, from the logs** (``ips_estimate``): reweight what the old
   logging policy showed by how likely the new policy is to show it
   (inverse propensity scoring, IPS, and its self-normalised form, SNIPS).
3. **Online, in a simulated A/B test** (``ab_test``): send new traffic through
   the shop's true behaviour model with ``Shop.simulate``, the same users and
   random numbers for both arms (common random numbers), and compare the
   arms with paired tests.

Plain NumPy, pandas and SciPy: this module never imports Keras or TensorFlow.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import sparse, stats

from course_lib import data as _data
from course_lib import metrics, ranking

#: A policy maps arriving users to ranked slates: ``policy(user_ids (n,), day) -> (n, K) item ids``.
Policy = Callable[[np.ndarray, int], np.ndarray]

#: Bootstrap replicates are built in chunks of about this many (replicate x unit) cells.
_CHUNK_CELLS = 4_000_000


# ---------------------------------------------------------------------------
# Bootstrap confidence intervals
# ---------------------------------------------------------------------------


def _check_level(level: float) -> float:
    level = float(level)
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must be a confidence level strictly between 0 and 1 (e.g. 0.95), got {level}")
    return level


def _as_2d(values, name: str) -> tuple[np.ndarray, list]:
    """Values as a float (n_units, n_metrics) array, plus the metric names."""
    if isinstance(values, pd.DataFrame):
        names = list(values.columns)
        v = values.to_numpy(dtype=np.float64)
    elif isinstance(values, pd.Series):
        names = [values.name if values.name is not None else "value"]
        v = values.to_numpy(dtype=np.float64)[:, None]
    else:
        v = np.asarray(values, dtype=np.float64)
        if v.ndim == 1:
            v = v[:, None]
        if v.ndim != 2:
            raise ValueError(f"{name} must be 1-D (n_units,) or 2-D (n_units, n_metrics), got shape {v.shape}")
        names = ["value"] if v.shape[1] == 1 else list(range(v.shape[1]))
    if v.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 units (rows) to resample, got {v.shape[0]}")
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{name} must be finite, got NaN or inf")
    return v, names


def bootstrap_counts(n: int, n_boot: int, rng: np.random.Generator):
    """Yield bootstrap resamples of ``n`` units as count matrices, chunk by chunk.

    Each yielded array has shape ``(b, n)`` (``b`` replicates of this chunk):
    entry ``[r, i]`` counts how often unit ``i`` was drawn (with replacement) in
    replicate ``r``; every row sums to ``n``. A weighted mean over units is then
    one matrix product, ``counts @ values / n``, for all replicates at once.
    """
    chunk = max(1, min(n_boot, _CHUNK_CELLS // max(n, 1)))
    for start in range(0, n_boot, chunk):
        b = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(b, n)) + n * np.arange(b)[:, None]
        yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)


def bootstrap_replicates(values, n_boot: int = 1000, seed: int = 0, denominator=None) -> np.ndarray:
    """Bootstrap replicates of column means (or ratios of sums), resampling rows.

    values: (n_units,) or (n_units, n_metrics), one row per independent unit
    (a user, a request). denominator: None for plain means, or an array of the
    same shape for ratio metrics ``sum(values) / sum(denominator)`` (e.g.
    purchases per click). Returns (n_boot, n_metrics) replicates.
    """
    v, _ = _as_2d(values, "values")
    den = None
    if denominator is not None:
        den, _ = _as_2d(denominator, "denominator")
        if den.shape != v.shape:
            raise ValueError(f"denominator must have the shape of values {v.shape}, got {den.shape}")
    if int(n_boot) < 1:
        raise ValueError(f"n_boot must be a positive number of replicates, got {n_boot}")
    rng = np.random.default_rng(seed)
    out = np.empty((int(n_boot), v.shape[1]))
    row = 0
    for counts in bootstrap_counts(v.shape[0], int(n_boot), rng):
        num = counts @ v
        if den is None:
            out[row : row + len(counts)] = num / v.shape[0]
        else:
            with np.errstate(divide="ignore", invalid="ignore"):  # a replicate may draw no denominator at all
                out[row : row + len(counts)] = num / (counts @ den)
        row += len(counts)
    return out


def bootstrap_ci(values, denominator=None, n_boot: int = 1000, level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Point estimate and percentile bootstrap interval of each column's mean.

    values: (n_units,) or (n_units, n_metrics) array, Series or DataFrame, one
    row per independent unit; the bootstrap resamples whole rows, so metrics of
    one user stay together. denominator: optional, same shape, for ratios of
    sums. Returns a DataFrame indexed by metric with columns ``estimate``,
    ``low`` and ``high`` (the ``(1 - level) / 2`` and ``(1 + level) / 2``
    quantiles of the replicates).
    """
    level = _check_level(level)
    v, names = _as_2d(values, "values")
    reps = bootstrap_replicates(values, n_boot=n_boot, seed=seed, denominator=denominator)
    if denominator is None:
        estimate = v.mean(0)
    else:
        estimate = v.sum(0) / _as_2d(denominator, "denominator")[0].sum(0)
    low, high = np.quantile(reps, [(1 - level) / 2, (1 + level) / 2], axis=0)
    return pd.DataFrame({"estimate": estimate, "low": low, "high": high}, index=pd.Index(names, name="metric"))


# ---------------------------------------------------------------------------
# Offline evaluation on a held-out window
# ---------------------------------------------------------------------------

#: The per-user objectives of ``user_metrics``: ranking.OBJECTIVES without coverage
#: (coverage belongs to all lists together, not to one user).
USER_OBJECTIVES = ("ndcg", "clicks", "purchases", "gmv", "profit", "diversity", "novelty")


def slate_columns(cs, policy, k: int = 10) -> np.ndarray:
    """Candidate columns of each user's top ``k``, shape ``(n_users, k)``, best first.

    policy: fusion weights ``(5,)`` (ranked with ``ranking.top_k_columns``) or
    slates ``(n_users, >= k)`` of item ids, one row per row of ``cs``, whose
    items must all be among that user's candidates.
    """
    p = np.asarray(policy)
    if p.ndim == 1:
        return ranking.top_k_columns(cs, p[None, :], k)[0]
    if p.ndim != 2 or p.shape[0] != cs.n_users or p.shape[1] < k:
        raise ValueError(
            f"policy must be weights ({ranking.N_WEIGHTS},) or slates (n_users={cs.n_users}, >= {k}) "
            f"item ids, got shape {p.shape}"
        )
    match = cs.item_ids[:, None, :] == p[:, :k, None]  # (n_users, k, n_candidates)
    if not match.any(axis=2).all():
        raise ValueError("every slate item must be one of that user's candidates (cs.item_ids)")
    return match.argmax(axis=2)


def user_metrics(cs, policy, k: int = 10, truth: bool = False) -> pd.DataFrame:
    """Each user's objectives for the top ``k`` of a policy: one row per user of ``cs``.

    policy: fusion weights (5,) or slates (n_users, >= k) of candidate item ids.
    Columns ``USER_OBJECTIVES``, defined as in ``ranking.evaluate``: expected
    clicks, purchases, GMV (EUR) and profit (EUR) per request with the
    examination discount ``(1 + slot) ** -0.7``, predicted (or true with
    ``truth=True``); NDCG@k from the window's logged gains (NaN for users
    without any); intra-list category diversity; novelty (bits). Their means
    over users (``nanmean`` for NDCG) are ``ranking.evaluate``'s numbers.
    """
    cols = slate_columns(cs, policy, k)

    def ranked(a):
        return np.take_along_axis(a, cols, axis=1)

    kk = cols.shape[1]
    exam = metrics.position_discount(kk)
    p_click = cs.true_p_click if truth else cs.p_click
    p_buy = cs.true_p_purchase if truth else cs.p_purchase
    ideal = metrics.ideal_dcg_at_k(cs.gains, kk)
    dcg = ranked(cs.gains) @ metrics.log2_discount(kk)
    with np.errstate(invalid="ignore", divide="ignore"):
        ndcg = np.where(ideal > 0, dcg / np.where(ideal > 0, ideal, 1.0), np.nan)
    return pd.DataFrame(
        {
            "ndcg": ndcg,
            "clicks": ranked(p_click) @ exam,
            "purchases": ranked(p_buy) @ exam,
            "gmv": ranked(p_buy * cs.price) @ exam,
            "profit": ranked(p_buy * cs.margin) @ exam,
            "diversity": metrics.intra_list_diversity(categories=ranked(cs.category)),
            "novelty": metrics.novelty(ranked(cs.item_ids), cs.item_popularity),
        },
        index=pd.Index(cs.user_ids, name="user_id"),
    )


def offline_evaluate(
    cs, policy, k: int = 10, truth: bool = False, n_boot: int = 1000, level: float = 0.95, seed: int = 0
) -> pd.DataFrame:
    """Held-out metrics of a policy with percentile bootstrap intervals over users.

    policy: fusion weights (5,) or slates (n_users, >= k) (see ``user_metrics``).
    Users are the independent units: each replicate resamples whole users, so
    all of one user's metrics move together. NDCG is a ratio (sum over users
    with a logged positive / their count), so users without one stay excluded.
    Returns a DataFrame indexed by ``USER_OBJECTIVES`` with estimate, low, high.
    """
    per_user = user_metrics(cs, policy, k, truth)
    has_pos = per_user["ndcg"].notna().to_numpy(np.float64)
    if has_pos.sum() == 0:
        per_user, has_pos = per_user.drop(columns="ndcg"), None
    den = np.ones(per_user.shape)
    if has_pos is not None:
        den[:, 0] = has_pos
    return bootstrap_ci(per_user.fillna(0.0), denominator=den, n_boot=n_boot, level=level, seed=seed)


# ---------------------------------------------------------------------------
# Significance tests for a difference of means or ratios
# ---------------------------------------------------------------------------


def _linearised(num: np.ndarray, den: np.ndarray) -> tuple[float, np.ndarray]:
    """Ratio of sums and the per-unit values whose mean has the same sampling error.

    Delta method: R = sum(num) / sum(den) moves by about mean(L) with
    L_i = (num_i - R den_i) / mean(den). For a plain mean (den = 1) L_i is the
    centred value num_i - mean(num).
    """
    r = num.sum() / den.sum()
    return float(r), (num - r * den) / den.mean()


def difference_test(num_a, num_b, den_a=None, den_b=None, paired: bool = True, level: float = 0.95) -> dict:
    """Difference B - A of a mean (or a ratio of sums) with a t interval and p-value.

    num_a, num_b: (n,) per-unit values of each arm (e.g. GMV per request);
    den_a, den_b: optional denominators for ratio metrics (e.g. clicks, for
    purchases per click), linearised with the delta method. paired=True when
    unit i of A and unit i of B are the same request (common random numbers):
    a paired t-test on the per-unit differences. paired=False: Welch's t-test
    for two independent samples. Returns a dict with a, b, diff, low, high,
    p_value and test (the test's name).
    """
    level = _check_level(level)
    num_a, num_b = np.asarray(num_a, np.float64), np.asarray(num_b, np.float64)
    den_a = np.ones_like(num_a) if den_a is None else np.asarray(den_a, np.float64)
    den_b = np.ones_like(num_b) if den_b is None else np.asarray(den_b, np.float64)
    if num_a.shape != den_a.shape or num_b.shape != den_b.shape:
        raise ValueError("each arm's denominator must have the shape of its values")
    if min(len(num_a), len(num_b)) < 2:
        raise ValueError(f"each arm needs at least 2 units, got {len(num_a)} and {len(num_b)}")
    ratio = not (np.all(den_a == 1) and np.all(den_b == 1))
    a, lin_a = _linearised(num_a, den_a)
    b, lin_b = _linearised(num_b, den_b)
    diff = b - a
    if paired:
        if len(num_a) != len(num_b):
            raise ValueError(f"a paired test needs the same units in both arms, got {len(num_a)} and {len(num_b)}")
        d = lin_b - lin_a
        se = d.std(ddof=1) / np.sqrt(len(d))
        df = len(d) - 1
        test = "paired t"
    else:
        va, vb = lin_a.var(ddof=1) / len(lin_a), lin_b.var(ddof=1) / len(lin_b)
        se = np.sqrt(va + vb)
        df = (va + vb) ** 2 / (va**2 / (len(lin_a) - 1) + vb**2 / (len(lin_b) - 1)) if se > 0 else 1.0
        test = "Welch t"
    if ratio:
        test += " (delta method)"
    if se > 0:
        half = stats.t.ppf((1 + level) / 2, df) * se
        p = 2 * stats.t.sf(abs(diff) / se, df)
    else:  # identical outcomes in every unit: no evidence of a difference unless the means differ
        half, p = 0.0, 1.0 if diff == 0 else 0.0
    return {"a": a, "b": b, "diff": diff, "low": diff - half, "high": diff + half, "p_value": float(p), "test": test}


# ---------------------------------------------------------------------------
# Policies, and what a slate is worth
# ---------------------------------------------------------------------------


def policy_from_slates(user_ids, slates) -> Policy:
    """A policy that shows each user a fixed, precomputed slate.

    user_ids: (n_users,) ids, one per row of ``slates`` (n_users, K) item ids,
    best first. The returned ``policy(users, day)`` looks each arriving user
    up (the day is ignored) and raises a ValueError for unknown users.
    """
    user_ids = np.asarray(user_ids)
    slates = np.asarray(slates)
    if slates.ndim != 2 or len(slates) != len(user_ids):
        raise ValueError(
            f"slates must be (n_users, K) with one row per user id, got {slates.shape} for {len(user_ids)} users"
        )
    row_of = np.full(int(user_ids.max()) + 1, -1, dtype=np.int64)
    row_of[user_ids] = np.arange(len(user_ids))

    def policy(users, day=None):
        users = np.asarray(users)
        rows = row_of[np.clip(users, 0, len(row_of) - 1)]
        if np.any(rows < 0) or np.any(users >= len(row_of)) or np.any(users < 0):
            raise ValueError("policy: some arriving users have no slate (they are not in user_ids)")
        return slates[rows]

    return policy


def policy_from_weights(cs, weights, k: int = 10) -> Policy:
    """The policy that shows each user the top ``k`` of a CandidateSet under fusion ``weights``.

    cs: a ``ranking.CandidateSet`` (usually the test window's, which holds every
    user); weights: (5,) non-negative fusion weights. Arriving users are mapped
    to their row of ``cs`` by ``cs.user_ids``.
    """
    return policy_from_slates(cs.user_ids, ranking.top_k(cs, weights, k=k))


def expected_value(policy: Policy, shop, k: int = 10, day: int | None = None) -> pd.Series:
    """Exact expected outcomes per request of ``policy``'s top ``k`` on ``day``, from the shop's truth.

    The truth an A/B test estimates: users arrive in proportion to their
    activity (among those signed up by ``day``; default: the day after the
    log), and each one's slate is worth ``Shop.expected_outcomes``. Returns a
    Series with clicks, purchases, gmv (EUR) and profit (EUR) per request, and
    ctr (clicks per impression).
    """
    day = int(shop.params.get("n_days", 30)) if day is None else int(day)
    active = shop.signup_day <= day
    users = np.flatnonzero(active)
    w = shop.activity[users] / shop.activity[users].sum()
    slates = np.asarray(policy(users, day))[:, :k]
    out = shop.expected_outcomes(users, slates)
    value = pd.Series(w @ out.to_numpy(), index=out.columns)
    value["ctr"] = value["clicks"] / slates.shape[1]
    return value


#: The catalogue's head (most-clicked items); the rest is the long tail. Defined in ``data``.
head_items = _data.head_items


# ---------------------------------------------------------------------------
# The simulated online A/B test
# ---------------------------------------------------------------------------

#: What the A/B table reports: name -> (numerator, denominator or None, description).
AB_METRICS = {
    "ctr": ("clicks", "impressions", "clicks per impression"),
    "conversion": ("purchases", "clicks", "purchases per click"),
    "purchases": ("purchases", None, "purchases per request"),
    "gmv": ("gmv", None, "GMV per request (EUR)"),
    "profit": ("profit", None, "profit per request (EUR)"),
    "diversity": ("diversity", None, "share of slot pairs from different categories"),
    "tail_share": ("tail_impressions", "impressions", "share of impressions outside the head"),
}


def request_metrics(log: pd.DataFrame, shop, head=None) -> pd.DataFrame:
    """One row per request of a simulated log (the output of ``Shop.simulate``).

    Returns request_id, user_id, impressions, clicks, purchases, gmv (EUR),
    profit (EUR), diversity and, when ``head`` (item ids of the head) is given,
    tail_impressions (impressions of items outside it).
    """
    need = ["request_id", "user_id", "item_id", "position", "clicked", "purchased", "price", "margin"]
    missing = [c for c in need if c not in log.columns]
    if missing:
        raise ValueError(f"log must be the output of Shop.simulate; missing columns {missing}")
    k = int(log["position"].max()) + 1
    if len(log) % k or not np.array_equal(log["position"].to_numpy(), np.tile(np.arange(k), len(log) // k)):
        raise ValueError("log must hold K rows per request, in slot order, as Shop.simulate returns them")
    n = len(log) // k

    def grid(col):
        return log[col].to_numpy().reshape(n, k)

    items = grid("item_id")
    purchased = grid("purchased")
    out = pd.DataFrame(
        {
            "request_id": grid("request_id")[:, 0],
            "user_id": grid("user_id")[:, 0],
            "impressions": np.full(n, k, dtype=np.float64),
            "clicks": grid("clicked").sum(1).astype(np.float64),
            "purchases": purchased.sum(1).astype(np.float64),
            "gmv": (purchased * grid("price")).sum(1),
            "profit": (purchased * grid("margin")).sum(1),
            "diversity": metrics.intra_list_diversity(categories=shop.category[items]),
        }
    )
    if head is not None:
        in_head = np.zeros(shop.n_items, dtype=bool)
        in_head[np.asarray(head)] = True
        out["tail_impressions"] = (~in_head[items]).sum(1).astype(np.float64)
    return out


def _exposure(log: pd.DataFrame, n_items: int) -> sparse.csr_matrix:
    """(n_requests, n_items) counts of impressions per request and item."""
    k = int(log["position"].max()) + 1
    n = len(log) // k
    rows = np.repeat(np.arange(n), k)
    return sparse.csr_matrix((np.ones(len(log)), (rows, log["item_id"].to_numpy())), shape=(n, n_items))


def exposure_gini_test(
    log_a, log_b, n_items: int, paired: bool = True, level: float = 0.95, n_boot: int = 200, seed: int = 0
) -> dict:
    """Gini of impressions per item in each arm, and a bootstrap test of B - A.

    The Gini is a property of the whole log, not an average over requests, so
    its interval comes from resampling requests: the same requests in both arms
    when ``paired`` (common random numbers), independently otherwise. The
    p-value is the two-sided bootstrap share of replicates on the other side of 0.
    """
    level = _check_level(level)
    ea, eb = _exposure(log_a, n_items), _exposure(log_b, n_items)
    a = metrics.gini(np.asarray(ea.sum(0)).ravel())
    b = metrics.gini(np.asarray(eb.sum(0)).ravel())
    rng = np.random.default_rng(seed)
    diffs = []
    if paired:
        if ea.shape[0] != eb.shape[0]:
            raise ValueError("a paired test needs the same requests in both arms")
        for counts in bootstrap_counts(ea.shape[0], n_boot, rng):
            diffs.append(metrics.gini_rows((eb.T @ counts.T).T) - metrics.gini_rows((ea.T @ counts.T).T))
    else:
        ca = list(bootstrap_counts(ea.shape[0], n_boot, rng))
        cb = list(bootstrap_counts(eb.shape[0], n_boot, rng))
        for xa, xb in zip(ca, cb, strict=False):
            diffs.append(metrics.gini_rows((eb.T @ xb.T).T) - metrics.gini_rows((ea.T @ xa.T).T))
    d = np.concatenate(diffs)
    low, high = np.quantile(d, [(1 - level) / 2, (1 + level) / 2])
    p = min(1.0, 2 * min((d <= 0).mean(), (d >= 0).mean()))
    test = "paired bootstrap" if paired else "bootstrap"
    return {"a": a, "b": b, "diff": b - a, "low": low, "high": high, "p_value": float(max(p, 1 / n_boot)), "test": test}


def ab_table(
    log_a: pd.DataFrame,
    log_b: pd.DataFrame,
    shop,
    head=None,
    paired: bool = True,
    level: float = 0.95,
    n_boot: int = 200,
    seed: int = 0,
) -> pd.DataFrame:
    """Compare two simulated logs metric by metric: the A/B test's result table.

    log_a, log_b: outputs of ``Shop.simulate`` (one row per impression). With
    ``paired`` the logs must hold the same requests (same seed: common random
    numbers) and each metric gets a paired t-test across requests; otherwise
    Welch's t-test. Ratio metrics (ctr, conversion, tail_share) use the delta
    method; the exposure Gini a bootstrap over requests.

    Returns one row per metric (``AB_METRICS`` plus ``exposure_gini`` when
    ``head`` is given): a, b, diff (B - A), diff_pct (100 diff / a), low and
    high (the interval of the difference), p_value, significant (p < 1 - level),
    test, and what the metric means.
    """
    ra, rb = request_metrics(log_a, shop, head), request_metrics(log_b, shop, head)
    if paired and not np.array_equal(ra["user_id"].to_numpy(), rb["user_id"].to_numpy()):
        raise ValueError("paired=True needs the same arriving users in both logs (simulate both arms with one seed)")
    rows = {}
    for name, (num, den, what) in AB_METRICS.items():
        if num not in ra.columns or (den is not None and den not in ra.columns):
            continue
        res = difference_test(
            ra[num],
            rb[num],
            None if den is None else ra[den],
            None if den is None else rb[den],
            paired=paired,
            level=level,
        )
        rows[name] = {**res, "meaning": what}
    if head is not None:
        rows["exposure_gini"] = {
            **exposure_gini_test(log_a, log_b, shop.n_items, paired, level, n_boot, seed),
            "meaning": "Gini of impressions per item (0 = even)",
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "metric"
    table.insert(3, "diff_pct", 100 * table["diff"] / table["a"].where(table["a"] != 0))
    table.insert(7, "significant", table["p_value"] < 1 - level)
    return table


def ab_test(
    policy_a: Policy,
    policy_b: Policy,
    n_requests: int,
    seed: int,
    *,
    shop,
    k: int = 10,
    day: int | None = None,
    head=None,
    common_random_numbers: bool = True,
    level: float = 0.95,
    n_boot: int = 200,
    return_logs: bool = False,
):
    """A simulated online A/B test of two policies on the shop's true behaviour model.

    policy_a, policy_b: callables ``policy(user_ids (n,), day) -> (n, >= k)``
    item ids, best first (the first ``k`` are shown). Each arm serves
    ``n_requests`` requests from ``Shop.simulate``. With
    ``common_random_numbers`` both arms use ``seed``: the same arriving users and
    the same uniform draws per (request, slot), so the arms differ only by what
    they show and the comparison is paired request by request. Without, arm B
    gets its own seed: other users and other draws, as two independent halves
    of real traffic, compared with Welch's t-test.

    head: item ids of the catalogue's head (see ``head_items``) to report the
    tail share and the exposure Gini. Returns ``ab_table(...)``, or
    ``(table, log_a, log_b)`` with ``return_logs``.
    """
    if int(n_requests) < 2:
        raise ValueError(f"n_requests must be at least 2, got {n_requests}")
    if int(k) < 1:
        raise ValueError(f"k must be a positive slate size, got {k}")

    def first_k(policy):
        def shown(users, d):
            slates = np.asarray(policy(users, d))
            if slates.ndim != 2 or slates.shape[1] < k:
                raise ValueError(f"a policy must return (n, K >= {k}) item ids, got shape {slates.shape}")
            return slates[:, :k]

        return shown

    seed_b = seed if common_random_numbers else int(np.random.SeedSequence([seed, 1]).generate_state(1)[0])
    log_a = shop.simulate(first_k(policy_a), int(n_requests), seed=seed, day=day)
    log_b = shop.simulate(first_k(policy_b), int(n_requests), seed=seed_b, day=day)
    table = ab_table(log_a, log_b, shop, head=head, paired=common_random_numbers, level=level, n_boot=n_boot, seed=seed)
    return (table, log_a, log_b) if return_logs else table


# ---------------------------------------------------------------------------
# Off-policy evaluation from logged propensities
# ---------------------------------------------------------------------------


def softmax_policy(scores, temperature: float = 1.0) -> np.ndarray:
    """A stochastic policy from scores: P(item j) proportional to exp(score_j / temperature).

    scores: (n, m) scores of each context's candidates (-inf = never shown).
    Returns (n, m) probabilities, each row summing to 1. A small temperature
    approaches the deterministic top-1; a large one approaches uniform.
    """
    if not temperature > 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    z = np.asarray(scores, dtype=np.float64) / temperature
    z = z - z.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def target_probability(candidate_items, candidate_probs, item_ids) -> np.ndarray:
    """The target policy's probability of the logged item in each context.

    candidate_items, candidate_probs: (n, m) the items a target policy may show
    in each logged context and its probability for each; item_ids: (n,) the
    items the logging policy actually showed. Returns (n,) probabilities, 0 for
    logged items outside the candidates (outside the target's support).
    """
    ci, cp = np.asarray(candidate_items), np.asarray(candidate_probs, dtype=np.float64)
    item_ids = np.asarray(item_ids)
    if ci.shape != cp.shape or ci.ndim != 2 or len(item_ids) != len(ci):
        raise ValueError(
            f"candidate_items and candidate_probs must be (n, m) with n = len(item_ids); got "
            f"{ci.shape}, {cp.shape} and {item_ids.shape}"
        )
    return (cp * (ci == item_ids[:, None])).sum(1)


def effective_sample_size(weights) -> float:
    """Kish's effective sample size (sum w)^2 / sum w^2 of importance weights."""
    w = np.asarray(weights, dtype=np.float64)
    s2 = np.sum(w**2)
    return float(np.sum(w) ** 2 / s2) if s2 > 0 else 0.0


def ips_estimate(
    rewards, target_probs, logging_propensities, level: float = 0.95, n_boot: int = 1000, seed: int = 0
) -> pd.DataFrame:
    """Off-policy estimates of a target policy's mean reward from logged data.

    rewards: (n,) logged rewards (e.g. 1 if the slot-0 item was clicked);
    target_probs: (n,) the target policy's probability of the logged action;
    logging_propensities: (n,) the logging policy's probability of it (> 0).
    With importance weights w = target / logging:

    - IPS = mean(w r): unbiased whenever the logging policy gives every action
      the target can take a positive probability;
    - SNIPS = sum(w r) / sum(w): a little biased, often much less variable.

    Returns a DataFrame indexed by estimator (IPS, SNIPS) with estimate, low and
    high (percentile bootstrap over logged contexts), ess (effective sample
    size of the weights), n and max_weight.
    """
    r = np.asarray(rewards, dtype=np.float64)
    pt = np.asarray(target_probs, dtype=np.float64)
    pl = np.asarray(logging_propensities, dtype=np.float64)
    if not (r.shape == pt.shape == pl.shape) or r.ndim != 1:
        raise ValueError(
            f"rewards, target_probs and logging_propensities must be (n,) arrays of one length, got "
            f"{r.shape}, {pt.shape}, {pl.shape}"
        )
    if np.any(pl <= 0) or np.any(pl > 1):
        raise ValueError("logging_propensities must lie in (0, 1]: IPS cannot use actions the logger never takes")
    if np.any(pt < 0) or np.any(pt > 1):
        raise ValueError("target_probs must lie in [0, 1]")
    w = pt / pl
    level = _check_level(level)
    q = [(1 - level) / 2, (1 + level) / 2]
    reps = bootstrap_replicates(np.column_stack([w * r, w]), n_boot, seed)  # mean(w r) and mean(w) per replicate
    ips_low, ips_high = np.quantile(reps[:, 0], q)
    with np.errstate(divide="ignore", invalid="ignore"):
        sn_low, sn_high = np.nanquantile(reps[:, 0] / reps[:, 1], q)
    snips = (w * r).sum() / w.sum() if w.sum() > 0 else np.nan
    out = pd.DataFrame(
        {"estimate": [(w * r).mean(), snips], "low": [ips_low, sn_low], "high": [ips_high, sn_high]},
        index=pd.Index(["IPS", "SNIPS"], name="estimator"),
    )
    out["ess"] = effective_sample_size(w)
    out["n"] = len(w)
    out["max_weight"] = w.max()
    return out
