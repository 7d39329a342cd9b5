"""Generate the shipped shop: ``python tools/make_shop.py --seed 42 --out datasets/shop``.

``generate`` draws a whole shop in the world of ``course_lib.shop`` (catalogue, users, the legacy logging
policy's requests and impressions, events, sponsored items and star ratings); ``save`` writes every table as
Parquet, plus params.json and SHA256SUMS (what ``course_lib.data.load_shop`` verifies). The per-impression
truth is not saved: load_shop rebuilds it from the hidden parameters. About ten CPU-seconds.

No notebook runs the generator: notebooks load the shipped files. Tests build small shops with
``from make_shop import generate`` (tests/conftest.py puts tools/ on ``sys.path``). The users, requests and
events come from ``course_lib.shop``, which ``write_large_log`` (notebook 10) shares at run time.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pandas as pd

from course_lib.data import SHOP_PATH, _sha256_of
from course_lib.shop import (
    _MEDIAN_PRICE,
    CATEGORIES,
    CATEGORY_NAMES,
    SLATE_SIZE,
    START_DATE,
    STREAMS,
    TABLES,
    TASTE_DIM,
    Shop,
    ShopData,
    _events,
    _make_requests,
    _make_users,
    _sigmoid,
)

# ---- The generator's own constants (the behaviour model the notebooks use stays in course_lib.shop) ----

BRANDS_PER_CATEGORY = 5
# Brand names are 2 or 3 of these syllables, e.g. "Kalo", "Zulozu".
_SYLLABLES = ["ka", "lo", "mi", "ra", "ven", "tor", "zu", "nel", "pa", "qui", "sol", "dex", "fi", "mar", "ost", "bel"]
# Title words: a word for each side of each taste dimension, so titles carry a little of an item's taste.
TASTE_WORDS = [
    ("classic", "modern"), ("compact", "large"), ("eco", "pro"), ("soft", "rugged"),
    ("bright", "dark"), ("smart", "simple"), ("sport", "comfort"), ("vintage", "urban"),
]
#: Sponsored items: P(sponsored) = sigmoid(intercept + quality * q_i + late_launch * [launched in the log]);
#: their cost-per-click bid (EUR) = bid_scale * sqrt(category median price) * exp(bid_noise * N(0, 1)),
#: rounded to cents, at least min_bid. Ad revenue = bid x click. Weaker and newer items advertise more.
ADS = {"intercept": -2.2, "quality": -0.6, "late_launch": 1.5, "bid_scale": 0.08, "bid_noise": 0.4, "min_bid": 0.05}


def generate(n_users: int = 5000, n_items: int = 2000, n_days: int = 30, seed: int = 42) -> ShopData:
    """Generate a whole shop: world, logging policy, impressions and events; the same arguments, the same tables.

    The default size (5,000 users, 2,000 items, 30 days: the shipped shop, about 600,000 impressions)
    takes a few seconds. Returns every table as a ``ShopData`` (its per-impression truth rebuilt from the
    hidden parameters); raises ValueError for sizes below 1 or fewer than ``3 * SLATE_SIZE`` items.
    """
    for name, value in {"n_users": n_users, "n_items": n_items, "n_days": n_days}.items():
        if int(value) < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if n_items < SLATE_SIZE * 3:
        raise ValueError(f"n_items must be at least {SLATE_SIZE * 3} to fill slates of {SLATE_SIZE}, got {n_items}")
    rng = np.random.default_rng(seed)
    items, truth_items, cat_centres = _make_items(rng, n_items, n_days)
    users, truth_users, seg_centres = _make_users(rng, n_users, n_days, items)
    params = {
        "n_users": n_users, "n_items": n_items, "n_days": n_days, "seed": seed,
        "slate_size": SLATE_SIZE, "start_date": str(START_DATE.date()),
        "segment_centres": seg_centres.tolist(), "category_centres": cat_centres.tolist(),
    }
    shop = Shop(items, users, truth_items, truth_users, params)
    req = _make_requests(rng, shop, n_days)
    slates, props = shop._sample_slates(req["user_id"].to_numpy(), req["day"].to_numpy(), rng)
    draws = rng.random(slates.shape + (3,))
    imp = shop._outcomes(req["user_id"].to_numpy(), slates, draws, req["request_id"].to_numpy())
    k = slates.shape[1]
    ts = START_DATE + pd.to_timedelta(np.repeat(req["t"].to_numpy(), k), unit="s")
    impressions = pd.DataFrame({
        "impression_id": np.arange(len(imp), dtype=np.int64),
        "request_id": imp["request_id"].astype(np.int32),
        "session_id": np.repeat(req["session_id"].to_numpy(), k).astype(np.int32),
        "user_id": imp["user_id"].astype(np.int32),
        "item_id": imp["item_id"].astype(np.int32),
        "timestamp": ts.astype("datetime64[ms, UTC]"),
        "day": np.repeat(req["day"].to_numpy(), k).astype(np.int16),
        "position": imp["position"].astype(np.int8),
        "propensity": props.ravel().astype(np.float32),
        "clicked": imp["clicked"],
        "carted": imp["carted"],
        "purchased": imp["purchased"],
    })
    events = _events(rng, impressions, items)
    # Beyond one request: own random streams, so every table above stays as it was.
    ads = _make_ads(np.random.default_rng([seed, STREAMS["ads"]]), items, truth_items)
    ratings = _make_ratings(np.random.default_rng([seed, STREAMS["ratings"]]), shop, impressions)
    return ShopData(items, users, impressions, events, None, truth_items, truth_users, params, ads, ratings)


def _make_items(rng, n_items, n_days):
    """The catalogue: items and truth_items (``n_items`` rows each) and the category taste centres (12, 8)."""
    n_cat = len(CATEGORIES)
    cat_centres = rng.normal(size=(n_cat, TASTE_DIM))
    shares = np.array([c[1] for c in CATEGORIES])
    category = rng.choice(n_cat, size=n_items, p=shares / shares.sum())
    brand_names = _brand_names(rng, n_cat * BRANDS_PER_CATEGORY)
    brand_premium = rng.normal(0.0, 0.35, size=len(brand_names))
    brand_idx = category * BRANDS_PER_CATEGORY + rng.integers(BRANDS_PER_CATEGORY, size=n_items)
    median = _MEDIAN_PRICE[category]
    price = median * np.exp(0.6 * rng.normal(size=n_items) + brand_premium[brand_idx])
    price = np.maximum(np.round(price) - 0.01, 0.99)
    base_margin = np.array([c[3] for c in CATEGORIES])[category]
    margin_rate = np.clip(base_margin + 0.25 * brand_premium[brand_idx] + 0.05 * rng.normal(size=n_items), 0.03, 0.70)
    quality = rng.normal(size=n_items)
    deviation = 0.7 * rng.normal(size=(n_items, TASTE_DIM))
    taste = cat_centres[category] + deviation
    # The legacy platform's popularity score: partly quality, mostly marketing luck.
    logging_score = 0.6 * quality + 1.3 * rng.normal(size=n_items)
    launched_late = rng.random(n_items) < 0.12
    launch_day = np.where(launched_late, rng.integers(1, n_days, size=n_items), -rng.integers(1, 720, size=n_items))
    brands = np.array(brand_names)[brand_idx]
    items = pd.DataFrame({
        "item_id": np.arange(n_items, dtype=np.int32),
        "title": _titles(rng, brands, category, deviation, quality),
        "category": pd.Categorical(np.array(CATEGORY_NAMES)[category], categories=CATEGORY_NAMES),
        "brand": brands,
        "price": price.astype(np.float64),
        "margin_rate": np.round(margin_rate, 3),
        "launch_day": launch_day.astype(np.int16),
    })
    truth_items = pd.DataFrame({"item_id": items["item_id"], "quality": quality, "logging_score": logging_score})
    for d in range(TASTE_DIM):
        truth_items[f"taste_{d}"] = taste[:, d]
    return items, truth_items, cat_centres


def _brand_names(rng: np.random.Generator, n: int) -> list[str]:
    """``n`` distinct made-up brand names."""
    names: list[str] = []
    while len(names) < n:
        name = "".join(rng.choice(_SYLLABLES, size=rng.integers(2, 4))).capitalize()
        if name not in names:
            names.append(name)
    return names


def _titles(rng, brand, category, deviation, quality) -> list[str]:
    """Titles like 'Kalo deluxe compact modern headphones'."""
    nouns = [CATEGORIES[c][4] for c in category]
    top2 = np.argsort(-np.abs(deviation), axis=1)[:, :2]
    titles = []
    for i in range(len(brand)):
        words = [brand[i]]
        if quality[i] > 1.0:
            words.append("deluxe")
        for d in top2[i]:
            words.append(TASTE_WORDS[d][0] if deviation[i, d] > 0 else TASTE_WORDS[d][1])
        words.append(nouns[i][rng.integers(len(nouns[i]))])
        titles.append(" ".join(words))
    return titles


def _make_ads(rng, items: pd.DataFrame, truth_items: pd.DataFrame) -> pd.DataFrame:
    """Sponsored flags and cost-per-click bids (EUR, 0 when not sponsored), one row per item; see ``ADS``."""
    a, n = ADS, len(items)
    launched_in_log = items["launch_day"].to_numpy() >= 0
    z = a["intercept"] + a["quality"] * truth_items["quality"].to_numpy() + a["late_launch"] * launched_in_log
    sponsored = rng.random(n) < _sigmoid(z)
    median = _MEDIAN_PRICE[pd.Categorical(items["category"], categories=CATEGORY_NAMES).codes]
    bid = a["bid_scale"] * np.sqrt(median) * np.exp(a["bid_noise"] * rng.normal(size=n))
    bid = np.maximum(np.round(bid, 2), a["min_bid"])
    return pd.DataFrame({"item_id": items["item_id"].to_numpy(), "sponsored": sponsored,
                         "bid": np.where(sponsored, bid, 0.0)})


def _make_ratings(rng, shop: Shop, impressions: pd.DataFrame) -> pd.DataFrame:
    """The stars each logged purchase received (one row per purchase, in impression order); see ``course_lib.shop.RATING``."""
    bought = impressions[impressions["purchased"].to_numpy()]
    stars = shop._draw_stars(bought["user_id"].to_numpy(), bought["item_id"].to_numpy(),
                             rng.standard_normal(len(bought)))
    return pd.DataFrame({"impression_id": bought["impression_id"].to_numpy(), "user_id": bought["user_id"].to_numpy(),
                         "item_id": bought["item_id"].to_numpy(), "day": bought["day"].to_numpy(), "stars": stars})


def save(data: ShopData, out: str | Path) -> list[Path]:
    """Write every table as Parquet, plus params.json and SHA256SUMS, into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name in TABLES:
        path = out / f"{name}.parquet"
        getattr(data, name).to_parquet(path, index=False, compression="zstd")
        written.append(path)
    params_path = out / "params.json"
    params_path.write_text(json.dumps(data.params, indent=1) + "\n")
    written.append(params_path)
    (out / "SHA256SUMS").write_text("".join(f"{_sha256_of(p)}  {p.name}\n" for p in written))
    return written


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Generate the simulated shop's tables.")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--items", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--out", default=str(SHOP_PATH), help="the folder (default: datasets/shop)")
    args = parser.parse_args(argv)
    data = generate(args.users, args.items, args.days, args.seed)
    save(data, args.out)
    print(data.summary().to_string())


if __name__ == "__main__":
    main()
