"""Unit tests of the tuning code: the PSO and fitness exported from notebook 05 (``pso``, ``tuning``), the
dominance test exported from notebook 04 and the non-dominated sorting, crowding distance, optimiser runs and
hypervolume curves exported from notebook 06 (``pareto``, against pymoo), and the pymoo problem ``WeightProblem`` (``tuning``, notebook 05).
Fast (seconds), no notebook runs."""

from __future__ import annotations

import numpy as np
import pytest
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.algorithms.soo.nonconvex.ga import GA
from pymoo.indicators.hv import HV
from pymoo.operators.survival.rank_and_crowding.metrics import calc_crowding_distance
from pymoo.problems import get_problem
from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

from course_lib import pareto, ranking, tuning
from course_lib.pso import pso, ring_leaders
from course_lib.tuning import WeightProblem


def _f(problem):
    return lambda X: problem.evaluate(X, return_values_of=["F"])[:, 0]


# ---------------------------------------------------------------------------
# PSO (notebook 05)
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("topology", ["ring", "global"])
@pytest.mark.parametrize(("name", "d"), [("sphere", 5), ("rastrigin", 2), ("rosenbrock", 2)])
def test_pso_finds_known_optima(name, d, topology):
    problem = get_problem(name, n_var=d)
    f = _f(problem)
    results = [pso(f, problem.xl, problem.xu, n_particles=20, n_iters=149, seed=s, topology=topology) for s in range(5)]
    values = np.array([r.f for r in results])
    assert np.median(values) < 1e-3, values
    best = results[int(np.argmin(values))]
    np.testing.assert_allclose(best.x, problem.pareto_set().ravel(), atol=0.05)
    np.testing.assert_allclose(best.f, f(best.x[None, :])[0])  # the reported value is f at the point


def test_pso_history_and_budget():
    f = _f(get_problem("sphere", n_var=3))
    res = pso(f, np.zeros(3), np.ones(3), n_particles=7, n_iters=12, seed=1, keep_positions=True)
    h = res.history
    assert h["best_f"].shape == (13,) and h["mean_f"].shape == (13,) and h["diversity"].shape == (13,)
    assert h["positions"].shape == (13, 7, 3)
    assert h["n_evals"][-1] == 7 * 13
    assert np.all(np.diff(h["best_f"]) <= 0), "the best value so far can never get worse"
    assert h["best_f"][-1] == res.f
    assert h["best_f"][0] == pytest.approx(f(h["positions"][0]).min())
    assert "positions" not in pso(f, np.zeros(3), np.ones(3), n_iters=3).history


def test_pso_is_reproducible_with_a_seed():
    f = _f(get_problem("rastrigin", n_var=4))
    a, b = (pso(f, -5 * np.ones(4), 5 * np.ones(4), n_particles=10, n_iters=20, seed=3) for _ in range(2))
    c = pso(f, -5 * np.ones(4), 5 * np.ones(4), n_particles=10, n_iters=20, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.history["best_f"], b.history["best_f"])
    assert not np.array_equal(a.x, c.x)


def test_pso_stays_in_the_box():
    f = _f(get_problem("sphere", n_var=2))  # minimum at (0.5, 0.5); a box that excludes it
    res = pso(f, np.array([0.7, -1.0]), np.array([2.0, 0.2]), n_iters=30, keep_positions=True)
    assert np.all(res.history["positions"] >= [0.7, -1.0]) and np.all(res.history["positions"] <= [2.0, 0.2])
    np.testing.assert_allclose(res.x, [0.7, 0.2], atol=1e-6)  # the best point is the corner on the walls


def test_ring_leaders():
    pbest_f = np.array([5.0, 1.0, 4.0, 3.0, 0.0, 2.0])
    np.testing.assert_array_equal(ring_leaders(pbest_f, 1), [1, 1, 1, 4, 4, 4])
    np.testing.assert_array_equal(ring_leaders(pbest_f, 3), [4] * 6)  # radius n/2: the global best


def test_the_ring_keeps_the_swarm_more_diverse():
    f = _f(get_problem("rastrigin", n_var=5))
    spread = {t: np.median([pso(f, -5 * np.ones(5), 5 * np.ones(5), n_iters=40, seed=s, topology=t).history["diversity"][10]
                            for s in range(5)]) for t in ("ring", "global")}
    assert spread["ring"] > 1.5 * spread["global"], spread


# ---------------------------------------------------------------------------
# Dominance (notebook 04), non-dominated sorting and crowding distance (notebook 06), against pymoo
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("seed", range(4))
def test_non_dominated_matches_pymoo_and_keeps_a_repeated_row_once(seed):
    rng = np.random.default_rng(seed)
    values = rng.integers(0, 5, (60, 1 + seed % 3)).astype(float)  # many ties and duplicates
    mask = pareto.non_dominated(values)
    assert mask.dtype == bool and mask.shape == (60,)
    front = NonDominatedSorting().do(-values, only_non_dominated_front=True)  # pymoo minimises
    assert {tuple(r) for r in values[mask]} == {tuple(r) for r in values[front]}
    assert len(np.unique(values[mask], axis=0)) == mask.sum(), "a repeated row must count once"
    first = {tuple(r): i for i, r in reversed(list(enumerate(values)))}  # the first index of every distinct row
    assert all(first[tuple(values[i])] == i for i in np.flatnonzero(mask))
    assert pareto.non_dominated(np.zeros((0, 3))).shape == (0,)


@pytest.mark.parametrize("seed", range(4))
def test_fast_non_dominated_sort_matches_pymoo(seed):
    rng = np.random.default_rng(seed)
    F = rng.integers(0, 6, (80, 3)).astype(float)  # many ties and duplicates
    ours, theirs = pareto.fast_non_dominated_sort(F), NonDominatedSorting().do(F)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs, strict=True):
        assert set(a) == set(b)
    assert sorted(np.concatenate(ours).tolist()) == list(range(len(F)))


def test_crowding_distance_matches_pymoo():
    rng = np.random.default_rng(1)
    for m in (2, 3):
        F = rng.random((15, m))
        np.testing.assert_allclose(pareto.crowding_distance(F), calc_crowding_distance(F))
    d = pareto.crowding_distance(np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0]]))
    assert np.isinf(d[0]) and np.isinf(d[2]) and d[1] == pytest.approx(1.0)


def test_survivors_fill_by_fronts_then_crowding():
    F = np.array([[0.0, 1.0], [0.5, 0.5], [1.0, 0.0], [0.45, 0.55], [1.0, 1.0], [2.0, 2.0]])
    keep = pareto.survivors(F, 3)
    assert set(keep) == {0, 2, 1} or set(keep) == {0, 2, 3}, keep  # front 1 has 4 points: extremes first
    assert set(pareto.survivors(F, 5)) == {0, 1, 2, 3, 4}


# ---------------------------------------------------------------------------
# The fitness (notebook 05), the pymoo problem (notebook 05), the runs and curves (notebook 06)
# ---------------------------------------------------------------------------


def _cs(n_users=30, seed=5):
    rng = np.random.default_rng(seed)
    shape = (n_users, 20)
    p_click = rng.uniform(0.01, 0.5, shape)
    price = rng.uniform(5, 100, shape)
    return ranking.CandidateSet(
        user_ids=np.arange(n_users),
        item_ids=np.argsort(rng.random((n_users, 60)), axis=1)[:, :20],
        p_click=p_click,
        p_purchase=p_click * rng.uniform(0.1, 0.6, shape),
        price=price,
        margin=price * rng.uniform(0.1, 0.5, shape),
        category=rng.integers(0, 6, shape),
        popularity=rng.integers(0, 40, shape).astype(float),
        true_p_click=p_click,
        true_p_purchase=p_click * 0.3,
        gains=rng.choice([0.0, 1.0, 3.0], shape, p=[0.6, 0.3, 0.1]),
        position_decay=0.7,
    )


def test_split_users_is_a_disjoint_cover():
    cs = _cs(31)
    a, b = tuning.split_users(cs, seed=0)
    assert (a.n_users, b.n_users) == (15, 16)
    assert set(a.user_ids) | set(b.user_ids) == set(cs.user_ids) and not set(a.user_ids) & set(b.user_ids)
    assert np.array_equal(tuning.split_users(cs, seed=0)[0].user_ids, a.user_ids)


def test_to_simplex_and_the_all_zero_corner():
    np.testing.assert_allclose(tuning.to_simplex([2.0, 0, 0, 0, 2.0]), [0.5, 0, 0, 0, 0.5], atol=1e-11)
    np.testing.assert_allclose(tuning.to_simplex(np.zeros((1, 5))), np.full((1, 5), 0.2))


def test_the_ctr_ranking_scores_the_sum_of_the_coefficients():
    cs = _cs()
    f = tuning.scalar_objective(cs, tuning.SCALAR_TERMS)
    assert -f(tuning.CTR_WEIGHTS[None, :])[0] == pytest.approx(sum(tuning.SCALAR_TERMS.values()))
    gmv = ranking.evaluate(cs, np.array(ranking.PRESETS["gmv"], dtype=float))
    expected = sum(c * gmv[n] / f.refs[n] for n, c in tuning.SCALAR_TERMS.items())
    assert -f(np.array([[1.0, 1.0, 1.0, 0, 0]]))[0] == pytest.approx(expected)


def test_weight_problem_with_the_real_ranking():
    cs = _cs()
    problem = WeightProblem(cs, ("ndcg", "gmv", "diversity"))
    X = np.random.default_rng(5).random((4, 5))
    F = problem.evaluate(X, return_values_of=["F"])
    for x, row in zip(X, F, strict=True):
        expected = ranking.evaluate(cs, x / x.sum())
        np.testing.assert_allclose(row, [-expected["ndcg"], -expected["gmv"], -expected["diversity"]])
    np.testing.assert_allclose(problem.log_X, X / X.sum(axis=1, keepdims=True))
    with pytest.raises(ValueError, match="objectives"):
        WeightProblem(cs, ("clicks", "ctr"))


def test_runs_keep_every_evaluation_and_the_archive():
    cs = _cs()
    ga = pareto.run_pymoo("GA", WeightProblem(cs, terms=tuning.SCALAR_TERMS), GA(pop_size=10), 60, seed=0)
    assert ga.n_evals == 60 and ga.X.shape == (1, 5) and ga.F[0, 0] == ga.F_all.min()
    problem = WeightProblem(cs, ("clicks", "gmv"))
    nsga2 = pareto.run_pymoo("NSGA-II", problem, NSGA2(pop_size=10), 80, seed=1)
    front = NonDominatedSorting().do(nsga2.F_all, only_non_dominated_front=True)
    assert {tuple(r) for r in nsga2.F} == {tuple(r) for r in nsga2.F_all[front]}
    assert len(np.unique(nsga2.F, axis=0)) == len(nsga2.F), "the archive holds every point once"
    assert nsga2.n_final >= 1
    rnd = pareto.run_random(problem, 50, seed=2, batch=20)
    assert rnd.n_evals == 50 and np.allclose(rnd.X_all.sum(axis=1), 1.0)


def test_random_search_is_uniform_on_the_simplex():
    problem = WeightProblem(_cs(), ("clicks", "gmv"))
    W = pareto.run_random(problem, 2000, seed=0, batch=1000).X_all
    # Dirichlet(1, ..., 1): each weight is Beta(1, 4), mean 0.2, P(w < 0.05) = 1 - 0.95^4, about 0.185
    np.testing.assert_allclose(W.mean(axis=0), 0.2, atol=0.02)
    assert abs(np.mean(W < 0.05) - (1 - 0.95**4)) < 0.03


def test_hv_curve_grows_and_matches_pymoo_at_the_end():
    problem = WeightProblem(_cs(), ("clicks", "gmv", "diversity"))
    run = pareto.run_random(problem, 300, seed=3)
    ideal, nadir = run.F.min(axis=0), run.F.max(axis=0)
    curve = pareto.hv_curve(run, ideal, nadir, [100, 200, 300])
    assert np.all(np.diff(curve) >= -1e-12)
    hv = HV(ref_point=np.full(3, 1.1))((run.F - ideal) / (nadir - ideal))
    assert curve[-1] == pytest.approx(hv)


def test_tuning_wing_imports_nothing_from_the_learning_wing():
    import subprocess
    import sys

    code = ("import sys, course_lib.pso, course_lib.pareto, course_lib.tuning; "
            "bad = [m for m in ('course_lib.data', 'course_lib.shop', 'tensorflow', 'keras') if m in sys.modules]; "
            "print(bad); sys.exit(1 if bad else 0)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
