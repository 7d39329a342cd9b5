"""Plot helpers shared by the notebooks. Code here only makes figures prettier:
a learner may skip it. Every function titles its figure and labels its axes,
and returns the matplotlib Axes (or Figure) it drew on.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np

# ---- 01_behaviour_analysis --------------------------------------------------


def funnel(counts, ax=None, title: str = "The funnel"):
    """Horizontal bars of a funnel, top stage first, each labelled with its count
    and its conversion from the stage above.

    counts: a pandas Series {stage: count} in funnel order.
    """
    ax = ax or plt.subplots(figsize=(7, 0.6 * len(counts) + 1.2))[1]
    stages = list(counts.index)
    values = np.asarray(counts, dtype=float)
    y = np.arange(len(stages))[::-1]
    ax.barh(y, values, color=plt.cm.Blues(np.linspace(0.85, 0.45, len(stages))))
    for k, (yy, v) in enumerate(zip(y, values, strict=True)):
        step = f"  ({v / values[k - 1]:.1%} of {stages[k - 1]})" if k else ""
        ax.text(v, yy, f" {int(v):,}{step}", va="center", fontsize=9)
    ax.set_yticks(y, stages)
    ax.set_xscale("log")
    ax.set_xlim(values[values > 0].min() / 2, values.max() * 15)
    ax.set_xlabel("events (log scale)")
    ax.set_title(title)
    return ax


def lorenz(curves: dict, ax=None, title: str = "Lorenz curves of item popularity"):
    """Lorenz curves with their Gini in the legend, and the line of perfect equality.

    curves: {label: values} with one non-negative value per item (clicks, impressions, ...).
    """
    from course_lib import metrics

    ax = ax or plt.subplots(figsize=(5.5, 5))[1]
    ax.plot([0, 1], [0, 1], color="grey", linestyle="--", label="perfect equality")
    for label, values in curves.items():
        x, y = metrics.lorenz_curve(values)
        ax.plot(x, y, label=f"{label} (Gini {metrics.gini(values):.2f})")
    ax.set_xlabel("share of items, least popular first")
    ax.set_ylabel("cumulative share of the total")
    ax.set_title(title)
    ax.legend(loc="upper left")
    return ax


def position_curves(curves: dict, ax=None, title: str = "Click-through rate by slot, relative to slot 0"):
    """Lines of a per-slot quantity (e.g. CTR / CTR at slot 0) against the slot, 0 = top.

    curves: {label: (K,) values}; a label containing "true" is drawn dashed.
    """
    ax = ax or plt.subplots()[1]
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        ax.plot(np.arange(len(values)), values, marker="o", linestyle="--" if "true" in label else "-", label=label)
    ax.set_xlabel("slot (0 = top of the page)")
    ax.set_ylabel("relative to slot 0")
    ax.set_xticks(np.arange(len(values)))
    ax.set_title(title)
    ax.legend()
    return ax

# ---- 05_pso_tuning / 06_ga_nsga2_tuning -------------------------------------


def convergence(curves: dict, reference: float | None = None, reference_label: str = "grid optimum", ax=None,
                title: str = "Best value found so far", xlabel: str = "evaluations", ylabel: str = "best value"):
    """Best-so-far curves against evaluations. curves: {label: (evals (n,), best (n,))}."""
    ax = ax or plt.subplots()[1]
    for label, (evals, best) in curves.items():
        ax.plot(evals, best, label=label, drawstyle="steps-post")
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label=reference_label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend()
    return ax
