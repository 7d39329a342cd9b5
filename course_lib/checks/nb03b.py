"""Self-checks of the exercises in notebooks/03b_multi_task_model.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, check_choice, expect, expect_close, passed


def _softmax(z, axis=-1):
    z = z - z.max(axis=axis, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)


def _mix_reference(gate_logits, experts):
    return np.einsum("bk,bkd->bd", _softmax(gate_logits, axis=-1), experts)


def _tiny_gate_case():
    rng = np.random.default_rng(311)
    gate_logits = rng.normal(size=(5, 3)).astype("float32")  # 5 rows, 3 experts
    experts = rng.normal(size=(5, 3, 4)).astype("float32")  # each expert gives a 4-vector
    return gate_logits, experts


def check_mix_experts(mix_experts) -> None:
    """Exercise 3.1: ``mix_experts(gate_logits, experts)``: softmax over the experts, then their weighted sum.

    Runs the learner's function on a tiny tensor (5 rows, 3 experts of width 4) and compares it with the
    reference; names the usual mistakes.
    """
    gate_logits, experts = _tiny_gate_case()
    try:
        answer = mix_experts(gate_logits, experts)
    except Exception as err:  # any failure becomes a hint
        raise ExerciseError(f"Exercise 3.1: mix_experts raised {type(err).__name__}: {err}") from None
    if not attempted(answer, "3.1"):
        return
    try:
        a = np.asarray(answer, dtype=float)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 3.1: return a (batch, d) tensor, got {type(answer).__name__}") from None
    expect(a.shape == (5, 4), "3.1", f"the result should be (batch, d) = (5, 4): one mixed vector per row; got shape "
           f"{a.shape}. Sum over the experts' axis (axis 1 of experts), not over the batch or the width.")
    expect(not np.allclose(a, np.einsum("bk,bkd->bd", gate_logits, experts), atol=1e-5), "3.1",
           "you weighted the experts by the raw gate logits: apply a softmax first, so the weights are positive "
           "and sum to 1.")
    expect(not np.allclose(a, np.einsum("bk,bkd->bd", _softmax(gate_logits, axis=0), experts), atol=1e-5), "3.1",
           "your softmax runs over the batch (axis 0): each row's weights must sum to 1 over its experts "
           "(axis=-1).")
    expect(not np.allclose(a, experts.mean(axis=1), atol=1e-5), "3.1",
           "you averaged the experts with equal weights: the gate's softmax weights are what lets each task "
           "choose its own mix.")
    expect(not np.allclose(a, experts.sum(axis=1), atol=1e-5), "3.1",
           "you summed the experts without weights: multiply each expert by its softmax weight first.")
    expect_close(a, _mix_reference(gate_logits, experts), "3.1", "the mixed vectors", rtol=1e-4, atol=1e-5)
    passed("3.1", "Softmax over the experts, then a weighted sum: each task's gate picks its own mix.")


def check_selection_prediction(answer) -> None:
    """Exercise 3.2 (predict): which CVR estimate tracks the truth better on the impressions nobody clicked?"""
    check_choice("3.2", answer, {
        "a": (False, "the naive model never saw a non-clicked impression in training: it learns its embeddings "
                     "from the clicked rows alone, a few percent of the data, and is served on all of them."),
        "b": (True, "ESMM learns pCVR through pCTCVR = pCTR x pCVR over every impression, and its CVR tower shares "
                    "the embeddings that the click task trains on all rows."),
        "c": (False, "they differ in what they learn from: clicked rows only against every impression."),
    })


def check_esmm_cvr(answer, expected) -> None:
    """Exercise 3.3: ESMM's pCVR from its two outputs, pCTCVR / pCTR, for every row."""
    if not attempted(answer, "3.3"):
        return
    a = np.asarray(answer, dtype=float)
    e = np.asarray(expected, dtype=float)
    expect(a.shape == e.shape, "3.3", f"one pCVR per row: expected shape {e.shape}, got {a.shape}.")
    expect(np.all(a <= 1 + 1e-6), "3.3", "some values exceed 1: divide pCTCVR (purchase) by pCTR (click), "
           "not the other way round.")
    expect(not np.allclose(a, 0) and a.mean() > 0.01, "3.3", "the values are far too small: pCVR = pCTCVR / pCTR, "
           "a division, not a product.")
    expect_close(a, e, "3.3", "pCVR", rtol=1e-3, atol=1e-6)
    passed("3.3", "pCVR = pCTCVR / pCTR: the identity ESMM is built on.")


def check_launch_decision(answer, network_wins_both: bool) -> None:
    """Exercise 3.4 (decide): which launch memo to sign for the model that feeds the ranking notebooks.

    network_wins_both: whether the multi-task network beat the best baseline on both tasks by more than
    twice the seed standard deviation (the notebook computes it); the right memo depends on it.
    """
    check_choice("3.4", answer, {
        "a": (network_wins_both,
              "the network wins both tasks beyond seed noise, and brings consistent, calibrated probabilities "
              "and one model to serve." if network_wins_both else
              "the verdict lines of section 8 do not say that: on at least one task the network does not beat "
              "the trees beyond twice the seed standard deviation."),
        "b": (not network_wins_both,
              "accuracy is level at best; the network's case is P(click and purchase) <= P(click) by "
              "construction, calibration and one model to serve, which the ranking needs." if not
              network_wins_both else
              "it understates the measurement: the network does beat the trees on both tasks beyond seed noise."),
        "c": (False, "two separate models can give P(click and purchase) > P(click), and the ranking divides one "
                     "by the other; simpler is not the only criterion a memo weighs, and it is not measured here."),
    })
