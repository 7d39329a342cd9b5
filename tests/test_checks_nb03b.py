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


def test_esmm_cvr():
    rng = np.random.default_rng(0)
    ctr, cvr = rng.uniform(0.02, 0.3, 50), rng.uniform(0.05, 0.4, 50)
    checks.check_esmm_cvr(ctr * cvr / ctr, cvr)
    with pytest.raises(ExerciseError, match="exceed 1"):
        checks.check_esmm_cvr(ctr / (ctr * cvr), cvr)
    with pytest.raises(ExerciseError, match="division"):
        checks.check_esmm_cvr(ctr * ctr * cvr, cvr)
    with pytest.raises(ExerciseError, match="shape"):
        checks.check_esmm_cvr(cvr[:10], cvr)


def test_selection_prediction(capsys):
    checks.check_selection_prediction("b")
    assert "✅ Exercise 3.2" in capsys.readouterr().out
    for wrong, hint in [("a", "clicked rows alone"), ("c", "differ")]:
        with pytest.raises(ExerciseError, match=hint):
            checks.check_selection_prediction(wrong)


@pytest.mark.parametrize(("network_wins", "right", "wrong"), [(True, "a", "b"), (False, "b", "a")])
def test_launch_decision_follows_the_measured_result(capsys, network_wins, right, wrong):
    checks.check_launch_decision(right, network_wins)
    assert "✅ Exercise 3.4" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="is not it"):
        checks.check_launch_decision(wrong, network_wins)
    with pytest.raises(ExerciseError, match="divides"):
        checks.check_launch_decision("c", network_wins)
