"""Tuning the fusion weights: PSO written to be read, pymoo adapters, Pareto-front tools.

Four parts, in the order notebooks 05 and 06 teach them:

1. ``pso``: particle swarm optimisation in plain NumPy, one short loop you can
   read line by line, plus the toy functions it is tested on (``sphere``,
   ``rastrigin``, ``rosenbrock``).
2. The tuning problem: fusion weights ``x`` in the box ``[0, 1]^5`` are mapped
   onto the simplex (``to_simplex``), ranked and scored in one batched
   ``ranking.evaluate_population`` call per population. ``scalar_objective``
   builds the single number PSO and the GA minimise; ``WeightProblem`` is the
   same thing as a vectorised pymoo ``Problem`` (one or several objectives), and
   ``run_ga``, ``run_nsga2``, ``run_mopso``, ``run_random`` run an optimiser at
   a fixed evaluation budget and keep every evaluation for convergence curves.
3. Judging a front: ``hypervolume`` (normalised, one fixed reference point),
   ``igd``, ``reference_front`` (a dense grid over the weight simplex).
4. Choosing a point on a front: ``asf``, ``pseudo_weights``, ``knee_point``;
   and ``ensure_tuned_weights`` for notebook 07.

Conventions: pymoo minimises, and every ranking objective (NDCG, clicks, GMV,
diversity, ...) is better when higher, so objective matrices called ``F`` here
hold the *negated* objectives (smaller is better); ``values`` hold them with
their natural sign. Plain NumPy and pymoo only: this module never imports Keras.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

import numpy as np
from pymoo.core.problem import Problem

from course_lib.data import ARTIFACTS

#: The scalarised objective of notebooks 05 and 06: NDCG@10 + a x clicks@10 + b x GMV@10,
#: each term divided by the CTR ranking's value so the three are comparable (a = b = 0.5).
SCALAR_TERMS = {"ndcg": 1.0, "clicks": 0.5, "gmv": 0.5}
#: The objectives NSGA-II trades off in notebook 06 (all maximised).
MO_OBJECTIVES = ("clicks", "gmv", "diversity")
#: How much the business cares about each of MO_OBJECTIVES when it picks a point with ASF.
ASF_IMPORTANCE = (0.4, 0.4, 0.2)
#: Fusion weights per ranking (ranking.N_WEIGHTS): click, conversion, price, margin_rate, novelty.
N_WEIGHTS = 5
#: The CTR-only ranking: the reference every scalarised term is divided by.
CTR_WEIGHTS = np.array([1.0, 0.0, 0.0, 0.0, 0.0])
#: Where notebooks 05 and 06 store their tuned weights for notebook 07.
TUNED_WEIGHTS_PATH = ARTIFACTS / "tuned_weights.json"
#: Bump when the tuning recipe changes, so stored weights are recomputed.
RECIPE_VERSION = 1

# ---------------------------------------------------------------------------
# 1. PSO, written to be read
# ---------------------------------------------------------------------------


def sphere(X: np.ndarray) -> np.ndarray:
    """Sphere function sum(x^2): X (n, d) -> (n,). Minimum 0 at x = 0."""
    X = np.atleast_2d(X)
    return np.sum(X**2, axis=1)


def rastrigin(X: np.ndarray) -> np.ndarray:
    """Rastrigin function, many local minima on a grid: X (n, d) -> (n,). Minimum 0 at x = 0."""
    X = np.atleast_2d(X)
    return 10.0 * X.shape[1] + np.sum(X**2 - 10.0 * np.cos(2 * np.pi * X), axis=1)


def rosenbrock(X: np.ndarray) -> np.ndarray:
    """Rosenbrock's curved valley: X (n, d) -> (n,). Minimum 0 at x = (1, ..., 1)."""
    X = np.atleast_2d(X)
    return np.sum(100.0 * (X[:, 1:] - X[:, :-1] ** 2) ** 2 + (1.0 - X[:, :-1]) ** 2, axis=1)


class PSOResult(NamedTuple):
    """What ``pso`` returns: unpack it as ``x, fx, history = pso(...)``.

    x: (d,) the best point found; f: its value;
    history: ``best_f`` (n_iters + 1,) the best value so far after each iteration
    (entry 0 is the initial swarm), ``mean_f`` (n_iters + 1,) the swarm's mean value,
    ``n_evals`` (n_iters + 1,) evaluations used so far, and with ``keep_positions``,
    ``positions`` (n_iters + 1, n_particles, d).
    """

    x: np.ndarray
    f: float
    history: dict


def _as_bounds(lower, upper) -> tuple[np.ndarray, np.ndarray]:
    lower = np.atleast_1d(np.asarray(lower, dtype=float))
    upper = np.atleast_1d(np.asarray(upper, dtype=float))
    if lower.shape != upper.shape or lower.ndim != 1:
        raise ValueError(f"lower and upper must be 1-D arrays of the same length, got {lower.shape} and {upper.shape}")
    if not np.all(upper > lower):
        raise ValueError(f"upper must be greater than lower in every dimension, got lower={lower}, upper={upper}")
    return lower, upper


def keep_in_bounds(x: np.ndarray, v: np.ndarray, lower: np.ndarray, upper: np.ndarray, mode: str = "clip"):
    """Bring particles that flew out of the box back in; returns (x, v), both (n, d).

    ``"clip"``: put the particle on the wall it crossed and zero that velocity component
    (it may sit exactly on a bound, which matters when the best weight is exactly 0).
    ``"reflect"``: mirror the particle back inside and reverse that velocity component
    (a clip afterwards catches the rare jump longer than the box).
    """
    below, above = x < lower, x > upper
    if mode == "clip":
        v = np.where(below | above, 0.0, v)
    elif mode == "reflect":
        x = np.where(below, 2 * lower - x, x)
        x = np.where(above, 2 * upper - x, x)
        v = np.where(below | above, -v, v)
    else:
        raise ValueError(f"bounds must be 'clip' or 'reflect', got {mode!r}")
    return np.clip(x, lower, upper), v


def pso(
    f: Callable[[np.ndarray], np.ndarray],
    lower,
    upper,
    n_particles: int = 20,
    n_iters: int = 100,
    seed: int = 0,
    w: float = 0.72,
    c1: float = 1.49,
    c2: float = 1.49,
    v_max: float = 0.2,
    bounds: str = "clip",
    keep_positions: bool = False,
) -> PSOResult:
    """Minimise ``f`` over the box [lower, upper] with a global-best particle swarm.

    f: vectorised, X (n_particles, d) -> values (n_particles,); lower, upper: (d,) or scalars.
    w: inertia; c1: pull towards each particle's own best (cognitive); c2: pull towards the
    swarm's best (social). The defaults w = 0.72, c1 = c2 = 1.49 are Clerc and Kennedy's
    constriction values, which converge without exploding.
    v_max: the largest step per iteration, as a fraction of (upper - lower).
    bounds: ``"clip"`` or ``"reflect"`` (see ``keep_in_bounds``).
    Uses n_particles x (n_iters + 1) evaluations of ``f``. The same seed gives the same result.
    """
    lower, upper = _as_bounds(lower, upper)
    if n_particles < 1 or n_iters < 0:
        raise ValueError(f"n_particles must be >= 1 and n_iters >= 0, got {n_particles} and {n_iters}")
    rng = np.random.default_rng(seed)
    d = lower.size
    span = upper - lower
    v_limit = v_max * span

    # 1. Scatter the particles uniformly in the box, with small random velocities.
    x = lower + rng.random((n_particles, d)) * span
    v = rng.uniform(-v_limit, v_limit, size=(n_particles, d))
    fx = np.asarray(f(x), dtype=float)

    # 2. Each particle remembers the best place it has been (its personal best) ...
    pbest_x, pbest_f = x.copy(), fx.copy()
    # ... and the swarm remembers the best place any particle has been (the global best).
    g = int(np.argmin(pbest_f))
    gbest_x, gbest_f = pbest_x[g].copy(), float(pbest_f[g])

    history = {"best_f": [gbest_f], "mean_f": [float(fx.mean())], "n_evals": [n_particles]}
    if keep_positions:
        history["positions"] = [x.copy()]

    for _ in range(n_iters):
        # 3. New velocity = inertia + a random pull to the personal best + a random pull to the global best.
        r1 = rng.random((n_particles, d))
        r2 = rng.random((n_particles, d))
        v = w * v + c1 * r1 * (pbest_x - x) + c2 * r2 * (gbest_x - x)
        v = np.clip(v, -v_limit, v_limit)  # the velocity clamp keeps steps bounded

        # 4. Move, and bring anyone who left the box back in.
        x = x + v
        x, v = keep_in_bounds(x, v, lower, upper, bounds)
        fx = np.asarray(f(x), dtype=float)

        # 5. Store the personal bests that improved (forgetting this is the classic bug),
        #    then the global best.
        improved = fx < pbest_f
        pbest_x[improved] = x[improved]
        pbest_f[improved] = fx[improved]
        g = int(np.argmin(pbest_f))
        if pbest_f[g] < gbest_f:
            gbest_x, gbest_f = pbest_x[g].copy(), float(pbest_f[g])

        history["best_f"].append(gbest_f)
        history["mean_f"].append(float(fx.mean()))
        history["n_evals"].append(history["n_evals"][-1] + n_particles)
        if keep_positions:
            history["positions"].append(x.copy())

    history = {key: np.asarray(val) for key, val in history.items()}
    return PSOResult(gbest_x, gbest_f, history)


class FunctionProblem(Problem):
    """A vectorised function f: X (n, d) -> (n,) as a single-objective pymoo problem."""

    def __init__(self, f: Callable[[np.ndarray], np.ndarray], lower, upper):
        lower, upper = _as_bounds(lower, upper)
        super().__init__(n_var=lower.size, n_obj=1, xl=lower, xu=upper, elementwise=False)
        self.f = f

    def _evaluate(self, X, out, *args, **kwargs):
        out["F"] = np.asarray(self.f(X), dtype=float).reshape(-1, 1)


def pymoo_pso(f, lower, upper, n_evals: int, pop_size: int = 20, seed: int = 0) -> tuple[np.ndarray, float]:
    """Minimise ``f`` with pymoo's PSO (adaptive w, c1, c2) within ``n_evals`` evaluations.

    Returns (best x (d,), best value). For comparisons with ``pso`` at equal budgets.
    """
    from pymoo.algorithms.soo.nonconvex.pso import PSO
    from pymoo.optimize import minimize

    problem = FunctionProblem(f, lower, upper)
    res = minimize(problem, PSO(pop_size=pop_size), ("n_eval", n_evals), seed=seed, verbose=False)
    return np.asarray(res.X, dtype=float).ravel(), float(np.ravel(res.F)[0])


# ---------------------------------------------------------------------------
# 2. The tuning problem: weights on the simplex, evaluated in batches
# ---------------------------------------------------------------------------


def to_simplex(X: np.ndarray) -> np.ndarray:
    """Non-negative weights (n, d) or (d,) -> rows that sum to 1 (an all-zero row becomes uniform)."""
    X = np.asarray(X, dtype=float)
    if np.any(X < 0):
        raise ValueError("weights must be non-negative")
    total = X.sum(axis=-1, keepdims=True)
    uniform = np.full_like(X, 1.0 / X.shape[-1])
    return np.where(total > 0, X / np.where(total > 0, total, 1.0), uniform)


def simplex_grid(n_partitions: int, n_weights: int = 5) -> np.ndarray:
    """Every weight vector whose entries are multiples of 1/n_partitions and sum to 1.

    Das and Dennis' grid via pymoo: C(n_partitions + n_weights - 1, n_weights - 1) rows,
    e.g. 1,001 for 5 weights and 10 partitions. Returns (n_grid, n_weights).
    """
    from pymoo.util.ref_dirs import get_reference_directions

    if n_partitions < 1:
        raise ValueError(f"n_partitions must be >= 1, got {n_partitions}")
    return get_reference_directions("das-dennis", n_weights, n_partitions=n_partitions)


def _objective_index(names: Sequence[str], objectives: Sequence[str]) -> np.ndarray:
    unknown = [o for o in names if o not in objectives]
    if unknown:
        raise ValueError(f"unknown objective(s) {unknown}; expected names from {tuple(objectives)}")
    return np.array([list(objectives).index(o) for o in names])


def _default_evaluator():
    from course_lib import ranking

    return ranking.evaluate_population, tuple(ranking.OBJECTIVES)


def scalar_refs(cs, terms: dict[str, float] = SCALAR_TERMS, k: int = 10, evaluate_fn=None, objective_names=None) -> dict:
    """The CTR ranking's value of each term of a scalarised objective: {name: value}.

    Dividing each term by its CTR-ranking value makes the terms unit-free, so a
    weight a = 0.5 on clicks means "half as important as NDCG", whatever the units.
    """
    evaluate_fn, objective_names = _resolve(evaluate_fn, objective_names)
    values = evaluate_fn(cs, CTR_WEIGHTS[None, :], k=k)[0]
    idx = _objective_index(list(terms), objective_names)
    refs = {name: float(values[i]) for name, i in zip(terms, idx, strict=True)}
    zero = [name for name, ref in refs.items() if ref == 0]
    if zero:
        raise ValueError(f"the CTR ranking scores 0 on {zero}: cannot use it as the reference of a scalarised term")
    return refs


def _resolve(evaluate_fn, objective_names):
    if evaluate_fn is None:
        default_fn, default_names = _default_evaluator()
        return default_fn, tuple(objective_names or default_names)
    if objective_names is None:
        raise ValueError("objective_names must be given with a custom evaluate_fn")
    return evaluate_fn, tuple(objective_names)


def scalarise(values: np.ndarray, terms: dict[str, float], refs: dict[str, float], objective_names=None) -> np.ndarray:
    """The weighted sum of ``terms`` (name -> coefficient), each divided by ``refs[name]``.

    values: (n, len(objective_names)) natural-sign objective values, as evaluate_population
    returns them. Returns (n,): higher is better; the CTR ranking scores sum(terms.values()).
    """
    if objective_names is None:
        objective_names = _default_evaluator()[1]
    values = np.atleast_2d(values)
    idx = _objective_index(list(terms), objective_names)
    total = np.zeros(values.shape[0])
    for (name, coef), i in zip(terms.items(), idx, strict=True):
        total += coef * values[:, i] / refs[name]
    return total


def scalar_objective(cs, terms: dict[str, float] = SCALAR_TERMS, k: int = 10, evaluate_fn=None, objective_names=None):
    """A function for ``pso``: X (n, 5) in [0, 1]^5 -> minus the scalarised objective (n,).

    Each call ranks every user's candidates for all n weight vectors in one batched
    ``evaluate_population`` call. The function counts its evaluations in ``f.n_evals``.
    """
    evaluate_fn, objective_names = _resolve(evaluate_fn, objective_names)
    refs = scalar_refs(cs, terms, k=k, evaluate_fn=evaluate_fn, objective_names=objective_names)

    def f(X: np.ndarray) -> np.ndarray:
        values = evaluate_fn(cs, to_simplex(np.atleast_2d(X)), k=k)
        f.n_evals += len(values)
        return -scalarise(values, terms, refs, objective_names)

    f.n_evals = 0
    f.refs = refs
    return f


class WeightProblem(Problem):
    """Fusion-weight tuning as a vectorised pymoo problem.

    x in [0, 1]^5 is mapped onto the simplex; a whole population is evaluated with one
    ``evaluate_fn(cs, W, k=k)`` call (``ranking.evaluate_population`` by default).
    objectives: names from ``objective_names`` (``ranking.OBJECTIVES``), all maximised, so
    F holds them negated. With ``terms``, the problem is single-objective: F = minus the
    scalarised objective (see ``scalarise``; refs from the CTR ranking).
    Every evaluation is logged in order (``log_X`` simplex weights, ``log_F``), for curves.
    """

    def __init__(
        self,
        cs,
        objectives: Sequence[str] = MO_OBJECTIVES,
        terms: dict[str, float] | None = None,
        k: int = 10,
        evaluate_fn=None,
        objective_names: Sequence[str] | None = None,
    ):
        self.evaluate_fn, self.objective_names = _resolve(evaluate_fn, objective_names)
        self.cs, self.k, self.terms = cs, k, terms
        if terms is not None:
            self.objectives = ("scalarised",)
            self.refs = scalar_refs(cs, terms, k, self.evaluate_fn, self.objective_names)
        else:
            if len(objectives) < 1:
                raise ValueError("objectives must name at least one objective")
            self.objectives = tuple(objectives)
            self._idx = _objective_index(self.objectives, self.objective_names)
        super().__init__(n_var=N_WEIGHTS, n_obj=len(self.objectives), xl=0.0, xu=1.0, elementwise=False)
        self.reset_log()

    def reset_log(self) -> None:
        """Forget the logged evaluations (each ``run_*`` starts with this)."""
        self._log_X, self._log_F = [], []

    @property
    def log_X(self) -> np.ndarray:
        """(n_evals, 5) every evaluated weight vector, on the simplex, in evaluation order."""
        return np.concatenate(self._log_X) if self._log_X else np.zeros((0, self.n_var))

    @property
    def log_F(self) -> np.ndarray:
        """(n_evals, n_obj) their minimised objective values."""
        return np.concatenate(self._log_F) if self._log_F else np.zeros((0, self.n_obj))

    def _evaluate(self, X, out, *args, **kwargs):
        W = to_simplex(np.atleast_2d(X))
        values = np.asarray(self.evaluate_fn(self.cs, W, k=self.k), dtype=float)
        if self.terms is not None:
            F = -scalarise(values, self.terms, self.refs, self.objective_names)[:, None]
        else:
            F = -values[:, self._idx]
        self._log_X.append(W)
        self._log_F.append(F)
        out["F"] = F


@dataclass
class Run:
    """One optimiser run at a fixed budget.

    X (n, 5) simplex weights and F (n, n_obj) minimised values of its result: the best
    point (one objective) or every evaluated point no other evaluated point dominates.
    X_all, F_all: every evaluation in order (n_evals rows), for convergence curves.
    values: -F, the result's objectives with their natural sign (higher is better).
    """

    name: str
    X: np.ndarray
    F: np.ndarray
    X_all: np.ndarray
    F_all: np.ndarray
    seconds: float
    seed: int = 0
    extra: dict = field(default_factory=dict)

    @property
    def values(self) -> np.ndarray:
        return -self.F

    @property
    def n_evals(self) -> int:
        return len(self.F_all)

    @property
    def evals_per_second(self) -> float:
        return self.n_evals / max(self.seconds, 1e-9)


def _finish(name: str, problem: WeightProblem, n_evals: int, seconds: float, seed: int) -> Run:
    X_all, F_all = problem.log_X[:n_evals], problem.log_F[:n_evals]
    if F_all.shape[1] == 1:
        best = int(np.argmin(F_all[:, 0]))
        X, F = X_all[best : best + 1], F_all[best : best + 1]
    else:
        keep = non_dominated(F_all)
        X, F = X_all[keep], F_all[keep]
    return Run(name, X, F, X_all, F_all, seconds, seed)


def _run_pymoo(name: str, problem: WeightProblem, algorithm, n_evals: int, seed: int) -> Run:
    from pymoo.optimize import minimize

    problem.reset_log()
    start = time.perf_counter()
    minimize(problem, algorithm, ("n_eval", n_evals), seed=seed, verbose=False)
    return _finish(name, problem, n_evals, time.perf_counter() - start, seed)


def run_ga(problem: WeightProblem, n_evals: int = 2000, pop_size: int = 40, seed: int = 0) -> Run:
    """pymoo's GA (SBX crossover, polynomial mutation) on a single-objective WeightProblem."""
    from pymoo.algorithms.soo.nonconvex.ga import GA

    if problem.n_obj != 1:
        raise ValueError(f"run_ga needs a single-objective problem (terms=...), got n_obj={problem.n_obj}")
    return _run_pymoo("GA", problem, GA(pop_size=pop_size, eliminate_duplicates=True), n_evals, seed)


def run_nsga2(problem: WeightProblem, n_evals: int = 2000, pop_size: int = 50, seed: int = 0) -> Run:
    """pymoo's NSGA-II (non-dominated sorting + crowding distance) on a WeightProblem."""
    from pymoo.algorithms.moo.nsga2 import NSGA2

    return _run_pymoo("NSGA-II", problem, NSGA2(pop_size=pop_size, eliminate_duplicates=True), n_evals, seed)


def run_mopso(problem: WeightProblem, n_evals: int = 2000, pop_size: int = 50, seed: int = 0) -> Run:
    """pymoo's MOPSO-CD (multi-objective PSO, leaders drawn from a crowding-distance archive)."""
    from pymoo.algorithms.moo.mopso_cd import MOPSO_CD

    return _run_pymoo("MOPSO-CD", problem, MOPSO_CD(pop_size=pop_size, archive_size=200), n_evals, seed)


def run_random(problem: WeightProblem, n_evals: int = 2000, batch: int = 100, seed: int = 0) -> Run:
    """Random search: uniform points in the same box [0, 1]^5 the optimisers search, in batches."""
    rng = np.random.default_rng(seed)
    problem.reset_log()
    start = time.perf_counter()
    done = 0
    while done < n_evals:
        n = min(batch, n_evals - done)
        problem.evaluate(rng.random((n, problem.n_var)), return_values_of=["F"])
        done += n
    return _finish("random", problem, n_evals, time.perf_counter() - start, seed)


def run_grid(problem: WeightProblem, n_partitions: int) -> Run:
    """Grid search: every weight vector of ``simplex_grid(n_partitions)``, in one batch."""
    problem.reset_log()
    start = time.perf_counter()
    W = simplex_grid(n_partitions, problem.n_var)
    problem.evaluate(W, return_values_of=["F"])
    return _finish("grid", problem, len(W), time.perf_counter() - start, 0)


# ---------------------------------------------------------------------------
# 3. Judging a front: non-dominated sets, hypervolume, IGD, the grid reference front
# ---------------------------------------------------------------------------


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the rows of F (n, m), minimised, that no other row dominates (duplicates kept once)."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.atleast_2d(np.asarray(F, dtype=float))
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    _, first = np.unique(F, axis=0, return_index=True)
    first = np.sort(first)
    front = NonDominatedSorting().do(F[first], only_non_dominated_front=True)
    return first[np.sort(front)]


def normalise(F: np.ndarray, ideal: np.ndarray, nadir: np.ndarray) -> np.ndarray:
    """Map F (n, m) so that ``ideal`` goes to 0 and ``nadir`` to 1 in every objective."""
    ideal, nadir = np.asarray(ideal, dtype=float), np.asarray(nadir, dtype=float)
    if np.any(nadir <= ideal):
        raise ValueError(f"nadir must be worse (greater) than ideal in every objective, got ideal={ideal}, nadir={nadir}")
    return (np.atleast_2d(F) - ideal) / (nadir - ideal)


def hypervolume(F: np.ndarray, ideal: np.ndarray, nadir: np.ndarray, ref: float = 1.1) -> float:
    """Hypervolume of the minimised points F (n, m) after normalising by fixed bounds.

    Objectives are mapped with ``normalise`` (ideal -> 0, nadir -> 1) and the volume
    they dominate up to the reference point (ref, ..., ref) is measured with pymoo's HV.
    Fixing ideal, nadir and ref once (from the reference front) makes values comparable
    across runs; the reference front itself scores about ref^m minus the region it
    leaves undominated. Points beyond the reference point add nothing.
    """
    from pymoo.indicators.hv import HV

    F = np.atleast_2d(np.asarray(F, dtype=float))
    if F.size == 0:
        return 0.0
    Fn = normalise(F, ideal, nadir)
    return float(HV(ref_point=np.full(Fn.shape[1], ref), norm_ref_point=False)(Fn))


def igd(F: np.ndarray, reference_front: np.ndarray, ideal=None, nadir=None) -> float:
    """Inverted generational distance: the mean, over reference points, of the distance to the closest point of F.

    Low is good: every part of the reference front has a found point nearby. F (n, m) and
    reference_front (r, m) are both minimised; with ``ideal`` and ``nadir`` both are
    normalised first, so objectives in euros and in clicks weigh alike.
    """
    F = np.atleast_2d(np.asarray(F, dtype=float))
    R = np.atleast_2d(np.asarray(reference_front, dtype=float))
    if F.size == 0 or R.size == 0:
        raise ValueError("F and reference_front must both hold at least one point")
    if F.shape[1] != R.shape[1]:
        raise ValueError(f"F has {F.shape[1]} objectives but reference_front has {R.shape[1]}")
    if ideal is not None and nadir is not None:
        F, R = normalise(F, ideal, nadir), normalise(R, ideal, nadir)
    distances = np.sqrt(((R[:, None, :] - F[None, :, :]) ** 2).sum(axis=2))  # (r, n)
    return float(distances.min(axis=1).mean())


@dataclass
class ReferenceFront:
    """The best trade-offs on a dense simplex grid: the yardstick for hypervolume and IGD.

    weights (r, 5) and F (r, m, minimised) of the non-dominated grid points; ideal and
    nadir (m,) their best and worst value per objective (the fixed normalisation);
    grid_weights (n_grid, 5) and grid_values (n_grid, n_all) every grid point, natural sign.
    """

    objectives: tuple
    weights: np.ndarray
    F: np.ndarray
    ideal: np.ndarray
    nadir: np.ndarray
    grid_weights: np.ndarray
    grid_values: np.ndarray

    @property
    def values(self) -> np.ndarray:
        return -self.F

    def hypervolume(self, ref: float = 1.1) -> float:
        return hypervolume(self.F, self.ideal, self.nadir, ref)


def reference_front(
    cs, objectives: Sequence[str] = MO_OBJECTIVES, n_partitions: int = 10, k: int = 10, evaluate_fn=None, objective_names=None
) -> ReferenceFront:
    """Evaluate ``simplex_grid(n_partitions)`` in one batch; keep its non-dominated points.

    n_partitions = 10 gives 1,001 weight vectors (5 weights), 12 gives 1,820.
    """
    evaluate_fn, objective_names = _resolve(evaluate_fn, objective_names)
    idx = _objective_index(objectives, objective_names)
    grid = simplex_grid(n_partitions)
    values = np.asarray(evaluate_fn(cs, grid, k=k), dtype=float)
    F = -values[:, idx]
    keep = non_dominated(F)
    front = F[keep]
    ideal, nadir = front.min(axis=0), front.max(axis=0)
    nadir = np.where(nadir > ideal, nadir, ideal + 1e-12)
    return ReferenceFront(tuple(objectives), grid[keep], front, ideal, nadir, grid, values)


def hv_curve(run: Run, ideal, nadir, checkpoints: Sequence[int], ref: float = 1.1) -> np.ndarray:
    """Hypervolume of everything ``run`` had evaluated after each checkpoint (a number of evaluations).

    Returns (len(checkpoints),): the anytime quality of the run's archive of
    non-dominated points, which grows batch by batch.
    """
    out, archive, done = [], run.F_all[:0], 0
    for c in sorted(int(c) for c in checkpoints):
        archive = np.vstack([archive, run.F_all[done:c]])
        archive = archive[non_dominated(archive)] if len(archive) else archive
        done = max(done, c)
        out.append(hypervolume(archive, ideal, nadir, ref) if len(archive) else 0.0)
    return np.asarray(out)


# ---------------------------------------------------------------------------
# 4. Choosing one point on a front
# ---------------------------------------------------------------------------


def _bounds_of(F, ideal, nadir):
    ideal = F.min(axis=0) if ideal is None else np.asarray(ideal, dtype=float)
    nadir = F.max(axis=0) if nadir is None else np.asarray(nadir, dtype=float)
    return ideal, np.where(nadir > ideal, nadir, ideal + 1e-12)


def asf(F: np.ndarray, importance, ideal=None, nadir=None) -> np.ndarray:
    """Achievement scalarising function: max_i importance_i x normalised gap_i, per point (n,).

    F (n, m) minimised; gaps are measured from ``ideal`` in units of (nadir - ideal)
    (bounds from F itself when not given). The point with the smallest ASF is the one
    whose worst importance-weighted shortfall is smallest: a larger importance on an
    objective keeps the chosen point closer to that objective's best. Same as pymoo's
    ``ASF`` with weights 1 / importance on the normalised points.
    """
    F = np.atleast_2d(np.asarray(F, dtype=float))
    importance = np.asarray(importance, dtype=float)
    if importance.shape != (F.shape[1],) or np.any(importance <= 0):
        raise ValueError(f"importance must hold {F.shape[1]} positive numbers, got {importance}")
    ideal, nadir = _bounds_of(F, ideal, nadir)
    return np.max(importance * normalise(F, ideal, nadir), axis=1)


def pseudo_weights(F: np.ndarray, ideal=None, nadir=None) -> np.ndarray:
    """Deb's pseudo-weights (n, m): how far each point is from the worst, per objective, normalised to sum 1.

    A point with pseudo-weight 0.7 on clicks sits 70% of its way towards the best clicks.
    Pick the point closest to the weights you want (pymoo's ``PseudoWeights`` does that).
    """
    F = np.atleast_2d(np.asarray(F, dtype=float))
    ideal, nadir = _bounds_of(F, ideal, nadir)
    closeness = (nadir - F) / (nadir - ideal)
    return closeness / closeness.sum(axis=1, keepdims=True)


def knee_point(F: np.ndarray, ideal=None, nadir=None) -> int:
    """Index of the knee: the point farthest beyond the hyperplane through the front's extremes.

    F (n, m) minimised, normalised to [0, 1] by ideal and nadir. The m extreme points
    (each best in one objective) span a hyperplane (a line in 2-D); the knee bulges
    farthest from it towards the ideal point, where improving one objective starts to
    cost most in the others. When the extremes are degenerate the plane sum(f) = 1 is used.
    """
    F = np.atleast_2d(np.asarray(F, dtype=float))
    ideal, nadir = _bounds_of(F, ideal, nadir)
    Fn = normalise(F, ideal, nadir)
    m = Fn.shape[1]
    extremes = Fn[np.argmin(Fn, axis=0)]  # (m, m): row i is best in objective i
    try:
        a = np.linalg.solve(extremes, np.ones(m))  # the plane a . f = 1 through the extremes
        if not np.all(np.isfinite(a)):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        a = np.ones(m)
    distance = (1.0 - Fn @ a) / np.linalg.norm(a)
    return int(np.argmax(distance))


# ---------------------------------------------------------------------------
# Tuned weights for notebook 07
# ---------------------------------------------------------------------------


def fingerprint(cs) -> str:
    """A short hash of a candidate set's items and predictions (to spot stale tuned weights)."""
    digest = hashlib.sha256()
    for name in ("item_ids", "p_click", "p_purchase"):
        digest.update(np.ascontiguousarray(getattr(cs, name)).astype(np.float32).tobytes())
    return digest.hexdigest()[:16]


def _meta_path(path: Path) -> Path:
    return path.with_name(path.stem + ".meta.json")


def save_tuned_weights(weights: dict, cs, path: str | Path = TUNED_WEIGHTS_PATH) -> dict:
    """Add ``weights`` (name -> 5 weights) to the JSON file, keeping the other names (read-modify-write).

    A sidecar ``<name>.meta.json`` remembers the candidate set's fingerprint and the recipe
    version of each entry. Returns the whole updated dict.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    stored = json.loads(path.read_text()) if path.exists() else {}
    meta_file = _meta_path(path)
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    stamp = {"fingerprint": fingerprint(cs), "recipe": RECIPE_VERSION}
    for name, w in weights.items():
        w = to_simplex(np.asarray(w, dtype=float).ravel())
        if w.shape != (5,):
            raise ValueError(f"tuned weights {name!r} must hold 5 numbers, got shape {w.shape}")
        stored[name] = [float(x) for x in w]
        meta[name] = stamp
    path.write_text(json.dumps(stored, indent=2) + "\n")
    meta_file.write_text(json.dumps(meta, indent=2) + "\n")
    return stored


TUNED_NAMES = ("pso", "ga", "nsga2_knee", "nsga2_asf")


def quick_tunings(cs, names: Sequence[str] = TUNED_NAMES, seed: int = 0) -> dict[str, np.ndarray]:
    """Small default tunings: PSO and GA on SCALAR_TERMS, NSGA-II on MO_OBJECTIVES (1,620 evaluations).

    The same recipe as notebooks 05 and 06 with smaller budgets (about 15 s for 5,000 users);
    returns name -> (5,) weights on the simplex.
    """
    out = {}
    if "pso" in names:
        f = scalar_objective(cs, SCALAR_TERMS)
        x, _, _ = pso(f, np.zeros(5), np.ones(5), n_particles=20, n_iters=20, seed=seed)
        out["pso"] = to_simplex(x)
    if "ga" in names:
        run = run_ga(WeightProblem(cs, terms=SCALAR_TERMS), n_evals=400, pop_size=20, seed=seed)
        out["ga"] = run.X[0]
    if "nsga2_knee" in names or "nsga2_asf" in names:
        run = run_nsga2(WeightProblem(cs, MO_OBJECTIVES), n_evals=800, pop_size=40, seed=seed)
        out["nsga2_knee"] = run.X[knee_point(run.F)]
        out["nsga2_asf"] = run.X[int(np.argmin(asf(run.F, ASF_IMPORTANCE)))]
    return {name: out[name] for name in names}


def ensure_tuned_weights(cs_valid, path: str | Path = TUNED_WEIGHTS_PATH) -> dict[str, np.ndarray]:
    """The tuned fusion weights of notebooks 05 and 06: name -> (5,) weights on the simplex.

    Names: "pso", "ga", "nsga2_knee", "nsga2_asf" (and any others the notebooks stored).
    Reads ``artifacts/tuned_weights.json``; entries that are missing, or were tuned on
    another candidate set or recipe (see the sidecar), are recomputed with ``quick_tunings``
    on ``cs_valid`` (the validation window), with a printed message, and saved.
    """
    path = Path(path)
    stored = json.loads(path.read_text()) if path.exists() else {}
    meta_file = _meta_path(path)
    meta = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    stamp = {"fingerprint": fingerprint(cs_valid), "recipe": RECIPE_VERSION}
    missing = [name for name in TUNED_NAMES if name not in stored or meta.get(name) != stamp]
    if missing:
        why = "missing" if not path.exists() else "missing, or tuned on other predictions,"
        print(f"Tuned weights {missing} {why} in {path}: recomputing quick default tunings on the validation window ...")
        start = time.perf_counter()
        stored = save_tuned_weights(quick_tunings(cs_valid, missing), cs_valid, path)
        meta = json.loads(meta_file.read_text())
        print(f"... done in {time.perf_counter() - start:.1f} s and saved to {path}")
    return {name: to_simplex(np.asarray(w, dtype=float)) for name, w in stored.items() if meta.get(name) == stamp}
