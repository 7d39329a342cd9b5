"""The checks of notebook 05's exercises: each diagnosed mistake gets its hint, the solution passes."""

from __future__ import annotations

import numpy as np
import pytest
from test_optimize import _cs

from course_lib import ranking, tuning
from course_lib.checks import ExerciseError, nb05
from course_lib.pso import pso


def _ok(capsys, exercise):
    assert f"✅ Exercise {exercise}" in capsys.readouterr().out


# Exercise 5.1 -------------------------------------------------------------------------------


def test_velocity_update_solution_passes(capsys):
    nb05.check_velocity_update(lambda v, x, p, g, r1, r2, w, c1, c2: w * v + c1 * r1 * (p - x) + c2 * r2 * (g - x))
    _ok(capsys, "5.1")


def test_velocity_update_stub_is_not_attempted(capsys):
    nb05.check_velocity_update(lambda *args: None)
    assert "not attempted" in capsys.readouterr().out


@pytest.mark.parametrize(("wrong", "hint"), [
    (lambda v, x, p, g, r1, r2, w, c1, c2: c1 * r1 * (p - x) + c2 * r2 * (g - x), "inertia"),
    (lambda v, x, p, g, r1, r2, w, c1, c2: w * v + c2 * r2 * (g - x), "cognitive"),
    (lambda v, x, p, g, r1, r2, w, c1, c2: w * v + c1 * r1 * (x - p) + c2 * r2 * (x - g), "wrong way"),
    (lambda v, x, p, g, r1, r2, w, c1, c2: w * v + c1 * r2 * (p - x) + c2 * r1 * (g - x), "swapped"),
    (lambda v, x, p, g, r1, r2, w, c1, c2: (w * v + c1 * r1 * (p - x) + c2 * r2 * (g - x))[:2], "shape"),
])
def test_velocity_update_mistakes(wrong, hint):
    with pytest.raises(ExerciseError, match=hint):
        nb05.check_velocity_update(wrong)


# Exercise 5.2 -------------------------------------------------------------------------------


def _solution_gmv_fitness(cs):
    gmv = ranking.evaluate(cs, np.array([1.0, 1.0, 1.0, 0.0, 0.0]))
    ctr = ranking.evaluate(cs, np.array([1.0, 0.0, 0.0, 0.0, 0.0]))
    return sum(coef * gmv[name] / ctr[name] for name, coef in tuning.SCALAR_TERMS.items())


def test_gmv_fitness_solution_passes(capsys):
    nb05.check_gmv_fitness(_solution_gmv_fitness, _cs())
    _ok(capsys, "5.2")


def test_gmv_fitness_mistakes():
    cs = _cs()
    raw = lambda c: sum(k * ranking.evaluate(c, np.array([1.0, 1, 1, 0, 0]))[n] for n, k in tuning.SCALAR_TERMS.items())  # noqa: E731
    with pytest.raises(ExerciseError, match="divide each term"):
        nb05.check_gmv_fitness(raw, cs)

    def unweighted(c):
        gmv, ctr = ranking.evaluate(c, np.array([1.0, 1, 1, 0, 0])), ranking.evaluate(c, tuning.CTR_WEIGHTS)
        return sum(gmv[n] / ctr[n] for n in tuning.SCALAR_TERMS)

    with pytest.raises(ExerciseError, match="coefficient"):
        nb05.check_gmv_fitness(unweighted, cs)
    typed_in = _solution_gmv_fitness(cs)
    with pytest.raises(ExerciseError, match="users"):
        nb05.check_gmv_fitness(lambda c: typed_in, cs)  # a number typed in fails on the other users
    with pytest.raises(ExerciseError, match="one number"):
        nb05.check_gmv_fitness(lambda c: [1, 2], cs)


# Exercises 5.3 and 5.4 ----------------------------------------------------------------------


def test_global_best_prediction():
    top = 3.0
    three_ok = np.array([3.0, 2.99, 2.98, 2.8, 2.85])
    nb05.check_global_best_prediction("b", three_ok, top)
    with pytest.raises(ExerciseError, match="commits early"):
        nb05.check_global_best_prediction("a", three_ok, top)
    with pytest.raises(ExerciseError, match="not the rule"):
        nb05.check_global_best_prediction("c", three_ok, top)
    nb05.check_global_best_prediction("a", np.full(5, 3.0), top)
    nb05.check_global_best_prediction("c", np.array([3.0, 2.0, 2.0, 2.0, 2.0]), top)
    nb05.check_global_best_prediction("b", np.array([3.0] * 18 + [2.5] * 2), top)


def test_stall_reading(capsys):
    nb05.check_stall_reading("b")
    _ok(capsys, "5.4")
    for letter, hint in (("a", "same 500 users"), ("c", "budget"), ("d", "walls")):
        with pytest.raises(ExerciseError, match=hint):
            nb05.check_stall_reading(letter)
    nb05.check_stall_reading(...)
    assert "not attempted" in capsys.readouterr().out


# Exercise 5.5 -------------------------------------------------------------------------------


def test_retuned_weights(capsys):
    cs = _cs(40)
    new_terms = {"ndcg": 1.0, "clicks": 0.5, "gmv": 1.0}
    f = tuning.scalar_objective(cs, new_terms)
    good = tuning.to_simplex(pso(f, np.zeros(5), np.ones(5), n_iters=24, seed=0).x)
    nb05.check_retuned_weights(good, cs, new_terms)
    _ok(capsys, "5.5")
    with pytest.raises(ExerciseError, match="5 fusion weights"):
        nb05.check_retuned_weights(np.ones(4), cs, new_terms)
    with pytest.raises(ExerciseError, match="non-negative"):
        nb05.check_retuned_weights(-np.ones(5), cs, new_terms)
    with pytest.raises(ExerciseError, match="1% below"):
        nb05.check_retuned_weights(np.array([0.0, 0.0, 0.0, 0.0, 1.0]), cs, new_terms)
