"""The course's PSO against pymoo's, at equal budgets, on pymoo's single-objective test problems.

Usage::

    python tools/pso_compare.py                 # writes bench/pso_compare.md
    python tools/pso_compare.py --budget 2000 --seeds 5 --out /tmp/pso.md

For every problem (sphere, Rastrigin, Ackley, Rosenbrock, Griewank) in 2, 5 and 10 dimensions, each
optimiser gets the same number of evaluations and swarm size, for each seed; the table gives the median
over seeds of the best value found (every problem's minimum is 0, lower is better) for the course's PSO
(ring topology, the default of ``course_lib.pso.pso``), the course's PSO with a global best, and pymoo's
PSO (adaptive coefficients). "worse" marks a row where the course's default is clearly worse than pymoo's:
its median is more than twice pymoo's and above 1e-6.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from pymoo.algorithms.soo.nonconvex.pso import PSO
from pymoo.optimize import minimize
from pymoo.problems import get_problem

from course_lib.pso import pso

ROOT = Path(__file__).resolve().parents[1]
PROBLEMS = ("sphere", "rastrigin", "ackley", "rosenbrock", "griewank")
DIMENSIONS = (2, 5, 10)


def clearly_worse(ours: float, theirs: float) -> bool:
    """The course's median is more than twice pymoo's, and not merely a difference below 1e-6."""
    return ours > 1e-6 and ours > 2 * theirs


def compare(budget: int, seeds: int, n_particles: int = 20) -> list[dict]:
    rows = []
    n_iters = budget // n_particles - 1
    for name in PROBLEMS:
        for d in DIMENSIONS:
            problem = get_problem(name, n_var=d)

            def f(X, problem=problem):
                return problem.evaluate(X, return_values_of=["F"])[:, 0]

            ring = [pso(f, problem.xl, problem.xu, n_particles, n_iters, seed=s).f for s in range(seeds)]
            glob = [pso(f, problem.xl, problem.xu, n_particles, n_iters, seed=s, topology="global").f for s in range(seeds)]
            theirs = [float(minimize(problem, PSO(pop_size=n_particles), ("n_eval", budget), seed=s).F[0])
                      for s in range(seeds)]
            rows.append({"problem": name, "d": d, "ring": float(np.median(ring)), "global": float(np.median(glob)),
                         "pymoo": float(np.median(theirs))})
            print(f"{name}-{d}: ring {rows[-1]['ring']:.3g}, global {rows[-1]['global']:.3g}, "
                  f"pymoo {rows[-1]['pymoo']:.3g}", flush=True)
    return rows


def to_markdown(rows: list[dict], budget: int, seeds: int, seconds: float) -> str:
    worse = [r for r in rows if clearly_worse(r["ring"], r["pymoo"])]
    better = [r for r in rows if clearly_worse(r["pymoo"], r["ring"])]
    lines = [
        "# The course's PSO against pymoo's PSO",
        "",
        f"Written by `tools/pso_compare.py`: median over {seeds} seeds of the best value found after {budget:,} "
        f"evaluations (20 particles; every minimum is 0, lower is better). Course PSO: `course_lib.pso.pso`, "
        f"ring topology widening to the whole swarm over the last 70% of the run (the default), and with "
        f"`topology=\"global\"`. pymoo: `PSO(pop_size=20)` (adaptive inertia and pulls). {seconds:.0f} s.",
        "",
        "| problem | d | course PSO (ring) | course PSO (global best) | pymoo PSO | course clearly worse? |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        flag = "worse" if clearly_worse(r["ring"], r["pymoo"]) else ("better" if clearly_worse(r["pymoo"], r["ring"]) else "")
        lines.append(f"| {r['problem']} | {r['d']} | {r['ring']:.3g} | {r['global']:.3g} | {r['pymoo']:.3g} | {flag} |")
    lines += ["", f"Clearly worse (median more than twice pymoo's and above 1e-6) on {len(worse)} of {len(rows)} "
              f"problems; clearly better on {len(better)}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=5000, help="evaluations per run (default %(default)s)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per problem (default %(default)s)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "pso_compare.md")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    rows = compare(args.budget, args.seeds)
    text = to_markdown(rows, args.budget, args.seeds, time.perf_counter() - start)
    args.out.write_text(text, encoding="utf-8")
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
