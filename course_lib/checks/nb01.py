"""Self-checks of the exercises in notebooks/01_behaviour_analysis.ipynb."""

from __future__ import annotations

import numpy as np
import pandas as pd

from course_lib.checks import attempted, check_choice, check_prediction, expect, expect_close, fail, number, passed
from course_lib.metrics import gini


def check_conversion_by_segment(conversion_by_segment, table) -> None:
    """Exercise 1.1: ``conversion_by_segment(table)``, a DataFrame by segment with ctr and purchase_per_click."""
    answer = conversion_by_segment(table)
    if not attempted(answer, "1.1"):
        return
    expect(isinstance(answer, pd.DataFrame), "1.1", f"return a DataFrame, got {type(answer).__name__}")
    missing = {"ctr", "purchase_per_click"} - set(answer.columns)
    expect(not missing, "1.1", f"the DataFrame needs the columns ctr and purchase_per_click; missing {sorted(missing)}")
    g = table.groupby("segment", observed=True)
    ctr, per_click = g["clicked"].mean(), g["purchased"].sum() / g["clicked"].sum()
    got = answer.reindex(ctr.index)
    expect(got.notna().all().all(), "1.1",
           f"index the result by segment: expected the rows {list(ctr.index.astype(str))}, got {list(answer.index)}")
    expect(not np.allclose(got["purchase_per_click"], g["purchased"].mean(), rtol=1e-6), "1.1",
           "purchase_per_click divides purchases by clicks, not by impressions.")
    expect_close(got["ctr"].to_numpy(), ctr.to_numpy(), "1.1", "ctr (clicks per impression) by segment")
    expect_close(got["purchase_per_click"].to_numpy(), per_click.to_numpy(), "1.1", "purchase_per_click by segment")
    passed("1.1", f"the {per_click.idxmax()} segment buys most often once it clicks ({per_click.max():.1%} of clicks).")


def check_exposure_gini(exposure_gini, impressions, n_items: int) -> None:
    """Exercise 1.3: ``exposure_gini(impressions, n_items)``, the Gini of impressions per item (all items)."""
    answer = exposure_gini(impressions, n_items)
    if not attempted(answer, "1.3"):
        return
    value = number(answer, "1.3")
    counts = np.bincount(impressions["item_id"])
    if counts.size < n_items or (counts == 0).any():
        expect(not np.isclose(value, gini(counts[counts > 0]), rtol=1e-6), "1.3",
               "count every item of the catalogue: np.bincount(..., minlength=n_items) keeps unshown items as 0.")
    expected = gini(np.bincount(impressions["item_id"], minlength=n_items))
    clicks = gini(np.bincount(impressions["item_id"][impressions["clicked"]], minlength=n_items))
    expect(0.0 <= value <= 1.0, "1.3", f"a Gini coefficient lies between 0 and 1, got {value:.4f}")
    expect(not np.isclose(value, clicks, rtol=1e-4), "1.3",
           "that is the Gini of clicks; count impressions (rows of the impressions table) per item instead.")
    expect(not np.isclose(value, (1 - expected) / 2, rtol=1e-3), "1.3",
           "that looks like the area under the Lorenz curve; the Gini is 1 - 2 x area.")
    expect_close(value, expected, "1.3", "the Gini of impressions per item", rtol=1e-3)
    passed("1.3", f"exposure Gini {expected:.3f} vs click Gini {clicks:.3f}.")


def check_debiased_ctr(answer, impressions) -> None:
    """Exercise 1.5: per-item mean of clicked / (1 + position) ** -0.7, a Series indexed by item_id."""
    if not attempted(answer, "1.5"):
        return
    if not isinstance(answer, pd.Series):
        fail("1.5", f"return a pandas Series of debiased CTRs indexed by item_id, got {type(answer).__name__}")
    exam = (1.0 + impressions["position"]) ** -0.7
    clicked, items = impressions["clicked"].astype(float), impressions["item_id"]
    expected = (clicked / exam).groupby(items).mean()
    expect(len(answer) == len(expected), "1.5",
           f"return one value per item shown: {len(expected)} items, got {len(answer)}")
    got = answer.astype(float).reindex(expected.index)
    expect(got.notna().all(), "1.5", "index the Series by item_id (the items that appear in the impressions).")
    naive = clicked.groupby(items).mean()
    expect(not np.allclose(got, naive, rtol=1e-6), "1.5",
           "that is the naive CTR; divide each click by the examination probability of its slot first.")
    expect(not np.allclose(got, (clicked * exam).groupby(items).mean(), rtol=1e-6), "1.5",
           "divide by the examination probability (1 + position) ** -0.7 instead of multiplying.")
    expect_close(got.to_numpy(), expected.to_numpy(), "1.5", "the debiased CTR per item")
    passed("1.5", f"the debiased CTR averages {got.mean() / naive.mean():.2f} x the naive one: "
           "it estimates the CTR an item would get in the top slot.")


def check_concentration_read(answer, item_clicks, item_purchases) -> None:
    """Exercise 1.2: which is more concentrated over items, clicks (a), purchases (b) or neither (c)?"""
    gc, gp = gini(item_clicks), gini(item_purchases)
    same = abs(gc - gp) < 0.02
    what = f"the Gini of clicks is {gc:.3f}, of purchases {gp:.3f}"
    check_choice("1.2", answer, {
        "a": (not same and gc > gp, f"{what}; the curve further from the diagonal is the more concentrated one."),
        "b": (not same and gp > gc, f"{what}: many items get a few clicks and never a sale."),
        "c": (same, f"{what}; compare how far each curve bows below the diagonal."),
    })


def check_position_ratio_prediction(predicted_ratio, impressions) -> None:
    """Exercise 1.4: a prediction of CTR(slot 9) / CTR(slot 0) in the logged impressions (within 25%)."""
    ctr = impressions.groupby("position")["clicked"].mean()
    check_prediction("1.4", predicted_ratio, float(ctr[9] / ctr[0]), "CTR at slot 9 / CTR at slot 0")
