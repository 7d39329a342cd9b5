"""The self-checks of notebooks 00, 01 and 04 reject the mistakes they name, with their hint, and pass the solution."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from course_lib.checks import ExerciseError, nb00, nb01, nb04


def _impressions(seed=0, n=4000, n_items=50):
    rng = np.random.default_rng(seed)
    position = rng.integers(0, 10, n)
    item = rng.zipf(1.6, n) % (n_items - 5)  # the last items are never shown
    p = 0.3 * (1 + position) ** -0.7
    clicked = rng.random(n) < p
    purchased = clicked & (rng.random(n) < 0.3)
    return pd.DataFrame({"item_id": item, "position": position, "clicked": clicked, "purchased": purchased,
                         "segment": pd.Categorical(rng.choice(["a", "b"], n))})


def _raises(fn, *args, hint):
    with pytest.raises(ExerciseError, match=hint):
        fn(*args)


def test_nb00_click_through_rate(capsys):
    imp = _impressions()
    nb00.check_click_through_rate(lambda t: float(t["clicked"].mean()), imp)
    assert "✅" in capsys.readouterr().out
    _raises(nb00.check_click_through_rate, lambda t: float(t["clicked"].sum()), imp, hint="number of clicks")
    _raises(nb00.check_click_through_rate, lambda t: 100 * float(t["clicked"].mean()), imp, hint="percentage")
    _raises(nb00.check_click_through_rate, lambda t: 1 - float(t["clicked"].mean()), imp, hint="without")


def test_nb01_conversion_by_segment(capsys):
    imp = _impressions()

    def right(t):
        g = t.groupby("segment", observed=True)
        return pd.DataFrame({"ctr": g["clicked"].mean(), "purchase_per_click": g["purchased"].sum() / g["clicked"].sum()})

    def per_impression(t):
        g = t.groupby("segment", observed=True)
        return pd.DataFrame({"ctr": g["clicked"].mean(), "purchase_per_click": g["purchased"].mean()})

    nb01.check_conversion_by_segment(right, imp)
    assert "✅" in capsys.readouterr().out
    _raises(nb01.check_conversion_by_segment, per_impression, imp, hint="not by impressions")
    nb01.check_conversion_by_segment(lambda t: None, imp)
    assert "not attempted" in capsys.readouterr().out


def test_nb01_exposure_gini(capsys):
    from course_lib import metrics

    imp, n_items = _impressions(), 50
    nb01.check_exposure_gini(lambda t, n: metrics.gini(np.bincount(t["item_id"], minlength=n)), imp, n_items)
    assert "✅" in capsys.readouterr().out
    _raises(nb01.check_exposure_gini, lambda t, n: metrics.gini(np.bincount(t["item_id"])[np.bincount(t["item_id"]) > 0]),
            imp, n_items, hint="minlength")
    _raises(nb01.check_exposure_gini,
            lambda t, n: metrics.gini(np.bincount(t["item_id"][t["clicked"]], minlength=n)), imp, n_items,
            hint="Gini of clicks")


def test_nb01_read_and_predict(capsys):
    clicks, purchases = np.array([1, 1, 2, 10, 30]), np.array([0, 0, 0, 1, 9])
    nb01.check_concentration_read("b", clicks, purchases)
    assert "✅" in capsys.readouterr().out
    _raises(nb01.check_concentration_read, "a", clicks, purchases, hint="not it")
    imp = _impressions(n=40000)
    ratio = imp.groupby("position")["clicked"].mean()
    nb01.check_position_ratio_prediction(float(ratio[9] / ratio[0]), imp)
    assert "✅" in capsys.readouterr().out
    _raises(nb01.check_position_ratio_prediction, 0.9, imp, hint="you predicted")


def test_nb01_debiased_ctr(capsys):
    imp = _impressions()
    exam = (1.0 + imp["position"]) ** -0.7
    nb01.check_debiased_ctr((imp["clicked"] / exam).groupby(imp["item_id"]).mean(), imp)
    assert "✅" in capsys.readouterr().out
    _raises(nb01.check_debiased_ctr, imp["clicked"].astype(float).groupby(imp["item_id"]).mean(), imp, hint="naive CTR")
    _raises(nb01.check_debiased_ctr, (imp["clicked"] * exam).groupby(imp["item_id"]).mean(), imp, hint="instead of")


def test_nb04_ndcg_and_diversity(capsys):
    def ndcg(gains, k):
        g = np.asarray(gains, dtype=float)
        d = 1 / np.log2(np.arange(len(g)) + 2)
        ideal = (np.sort(g)[::-1][:k] * d[:k]).sum()
        return float("nan") if ideal == 0 else float((g[:k] * d[:k]).sum() / ideal)

    nb04.check_ndcg_one(ndcg)
    assert "✅" in capsys.readouterr().out

    def dcg(gains, k):
        g = np.asarray(gains, dtype=float)
        return float((g[:k] / np.log2(np.arange(min(k, len(g))) + 2)).sum()) if g.max() > 0 else float("nan")

    _raises(nb04.check_ndcg_one, dcg, hint="DCG")

    def ild(c):
        k = len(c)
        return sum(c[i] != c[j] for i in range(k) for j in range(i + 1, k)) / (k * (k - 1) / 2)

    nb04.check_intra_list_diversity(ild)
    assert "✅" in capsys.readouterr().out
    _raises(nb04.check_intra_list_diversity, lambda c: 1 - ild(c), hint="same")


def test_nb04_read_and_predict(capsys):
    idx = pd.MultiIndex.from_product([["ctr", "gmv"], ["predicted", "true"]], names=["ranking", "values"])
    presets = pd.DataFrame({"gmv": [9.0, 12.0, 21.0, 30.0]}, index=idx)
    nb04.check_gmv_bias_read("b", presets)
    assert "✅" in capsys.readouterr().out
    _raises(nb04.check_gmv_bias_read, "a", presets, hint="not above 1")
    hump = np.array([0.25, 0.4, 0.58, 0.4, 0.18])
    nb04.check_diversity_sweep_prediction("c", hump)
    assert "✅" in capsys.readouterr().out
    _raises(nb04.check_diversity_sweep_prediction, "b", hump, hint="middle of the sweep")
    nb04.check_diversity_sweep_prediction(..., hump)
    assert "not attempted" in capsys.readouterr().out
