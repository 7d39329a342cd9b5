"""Self-checks of the exercises in notebooks/03c_judging_the_network.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import attempted, check_choice, choice, expect, expect_close, passed

OPTIONS = {
    "3.4": {
        "a": (False, "the naive model never saw a non-clicked impression in training: it learns its embeddings from "
                     "the clicked rows alone, a few percent of the data, and is served on all of them."),
        "b": (True, "ESMM learns pCVR through pCTCVR = pCTR x pCVR over every impression, and its CVR tower shares the "
                    "embeddings that the click task trains on all rows."),
        "c": (False, "they differ in what they learn from: clicked rows only against every impression."),
    },
}
check_selection_prediction = choice(OPTIONS, "3.4", "which CVR estimate tracks the truth better where nobody clicked?")


def check_esmm_cvr(answer, expected) -> None:
    """Exercise 3.5: ESMM's pCVR from its two outputs, pCTCVR / pCTR, for every row."""
    if not attempted(answer, "3.5"):
        return
    a, e = np.asarray(answer, dtype=float), np.asarray(expected, dtype=float)
    expect(a.shape == e.shape, "3.5", f"one pCVR per row: expected shape {e.shape}, got {a.shape}.")
    expect(np.all(a <= 1 + 1e-6), "3.5", "some values exceed 1: divide pCTCVR (purchase) by pCTR (click), "
           "not the other way round.")
    expect(not np.allclose(a, 0) and a.mean() > 0.01, "3.5", "the values are far too small: pCVR = pCTCVR / pCTR, "
           "a division, not a product.")
    expect_close(a, e, "3.5", "pCVR", rtol=1e-3, atol=1e-6)
    passed("3.5", "pCVR = pCTCVR / pCTR: the identity ESMM is built on.")


def check_launch_decision(answer, network_wins_both: bool) -> None:
    """Exercise 3.6 (decide): which launch memo to sign for the model that feeds the ranking notebooks.

    network_wins_both: whether the multi-task network beat the best baseline on both tasks by more than twice the
    seed standard deviation (the notebook computes it); the right memo depends on it.
    """
    wins = network_wins_both
    check_choice("3.6", answer, {
        "a": (wins, "the network wins both tasks beyond seed noise, and brings consistent, calibrated probabilities "
                    "and one model to serve." if wins else "the verdict lines of section 2 do not say that: on at "
                    "least one task the network does not beat the trees beyond twice the seed standard deviation."),
        "b": (not wins, "accuracy is level at best; the network's case is P(click and purchase) <= P(click) by "
                        "construction, calibration and one model to serve, which the ranking needs." if not wins else
                        "it understates the measurement: the network does beat the trees on both tasks beyond seed "
                        "noise."),
        "c": (False, "two separate models can give P(click and purchase) > P(click), and the ranking divides one by "
                     "the other; simpler is not the only criterion a memo weighs, and it is not measured here."),
    })
