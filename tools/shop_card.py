"""The data card's figures (datasets/README.md), computed from the shipped shop: ``python tools/shop_card.py``.

``shop_realism`` and ``objective_conflict`` give the numbers the card states; tests/test_shop.py
asserts them. Run this after a change to the shop and update the card with what it prints.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.data import head_items, load_shop, split_by_time
from course_lib.shop import ShopData


def shop_realism(data: ShopData, n_pairs: int = 200_000, seed: int = 0) -> dict[str, float]:
    """The realism figures of the data card, from the logged impressions and the truth.

    ctr: clicks per impression. purchase_rate_per_click, cart_rate_per_click.
    oracle_auc: ROC AUC of the true P(click) against the logged clicks (the
    ceiling of any click model). coarse_auc: the same with the true taste
    replaced by its segment x category part (``Shop._taste(coarse=True)``), a
    ceiling for models that know only coarse features. individual_taste_share:
    on ``n_pairs`` random (user, item) pairs, the share of taste variance not
    explained by the segment x category means.
    """
    from sklearn.metrics import roc_auc_score

    imp, shop = data.impressions, data.shop
    truth = data.truth.set_index("impression_id").loc[imp["impression_id"].to_numpy()]
    coarse = shop.probabilities(imp["user_id"].to_numpy(), imp["item_id"].to_numpy(), imp["position"].to_numpy(),
                                coarse=True)["p_click"]
    rng = np.random.default_rng(seed)
    users = rng.integers(shop.n_users, size=n_pairs)
    items = rng.integers(shop.n_items, size=n_pairs)
    taste = pd.Series(shop._taste(users, items))
    group_mean = taste.groupby(shop.segment[users] * 100 + shop.category[items]).transform("mean")
    clicks = int(imp["clicked"].sum())
    return {
        "ctr": float(imp["clicked"].mean()),
        "cart_rate_per_click": float(imp["carted"].sum() / clicks),
        "purchase_rate_per_click": float(imp["purchased"].sum() / clicks),
        "oracle_auc": float(roc_auc_score(imp["clicked"], truth["p_click"])),
        "coarse_auc": float(roc_auc_score(imp["clicked"], coarse)),
        "individual_taste_share": float(((taste - group_mean) ** 2).mean() / taste.var(ddof=0)),
    }


def objective_conflict(data: ShopData, n_users: int = 2000, n_candidates: int = 100, k: int = 10,
                       day: int = 25, seed: int = 0) -> pd.DataFrame:
    """What ranking for one objective costs the others, from the true behaviour model.

    ``n_users`` random users each get ``n_candidates`` random items launched on
    or before ``day``; each ranking puts its top ``k`` in slots 0..k-1 and the
    shop gives the exact expected outcomes (examination (1 + slot) ** -0.7).
    Rankings: random; by true P(click) ("ctr"); by true P(purchase)
    ("purchases"); by expected GMV p_purchase x price ("gmv"); by expected
    profit p_purchase x margin ("profit"); long-tail items (outside the
    train-window head, see ``head_items``) first, each group by true P(click)
    ("long_tail_first"). Returns one row per ranking with the mean per request
    of clicks, purchases, gmv (EUR), profit (EUR), plus tail_share (share of
    shown items in the long tail) and mean_price (EUR).
    """
    shop = data.shop
    rng = np.random.default_rng(seed)
    users = rng.choice(shop.n_users, size=n_users, replace=False)
    launched = np.flatnonzero(shop.launch_day <= day)
    cand = np.stack([rng.choice(launched, size=n_candidates, replace=False) for _ in range(n_users)])
    p = shop.probabilities(users[:, None], cand, 0)
    head = np.zeros(shop.n_items, dtype=bool)
    head[head_items(split_by_time(data.impressions)["train"], shop.n_items)] = True
    scores = {
        "random": rng.random(cand.shape),
        "ctr": p["p_click"],
        "purchases": p["p_purchase"],
        "gmv": p["p_purchase"] * shop.price[cand],
        "profit": p["p_purchase"] * shop.margin[cand],
        "long_tail_first": (~head[cand]).astype(float) + p["p_click"],
    }
    rows = {}
    for name, score in scores.items():
        slates = np.take_along_axis(cand, np.argsort(-score, axis=1, kind="stable")[:, :k], axis=1)
        row = shop.expected_outcomes(users, slates).mean()
        row["tail_share"] = float((~head[slates]).mean())
        row["mean_price"] = float(shop.price[slates].mean())
        rows[name] = row
    return pd.DataFrame(rows).T.rename_axis("ranked_by")


def main() -> None:
    data = load_shop()
    print(data.summary().to_string())
    print(pd.Series(shop_realism(data)).round(4).to_string())
    print(objective_conflict(data).round(3).to_string())


if __name__ == "__main__":
    main()
