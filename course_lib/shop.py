"""The simulated shop: an e-commerce world whose behaviour model is known.

Real logs never tell you the true probability that a user clicks an item; this shop does, so the course
can show the ceiling a model can reach, compute the exact expected revenue of any ranking and run fair
A/B tests. Items have a category, brand, price, margin, hidden quality and hidden 8-dimensional taste
vector; users a segment, hidden taste, price sensitivity and activity rate. A legacy logging policy shows
each request a slate of 10 items and logs every impression with its position and propensity. Users
examine slot ``k`` (0-based) with probability ``(1 + k) ** -0.7``, click an examined item with probability
``sigmoid(attractiveness)``; some clicks become carts and some carts purchases. Conflict by construction:
cheap popular items win clicks, expensive ones revenue, high-margin ones profit, long-tail ones diversity.
datasets/README.md (the data card) states the model in full. ``Shop`` is the truth; the generator that drew
the shipped tables, ``generate``, lives in tools/make_shop.py (no notebook runs it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import ndtr

# ---- Constants of the world ----

TASTE_DIM = 8
_TASTE_COLS = [f"taste_{d}" for d in range(TASTE_DIM)]
SLATE_SIZE = 10
START_DATE = pd.Timestamp("2025-10-01", tz="UTC")

# name, share of the catalogue, median price (EUR), base margin rate, nouns
CATEGORIES = [
    ("electronics", 0.12, 120.0, 0.12, ["headphones", "speaker", "charger", "camera", "keyboard", "monitor"]),
    ("fashion", 0.14, 35.0, 0.45, ["jacket", "sneakers", "dress", "scarf", "jeans", "hoodie"]),
    ("home", 0.11, 45.0, 0.30, ["lamp", "cushion", "rug", "vase", "clock", "shelf"]),
    ("beauty", 0.09, 18.0, 0.50, ["serum", "lipstick", "shampoo", "perfume", "cream", "mascara"]),
    ("sports", 0.08, 40.0, 0.30, ["yoga mat", "dumbbell", "racket", "bottle", "helmet", "backpack"]),
    ("toys", 0.07, 25.0, 0.35, ["puzzle", "robot", "doll", "blocks", "kite", "board game"]),
    ("books", 0.09, 12.0, 0.20, ["novel", "cookbook", "atlas", "comic", "guide", "journal"]),
    ("grocery", 0.08, 6.0, 0.15, ["coffee", "tea", "chocolate", "olive oil", "pasta", "honey"]),
    ("garden", 0.06, 30.0, 0.30, ["planter", "hose", "shears", "seeds", "lantern", "bench"]),
    ("pets", 0.06, 15.0, 0.25, ["leash", "pet bed", "treats", "collar", "bowl", "toy mouse"]),
    ("auto", 0.05, 50.0, 0.20, ["wiper", "dash cam", "seat cover", "jump starter", "polish", "mat set"]),
    ("office", 0.05, 10.0, 0.35, ["notebook", "pen set", "stapler", "desk tray", "planner", "marker"]),
]
CATEGORY_NAMES = [c[0] for c in CATEGORIES]
_MEDIAN_PRICE = np.array([c[2] for c in CATEGORIES])

# name, share of users, price sensitivity beta
SEGMENTS = [
    ("bargain_hunter", 0.35, 1.6), ("brand_loyalist", 0.20, 0.8), ("explorer", 0.30, 1.0), ("premium", 0.15, 0.4),
]
SEGMENT_NAMES = [s[0] for s in SEGMENTS]
REGIONS = ["north", "south", "east", "west"]
DEVICES = ["mobile", "desktop", "tablet"]

# The behaviour model's coefficients (the data card states the formulas).
BEHAVIOUR = {
    "click_intercept": -3.1, "click_taste": 0.9, "click_quality": 0.4, "click_price": 0.6, "loyalty_bonus": 0.8,
    "position_decay": 0.7,
    "buy_intercept": -3.2, "buy_taste": 0.5, "buy_quality": 0.6, "buy_price": 0.5, "buy_reference_price": 20.0,
}
LOGGING = {"epsilon": 0.15, "popularity": 1.0, "personalisation": 1.2}

# Beyond one request (notebooks 08 and 09). Each quantity has its own random stream,
# ``np.random.default_rng([seed, STREAMS[name]])``, so adding it changed none of the older tables.
STREAMS = {"ads": 1, "ratings": 2, "days": 3, "sessions": 4}
#: Stars after a purchase (ordered probit): r = intercept + taste * taste(u, i) + quality * q_i
#: - price * beta_u * log(price_i / category median) + noise * N(0, 1); stars = 1 + #(thresholds below r).
RATING = {"intercept": -2.4, "taste": 0.8, "quality": 0.6, "price": 1.5, "noise": 1.0,
          "thresholds": (-0.9, -0.3, 0.4, 1.2)}
#: A visit's satisfaction S = click * clicks + star * sum over its purchases of (stars - 3).
SATISFACTION = {"click": 0.2, "star": 1.0}
#: After each visit the user comes back (on later days) with P = sigmoid(intercept + satisfaction * S),
#: otherwise they leave the shop for good.
RETENTION = {"intercept": 1.5, "satisfaction": 1.5}
#: In-session intent toward category c after page t: decay * (intent before) + shift * (clicks on page t in
#: category c); it adds to the attractiveness of category c's items on the session's later pages.
INTENT = {"shift": 1.0, "decay": 0.5}
#: What tools/make_shop.py saves and ``data.load_shop`` reads (not the per-impression truth: it is rebuilt).
TABLES = ["items", "users", "impressions", "events", "truth_items", "truth_users", "ads", "ratings"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class ShopData:
    """The tables of one simulated shop.

    Observable: items, users, impressions (one row per item shown), events (one row per view, click,
    cart or purchase), ads (one row per item: sponsored, bid) and ratings (one row per purchase: stars).
    Ground truth: truth (one row per impression, by ``impression_id``: the unconditional true
    ``p_click``, ``p_cart``, ``p_purchase``; rebuilt from the hidden parameters when None),
    truth_items and truth_users (the hidden parameters), and ``shop``, the true model anywhere.
    """

    items: pd.DataFrame
    users: pd.DataFrame
    impressions: pd.DataFrame
    events: pd.DataFrame
    truth: pd.DataFrame | None
    truth_items: pd.DataFrame
    truth_users: pd.DataFrame
    params: dict = field(default_factory=dict)
    ads: pd.DataFrame | None = None
    ratings: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if self.truth is None:
            imp = self.impressions
            ids = (imp["user_id"].to_numpy(), imp["item_id"].to_numpy(), imp["position"].to_numpy())
            p = self.shop.probabilities(*ids)
            self.truth = pd.DataFrame({"impression_id": imp["impression_id"].to_numpy()})
            for name in ["p_click", "p_cart", "p_purchase"]:
                self.truth[name] = p[name].astype(np.float32)

    @property
    def shop(self) -> Shop:
        """The true behaviour model behind these tables."""
        return Shop(self.items, self.users, self.truth_items, self.truth_users, self.params, self.ads)

    def summary(self) -> pd.Series:
        """Sizes and counts (users, items, days, requests, impressions, events, clicks, carts, purchases)."""
        imp = self.impressions
        return pd.Series({
            "users": len(self.users), "items": len(self.items), "days": int(self.params["n_days"]),
            "requests": int(imp["request_id"].nunique()), "impressions": len(imp), "events": len(self.events),
            "clicks": int(imp["clicked"].sum()), "carts": int(imp["carted"].sum()),
            "purchases": int(imp["purchased"].sum()),
        })


class Shop:
    """The true behaviour model of a shop, for any user, item and position.

    Build it from the tables (``ShopData.shop``). Every method takes integer ``user_ids`` and
    ``item_ids`` arrays that broadcast against each other: ``(n_users, 1)`` users against
    ``(n_users, n_candidates)`` items score whole candidate sets at once.
    """

    def __init__(self, items, users, truth_items, truth_users, params, ads=None):
        self.params = dict(params)
        self.n_items, self.n_users = len(items), len(users)
        ti, it = truth_items.sort_values("item_id"), items.sort_values("item_id")
        tu, us = truth_users.sort_values("user_id"), users.sort_values("user_id")
        for names, key, n, tables in [("items and truth_items", "item_id", self.n_items, (ti, it)),
                                      ("users and truth_users", "user_id", self.n_users, (tu, us))]:
            if not all(np.array_equal(t[key], np.arange(n)) for t in tables):
                raise ValueError(f"{names} must hold {key} 0..{n - 1} exactly once")
        self.item_taste = ti[_TASTE_COLS].to_numpy(np.float64)
        self.user_taste = tu[_TASTE_COLS].to_numpy(np.float64)
        self.quality = ti["quality"].to_numpy(np.float64)
        self.logging_score = ti["logging_score"].to_numpy(np.float64)
        self.beta = tu["price_sensitivity"].to_numpy(np.float64)
        self.activity = tu["activity_rate"].to_numpy(np.float64)
        self.favourite_brand = tu["favourite_brand"].to_numpy()
        self.price = it["price"].to_numpy(np.float64)
        self.margin = (it["price"] * it["margin_rate"]).to_numpy(np.float64)
        self.brand = it["brand"].to_numpy()
        self.category = pd.Categorical(it["category"], categories=CATEGORY_NAMES).codes.astype(np.int64)
        self.launch_day = it["launch_day"].to_numpy(np.int64)
        self.segment = pd.Categorical(us["segment"], categories=SEGMENT_NAMES).codes.astype(np.int64)
        self.signup_day = us["signup_day"].to_numpy(np.int64)
        # Sponsored items and their cost-per-click bids (EUR); none without an ads table.
        ad = None if ads is None else ads.sort_values("item_id")
        self.sponsored = np.zeros(self.n_items, bool) if ad is None else ad["sponsored"].to_numpy(bool)
        self.bid = np.zeros(self.n_items) if ad is None else ad["bid"].to_numpy(np.float64)
        self.log_rel_price = np.log(self.price / _MEDIAN_PRICE[self.category])
        self.log_ref_price = np.log(self.price / BEHAVIOUR["buy_reference_price"])
        # Segment-by-category taste: what coarse features alone can know.
        self.segment_centres = np.array(self.params["segment_centres"])
        self.category_centres = np.array(self.params["category_centres"])

    # ---- One request ----

    def _taste(self, user_ids, item_ids, coarse: bool = False) -> np.ndarray:
        """Taste match w_u . v_i / sqrt(8); ``coarse``: of the segment and category centres instead."""
        user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
        if coarse:
            u = self.segment_centres[self.segment[user_ids]]
            v = self.category_centres[self.category[item_ids]]
        else:
            u = self.user_taste[user_ids]
            v = self.item_taste[item_ids]
        return np.einsum("...d,...d->...", u, v) / np.sqrt(TASTE_DIM)

    def _attractiveness(self, user_ids, item_ids, coarse: bool = False, intent=None) -> np.ndarray:
        """Logit of P(click | examined); ``intent`` as in ``probabilities``."""
        b = BEHAVIOUR
        user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
        loyal = (self.favourite_brand[user_ids] == self.brand[item_ids]) & (self.segment[user_ids] == 1)
        a = (
            b["click_intercept"]
            + b["click_taste"] * self._taste(user_ids, item_ids, coarse)
            + b["click_quality"] * self.quality[item_ids]
            - b["click_price"] * self.beta[user_ids] * self.log_rel_price[item_ids]
            + b["loyalty_bonus"] * loyal
        )
        if intent is None:
            return a
        intent, cats = np.asarray(intent, dtype=np.float64), self.category[item_ids]
        if intent.ndim == cats.ndim + 1:
            return a + np.take_along_axis(intent, cats[..., None], axis=-1)[..., 0]
        return a + np.take_along_axis(intent, cats, axis=-1)

    @staticmethod
    def examination(positions) -> np.ndarray:
        """P(user looks at slot k), k 0-based: (1 + k) ** -0.7, the shape of ``positions``."""
        return (1.0 + np.asarray(positions, dtype=np.float64)) ** -BEHAVIOUR["position_decay"]

    def p_purchase_given_click(self, user_ids, item_ids, coarse: bool = False) -> np.ndarray:
        """P(purchase | click), broadcast shape: taste, quality and the absolute price matter."""
        b = BEHAVIOUR
        user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
        z = (
            b["buy_intercept"]
            + b["buy_taste"] * self._taste(user_ids, item_ids, coarse)
            + b["buy_quality"] * self.quality[item_ids]
            - b["buy_price"] * self.beta[user_ids] * self.log_ref_price[item_ids]
        )
        return _sigmoid(z)

    def probabilities(self, user_ids, item_ids, positions=0, coarse: bool = False,
                      intent=None) -> dict[str, np.ndarray]:
        """True probabilities of one impression, each of the broadcast shape.

        Returns ``p_click`` = P(click), ``p_cart`` = P(click and cart), ``p_purchase`` = P(click, cart
        and purchase) and ``p_purchase_given_click``; P(cart | click) = P(purchase | cart) =
        sqrt(P(purchase | click)). coarse: the taste of the segment and category centres only (what
        coarse features can know). intent: in-session intent ``(n, n_categories)`` for items of shape
        ``(n,)`` or ``(n, K)``; it adds ``intent[row, category of the item]`` to the click logit only.
        """
        p_ctr = self.examination(positions) * _sigmoid(self._attractiveness(user_ids, item_ids, coarse, intent))
        p_cvr = self.p_purchase_given_click(user_ids, item_ids, coarse)
        return {
            "p_click": p_ctr,
            "p_cart": p_ctr * np.sqrt(p_cvr),
            "p_purchase": p_ctr * p_cvr,
            "p_purchase_given_click": p_cvr,
        }

    def expected_outcomes(self, user_ids, slates) -> pd.DataFrame:
        """Exact expected clicks, purchases, gmv (EUR) and profit (EUR) of ranked slates, one row per request.

        user_ids: (n,) ints; slates: (n, K) item ids, slot 0 on top. Each value sums over the K slots.
        """
        user_ids = np.asarray(user_ids)[:, None]
        slates = np.asarray(slates)
        p = self.probabilities(user_ids, slates, np.arange(slates.shape[1])[None, :])
        return pd.DataFrame({
            "clicks": p["p_click"].sum(1),
            "purchases": p["p_purchase"].sum(1),
            "gmv": (p["p_purchase"] * self.price[slates]).sum(1),
            "profit": (p["p_purchase"] * self.margin[slates]).sum(1),
        })

    def logging_probs(self, user_ids, days) -> np.ndarray:
        """The logging policy's first-slot distribution over items, (n, n_items).

        (1 - epsilon) of a softmax over popularity plus segment-level personalisation, epsilon uniform
        over the items launched by ``day``. Later slots draw from it without replacement.
        """
        user_ids, days = np.asarray(user_ids), np.asarray(days)
        launched = self.launch_day[None, :] <= days[:, None]
        coarse = self._taste(user_ids[:, None], np.arange(self.n_items)[None, :], coarse=True)
        s = LOGGING["popularity"] * self.logging_score[None, :] + LOGGING["personalisation"] * coarse
        s = np.where(launched, s, -np.inf)
        s = s - s.max(1, keepdims=True)
        soft = np.exp(s)
        soft /= soft.sum(1, keepdims=True)
        uniform = launched / launched.sum(1, keepdims=True)
        return (1 - LOGGING["epsilon"]) * soft + LOGGING["epsilon"] * uniform

    def _sample_slates(self, user_ids, days, rng: np.random.Generator, k: int = SLATE_SIZE):
        """Slates of the logging policy and their propensities (given the slots above), both (n, k)."""
        n = len(user_ids)
        slates = np.empty((n, k), dtype=np.int64)
        props = np.empty((n, k), dtype=np.float64)
        for start in range(0, n, 2048):
            stop = min(start + 2048, n)
            p = self.logging_probs(user_ids[start:stop], days[start:stop])
            rows = np.arange(stop - start)
            for slot in range(k):
                total = p.sum(1)
                u = rng.random(stop - start) * total
                idx = np.minimum((np.cumsum(p, 1) < u[:, None]).sum(1), self.n_items - 1)
                idx = np.where(p[rows, idx] > 0, idx, p.argmax(1))  # guard against float edge cases
                slates[start:stop, slot] = idx
                props[start:stop, slot] = p[rows, idx] / total
                p[rows, idx] = 0.0
        return slates, props

    # ---- New traffic ----

    def _arrivals(self, n: int, day: int | None, rng: np.random.Generator) -> tuple[np.ndarray, int]:
        """(n,) users arriving on ``day`` (default: the day after the log), in proportion to activity; and the day."""
        day = int(self.params["n_days"]) if day is None else int(day)
        w = self.activity * (self.signup_day <= day)
        return rng.choice(self.n_users, size=n, p=w / w.sum()), day

    def simulate(self, policy, n_requests: int, seed: int, day: int | None = None) -> pd.DataFrame:
        """Run ``policy`` on new traffic and sample what users do.

        policy: ``policy(user_ids (n,), day) -> slates (n, K)`` item ids, best first. One ``seed`` gives
        the same arriving users and random numbers for every (request, slot) whatever the policy (common
        random numbers). Returns one row per impression: request_id, user_id, item_id, position,
        clicked, carted, purchased, price, margin (EUR) and the true p_click, p_cart, p_purchase.
        """
        rng = np.random.default_rng(seed)
        users, day = self._arrivals(n_requests, day, rng)
        draws = rng.random((n_requests, 64, 3))
        slates = _checked_slates(policy(users, day), n_requests, "n_requests")
        k = slates.shape[1]
        if k > draws.shape[1]:
            raise ValueError(f"slates of at most {draws.shape[1]} items are supported, got K={k}")
        return self._outcomes(users, slates, draws[:, :k], request_ids=np.arange(n_requests))

    def _outcomes(self, users, slates, draws, request_ids) -> pd.DataFrame:
        n, k = slates.shape
        pos = np.broadcast_to(np.arange(k), (n, k))
        p = self.probabilities(users[:, None], slates, pos)
        clicked = draws[..., 0] < p["p_click"]
        carted = clicked & (draws[..., 1] < np.sqrt(p["p_purchase_given_click"]))
        purchased = carted & (draws[..., 2] < np.sqrt(p["p_purchase_given_click"]))
        return pd.DataFrame({
            "request_id": np.repeat(request_ids, k),
            "user_id": np.repeat(users, k),
            "item_id": slates.ravel(),
            "position": pos.ravel(),
            "clicked": clicked.ravel(),
            "carted": carted.ravel(),
            "purchased": purchased.ravel(),
            "price": self.price[slates].ravel(),
            "margin": self.margin[slates].ravel(),
            "p_click": p["p_click"].ravel(),
            "p_cart": p["p_cart"].ravel(),
            "p_purchase": p["p_purchase"].ravel(),
        })

    # ---- Beyond one request: stars, ad revenue, retention (notebook 08) ----

    def _rating_mean(self, user_ids, item_ids) -> np.ndarray:
        """Mean of the latent rating r (before noise), broadcast shape; see ``RATING``."""
        r = RATING
        user_ids, item_ids = np.asarray(user_ids), np.asarray(item_ids)
        return (
            r["intercept"]
            + r["taste"] * self._taste(user_ids, item_ids)
            + r["quality"] * self.quality[item_ids]
            - r["price"] * self.beta[user_ids] * self.log_rel_price[item_ids]
        )

    def expected_rating(self, user_ids, item_ids) -> np.ndarray:
        """E[stars | the user bought the item] (1 to 5), broadcast shape; the ordered probit of ``RATING``."""
        mu = self._rating_mean(user_ids, item_ids)[..., None]
        above = ndtr((mu - np.asarray(RATING["thresholds"])) / RATING["noise"])  # P(r > threshold_k)
        at_least = np.concatenate([np.ones_like(mu), above, np.zeros_like(mu)], axis=-1)  # P(stars >= 1..6)
        return (at_least[..., :-1] - at_least[..., 1:]) @ np.arange(1.0, 6.0)

    def _draw_stars(self, user_ids, item_ids, noise) -> np.ndarray:
        """Stars (int8, 1 to 5) given standard normal ``noise`` of the broadcast shape."""
        r = self._rating_mean(user_ids, item_ids) + RATING["noise"] * np.asarray(noise)
        return (1 + (r[..., None] > np.asarray(RATING["thresholds"])).sum(-1)).astype(np.int8)

    def expected_long_term(self, user_ids, slates) -> pd.DataFrame:
        """Exact expected ad revenue, stars and satisfaction of ranked slates, one row per visit.

        user_ids: (n,) ints; slates: (n, K) item ids, slot 0 on top. ad_revenue: EUR, sum of bid x
        P(click); stars: expected sum of the stars of the visit's purchases; satisfaction: E[S] (see
        ``SATISFACTION``). ``expected_outcomes`` gives clicks, purchases, GMV and profit.
        """
        users, slates = np.asarray(user_ids)[:, None], np.asarray(slates)
        p = self.probabilities(users, slates, np.arange(slates.shape[1])[None, :])
        stars = self.expected_rating(users, slates)
        sat = SATISFACTION
        return pd.DataFrame({
            "ad_revenue": (p["p_click"] * self.bid[slates]).sum(1),
            "stars": (p["p_purchase"] * stars).sum(1),
            "satisfaction": (sat["click"] * p["p_click"] + sat["star"] * p["p_purchase"] * (stars - 3)).sum(1),
        })

    def simulate_days(self, policy, n_days: int = 30, seed: int = 0, start_day: int | None = None) -> pd.DataFrame:
        """Run ``policy`` day after day, with retention: unhappy users leave for good.

        policy: as in ``simulate``. Every user signed up by ``start_day`` (default: the day after the log)
        starts in the shop; each day each of them visits with probability ``1 - exp(-activity_rate)`` and
        sees one slate; the visit's satisfaction S decides whether they come back (``RETENTION``). Common
        random numbers per (user, day). Returns one row per day: day, in_shop (at the start of the day),
        visitors, returning (seen on an earlier simulated day), left, clicks, purchases, gmv, profit,
        ad_revenue (EUR), mean_stars (NaN without purchases) and satisfaction (mean S per visit).
        """
        start = int(self.params["n_days"]) if start_day is None else int(start_day)
        in_shop = self.signup_day <= start
        seen = np.zeros(self.n_users, dtype=bool)
        p_visit = 1.0 - np.exp(-self.activity)
        rows = []
        for d in range(int(n_days)):
            rng = np.random.default_rng([seed, STREAMS["days"], d])
            visit_draw, stay_draw = rng.random(self.n_users), rng.random(self.n_users)
            visitors = np.flatnonzero(in_shop & (visit_draw < p_visit))
            row = {"day": start + d, "in_shop": int(in_shop.sum()), "visitors": len(visitors),
                   "returning": int(seen[visitors].sum())}
            slates = np.asarray(policy(visitors, start + d)).reshape(len(visitors), -1)
            k = slates.shape[1]
            draws = rng.random((self.n_users, k, 2))[visitors]
            noise = rng.standard_normal((self.n_users, k))[visitors]
            p = self.probabilities(visitors[:, None], slates, np.arange(k)[None, :])
            clicked = draws[..., 0] < p["p_click"]
            # P(purchase | click) as one draw; the cart step in between plays no part here.
            purchased = clicked & (draws[..., 1] < p["p_purchase_given_click"])
            stars = self._draw_stars(visitors[:, None], slates, noise)
            sat = SATISFACTION["click"] * clicked.sum(1) + SATISFACTION["star"] * ((stars - 3.0) * purchased).sum(1)
            stays = stay_draw[visitors] < _sigmoid(RETENTION["intercept"] + RETENTION["satisfaction"] * sat)
            in_shop[visitors[~stays]] = False
            seen[visitors] = True
            row.update(
                left=int((~stays).sum()),
                clicks=int(clicked.sum()),
                purchases=int(purchased.sum()),
                gmv=float((purchased * self.price[slates]).sum()),
                profit=float((purchased * self.margin[slates]).sum()),
                ad_revenue=float((clicked * self.bid[slates]).sum()),
                mean_stars=float(stars[purchased].mean()) if purchased.any() else np.nan,
                satisfaction=float(sat.mean()) if len(sat) else np.nan,
            )
            rows.append(row)
        return pd.DataFrame(rows)

    # ---- In-session intent (notebook 09) ----

    def _next_intent(self, intent, slates, clicked) -> np.ndarray:
        """The intent after one more page, (n, n_categories): decay x intent + shift x the page's clicks by category."""
        slates, clicked = np.asarray(slates), np.asarray(clicked, dtype=np.float64)
        n, k = slates.shape
        counts = np.zeros((n, len(CATEGORIES)))
        np.add.at(counts, (np.repeat(np.arange(n), k), self.category[slates].ravel()), clicked.ravel())
        return INTENT["decay"] * np.asarray(intent, dtype=np.float64) + INTENT["shift"] * counts

    def simulate_sessions(self, policy, n_sessions: int, n_pages: int = 5, seed: int = 0,
                          day: int | None = None) -> pd.DataFrame:
        """Sessions of ``n_pages`` pages under a policy that may react to the session's clicks.

        policy: ``policy(user_ids, day, shown, clicked) -> slates (n, K)``, with ``shown`` (n, t, K) the
        item ids of the t pages already shown (t = 0 on the first page) and ``clicked`` (n, t, K) bools.
        Users arrive as in ``simulate``; the true click probability includes the intent the session's
        earlier clicks built (``INTENT``). Common random numbers per (session, page, slot) for equal K.
        Returns one row per impression: session_id, page, position, user_id, item_id, clicked,
        purchased, price (EUR), p_click (true, with the intent), p_click_static (without: what a static
        model knows at best) and p_purchase (true, with the intent).
        """
        rng = np.random.default_rng([seed, STREAMS["sessions"]])
        users, day = self._arrivals(int(n_sessions), day, rng)
        n = len(users)
        intent = np.zeros((n, len(CATEGORIES)))
        shown = np.zeros((n, 0, 0), dtype=np.int64)
        clicked = np.zeros((n, 0, 0), dtype=bool)
        parts = []
        for page in range(int(n_pages)):
            slates = _checked_slates(policy(users, day, shown, clicked), n, "n_sessions")
            k = slates.shape[1]
            draws = rng.random((n, k, 2))
            pos = np.arange(k)[None, :]
            p = self.probabilities(users[:, None], slates, pos, intent=intent)
            static = self.probabilities(users[:, None], slates, pos)["p_click"]
            click = draws[..., 0] < p["p_click"]
            buy = click & (draws[..., 1] < p["p_purchase_given_click"])
            parts.append(pd.DataFrame({
                "session_id": np.repeat(np.arange(n), k), "page": page, "position": np.tile(np.arange(k), n),
                "user_id": np.repeat(users, k), "item_id": slates.ravel(), "clicked": click.ravel(),
                "purchased": buy.ravel(), "price": self.price[slates].ravel(), "p_click": p["p_click"].ravel(),
                "p_click_static": static.ravel(), "p_purchase": p["p_purchase"].ravel(),
            }))
            intent = self._next_intent(intent, slates, click)
            shown = np.concatenate([shown.reshape(n, page, k), slates[:, None, :]], axis=1)
            clicked = np.concatenate([clicked.reshape(n, page, k), click[:, None, :]], axis=1)
        out = pd.concat(parts, ignore_index=True)
        return out.sort_values(["session_id", "page", "position"], kind="stable").reset_index(drop=True)


def _checked_slates(slates, n: int, what: str) -> np.ndarray:
    slates = np.asarray(slates)
    if slates.ndim != 2 or slates.shape[0] != n:
        raise ValueError(f"policy must return an ({what}, K) array of item ids, got shape {slates.shape}")
    return slates


# ---- Users, requests and events: drawn for the shipped shop (tools/make_shop.py) and for write_large_log ----


def _make_users(rng, n_users, n_days, items):
    n_seg = len(SEGMENTS)
    seg_centres = rng.normal(size=(n_seg, TASTE_DIM))
    shares = np.array([s[1] for s in SEGMENTS])
    segment = rng.choice(n_seg, size=n_users, p=shares)
    taste = seg_centres[segment] + 1.0 * rng.normal(size=(n_users, TASTE_DIM))
    beta = np.array([s[2] for s in SEGMENTS])[segment] * np.exp(0.25 * rng.normal(size=n_users))
    activity = np.exp(rng.normal(np.log(0.15), 0.9, size=n_users))  # sessions per day
    new_user = rng.random(n_users) < 0.2
    signup_day = np.where(new_user, rng.integers(0, n_days, size=n_users), -rng.integers(1, 1000, size=n_users))
    brands = np.sort(items["brand"].unique())
    favourite = np.array(brands)[rng.integers(len(brands), size=n_users)]
    users = pd.DataFrame({
        "user_id": np.arange(n_users, dtype=np.int32),
        "segment": pd.Categorical(np.array(SEGMENT_NAMES)[segment], categories=SEGMENT_NAMES),
        "region": pd.Categorical(rng.choice(REGIONS, size=n_users, p=[0.3, 0.25, 0.25, 0.2]), categories=REGIONS),
        "device": pd.Categorical(rng.choice(DEVICES, size=n_users, p=[0.6, 0.3, 0.1]), categories=DEVICES),
        "signup_day": signup_day.astype(np.int16),
    })
    truth_users = pd.DataFrame({"user_id": users["user_id"], "price_sensitivity": beta, "activity_rate": activity,
                                "favourite_brand": favourite})
    for d in range(TASTE_DIM):
        truth_users[f"taste_{d}"] = taste[:, d]
    return users, truth_users, seg_centres


def _hour_of_day(rng, n):
    """Local hour with an evening peak and a night trough, (n,) floats in [0, 24)."""
    hours = np.arange(24)
    w = 1.0 + 0.6 * np.cos((hours - 20) / 24 * 2 * np.pi) + 0.25 * np.cos((hours - 12) / 12 * 2 * np.pi)
    return rng.choice(24, size=n, p=w / w.sum()) + rng.random(n)


def _make_requests(rng, shop: Shop, n_days: int) -> pd.DataFrame:
    """Sessions of page requests: one row per request, sorted by time."""
    active_days = n_days - np.clip(shop.signup_day, 0, None)
    n_sessions = rng.poisson(shop.activity * active_days)
    user = np.repeat(np.arange(shop.n_users), n_sessions)
    first = np.clip(shop.signup_day, 0, None)[user]
    day = first + (rng.random(len(user)) * (n_days - first)).astype(np.int64)
    # Weekends are a little busier: thin weekday sessions.
    weekday = (START_DATE.day_of_week + day) % 7
    keep = (weekday >= 5) | (rng.random(len(user)) < 0.85)
    user, day = user[keep], day[keep]
    start = day * 86400.0 + _hour_of_day(rng, len(user)) * 3600.0
    pages = rng.geometric(0.45, size=len(user))  # 1, 2, 3, ... pages per session
    session = np.repeat(np.arange(len(user)), pages)
    gaps = rng.exponential(75.0, size=len(session))
    first_page = np.r_[True, session[1:] != session[:-1]]
    cum = np.cumsum(np.where(first_page, 0.0, gaps))
    offset = cum - np.maximum.accumulate(np.where(first_page, cum, 0.0))
    req = pd.DataFrame({"session_id": session, "user_id": user[session], "t": start[session] + offset})
    req["day"] = np.minimum((req["t"] // 86400).astype(np.int64), n_days - 1)
    req = req.sort_values(["t", "user_id"], kind="stable").reset_index(drop=True)
    req["session_id"] = pd.factorize(req["session_id"])[0]  # renumbered in time order
    req["request_id"] = np.arange(len(req))
    return req


def _events(rng, impressions: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """The long event log, shaped like real logs: view, click, cart, purchase, each after a random delay."""
    n, t = len(impressions), impressions["timestamp"]
    elapsed = pd.Series(np.zeros(n))
    parts = []
    for kind, mean_delay, label in [("view", None, None), ("click", 15.0, "clicked"), ("cart", 90.0, "carted"),
                                    ("purchase", 240.0, "purchased")]:
        if mean_delay is not None:
            elapsed = elapsed + rng.exponential(mean_delay, size=n)
        m = np.ones(n, dtype=bool) if label is None else impressions[label].to_numpy()
        parts.append(pd.DataFrame({
            "user_id": impressions["user_id"].to_numpy()[m],
            "item_id": impressions["item_id"].to_numpy()[m],
            "event_type": kind,
            "timestamp": (t + pd.to_timedelta(elapsed.round(3), unit="s")).array[m],
            "session_id": impressions["session_id"].to_numpy()[m],
        }))
    ev = pd.concat(parts, ignore_index=True)
    ev["timestamp"] = ev["timestamp"].astype("datetime64[ms, UTC]")
    ev = ev.sort_values(["timestamp", "user_id", "item_id"], kind="stable").reset_index(drop=True)
    ev["event_type"] = pd.Categorical(ev["event_type"], categories=["view", "click", "cart", "purchase"])
    info = items.set_index("item_id")
    ev["price"] = info["price"].to_numpy()[ev["item_id"].to_numpy()]
    ev["category"] = pd.Categorical(info["category"].to_numpy()[ev["item_id"].to_numpy()], categories=CATEGORY_NAMES)
    return ev[["user_id", "item_id", "event_type", "timestamp", "price", "category", "session_id"]]


# ---- Large logs in chunks (notebook 10) ----
#
# Chunk k is a fresh cohort of users in the same world (catalogue, segment centres, behaviour model),
# simulated from its own stream ``np.random.default_rng([seed, LARGE_LOG_STREAM, k])``: any chunk can be
# written alone, in any order, on any machine, and comes out the same. Nothing here is shipped.

#: Tag of the large log's random streams (the shop's own streams use 1 to 4, see ``STREAMS``).
LARGE_LOG_STREAM = 10
#: Session ids of chunk k are ``k * SESSION_STRIDE + (the session's number within the chunk)``.
SESSION_STRIDE = 10_000_000
#: Where ``write_large_log`` writes when given no folder (git-ignored, like every artifact).
LARGE_LOG_PATH = Path(__file__).resolve().parent.parent / "artifacts" / "large_log"


def _cohort(items, truth_items, params, n_users: int, rng: np.random.Generator) -> Shop:
    """A ``Shop`` of ``n_users`` new users in an existing world: ``_make_users`` draws fresh segment centres,
    so each user's taste moves onto the world's (``params["segment_centres"]``), keeping its deviation."""
    users, truth_users, own_centres = _make_users(rng, n_users, int(params["n_days"]), items)
    segment = pd.Categorical(users["segment"], categories=SEGMENT_NAMES).codes
    shift = np.asarray(params["segment_centres"]) - own_centres
    truth_users[_TASTE_COLS] = truth_users[_TASTE_COLS].to_numpy() + shift[segment]
    return Shop(items, users, truth_items, truth_users, params)


def _policy_slates(shop: Shop, user_ids, days, rng: np.random.Generator, k: int = SLATE_SIZE):
    """Slates of the logging policy and their propensities, both (n, k), for many requests fast.

    The policy's distribution depends on a request only through the user's segment and the day, so it
    is computed once per (segment, day). Drawing with replacement and skipping repeats gives exactly the
    distribution of drawing without replacement slot by slot (as ``Shop._sample_slates`` does).
    """
    user_ids, days = np.asarray(user_ids), np.asarray(days)
    n = len(user_ids)
    slates = np.empty((n, k), dtype=np.int64)
    props = np.empty((n, k), dtype=np.float64)
    group = shop.segment[user_ids] * (int(days.max()) + 1) + days
    for g in np.unique(group):
        rows = np.flatnonzero(group == g)
        p = shop.logging_probs(user_ids[rows[:1]], days[rows[:1]])[0]
        cdf = np.cumsum(p)
        todo, n_draws = rows, 4 * k
        while todo.size:
            draws = np.searchsorted(cdf, rng.random((todo.size, n_draws)) * cdf[-1], side="right")
            draws = np.minimum(draws, shop.n_items - 1)
            order = np.argsort(draws, axis=1, kind="stable")
            sorted_draws = np.take_along_axis(draws, order, axis=1)
            first_sorted = np.ones_like(sorted_draws, dtype=bool)
            first_sorted[:, 1:] = sorted_draws[:, 1:] != sorted_draws[:, :-1]
            first = np.empty_like(first_sorted)
            np.put_along_axis(first, order, first_sorted, axis=1)  # first time each item comes up
            keep = first & (np.cumsum(first, axis=1) <= k)
            done = keep.sum(axis=1) == k
            slates[todo[done]] = draws[done][keep[done]].reshape(-1, k)
            todo, n_draws = todo[~done], 2 * n_draws  # rare: fewer than k distinct items drawn
        chosen = p[slates[rows]]
        props[rows] = chosen / (1.0 - (np.cumsum(chosen, axis=1) - chosen))  # given the slots above
    return slates, props


def _write_chunk(k: int, out: str, world, users_per_chunk: int, seed: int) -> int:
    """Simulate chunk ``k`` of ``world`` (items, truth_items, params) and write its two part files.

    Returns the chunk's number of events.
    """
    items, truth_items, params = world
    rng = np.random.default_rng([seed, LARGE_LOG_STREAM, k])
    shop = _cohort(items, truth_items, params, users_per_chunk, rng)
    req = _make_requests(rng, shop, int(params["n_days"]))
    if len(req) and req["session_id"].max() >= SESSION_STRIDE:
        raise ValueError(f"chunk {k} has more than {SESSION_STRIDE:,} sessions: use fewer users per chunk")
    users_req = req["user_id"].to_numpy()
    slates, _ = _policy_slates(shop, users_req, req["day"].to_numpy(), rng)
    draws = rng.random(slates.shape + (3,))
    imp = shop._outcomes(users_req, slates, draws, req["request_id"].to_numpy())
    n_slots = slates.shape[1]
    imp["session_id"] = np.repeat(req["session_id"].to_numpy(), n_slots)
    t = START_DATE + pd.to_timedelta(np.repeat(req["t"].to_numpy(), n_slots), unit="s")
    imp["timestamp"] = t.astype("datetime64[ms, UTC]")
    events = _events(rng, imp, items)
    first_user = k * users_per_chunk
    events["user_id"] = (events["user_id"].to_numpy(np.int64) + first_user).astype(np.int32)
    events["item_id"] = events["item_id"].astype(np.int32)
    events["session_id"] = events["session_id"].to_numpy(np.int64) + k * SESSION_STRIDE
    users = pd.DataFrame({
        "user_id": (np.arange(users_per_chunk) + first_user).astype(np.int32),
        "segment": pd.Categorical(np.array(SEGMENT_NAMES)[shop.segment], categories=SEGMENT_NAMES),
    })
    root = Path(out)
    events.to_parquet(root / "events" / f"part-{k:05d}.parquet", index=False, compression="zstd")
    users.to_parquet(root / "users" / f"part-{k:05d}.parquet", index=False, compression="zstd")
    return len(events)


def write_large_log(data: ShopData, out: str | Path = LARGE_LOG_PATH, n_chunks: int = 6, users_per_chunk: int = 2500,
                    seed: int = 42, client=None) -> dict:
    """Write a large event log in chunks, as partitioned Parquet, with bounded memory.

    data: the shop whose world (items, truth_items, params) the log lives in. out: the folder (default:
    artifacts/large_log); it gets ``events/part-00000.parquet`` ... (one per chunk, the columns of
    ``ShopData.events``, session_id int64), ``users/part-*.parquet`` (user_id, segment) and
    ``manifest.json``; older part files go. Chunk k holds the 30-day history of users
    ``k * users_per_chunk`` to ``(k + 1) * users_per_chunk - 1`` (about 135 events per user: the default
    makes about 2 million events). client: a ``dask.distributed.Client`` (or anything with ``scatter``,
    ``map`` and ``gather``) writes the chunks in parallel; None writes them here in turn; the files are
    the same either way. Returns the manifest: path, n_chunks, users_per_chunk, seed, n_users, n_items,
    rows (events) and rows_per_chunk.
    """
    n_chunks, users_per_chunk = int(n_chunks), int(users_per_chunk)
    if n_chunks < 1 or users_per_chunk < 1:
        raise ValueError(f"n_chunks and users_per_chunk must be positive, got {n_chunks} and {users_per_chunk}")
    if n_chunks * users_per_chunk >= 2**31:
        raise ValueError("at most 2**31 - 1 users in all (user ids are int32)")
    root = Path(out)
    for part in ("events", "users"):
        (root / part).mkdir(parents=True, exist_ok=True)
        for old in (root / part).glob("part-*.parquet"):
            old.unlink()
    world = (data.items, data.truth_items, data.params)
    args = {"out": str(root), "users_per_chunk": users_per_chunk, "seed": int(seed)}
    if client is None:
        rows = [_write_chunk(k, world=world, **args) for k in range(n_chunks)]
    else:
        world = client.scatter(world, broadcast=True)
        rows = client.gather(client.map(_write_chunk, range(n_chunks), world=world, pure=False, **args))
    manifest = {"path": str(root), "n_chunks": n_chunks, "users_per_chunk": users_per_chunk, "seed": int(seed),
                "n_users": n_chunks * users_per_chunk, "n_items": len(data.items), "rows": int(sum(rows)),
                "rows_per_chunk": [int(r) for r in rows]}
    (root / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest
