"""Plumbing for the tuning notebooks 05 and 06 that no notebook teaches.

- ``WeightProblem``: the fusion weights as a vectorised pymoo problem. A point x of the box [0, 1]^5 is
  mapped onto the simplex (``tuning.to_simplex``) and a whole population is scored with one
  ``ranking.evaluate_population`` call; every evaluation is logged, in order, for anytime curves.
- ``run_pymoo`` and ``run_random``: one optimiser at a fixed evaluation budget, returned as a ``Run``
  that keeps every evaluation (random search draws uniformly on the simplex, Dirichlet(1, ..., 1)).
- ``hv_curve``: the hypervolume of everything a run has evaluated so far, at checkpoints (pymoo's HV).

What the notebooks teach lives in the modules they export: ``pso`` (PSO, notebook 05), ``tuning`` (the
scalarised fitness and the user split, notebook 05), ``pareto`` (non-dominated sorting and crowding
distance, notebook 06). Conventions: pymoo minimises and every ranking objective is better when higher,
so ``F`` holds negated objectives and ``values`` their natural sign. NumPy and pymoo only: no Keras,
no import of the learning wing.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pymoo.core.problem import Problem

from course_lib import ranking
from course_lib.tuning import scalar_refs, scalarise, to_simplex

#: The objectives NSGA-II trades off in notebook 06 (all maximised).
MO_OBJECTIVES = ("clicks", "gmv", "diversity")


class WeightProblem(Problem):
    """Fusion-weight tuning as a vectorised pymoo problem on the box [0, 1]^5.

    objectives: names from ``ranking.OBJECTIVES`` (all maximised, so F holds them negated); or, with
    ``terms`` (``tuning.SCALAR_TERMS``), one objective: minus the scalarised fitness of notebook 05.
    ``log_X`` (n_evals, 5) simplex weights and ``log_F`` (n_evals, n_obj) every evaluation, in order.
    """

    def __init__(self, cs, objectives: Sequence[str] = MO_OBJECTIVES, terms: dict[str, float] | None = None):
        self.cs, self.terms = cs, terms
        if terms is not None:
            self.objectives, self.refs = ("fitness",), scalar_refs(cs, terms)
        else:
            unknown = [o for o in objectives if o not in ranking.OBJECTIVES]
            if unknown or not objectives:
                raise ValueError(f"objectives must be names from {ranking.OBJECTIVES}, got {tuple(objectives)}")
            self.objectives = tuple(objectives)
            self._idx = [ranking.OBJECTIVES.index(o) for o in self.objectives]
        super().__init__(n_var=ranking.N_WEIGHTS, n_obj=len(self.objectives), xl=0.0, xu=1.0, elementwise=False)
        self.reset_log()

    def reset_log(self) -> None:
        """Forget the logged evaluations (every run starts with this)."""
        self._log_X, self._log_F = [], []

    @property
    def log_X(self) -> np.ndarray:
        return np.concatenate(self._log_X) if self._log_X else np.zeros((0, self.n_var))

    @property
    def log_F(self) -> np.ndarray:
        return np.concatenate(self._log_F) if self._log_F else np.zeros((0, self.n_obj))

    def _evaluate(self, X, out, *args, **kwargs):
        W = to_simplex(np.atleast_2d(X))
        values = ranking.evaluate_population(self.cs, W, objectives=tuple(self.terms) if self.terms else self.objectives)
        F = -scalarise(values, self.terms, self.refs)[:, None] if self.terms else -values[:, self._idx]
        self._log_X.append(W)
        self._log_F.append(F)
        out["F"] = F


@dataclass
class Run:
    """One optimiser run at a fixed budget.

    X (n, 5) simplex weights and F (n, n_obj) minimised values of its result: the best point (one
    objective) or every evaluated point that no other evaluated point dominates (the run's archive).
    X_all, F_all: every evaluation in order (n_evals rows); values: -F (higher is better).
    """

    name: str
    X: np.ndarray
    F: np.ndarray
    X_all: np.ndarray
    F_all: np.ndarray
    seconds: float
    seed: int = 0
    n_final: int = 0  # size of the algorithm's own final result (pymoo's ``res.opt``), e.g. NSGA-II's first front

    @property
    def values(self) -> np.ndarray:
        return -self.F

    @property
    def n_evals(self) -> int:
        return len(self.F_all)


def non_dominated(F: np.ndarray) -> np.ndarray:
    """Indices of the rows of F (n, m), minimised, that no other row dominates (pymoo's sort; duplicates once)."""
    from pymoo.util.nds.non_dominated_sorting import NonDominatedSorting

    F = np.atleast_2d(np.asarray(F, dtype=float))
    if len(F) == 0:
        return np.zeros(0, dtype=int)
    _, first = np.unique(F, axis=0, return_index=True)
    first = np.sort(first)
    return first[np.sort(NonDominatedSorting().do(F[first], only_non_dominated_front=True))]


def _finish(name: str, problem: WeightProblem, n_evals: int, seconds: float, seed: int) -> Run:
    X_all, F_all = problem.log_X[:n_evals], problem.log_F[:n_evals]
    keep = [int(np.argmin(F_all[:, 0]))] if F_all.shape[1] == 1 else non_dominated(F_all)
    return Run(name, X_all[keep], F_all[keep], X_all, F_all, seconds, seed)


def run_pymoo(name: str, problem: WeightProblem, algorithm, n_evals: int, seed: int = 0) -> Run:
    """Run a pymoo algorithm (GA, NSGA2, MOPSO_CD, ...) on ``problem`` for ``n_evals`` evaluations."""
    from pymoo.optimize import minimize

    problem.reset_log()
    start = time.perf_counter()
    res = minimize(problem, algorithm, ("n_eval", n_evals), seed=seed, verbose=False)
    run = _finish(name, problem, n_evals, time.perf_counter() - start, seed)
    run.n_final = len(res.opt)
    return run


def run_random(problem: WeightProblem, n_evals: int, seed: int = 0, batch: int = 100) -> Run:
    """Random search: weight vectors drawn uniformly on the simplex (Dirichlet(1, ..., 1)), in batches."""
    rng = np.random.default_rng(seed)
    problem.reset_log()
    start = time.perf_counter()
    for done in range(0, n_evals, batch):
        problem.evaluate(rng.dirichlet(np.ones(problem.n_var), size=min(batch, n_evals - done)), return_values_of=["F"])
    return _finish("random", problem, n_evals, time.perf_counter() - start, seed)


def hv_curve(run: Run, ideal, nadir, checkpoints: Sequence[int], ref: float = 1.1) -> np.ndarray:
    """Hypervolume (pymoo's HV) of everything ``run`` had evaluated after each checkpoint (a number of evaluations).

    Objectives are normalised so that ``ideal`` goes to 0 and ``nadir`` to 1; the reference point is
    (ref, ..., ref). Returns (len(checkpoints),).
    """
    from pymoo.indicators.hv import HV

    hv = HV(ref_point=np.full(run.F_all.shape[1], ref), ideal=ideal, nadir=nadir, zero_to_one=True, norm_ref_point=False)
    out, archive, done = [], run.F_all[:0], 0
    for c in sorted(int(c) for c in checkpoints):
        archive = np.vstack([archive, run.F_all[done:c]])
        archive = archive[non_dominated(archive)]
        done = max(done, c)
        out.append(float(hv(archive)) if len(archive) else 0.0)
    return np.asarray(out)
