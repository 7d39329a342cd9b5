"""Self-checks of the exercises in notebooks/01_behaviour_analysis.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, expect, expect_close, passed


def _nb01_series(answer, exercise: str, what: str, index_name: str):
    """The answer as a float Series, or an ExerciseError saying what shape was expected."""
    import pandas as pd

    if not isinstance(answer, pd.Series):
        raise ExerciseError(f"Exercise {exercise}: return a pandas Series of {what} indexed by {index_name}, "
                            f"got {type(answer).__name__}")
    return answer.astype(float)


def check_conversion_by_segment(conversion_by_segment, table) -> None:
    """Exercise 1.1: ``conversion_by_segment(table)``, a DataFrame by segment with ctr and purchase_per_click."""
    import pandas as pd

    answer = conversion_by_segment(table)
    if not attempted(answer, "1.1"):
        return
    expect(isinstance(answer, pd.DataFrame), "1.1", f"return a DataFrame, got {type(answer).__name__}")
    missing = {"ctr", "purchase_per_click"} - set(answer.columns)
    expect(not missing, "1.1", f"the DataFrame needs the columns ctr and purchase_per_click; missing {sorted(missing)}")
    g = table.groupby("segment", observed=True)
    ctr = g["clicked"].mean()
    per_click = g["purchased"].sum() / g["clicked"].sum()
    got = answer.reindex(ctr.index)
    expect(got.notna().all().all(), "1.1",
           f"index the result by segment: expected the rows {list(ctr.index.astype(str))}, got {list(answer.index)}")
    per_impression = g["purchased"].mean()
    expect(not np.allclose(got["purchase_per_click"], per_impression, rtol=1e-6), "1.1",
           "purchase_per_click divides purchases by clicks, not by impressions.")
    expect_close(got["ctr"].to_numpy(), ctr.to_numpy(), "1.1", "ctr (clicks per impression) by segment")
    expect_close(got["purchase_per_click"].to_numpy(), per_click.to_numpy(), "1.1", "purchase_per_click by segment")
    best = per_click.idxmax()
    passed("1.1", f"the {best} segment buys most often once it clicks ({per_click.max():.1%} of clicks).")


def check_exposure_gini(exposure_gini, impressions, n_items: int) -> None:
    """Exercise 1.3: ``exposure_gini(impressions, n_items)``, the Gini of impressions per item (all items)."""
    from course_lib import metrics

    answer = exposure_gini(impressions, n_items)
    if not attempted(answer, "1.3"):
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 1.3: return one number (a float), got {type(answer).__name__}") from None
    counts = np.bincount(impressions["item_id"])
    shown_only = metrics.gini(counts[counts > 0])
    if counts.size < n_items or (counts == 0).any():
        expect(not np.isclose(value, shown_only, rtol=1e-6), "1.3",
               "count every item of the catalogue: np.bincount(..., minlength=n_items) keeps unshown items as 0.")
    exposure = np.bincount(impressions["item_id"], minlength=n_items)
    clicks = np.bincount(impressions["item_id"][impressions["clicked"]], minlength=n_items)
    expected = metrics.gini(exposure)
    expect(0.0 <= value <= 1.0, "1.3", f"a Gini coefficient lies between 0 and 1, got {value:.4f}")
    expect(not np.isclose(value, metrics.gini(clicks), rtol=1e-4), "1.3",
           "that is the Gini of clicks; count impressions (rows of the impressions table) per item instead.")
    area = (1 - expected) / 2
    expect(not np.isclose(value, area, rtol=1e-3), "1.3",
           "that looks like the area under the Lorenz curve; the Gini is 1 - 2 x area.")
    expect_close(value, expected, "1.3", "the Gini of impressions per item", rtol=1e-3)
    passed("1.3", f"exposure Gini {expected:.3f} vs click Gini {metrics.gini(clicks):.3f}.")


def check_debiased_ctr(answer, impressions) -> None:
    """Exercise 1.5: per-item mean of clicked / (1 + position) ** -0.7, a Series indexed by item_id."""
    import pandas as pd

    if not attempted(answer, "1.5"):
        return
    got = _nb01_series(answer, "1.5", "debiased click-through rates", "item_id")
    exam = (1.0 + impressions["position"].to_numpy()) ** -0.7
    clicked = impressions["clicked"].to_numpy()
    items = impressions["item_id"]
    expected = (clicked / exam).astype(float)
    expected = pd.Series(expected, index=impressions.index).groupby(items).mean()
    expect(len(got) == len(expected), "1.5", f"return one value per item shown: {len(expected)} items, got {len(got)}")
    got = got.reindex(expected.index)
    expect(got.notna().all(), "1.5", "index the Series by item_id (the items that appear in the impressions).")
    naive = pd.Series(clicked.astype(float), index=impressions.index).groupby(items).mean()
    expect(not np.allclose(got, naive, rtol=1e-6), "1.5",
           "that is the naive CTR; divide each click by the examination probability of its slot first.")
    times = pd.Series(clicked * exam, index=impressions.index).groupby(items).mean()
    expect(not np.allclose(got, times, rtol=1e-6), "1.5",
           "divide by the examination probability (1 + position) ** -0.7 instead of multiplying.")
    expect_close(got.to_numpy(), expected.to_numpy(), "1.5", "the debiased CTR per item", rtol=1e-6)
    passed("1.5", f"the debiased CTR averages {got.mean() / naive.mean():.2f} x the naive one: "
           "it estimates the CTR an item would get in the top slot.")


def check_concentration_read(answer, item_clicks, item_purchases) -> None:
    """Exercise 1.2: which is more concentrated over items, clicks (a), purchases (b) or neither (c)?"""
    from course_lib import metrics
    from course_lib.checks import check_choice

    gc, gp = metrics.gini(item_clicks), metrics.gini(item_purchases)
    same = abs(gc - gp) < 0.02
    what = f"the Gini of clicks is {gc:.3f}, of purchases {gp:.3f}"
    check_choice("1.2", answer, {
        "a": (not same and gc > gp, f"{what}; the curve further from the diagonal is the more concentrated one."),
        "b": (not same and gp > gc, f"{what}: many items get a few clicks and never a sale."),
        "c": (same, f"{what}; compare how far each curve bows below the diagonal."),
    })


def check_position_ratio_prediction(predicted_ratio, impressions) -> None:
    """Exercise 1.4: a prediction of CTR(slot 9) / CTR(slot 0) in the logged impressions (within 25%)."""
    from course_lib.checks import check_prediction

    ctr = impressions.groupby("position")["clicked"].mean()
    check_prediction("1.4", predicted_ratio, float(ctr[9] / ctr[0]), "CTR at slot 9 / CTR at slot 0")
