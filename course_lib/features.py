"""Input tables for the encoders: behaviour histories and raw feature dicts (hand-written plumbing).

NumPy and pandas only (no Keras). Notebook 02 teaches what is built on these tables and
exports it to ``course_lib.encoders``; notebook 03b reads the histories too.

What counts as an event: a click or a purchase of a shown item. Views are every impression,
mostly driven by what the logging policy chose to show, so they are left out by default
(pass ``event_types=("view", "click", "purchase")`` to include them). A purchase always
follows a click of the same item, so a bought item appears twice in a history: it weighs more.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.shop import ShopData

#: Pad id of histories: ``user_histories`` fills empty slots with it.
PAD = -1
#: Event types that make up a history by default (views are left out).
HISTORY_EVENTS = ("click", "purchase")
#: Events kept per user (the newest ones).
MAX_LEN = 20
_EVENT_ORDER = {"view": 0, "click": 1, "purchase": 2}


def _check_event_types(event_types) -> tuple[str, ...]:
    event_types = tuple(event_types)
    bad = [e for e in event_types if e not in _EVENT_ORDER]
    if not event_types or bad:
        raise ValueError(f"event_types must be a non-empty subset of {tuple(_EVENT_ORDER)}, got {event_types!r}")
    return event_types


def event_log(data: ShopData, end_day: int, event_types=HISTORY_EVENTS, first_day: int = 0) -> pd.DataFrame:
    """The behaviour events of days ``[first_day, end_day)``, in time order per user.

    Built from ``data.impressions``: a clicked impression gives a "click", a purchased one
    also a "purchase", and every impression a "view" (only when asked for). Returns columns
    user_id, item_id, kind (str), day, purchased (bool: the click led to a purchase), sorted
    by user, then time, then impression, then view < click < purchase.
    """
    event_types = _check_event_types(event_types)
    imp = data.impressions
    m = (imp["day"].to_numpy() >= first_day) & (imp["day"].to_numpy() < end_day)
    imp = imp.loc[m, ["impression_id", "user_id", "item_id", "timestamp", "day", "clicked", "purchased"]]
    parts = []
    for kind in event_types:
        rows = imp if kind == "view" else imp[imp["clicked"] if kind == "click" else imp["purchased"]]
        parts.append(rows.assign(kind=kind, _order=_EVENT_ORDER[kind]))
    ev = pd.concat(parts, ignore_index=True)
    ev = ev.sort_values(["user_id", "timestamp", "impression_id", "_order"], kind="stable").reset_index(drop=True)
    return ev[["user_id", "item_id", "kind", "day", "purchased"]]


def user_histories(data: ShopData, before_day: int, max_len: int = MAX_LEN, event_types=HISTORY_EVENTS) -> np.ndarray:
    """Each user's last ``max_len`` events strictly before ``before_day``.

    Returns an int32 array of item ids, shape (n_users, max_len), row u for user_id u,
    right-aligned with the newest event last (column max_len - 1) and empty slots on the
    left filled with ``PAD`` (-1). A user with no event gets a row of PAD.
    """
    if int(max_len) < 1:
        raise ValueError(f"max_len must be a positive integer, got {max_len!r}")
    ev = event_log(data, before_day, event_types)
    out = np.full((len(data.users), max_len), PAD, dtype=np.int32)
    users = ev["user_id"].to_numpy()
    from_end = ev.groupby("user_id", sort=False).cumcount(ascending=False).to_numpy()
    keep = from_end < max_len
    out[users[keep], max_len - 1 - from_end[keep]] = ev["item_id"].to_numpy()[keep]
    return out


def training_examples(data: ShopData, first_day: int, end_day: int, max_len: int = MAX_LEN,
                      event_types=HISTORY_EVENTS) -> dict[str, np.ndarray]:
    """One training row per click in days ``[first_day, end_day)``, with the history before it.

    Returns a dict of arrays, n = number of clicks: ``user_id`` (n,) int32, ``item_id`` (n,)
    int32 (the clicked item, the positive), ``history`` (n, max_len) int32 (the user's events
    strictly before the click, as in ``user_histories``, including those before ``first_day``),
    and ``weight`` (n,) float32: 2 when the click led to a purchase, else 1.
    """
    ev = event_log(data, end_day, event_types)
    users = ev["user_id"].to_numpy()
    items = ev["item_id"].to_numpy().astype(np.int32)
    start = np.r_[0, np.flatnonzero(users[1:] != users[:-1]) + 1]
    user_start = np.repeat(start, np.diff(np.r_[start, len(users)]))
    pos = np.flatnonzero((ev["kind"].to_numpy() == "click") & (ev["day"].to_numpy() >= first_day))
    idx = pos[:, None] - max_len + np.arange(max_len)[None, :]
    history = np.where(idx >= user_start[pos][:, None], items[np.clip(idx, 0, None)], PAD).astype(np.int32)
    return {
        "user_id": users[pos].astype(np.int32),
        "item_id": items[pos],
        "history": history,
        "weight": np.where(ev["purchased"].to_numpy()[pos], 2.0, 1.0).astype(np.float32),
    }


def item_inputs(items: pd.DataFrame) -> dict[str, np.ndarray]:
    """Raw item features, one entry per row of ``items``: the item tower's inputs.

    Returns ``item_id`` (n,) int32, ``category`` and ``brand`` (n,) str, ``price`` (n,)
    float32 in EUR, ``title`` (n,) str.
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


def user_inputs(users: pd.DataFrame, histories: np.ndarray) -> dict[str, np.ndarray]:
    """Raw user features with their histories: the user tower's inputs.

    users: the users table (n rows); histories: (n, max_len) item ids from ``user_histories``
    (row i belongs to ``users`` row i). Returns ``history`` (n, max_len) int32 and
    ``segment``, ``region``, ``device`` (n,) str.
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
