"""Unit tests of course_lib.optimize: PSO on known optima, the pymoo adapters on a fake
evaluator, and the front indicators against pymoo and hand-worked cases. Fast (seconds)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
from pymoo.decomposition.asf import ASF
from pymoo.indicators.hv import HV
from pymoo.indicators.igd import IGD
from pymoo.mcdm.pseudo_weights import PseudoWeights

from course_lib import optimize as opt

# ---------------------------------------------------------------------------
# PSO
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("f", "d", "lo", "hi", "x_star"),
    [
        (opt.sphere, 5, -5.12, 5.12, 0.0),
        (opt.rastrigin, 2, -5.12, 5.12, 0.0),
        (opt.rosenbrock, 2, -2.0, 2.0, 1.0),
    ],
    ids=["sphere-5d", "rastrigin-2d", "rosenbrock-2d"],
)
def test_pso_finds_known_optima(f, d, lo, hi, x_star):
    results = [opt.pso(f, np.full(d, lo), np.full(d, hi), n_particles=20, n_iters=99, seed=s) for s in range(5)]
    values = np.array([r.f for r in results])
    assert np.median(values) < 1e-3, values
    best = results[int(np.argmin(values))]
    np.testing.assert_allclose(best.x, np.full(d, x_star), atol=0.05)
    np.testing.assert_allclose(best.f, f(best.x[None, :])[0])  # the reported value is f at the point


def test_pso_history_and_budget():
    res = opt.pso(opt.sphere, -np.ones(3), np.ones(3), n_particles=7, n_iters=12, seed=1, keep_positions=True)
    h = res.history
    assert h["best_f"].shape == (13,) and h["mean_f"].shape == (13,)
    assert h["positions"].shape == (13, 7, 3)
    assert h["n_evals"][-1] == 7 * 13
    assert np.all(np.diff(h["best_f"]) <= 0), "the best value so far can never get worse"
    assert h["best_f"][-1] == res.f
    # the first entry is the best of the initial swarm
    assert h["best_f"][0] == pytest.approx(opt.sphere(h["positions"][0]).min())


def test_pso_is_reproducible_with_a_seed():
    a = opt.pso(opt.rastrigin, -5 * np.ones(4), 5 * np.ones(4), n_particles=10, n_iters=20, seed=3)
    b = opt.pso(opt.rastrigin, -5 * np.ones(4), 5 * np.ones(4), n_particles=10, n_iters=20, seed=3)
    c = opt.pso(opt.rastrigin, -5 * np.ones(4), 5 * np.ones(4), n_particles=10, n_iters=20, seed=4)
    np.testing.assert_array_equal(a.x, b.x)
    np.testing.assert_array_equal(a.history["best_f"], b.history["best_f"])
    assert not np.array_equal(a.x, c.x)


@pytest.mark.parametrize("bounds", ["clip", "reflect"])
def test_pso_respects_bounds(bounds):
    # The unconstrained optimum (3, -3) lies outside the box; the best point in the box is its corner.
    def f(X):
        return ((X - np.array([3.0, -3.0])) ** 2).sum(axis=1)

    lower, upper = np.array([-1.0, -2.0]), np.array([1.0, 2.0])
    res = opt.pso(f, lower, upper, n_particles=15, n_iters=40, seed=0, v_max=0.9, bounds=bounds, keep_positions=True)
    pos = res.history["positions"]
    assert np.all(pos >= lower) and np.all(pos <= upper)
    np.testing.assert_allclose(res.x, [1.0, -2.0], atol=1e-3 if bounds == "clip" else 0.05)


def test_keep_in_bounds_hand_cases():
    lo, hi = np.zeros(2), np.ones(2)
    x = np.array([[1.3, -0.2], [0.5, 0.5]])
    v = np.array([[0.4, -0.3], [0.1, -0.1]])
    xc, vc = opt.keep_in_bounds(x, v, lo, hi, "clip")
    np.testing.assert_allclose(xc, [[1.0, 0.0], [0.5, 0.5]])
    np.testing.assert_allclose(vc, [[0.0, 0.0], [0.1, -0.1]])
    xr, vr = opt.keep_in_bounds(x, v, lo, hi, "reflect")
    np.testing.assert_allclose(xr, [[0.7, 0.2], [0.5, 0.5]])
    np.testing.assert_allclose(vr, [[-0.4, 0.3], [0.1, -0.1]])
    with pytest.raises(ValueError, match="bounds"):
        opt.keep_in_bounds(x, v, lo, hi, "wrap")


def test_pso_rejects_bad_bounds():
    with pytest.raises(ValueError, match="upper must be greater"):
        opt.pso(opt.sphere, np.ones(2), np.zeros(2))
    with pytest.raises(ValueError, match="same length"):
        opt.pso(opt.sphere, np.zeros(2), np.ones(3))


def test_pso_not_clearly_worse_than_pymoo_at_equal_budget():
    for f, d, lo, hi in [(opt.rastrigin, 2, -5.12, 5.12), (opt.rosenbrock, 2, -2.0, 2.0), (opt.sphere, 5, -5.12, 5.12)]:
        ours = [opt.pso(f, np.full(d, lo), np.full(d, hi), n_particles=20, n_iters=99, seed=s).f for s in range(5)]
        theirs = [opt.pymoo_pso(f, np.full(d, lo), np.full(d, hi), n_evals=2000, pop_size=20, seed=s)[1] for s in range(5)]
        # "clearly worse" would be: pymoo solves it (median below 1e-3) and we do not, or we are 2x worse
        assert np.median(ours) <= max(2 * np.median(theirs), 1e-3), (f.__name__, ours, theirs)


# ---------------------------------------------------------------------------
# Weights on the simplex
# ---------------------------------------------------------------------------


def test_to_simplex_and_grid():
    W = opt.to_simplex(np.array([[1.0, 1.0, 2.0, 0.0, 0.0], [0.0] * 5]))
    np.testing.assert_allclose(W, [[0.25, 0.25, 0.5, 0, 0], [0.2] * 5])
    with pytest.raises(ValueError, match="non-negative"):
        opt.to_simplex(np.array([1.0, -1.0, 0, 0, 0]))
    grid = opt.simplex_grid(10)
    assert grid.shape == (1001, 5)  # C(14, 4)
    np.testing.assert_allclose(grid.sum(axis=1), 1.0)
    np.testing.assert_allclose(grid * 10, np.round(grid * 10), atol=1e-9)
    assert len(np.unique(np.round(grid, 9), axis=0)) == 1001


# ---------------------------------------------------------------------------
# Front indicators and decision helpers
# ---------------------------------------------------------------------------


def test_non_dominated_hand_case():
    F = np.array([[1, 3], [2, 2], [3, 1], [2, 3], [3, 3], [2, 2]], dtype=float)
    np.testing.assert_array_equal(opt.non_dominated(F), [0, 1, 2])


def test_hypervolume_hand_computed_2d():
    F = np.array([[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]])
    ideal, nadir = np.array([1.0, 1.0]), np.array([3.0, 3.0])
    # normalised: (0, 1), (0.5, 0.5), (1, 0); reference point (1.1, 1.1):
    # 0.5 x 0.1 + 0.5 x 0.6 + 0.1 x 1.1 = 0.05 + 0.30 + 0.11
    assert opt.hypervolume(F, ideal, nadir) == pytest.approx(0.46)
    # a point beyond the reference point adds nothing; a dominated point adds nothing
    more = np.vstack([F, [[4.0, 0.0]], [[2.5, 2.5]]])
    assert opt.hypervolume(more, ideal, nadir) == pytest.approx(0.46)
    assert opt.hypervolume(np.zeros((0, 2)), ideal, nadir) == 0.0


def test_hypervolume_matches_pymoo_hv():
    rng = np.random.default_rng(0)
    F = rng.random((40, 3)) * np.array([1.0, 10.0, 100.0])
    ideal, nadir = np.array([0.0, 0.0, 0.0]), np.array([1.0, 10.0, 100.0])
    expected = HV(ref_point=np.full(3, 1.1))((F - ideal) / (nadir - ideal))
    assert opt.hypervolume(F, ideal, nadir) == pytest.approx(expected)
    # and in the original units: the volume there, divided by the volume of the ideal-nadir box
    raw = HV(ref_point=ideal + 1.1 * (nadir - ideal))(F)
    assert opt.hypervolume(F, ideal, nadir) == pytest.approx(raw / np.prod(nadir - ideal))


def test_igd_hand_case_and_pymoo():
    R = np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    F = np.array([[0.0, 0.0], [1.0, 0.0]])
    # distances from each reference point to its closest F point: 0, 1, 1
    assert opt.igd(F, R) == pytest.approx(2 / 3)
    rng = np.random.default_rng(1)
    F, R = rng.random((30, 3)), rng.random((50, 3))
    assert opt.igd(F, R) == pytest.approx(IGD(R)(F))
    # normalised: scaling both sets by the bounds leaves the normalised IGD unchanged
    scale = np.array([1.0, 10.0, 100.0])
    assert opt.igd(F * scale, R * scale, ideal=np.zeros(3), nadir=scale) == pytest.approx(IGD(R)(F))
    with pytest.raises(ValueError, match="objectives"):
        opt.igd(F[:, :2], R)


FRONT = np.array([[0.0, 1.0], [0.2, 0.3], [0.5, 0.15], [1.0, 0.0]])


def test_knee_point_hand_front():
    # line through the extremes: x + y = 1; distances 0, 0.5, 0.35, 0 (/sqrt 2): the knee is (0.2, 0.3)
    assert opt.knee_point(FRONT) == 1
    # scale and shift of the objectives does not move the knee (it works in normalised space)
    assert opt.knee_point(FRONT * np.array([100.0, 3.0]) + 7.0) == 1
    # a 3-D front: extremes on the unit axes, the bulging point wins
    F3 = np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0], [0.2, 0.2, 0.3], [0.4, 0.4, 0.4]], dtype=float)
    assert opt.knee_point(F3) == 3


def test_asf_hand_front_and_pymoo():
    # equal importance: the point with the smallest worst normalised gap: (0.5, 0.15) -> 0.5; (0.2, 0.3) -> 0.3
    values = opt.asf(FRONT, [1.0, 1.0])
    np.testing.assert_allclose(values, [1.0, 0.3, 0.5, 1.0])
    assert int(np.argmin(values)) == 1
    # caring 4x more about objective 2 keeps the choice close to objective 2's best
    assert int(np.argmin(opt.asf(FRONT, [0.2, 0.8]))) == 2
    # same as pymoo's ASF with weights 1 / importance on the normalised front
    importance = np.array([0.3, 0.7])
    expected = ASF().do(FRONT, 1 / importance, utopian_point=np.zeros(2))
    np.testing.assert_allclose(opt.asf(FRONT, importance), expected)
    with pytest.raises(ValueError, match="importance"):
        opt.asf(FRONT, [1.0, 0.0])


def test_pseudo_weights_match_pymoo():
    rng = np.random.default_rng(2)
    F = rng.random((20, 3))
    F = F[opt.non_dominated(F)]
    target = np.array([0.5, 0.3, 0.2])
    index, expected = PseudoWeights(target).do(F, return_pseudo_weights=True)
    ours = opt.pseudo_weights(F)
    np.testing.assert_allclose(ours, expected)
    np.testing.assert_allclose(ours.sum(axis=1), 1.0)
    assert int(np.argmin(np.abs(ours - target).sum(axis=1))) == index
    # hand case: the extremes get pure weights
    np.testing.assert_allclose(opt.pseudo_weights(FRONT)[[0, 3]], [[1.0, 0.0], [0.0, 1.0]])


# ---------------------------------------------------------------------------
# The pymoo adapters, on a fake evaluator
# ---------------------------------------------------------------------------

NAMES = ("ndcg", "clicks", "purchases", "gmv", "profit", "diversity", "coverage", "novelty")
# each objective is a fixed linear function of the simplex weights, plus a curved trade-off
M = np.array(
    [
        [0.30, 1.0, 0.10, 10.0, 1.0, 0.2, 0.1, 0.0],
        [0.20, 0.5, 0.30, 20.0, 2.0, 0.3, 0.1, 0.1],
        [0.10, 0.2, 0.20, 40.0, 3.0, 0.4, 0.2, 0.2],
        [0.10, 0.3, 0.10, 15.0, 5.0, 0.4, 0.2, 0.2],
        [0.05, 0.1, 0.05, 5.0, 0.5, 0.9, 0.9, 0.9],
    ]
)


class FakeEvaluator:
    """Stands in for ranking.evaluate_population: W (n, 5) -> (n, 8); counts its calls."""

    def __init__(self):
        self.calls, self.rows = 0, 0

    def __call__(self, cs, W, k=10):
        W = np.asarray(W)
        assert W.ndim == 2 and W.shape[1] == 5
        np.testing.assert_allclose(W.sum(axis=1), 1.0)
        self.calls += 1
        self.rows += len(W)
        values = W @ M
        values[:, 3] = values[:, 3] * (1.2 - W[:, 0] ** 2)  # make GMV curved in the click weight
        return values


def test_weight_problem_evaluates_a_population_in_one_call():
    fake = FakeEvaluator()
    problem = opt.WeightProblem(None, ("clicks", "gmv"), evaluate_fn=fake, objective_names=NAMES)
    X = np.random.default_rng(0).random((12, 5))
    F = problem.evaluate(X, return_values_of=["F"])
    assert fake.calls == 1 and fake.rows == 12
    expected = fake(None, opt.to_simplex(X))[:, [1, 3]]
    np.testing.assert_allclose(F, -expected)  # maximised objectives are negated
    np.testing.assert_allclose(problem.log_X, opt.to_simplex(X))
    np.testing.assert_allclose(problem.log_F, F)
    assert problem.n_var == 5 and problem.n_obj == 2
    with pytest.raises(ValueError, match="unknown objective"):
        opt.WeightProblem(None, ("clicks", "ctr"), evaluate_fn=fake, objective_names=NAMES)


def test_scalarised_problem_and_objective():
    fake = FakeEvaluator()
    terms = {"ndcg": 1.0, "clicks": 0.5, "gmv": 0.5}
    problem = opt.WeightProblem(None, terms=terms, evaluate_fn=fake, objective_names=NAMES)
    ctr = fake(None, opt.CTR_WEIGHTS[None, :])[0]
    assert problem.refs == pytest.approx({"ndcg": ctr[0], "clicks": ctr[1], "gmv": ctr[3]})
    X = np.random.default_rng(1).random((6, 5))
    v = fake(None, opt.to_simplex(X))
    expected = v[:, 0] / ctr[0] + 0.5 * v[:, 1] / ctr[1] + 0.5 * v[:, 3] / ctr[3]
    np.testing.assert_allclose(problem.evaluate(X, return_values_of=["F"])[:, 0], -expected)
    f = opt.scalar_objective(None, terms, evaluate_fn=fake, objective_names=NAMES)
    np.testing.assert_allclose(f(X), -expected)
    assert f.n_evals == 6
    # the CTR ranking scores exactly sum(terms) = 2
    assert -f(opt.CTR_WEIGHTS[None, :])[0] == pytest.approx(2.0)


def test_runs_keep_exact_budgets_and_are_reproducible():
    fake = FakeEvaluator()
    problem = opt.WeightProblem(None, ("clicks", "gmv", "diversity"), evaluate_fn=fake, objective_names=NAMES)
    runs = {
        "nsga2": opt.run_nsga2(problem, n_evals=200, pop_size=20, seed=1),
        "mopso": opt.run_mopso(problem, n_evals=200, pop_size=20, seed=1),
        "random": opt.run_random(problem, n_evals=200, batch=50, seed=1),
    }
    for name, run in runs.items():
        assert run.n_evals == 200, name
        np.testing.assert_allclose(run.X.sum(axis=1), 1.0)
        assert len(opt.non_dominated(run.F)) == len(run.F), f"{name}: the result is a non-dominated set"
    again = opt.run_nsga2(problem, n_evals=200, pop_size=20, seed=1)
    np.testing.assert_array_equal(again.F_all, runs["nsga2"].F_all)
    again = opt.run_mopso(problem, n_evals=200, pop_size=20, seed=1)
    np.testing.assert_array_equal(again.F_all, runs["mopso"].F_all)
    # a grid reference front on the same fake problem, and the indicators on the runs
    ref = opt.reference_front(None, ("clicks", "gmv", "diversity"), 8, evaluate_fn=fake, objective_names=NAMES)
    assert len(ref.grid_weights) == 495 and len(ref.F) == len(opt.non_dominated(ref.F))
    hv_ref = ref.hypervolume()
    hv_nsga = opt.hypervolume(runs["nsga2"].F, ref.ideal, ref.nadir)
    assert 0.8 * hv_ref < hv_nsga < 1.2 * hv_ref
    curve = opt.hv_curve(runs["nsga2"], ref.ideal, ref.nadir, [20, 100, 200])
    assert np.all(np.diff(curve) >= 0) and curve[-1] == pytest.approx(hv_nsga)
    F100 = runs["nsga2"].F_all[:100]
    assert curve[1] == pytest.approx(opt.hypervolume(F100, ref.ideal, ref.nadir))


def test_ga_on_scalarised_fake_beats_ctr():
    fake = FakeEvaluator()
    problem = opt.WeightProblem(None, terms={"clicks": 1.0, "gmv": 1.0}, evaluate_fn=fake, objective_names=NAMES)
    run = opt.run_ga(problem, n_evals=300, pop_size=20, seed=0)
    assert run.n_evals == 300 and run.X.shape == (1, 5)
    assert -run.F[0, 0] > 2.0  # better than the CTR ranking's 1 + 1
    with pytest.raises(ValueError, match="single-objective"):
        opt.run_ga(opt.WeightProblem(None, ("clicks", "gmv"), evaluate_fn=fake, objective_names=NAMES))


# ---------------------------------------------------------------------------
# Tuned weights for notebook 07
# ---------------------------------------------------------------------------


def _fake_cs(seed=0):
    rng = np.random.default_rng(seed)
    return SimpleNamespace(item_ids=rng.integers(0, 50, (4, 6)), p_click=rng.random((4, 6)), p_purchase=rng.random((4, 6)))


def test_ensure_tuned_weights_reads_and_recomputes(tmp_path, monkeypatch, capsys):
    path = tmp_path / "tuned_weights.json"
    cs = _fake_cs()
    calls = []

    def fake_quick(cs_, names, seed=0):
        calls.append(tuple(names))
        return {name: np.arange(1.0, 6.0) for name in names}

    monkeypatch.setattr(opt, "quick_tunings", fake_quick)
    opt.save_tuned_weights({"pso": [2, 0, 0, 0, 2]}, cs, path)
    got = opt.ensure_tuned_weights(cs, path)
    assert calls == [("ga", "nsga2_knee", "nsga2_asf")], "only the missing names are recomputed"
    assert "recomputing" in capsys.readouterr().out
    np.testing.assert_allclose(got["pso"], [0.5, 0, 0, 0, 0.5])
    np.testing.assert_allclose(got["ga"], np.arange(1.0, 6.0) / 15)
    assert set(got) == set(opt.TUNED_NAMES)
    assert json.loads(path.read_text())["pso"] == [0.5, 0, 0, 0, 0.5]
    # everything fresh now: read, no recomputation
    opt.ensure_tuned_weights(cs, path)
    assert len(calls) == 1
    # other predictions: the stored weights are stale and recomputed
    opt.ensure_tuned_weights(_fake_cs(1), path)
    assert calls[-1] == opt.TUNED_NAMES


def test_weight_problem_with_the_real_ranking():
    from course_lib import ranking

    rng = np.random.default_rng(5)
    shape = (30, 20)
    p_click = rng.uniform(0.01, 0.5, shape)
    price = rng.uniform(5, 100, shape)
    cs = ranking.CandidateSet(
        user_ids=np.arange(30),
        item_ids=np.argsort(rng.random((30, 60)), axis=1)[:, :20],
        p_click=p_click,
        p_purchase=p_click * rng.uniform(0.1, 0.6, shape),
        price=price,
        margin=price * rng.uniform(0.1, 0.5, shape),
        category=rng.integers(0, 6, shape),
        popularity=rng.integers(0, 40, shape).astype(float),
        true_p_click=p_click,
        true_p_purchase=p_click * 0.3,
        gains=rng.choice([0.0, 1.0, 3.0], shape, p=[0.8, 0.15, 0.05]),
    )
    problem = opt.WeightProblem(cs, ("ndcg", "gmv", "diversity"))
    X = rng.random((4, 5))
    F = problem.evaluate(X, return_values_of=["F"])
    for x, row in zip(X, F, strict=True):
        expected = ranking.evaluate(cs, x / x.sum())
        np.testing.assert_allclose(row, [-expected["ndcg"], -expected["gmv"], -expected["diversity"]])
