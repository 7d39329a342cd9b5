"""Self-checks of the exercises in notebooks/03b_multi_task_model.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, as_array, attempted, check_choice, choice, expect, expect_close, passed

OPTIONS = {
    "3.2": {
        "a": (False, "shared-bottom pays for one shared hidden layer on the wide input layer; MMoE pays for four."),
        "b": (True, "each of MMoE's 4 experts is a hidden layer on the whole input layer, so that layer is paid for "
                    "four times; the gates add only one weight per input and expert."),
        "c": (False, "ESMM pays for two towers on the input layer; MMoE's four experts each read it too."),
        "d": (False, "the layers that read the wide input layer (embeddings and statistics) dominate the count, and "
                     "the architectures have one, two or four of them."),
    },
}
check_parameter_prediction = choice(OPTIONS, "3.2", "which architecture has the most parameters?")


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def check_mix_experts(mix_experts) -> None:
    """Exercise 3.1: ``mix_experts(gate_logits, experts)``: softmax over the experts, then their weighted sum."""
    rng = np.random.default_rng(311)
    gate_logits = rng.normal(size=(5, 3)).astype("float32")  # 5 rows, 3 experts
    experts = rng.normal(size=(5, 3, 4)).astype("float32")  # each expert gives a 4-vector
    try:
        answer = mix_experts(gate_logits, experts)
    except Exception as err:  # any failure becomes a hint
        raise ExerciseError(f"Exercise 3.1: mix_experts raised {type(err).__name__}: {err}") from None
    if not attempted(answer, "3.1"):
        return
    a = as_array(answer, "3.1", "a (batch, d) tensor")
    expect(a.shape == (5, 4), "3.1", f"the result should be (batch, d) = (5, 4): one mixed vector per row; got shape "
           f"{a.shape}. Sum over the experts' axis (axis 1 of experts), not over the batch or the width.")
    expect(not np.allclose(a, np.einsum("bk,bkd->bd", gate_logits, experts), atol=1e-5), "3.1",
           "you weighted the experts by the raw gate logits: apply a softmax first, so the weights are positive "
           "and sum to 1.")
    expect(not np.allclose(a, np.einsum("bk,bkd->bd", _softmax(gate_logits, 0), experts), atol=1e-5), "3.1",
           "your softmax runs over the batch (axis 0): each row's weights must sum to 1 over its experts "
           "(axis=-1).")
    expect(not np.allclose(a, experts.mean(axis=1), atol=1e-5), "3.1",
           "you averaged the experts with equal weights: the gate's softmax weights are what lets each task "
           "choose its own mix.")
    expect(not np.allclose(a, experts.sum(axis=1), atol=1e-5), "3.1",
           "you summed the experts without weights: multiply each expert by its softmax weight first.")
    right = np.einsum("bk,bkd->bd", _softmax(gate_logits, -1), experts)
    expect_close(a, right, "3.1", "the mixed vectors", rtol=1e-4, atol=1e-5)
    passed("3.1", "Softmax over the experts, then a weighted sum: each task's gate picks its own mix.")


def check_best_pass(answer, stop_losses) -> None:
    """Exercise 3.3 (read): which pass does early stopping keep? ``stop_losses``: the loss on the stop rows per pass."""
    losses = [float(v) for v in stop_losses]
    keep = int(np.argmin(losses))
    shown = ", ".join(f"pass {k + 1}: {v:.4f}" for k, v in enumerate(losses))
    options = {}
    for k, letter in enumerate("abc"[: len(losses)]):
        if k == keep:
            why = f"the stop rows' loss is lowest after pass {k + 1} ({shown})."
        elif k > keep and losses[k] > losses[keep]:
            why = (f"the stop rows' loss rises after pass {keep + 1} ({shown}); the falling line is the fit rows' "
                   "loss, which early stopping does not read.")
        else:
            why = f"the stop rows' loss still falls after pass {k + 1} ({shown})."
        options[letter] = (k == keep, why)
    check_choice("3.3", answer, options)
