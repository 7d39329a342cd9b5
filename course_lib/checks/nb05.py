"""Self-checks of the exercises in notebooks/05_pso_tuning.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib.checks import ExerciseError, attempted, expect, expect_close, passed


def check_velocity_update(velocity_update) -> None:
    """Exercise 5.1: ``velocity_update(v, x, pbest, gbest, r1, r2, w, c1, c2)`` -> new velocities (n, d)."""
    rng = np.random.default_rng(51)
    v, x, pbest, r1, r2 = (rng.normal(size=(4, 3)) for _ in range(5))
    gbest = rng.normal(size=3)
    w, c1, c2 = 0.7, 1.5, 1.3
    answer = velocity_update(v, x, pbest, gbest, r1, r2, w, c1, c2)
    if not attempted(answer, "5.1"):
        return
    answer = np.asarray(answer, dtype=float)
    expected = w * v + c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x)
    expect(answer.shape == expected.shape, "5.1", f"return one velocity per particle, shape {expected.shape}, got {answer.shape}")
    expect(not np.allclose(answer, expected - w * v), "5.1", "the inertia term w * v is missing.")
    expect(not np.allclose(answer, c2 * r2 * (gbest - x) + w * v), "5.1",
           "the cognitive term is missing (or always zero): pull towards each particle's own best, pbest - x.")
    expect(not np.allclose(answer, w * v + c1 * r1 * (x - pbest) + c2 * r2 * (x - gbest)), "5.1",
           "the pulls point the wrong way: a particle moves towards a best, so use pbest - x and gbest - x.")
    expect_close(answer, expected, "5.1", "the new velocities")
    passed("5.1", "inertia + a random pull to the own best + a random pull to the swarm's best.")


def check_gmv_fitness(answer, cs) -> None:
    """Exercise 5.2: the scalarised objective (optimize.SCALAR_TERMS) of the GMV ranking (1, 1, 1, 0, 0)."""
    from course_lib import optimize, ranking

    if not attempted(answer, "5.2"):
        return
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise ExerciseError(f"Exercise 5.2: return one number (a float), got {type(answer).__name__}") from None
    values = ranking.evaluate(cs, np.array([1.0, 1.0, 1.0, 0.0, 0.0]))
    refs = optimize.scalar_refs(cs, optimize.SCALAR_TERMS)
    raw = sum(coef * values[name] for name, coef in optimize.SCALAR_TERMS.items())
    expect(not np.isclose(value, raw, rtol=1e-6), "5.2",
           "divide each term by the CTR ranking's value first, so euros and clicks become comparable.")
    expected = sum(coef * values[name] / refs[name] for name, coef in optimize.SCALAR_TERMS.items())
    expect_close(value, expected, "5.2", "the scalarised value of the GMV ranking", rtol=1e-6)
    passed("5.2", f"{expected:.3f}, against {sum(optimize.SCALAR_TERMS.values()):.1f} for the CTR ranking.")


def check_retuned_weights(answer, cs, terms: dict) -> None:
    """Exercise 5.3: PSO-tuned weights (5,) for ``terms``, within 1% of the dense-grid optimum on ``cs``."""
    from course_lib import optimize, ranking

    if not attempted(answer, "5.3"):
        return
    w = np.asarray(answer, dtype=float).ravel()
    expect(w.shape == (5,), "5.3", f"return the 5 fusion weights, got shape {w.shape}")
    expect(bool(np.all(w >= 0)) and w.sum() > 0, "5.3", "weights must be non-negative with a positive sum.")
    refs = optimize.scalar_refs(cs, terms)
    grid = optimize.simplex_grid(10)
    grid_best = optimize.scalarise(ranking.evaluate_population(cs, grid), terms, refs).max()
    value = optimize.scalarise(ranking.evaluate_population(cs, optimize.to_simplex(w)[None, :]), terms, refs)[0]
    expect(value >= 0.99 * grid_best, "5.3",
           f"your weights score {value:.4f} on the new objective, more than 1% below the grid optimum "
           f"{grid_best:.4f}: check that f uses the new terms (not the old ones) and that you return PSO's best x.")
    passed("5.3", f"{value:.4f} vs the grid's {grid_best:.4f} ({value / grid_best - 1:+.2%}); weights {np.round(optimize.to_simplex(w), 2)}.")
