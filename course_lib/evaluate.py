"""The simulated online A/B test: policies, traffic from the shop's truth, and the result table.

Notebook 07 teaches the statistics and exports them: the bootstrap interval and the paired
difference to ``course_lib.inference``, IPS and SNIPS to ``course_lib.off_policy``. This module
is the plumbing around ``Shop.simulate`` that no notebook teaches: a policy from precomputed
slates, the exact expected value of a policy, per-request metrics of a simulated log, and the
A/B table (a paired t-test under common random numbers, Welch's t-test for independent arms,
the delta method for ratio metrics). NumPy, pandas and SciPy only: never Keras.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
from scipy import stats

from course_lib import metrics
from course_lib.inference import paired_difference

#: A policy maps arriving users to ranked slates: ``policy(user_ids (n,), day) -> (n, K) item ids``.
Policy = Callable[[np.ndarray, int], np.ndarray]


def policy_from_slates(user_ids, slates) -> Policy:
    """A policy that shows each user a fixed, precomputed slate.

    user_ids: (n_users,) ids, one per row of ``slates`` (n_users, K) item ids, best first.
    The returned ``policy(users, day)`` looks each arriving user up (the day is ignored) and
    raises a ValueError for users without a slate.
    """
    user_ids, slates = np.asarray(user_ids), np.asarray(slates)
    if slates.ndim != 2 or len(slates) != len(user_ids):
        raise ValueError(f"slates must be (n_users, K), one row per user id; got {slates.shape} "
                         f"for {len(user_ids)} users")
    row_of = np.full(int(user_ids.max()) + 1, -1, dtype=np.int64)
    row_of[user_ids] = np.arange(len(user_ids))

    def policy(users, day=None):
        users = np.asarray(users)
        if np.any(users < 0) or np.any(users >= len(row_of)) or np.any(row_of[users] < 0):
            raise ValueError("policy: some arriving users have no slate (they are not in user_ids)")
        return slates[row_of[users]]

    return policy


def expected_value(policy: Policy, shop, k: int = 10, day: int | None = None) -> pd.Series:
    """Exact expected outcomes per request of ``policy``'s top ``k`` on ``day``, from the shop's truth.

    What an A/B test estimates: users arrive in proportion to their activity (among those signed
    up by ``day``; default: the day after the log) and each slate is worth
    ``Shop.expected_outcomes``. Returns clicks, purchases, gmv (EUR), profit (EUR) per request
    and ctr (clicks per impression).
    """
    day = int(shop.params.get("n_days", 30)) if day is None else int(day)
    users = np.flatnonzero(shop.signup_day <= day)
    w = shop.activity[users] / shop.activity[users].sum()
    slates = np.asarray(policy(users, day))[:, :k]
    value = pd.Series(w @ shop.expected_outcomes(users, slates).to_numpy(),
                      index=["clicks", "purchases", "gmv", "profit"])
    value["ctr"] = value["clicks"] / slates.shape[1]
    return value


#: What the A/B table reports: name -> (numerator, denominator or None, meaning).
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

    Columns request_id, user_id, impressions, clicks, purchases, gmv (EUR), profit (EUR),
    diversity and, when ``head`` (item ids of the catalogue's head) is given,
    tail_impressions (impressions of items outside it).
    """
    missing = [c for c in ("request_id", "user_id", "item_id", "position", "clicked", "purchased", "price",
                           "margin") if c not in log.columns]
    if missing:
        raise ValueError(f"log must be the output of Shop.simulate; missing columns {missing}")
    k = int(log["position"].max()) + 1
    n = len(log) // k
    if len(log) % k or not np.array_equal(log["position"].to_numpy(), np.tile(np.arange(k), n)):
        raise ValueError("log must hold K rows per request, in slot order, as Shop.simulate returns them")

    def grid(col):
        return log[col].to_numpy().reshape(n, k)

    items, purchased = grid("item_id"), grid("purchased")
    out = pd.DataFrame({
        "request_id": grid("request_id")[:, 0],
        "user_id": grid("user_id")[:, 0],
        "impressions": np.full(n, float(k)),
        "clicks": grid("clicked").sum(1).astype(np.float64),
        "purchases": purchased.sum(1).astype(np.float64),
        "gmv": (purchased * grid("price")).sum(1),
        "profit": (purchased * grid("margin")).sum(1),
        "diversity": metrics.intra_list_diversity(categories=shop.category[items]),
    })
    if head is not None:
        in_head = np.zeros(shop.n_items, dtype=bool)
        in_head[np.asarray(head)] = True
        out["tail_impressions"] = (~in_head[items]).sum(1).astype(np.float64)
    return out


def _linearised(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """Per-unit values whose mean is the ratio of sums R = sum(num) / sum(den), with R's spread.

    Delta method: R moves by about the mean of (num_i - R den_i) / mean(den), so
    R + (num_i - R den_i) / mean(den) has mean R and the sampling error of R.
    For a plain mean (den = 1) these are the values themselves.
    """
    r = num.sum() / den.sum()
    return r + (num - r * den) / den.mean()


def difference_test(num_a, num_b, den_a=None, den_b=None, paired: bool = True, level: float = 0.95) -> dict:
    """Difference B - A of a mean (or a ratio of sums) with its interval and p-value.

    num_a, num_b: (n,) per-unit values of each arm (e.g. GMV per request); den_a, den_b:
    optional denominators of a ratio metric (e.g. impressions, for CTR), linearised by the
    delta method. ``paired``: unit i of A and of B are the same request (common random
    numbers): ``inference.paired_difference``; otherwise Welch's t-test
    (``scipy.stats.ttest_ind(equal_var=False)``). Returns a, b, diff, low, high, p_value, test.
    """
    num_a, num_b = np.asarray(num_a, np.float64), np.asarray(num_b, np.float64)
    ratio = den_a is not None
    lin_a = _linearised(num_a, np.ones_like(num_a) if den_a is None else np.asarray(den_a, np.float64))
    lin_b = _linearised(num_b, np.ones_like(num_b) if den_b is None else np.asarray(den_b, np.float64))
    if paired:
        if len(lin_a) != len(lin_b):
            raise ValueError(f"a paired test needs the same units in both arms, got {len(lin_a)} and {len(lin_b)}")
        res = paired_difference(lin_a, lin_b, level)
        test = "paired t"
    else:
        welch = stats.ttest_ind(lin_b, lin_a, equal_var=False)
        ci = welch.confidence_interval(level)
        res = {"diff": lin_b.mean() - lin_a.mean(), "low": ci.low, "high": ci.high, "p_value": welch.pvalue}
        test = "Welch t"
    return {"a": lin_a.mean(), "b": lin_b.mean(), **res, "test": test + (" (delta method)" if ratio else "")}


def ab_table(log_a: pd.DataFrame, log_b: pd.DataFrame, shop, head=None, paired: bool = True,
             level: float = 0.95) -> pd.DataFrame:
    """Compare two simulated logs metric by metric: the A/B test's result table.

    log_a, log_b: outputs of ``Shop.simulate``. With ``paired`` they must hold the same requests
    (one seed for both arms: common random numbers). One row per metric of ``AB_METRICS``
    (tail_share only with ``head``): a, b, diff (B - A), diff_pct (100 diff / a), low and high
    (the interval of diff), p_value, significant (p < 1 - level), test and meaning.
    """
    ra, rb = request_metrics(log_a, shop, head), request_metrics(log_b, shop, head)
    if paired and not np.array_equal(ra["user_id"].to_numpy(), rb["user_id"].to_numpy()):
        raise ValueError("paired=True needs the same arriving users in both logs (simulate both arms with one seed)")
    rows = {}
    for name, (num, den, meaning) in AB_METRICS.items():
        if num in ra.columns and (den is None or den in ra.columns):
            dens = (None, None) if den is None else (ra[den], rb[den])
            rows[name] = {**difference_test(ra[num], rb[num], *dens, paired=paired, level=level), "meaning": meaning}
    table = pd.DataFrame.from_dict(rows, orient="index").rename_axis("metric")
    table.insert(3, "diff_pct", 100 * table["diff"] / table["a"].where(table["a"] != 0))
    table.insert(7, "significant", table["p_value"] < 1 - level)
    return table


def ab_test(policy_a: Policy, policy_b: Policy, n_requests: int, seed: int, *, shop, k: int = 10,
            day: int | None = None, head=None, common_random_numbers: bool = True,
            level: float = 0.95) -> pd.DataFrame:
    """A simulated online A/B test of two policies on the shop's true behaviour model.

    Each arm serves ``n_requests`` requests of ``Shop.simulate`` and shows the first ``k``
    items of its policy's slates. With ``common_random_numbers`` both arms use ``seed``: the
    same arriving users and the same uniform draws per (request, slot), compared request by
    request (paired). Without, arm B gets its own seed, as two independent halves of real
    traffic (Welch). Returns ``ab_table(...)``.
    """
    if int(n_requests) < 2:
        raise ValueError(f"n_requests must be at least 2, got {n_requests}")

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
    return ab_table(log_a, log_b, shop, head=head, paired=common_random_numbers, level=level)
