"""The checks of notebook 03b: each diagnosed mistake gets its hint, and the solution passes."""

from __future__ import annotations

import numpy as np
import pytest

from course_lib.checks import ExerciseError
from course_lib.checks import nb03b as checks


def _softmax(z, axis):
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def test_mix_experts_solution_passes(capsys):
    checks.check_mix_experts(lambda g, e: np.einsum("bk,bkd->bd", _softmax(np.asarray(g), -1), e))
    assert "✅ Exercise 3.1" in capsys.readouterr().out


def test_mix_experts_keras_solution_passes(capsys):
    ops = pytest.importorskip("keras").ops
    checks.check_mix_experts(lambda g, e: ops.einsum("bk,bkd->bd", ops.softmax(g, axis=-1), e))
    assert "✅ Exercise 3.1" in capsys.readouterr().out


def test_mix_experts_stub_is_not_attempted(capsys):
    checks.check_mix_experts(lambda g, e: None)
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda g, e: np.einsum("bk,bkd->bd", g, e), "raw gate logits"),
        (lambda g, e: np.einsum("bk,bkd->bd", _softmax(g, 0), e), "over the batch"),
        (lambda g, e: e.mean(axis=1), "equal weights"),
        (lambda g, e: e.sum(axis=1), "without weights"),
        (lambda g, e: (_softmax(g, -1)[..., None] * e).sum(axis=2), "(batch, d)"),
        (lambda g, e: np.einsum("bk,bkd->bd", _softmax(g, -1), e) + 0.1, "expected about"),
        (lambda g, e: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_mix_experts_mistakes_are_named(wrong, hint):
    with pytest.raises(ExerciseError, match=hint.replace("(", r"\(").replace(")", r"\)")):
        checks.check_mix_experts(wrong)


def test_parameter_prediction(capsys):
    checks.check_parameter_prediction("b")
    assert "✅ Exercise 3.2" in capsys.readouterr().out
    for wrong, hint in [("a", "one shared hidden layer"), ("c", "two towers"), ("d", "dominate")]:
        with pytest.raises(ExerciseError, match=hint):
            checks.check_parameter_prediction(wrong)


def test_best_pass_reads_the_stop_rows(capsys):
    losses = [0.2917, 0.2884, 0.2897]
    checks.check_best_pass("b", losses)
    assert "✅ Exercise 3.3" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="still falls"):
        checks.check_best_pass("a", losses)
    with pytest.raises(ExerciseError, match="fit rows' loss"):
        checks.check_best_pass("c", losses)
    checks.check_best_pass("c", [0.3, 0.29, 0.28])  # the answer follows the measured curve
