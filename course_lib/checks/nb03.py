"""Self-checks of the exercises in notebooks/03_multi_objective_model.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, expect, expect_close, passed


def _nb03_ece_reference(y, p, n_bins: int) -> float:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    total = 0.0
    for idx in np.array_split(order, n_bins):
        total += len(idx) / len(p) * abs(p[idx].mean() - y[idx].mean())
    return float(total)


def check_ece(ece) -> None:
    """Exercise 3.1: ``ece(y, p, n_bins)``: expected calibration error with equal-count bins."""
    rng = np.random.default_rng(31)
    p = rng.uniform(0.01, 0.3, 1000)
    y = (rng.random(1000) < 0.15 + 0.5 * (p - 0.15)).astype(float)  # too extreme: low ones too low, high ones too high
    answer = ece(y, p, 10)
    if not attempted(answer, "3.1"):
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 3.1: ece should return one number, got {type(answer).__name__}") from None
    expect(0 <= value <= 1, "3.1", f"an ECE is an average of |mean prediction - observed rate|, so it lies in [0, 1]; "
           f"got {value:.4f}.")
    expect(not np.isclose(value, abs(p.mean() - y.mean())), "3.1", "you compared the overall means; the gaps of "
           "the bins must be taken one by one (absolute value), then averaged with the bins' shares as weights.")
    equal_width = sum(
        (m.sum() / len(p)) * abs(p[m].mean() - y[m].mean())
        for m in [(p >= lo) & (p < lo + 0.1) for lo in np.arange(0, 1, 0.1)] if m.any()
    )
    expect(not np.isclose(value, equal_width), "3.1", "you used equal-width bins; sort the predictions and cut them "
           "into n_bins groups of equal size (np.array_split on the sorted order).")
    expect_close(value, _nb03_ece_reference(y, p, 10), "3.1", "ece(y, p, 10)", rtol=1e-6)
    perfect = ece(np.array([0, 1, 0, 1, 0, 1, 1, 0]), np.full(8, 0.5), 2)
    expect_close(perfect, 0.0, "3.1", "the ECE of predictions of 0.5 on half-positive bins", atol=1e-9)
    passed("3.1", "Equal-count bins, weighted by their share of rows.")


def check_esmm_cvr(answer, expected) -> None:
    """Exercise 3.2: ESMM's pCVR from its two outputs, pCTCVR / pCTR, for every row."""
    if not attempted(answer, "3.2"):
        return
    a = np.asarray(answer, dtype=float)
    e = np.asarray(expected, dtype=float)
    expect(a.shape == e.shape, "3.2", f"one pCVR per row: expected shape {e.shape}, got {a.shape}.")
    expect(np.all(a <= 1 + 1e-6), "3.2", "some values exceed 1: divide pCTCVR (purchase) by pCTR (click), "
           "not the other way round.")
    expect(not np.allclose(a, 0) and a.mean() > 0.01, "3.2", "the values are far too small: pCVR = pCTCVR / pCTR, "
           "a division, not a product.")
    expect_close(a, e, "3.2", "pCVR", rtol=1e-3, atol=1e-6)
    passed("3.2", "pCVR = pCTCVR / pCTR: the identity ESMM is built on.")


def check_revenue_head(model, esmm, inputs: dict, price) -> None:
    """Exercise 3.3: ``model`` adds a ``revenue`` output (P(click and purchase) x price, EUR) to ``esmm``.

    inputs: the ESMM inputs of a few rows; price: their prices (EUR). The
    model must take the ESMM inputs plus ``price`` and return click,
    purchase and revenue.
    """
    if not attempted(model, "3.3"):
        return
    price = np.asarray(price, dtype=np.float32)
    try:
        out = model.predict_on_batch({**inputs, "price": price})
    except Exception as err:  # any failure becomes a hint
        raise ExerciseError(f"Exercise 3.3: the model does not run on the ESMM inputs plus 'price': {err}") from None
    expect(isinstance(out, dict) and {"click", "purchase", "revenue"} <= set(out), "3.3",
           "the model should return a dict with the outputs 'click', 'purchase' and 'revenue' "
           f"(got {sorted(out) if isinstance(out, dict) else type(out).__name__}).")
    base = esmm.predict_on_batch(inputs)
    for task in ["click", "purchase"]:
        expect_close(np.ravel(out[task]), np.ravel(base[task]), "3.3", f"the {task} output (reuse ESMM's)", rtol=1e-5)
    revenue = np.ravel(out["revenue"])
    expect(not np.allclose(revenue, np.ravel(base["click"]) * price, rtol=1e-4), "3.3",
           "revenue = P(click) x price counts clicks that never buy: use the purchase output.")
    expect_close(revenue, np.ravel(base["purchase"]) * price, "3.3", "the revenue output", rtol=1e-4)
    passed("3.3", "Expected revenue per impression = P(click and purchase) x price.")
