"""Self-checks of the exercises in notebooks/05_pso_tuning.ipynb."""

from __future__ import annotations

import numpy as np

from course_lib import ranking
from course_lib.checks import attempted, check_choice, choice, expect, expect_close, fail, number, passed

OPTIONS = {
    "5.4": {
        "a": (False, "every method and seed is scored on the same 500 users, so users cannot separate seeds."),
        "b": (True, "premature convergence: one leader for everyone, so the swarm commits to the first good peak."),
        "c": (False, "the ring PSO reaches the top with the same 500 evaluations, so the budget is enough."),
        "d": (False, "the best weights sit on the walls (zeros) for the successful runs too; the walls are not the "
                     "trap."),
    },
}
check_stall_reading = choice(OPTIONS, "5.4", "why some global-best PSO runs end lower (multiple choice).")


def check_velocity_update(velocity_update) -> None:
    """Exercise 5.1: ``velocity_update(v, x, pbest, gbest, r1, r2, w, c1, c2)`` -> new velocities (n, d)."""
    rng = np.random.default_rng(51)
    v, x, pbest, r1, r2 = (rng.normal(size=(4, 3)) for _ in range(5))
    gbest, w, c1, c2 = rng.normal(size=3), 0.7, 1.5, 1.3
    answer = velocity_update(v, x, pbest, gbest, r1, r2, w, c1, c2)
    if not attempted(answer, "5.1"):
        return
    answer = np.asarray(answer, dtype=float)
    expected = w * v + c1 * r1 * (pbest - x) + c2 * r2 * (gbest - x)
    expect(answer.shape == expected.shape, "5.1",
           f"return one velocity per particle, shape {expected.shape}, got {answer.shape}")
    expect(not np.allclose(answer, expected - w * v), "5.1", "the inertia term w * v is missing.")
    expect(not np.allclose(answer, c2 * r2 * (gbest - x) + w * v), "5.1",
           "the cognitive term is missing (or always zero): pull towards each particle's own best, pbest - x.")
    expect(not np.allclose(answer, w * v + c1 * r1 * (x - pbest) + c2 * r2 * (x - gbest)), "5.1",
           "the pulls point the wrong way: a particle moves towards a best, so use pbest - x and gbest - x.")
    expect(not np.allclose(answer, w * v + c1 * r2 * (pbest - x) + c2 * r1 * (gbest - x)), "5.1",
           "r1 and r2 are swapped: r1 scales the pull to the own best (c1), r2 the pull to the leader (c2).")
    expect_close(answer, expected, "5.1", "the new velocities")
    passed("5.1", "inertia + a random pull to the own best + a random pull to the leader's best.")


def check_gmv_fitness(gmv_fitness, cs) -> None:
    """Exercise 5.2: ``gmv_fitness(cs)``, the fitness (tuning.SCALAR_TERMS) of the GMV ranking, on cs and half of it."""
    from course_lib import tuning

    first = gmv_fitness(cs)
    if not attempted(first, "5.2"):
        return
    terms = tuning.SCALAR_TERMS
    for sub in (cs, cs.take(np.arange(cs.n_users // 2))):  # on other users a typed-in number fails
        value = number(first if sub is cs else gmv_fitness(sub), "5.2")
        values, refs = ranking.evaluate(sub, np.array(ranking.PRESETS["gmv"])), tuning.scalar_refs(sub, terms)
        expect(not np.isclose(value, sum(coef * values[name] for name, coef in terms.items()), rtol=1e-6), "5.2",
               "divide each term by the CTR ranking's value first, so euros and clicks become comparable.")
        expect(not np.isclose(value, sum(values[name] / refs[name] for name in terms), rtol=1e-6), "5.2",
               "multiply each ratio by its coefficient in terms (1.0, 0.5, 0.5) before adding.")
        expected = sum(coef * values[name] / refs[name] for name, coef in terms.items())
        expect_close(value, expected, "5.2", f"the fitness of the GMV ranking on {sub.n_users} users")
    passed("5.2", f"{float(first):.3f}, against {sum(terms.values()):.1f} for the CTR ranking.")


def check_global_best_prediction(answer, global_best_fitness, best_found: float) -> None:
    """Exercise 5.3: the share of global-best seeds within 2% of the best found (a: all, b: most, c: half or fewer)."""
    n, n_ok = len(global_best_fitness), int(np.sum(np.asarray(global_best_fitness, dtype=float) >= 0.98 * best_found))
    right = "a" if n_ok == n else "b" if n_ok > n / 2 else "c"
    said = f"{n_ok} of {n} global-best seeds ended within 2% of the best found."
    check_choice("5.3", answer, {
        "a": (right == "a", f"{said} " + ("The fitness is smooth enough here." if right == "a" else "A smooth-looking "
              "average still has several peaks near the top, and a global-best swarm commits early.")),
        "b": (right == "b", f"{said} " + ("Most seeds find the top; the others settle on a lower peak." if right == "b"
              else "Look at the strip plot below: the share is not 'most, but not all'.")),
        "c": (right == "c", f"{said} " + ("The swarm commits too early more often than not." if right == "c" else
              "Stalling happens but is not the rule: most seeds do find the top.")),
    })


def check_retuned_weights(answer, cs, terms: dict) -> None:
    """Exercise 5.5: PSO-tuned weights (5,) for ``terms``, within 1% of the best of the grid and a reference PSO."""
    from pymoo.util.ref_dirs import get_reference_directions

    from course_lib import pso, tuning

    if not attempted(answer, "5.5"):
        return
    w = np.asarray(answer, dtype=float).ravel()
    expect(w.shape == (5,), "5.5", f"return the 5 fusion weights, got shape {w.shape}")
    expect(bool(np.all(w >= 0)) and w.sum() > 0, "5.5", "weights must be non-negative with a positive sum.")
    f, grid = tuning.scalar_objective(cs, terms), get_reference_directions("das-dennis", 5, n_partitions=10)
    target = max(-f(grid).min(), -min(pso.pso(f, np.zeros(5), np.ones(5), n_iters=24, seed=s).f for s in range(2)))
    value = -f(w[None, :])[0]
    if value < 0.99 * target:
        old = tuning.scalar_objective(cs, tuning.SCALAR_TERMS)
        tuned_for_old = old(w[None, :])[0] <= 0.99 * old(grid).min()
        fail("5.5", f"your weights score {value:.4f} on the new fitness, more than 1% below {target:.4f} (the best "
             "of the grid and a reference PSO): check that f uses new_terms (not SCALAR_TERMS) and that you return the "
             "best x" + (" (these weights look tuned for the old terms)." if tuned_for_old else "."))
    weights = np.round(tuning.to_simplex(w), 2)
    passed("5.5", f"{value:.4f} vs {target:.4f} ({value / target - 1:+.2%}); weights {weights}.")
