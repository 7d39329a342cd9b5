"""Plot helpers shared by the notebooks. Code here only makes figures prettier:
a learner may skip it. Every function titles its figure and labels its axes,
and returns the matplotlib Axes (or Figure) it drew on.
"""

from __future__ import annotations

import itertools
import textwrap

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

# ---- 02_encoders ------------------------------------------------------------


def item_embedding_map(xy, labels, ax=None, title: str = "Item vectors, first two principal components"):
    """Scatter of 2-D item coordinates (n, 2), one colour and marker per label (e.g. category).

    Each label is also written at its points' median, so no colour has to be matched to the legend.
    """
    ax = ax or plt.subplots(figsize=(8, 5))[1]
    labels = np.asarray(labels).astype(str)
    names = sorted(set(labels))
    colours = plt.cm.tab10(np.arange(10))
    markers = "o^sDv"
    for k, name in enumerate(names):
        m = labels == name
        colour = colours[k % 10]
        ax.scatter(xy[m, 0], xy[m, 1], s=8, alpha=0.5, label=name, color=colour, marker=markers[(k // 10) % 5])
        cx, cy = np.median(xy[m], axis=0)
        ax.annotate(name, (cx, cy), ha="center", va="center", fontsize=8, fontweight="bold", color=colour,
                    bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "alpha": 0.8, "edgecolor": colour})
    ax.set_title(title)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, markerscale=2, frameon=False)
    return ax


def training_curves(losses: dict, ax=None, title: str = "Two-tower training loss"):
    """Lines of per-epoch loss, one per model: losses {name: [loss per epoch]}."""
    ax = ax or plt.subplots(figsize=(7, 3.5))[1]
    for name, values in losses.items():
        ax.plot(range(1, len(values) + 1), values, marker="o", label=name)
    ax.set_title(title)
    ax.set_xlabel("epoch")
    ax.set_ylabel("in-batch softmax loss")
    ax.legend(frameon=False)
    return ax


# ---- 03b_multi_task_model ----------------------------------------------------


def reliability_diagram(tables: dict, ax=None, title: str = "Reliability diagram"):
    """Observed rate against mean prediction per bin, on log-log axes, with the diagonal.

    tables: {label: DataFrame with mean_predicted and observed_rate, one row per bin}.
    """
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    lo = min(t[["mean_predicted", "observed_rate"]].replace(0, np.nan).min().min() for t in tables.values())
    hi = max(t[["mean_predicted", "observed_rate"]].max().max() for t in tables.values())
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--", label="perfect calibration")
    for label, t in tables.items():
        ax.plot(t["mean_predicted"], t["observed_rate"], marker="o", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("mean predicted probability in the bin")
    ax.set_ylabel("observed rate in the bin")
    ax.set_title(title)
    ax.legend(fontsize=8)
    return ax


# ---- 04_ranking_objectives --------------------------------------------------


def tradeoff_path(x, y, t, ax=None, label: str = "", t_name: str = "t", title: str = "", xlabel: str = "",
                  ylabel: str = ""):
    """A line through (x, y) points of a weight sweep, its start and end labelled with t.

    x, y, t: (n,) arrays in sweep order. A label containing "true" is drawn solid, others dashed.
    """
    ax = ax or plt.subplots()[1]
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    line = ax.plot(x, y, marker=".", linestyle="-" if "true" in label else "--", label=label)[0]
    for i in (0, len(t) - 1):
        ax.annotate(f"{t_name}={t[i]:g}", (x[i], y[i]), textcoords="offset points", xytext=(5, 5), fontsize=8,
                    color=line.get_color())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    if label:
        ax.legend()
    return ax


def objective_cloud(values, x: str, y: str, objectives, color=None, marks: dict | None = None, ax=None,
                    title: str = "", color_label: str = ""):
    """Scatter of two objectives over many weight vectors, with named points marked.

    values: (n_pop, n_objectives) array whose columns follow ``objectives``;
    color: optional (n_pop,) values for the colour scale; marks: {label: (n_objectives,) row}.
    """
    ax = ax or plt.subplots()[1]
    ix, iy = objectives.index(x), objectives.index(y)
    values = np.asarray(values)
    sc = ax.scatter(values[:, ix], values[:, iy], c=color, s=10, alpha=0.6, cmap="viridis")
    if color is not None:
        plt.colorbar(sc, ax=ax, label=color_label)
    for (label, row), marker in zip((marks or {}).items(), "*^sDPX", strict=False):
        ax.scatter(row[ix], row[iy], marker=marker, s=140, color="crimson", edgecolor="black", zorder=3, label=label)
    if marks:
        ax.legend(fontsize=8)
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title or f"{y} against {x}")
    return ax


def predicted_vs_true(predicted, true, ax=None, name: str = "GMV@10", title: str = ""):
    """Predicted against true values of one objective across weight vectors, with the diagonal."""
    ax = ax or plt.subplots(figsize=(5, 5))[1]
    predicted, true = np.asarray(predicted, dtype=float), np.asarray(true, dtype=float)
    ax.scatter(true, predicted, s=10, alpha=0.6)
    lo, hi = min(true.min(), predicted.min()), max(true.max(), predicted.max())
    ax.plot([lo, hi], [lo, hi], color="grey", linestyle="--", label="predicted = true")
    ax.set_xlabel(f"true {name}")
    ax.set_ylabel(f"predicted {name}")
    ax.set_title(title or f"Predicted vs true {name} per weight vector")
    ax.legend()
    return ax


def slates_by_ranking(slates: dict, price, category_names, axes=None, title: str = ""):
    """One panel per ranking: the price of each slot's item, coloured by category.

    slates: {ranking name: (k,) candidate columns of one user}; price: (n_candidates,)
    EUR; category_names: (n_candidates,) strings.
    """
    names = list(slates)
    if axes is None:
        fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    cats = sorted(set(np.asarray(category_names)[np.concatenate([np.asarray(s) for s in slates.values()])]))
    colours = {c: plt.cm.tab20(i % 20) for i, c in enumerate(cats)}
    for ax, name in zip(axes, names, strict=True):
        cols = np.asarray(slates[name])
        ax.bar(np.arange(len(cols)), np.asarray(price)[cols],
               color=[colours[category_names[c]] for c in cols], edgecolor="black", linewidth=0.4)
        ax.set_xticks(np.arange(len(cols)))
        ax.set_xlabel("slot (0 = top)")
        ax.set_title(name)
    axes[0].set_ylabel("price (EUR)")
    handles = [plt.Rectangle((0, 0), 1, 1, color=colours[c]) for c in cats]
    axes[-1].legend(handles, cats, fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5), title="category")
    if title:
        axes[0].figure.suptitle(title, fontweight="bold", y=1.02)
    return axes


# ---- 05_pso_tuning / 06_ga_nsga2_tuning -------------------------------------


def swarm_snapshots(f, positions, iterations, lower, upper, title: str = "The swarm on the Rastrigin function"):
    """Particles on a contour map of a 2-D function, one panel per iteration.

    f: vectorised (n, 2) -> (n,); positions: (n_iters + 1, n_particles, 2) from
    ``pso.pso(..., keep_positions=True)``; iterations: which to show, e.g. (0, 5, 20).
    """
    fig, axes = plt.subplots(1, len(iterations), figsize=(3.6 * len(iterations), 3.6), sharey=True)
    axes = np.atleast_1d(axes)
    g = np.linspace(lower, upper, 161)
    gx, gy = np.meshgrid(g, g)
    z = f(np.column_stack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    for ax, it in zip(axes, iterations, strict=True):
        ax.contourf(gx, gy, z, levels=25, cmap="viridis", alpha=0.85)
        ax.scatter(positions[it][:, 0], positions[it][:, 1], s=18, c="white", edgecolors="black", linewidths=0.6)
        ax.scatter([0], [0], marker="*", s=160, c="red", label="global minimum")
        ax.set_title(f"iteration {it}")
        ax.set_xlabel("$x_1$")
        ax.set_xlim(lower, upper)
        ax.set_ylim(lower, upper)
    axes[0].set_ylabel("$x_2$")
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout()
    return fig


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


def strip_by_method(results: dict, reference: float | None = None, reference_label: str = "dense-grid optimum",
                    ax=None, title: str = "Best value per seed, equal budgets", ylabel: str = "best value"):
    """A box per method with every seed's result as a dot. results: {method: values (n_seeds,)}."""
    ax = ax or plt.subplots(figsize=(7.5, 4))[1]
    labels = list(results)
    data = [np.asarray(results[m], dtype=float) for m in labels]
    ax.boxplot(data, widths=0.5, showfliers=False)
    ax.set_xticks(range(1, len(labels) + 1), [textwrap.fill(label, 14) for label in labels])
    rng = np.random.default_rng(0)
    for i, values in enumerate(data, start=1):
        ax.scatter(i + rng.uniform(-0.12, 0.12, len(values)), values, s=22, alpha=0.8, zorder=3)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label=reference_label)
        ax.legend(loc="lower right")
    ax.set_ylabel(ylabel)
    ax.set_xlabel("method")
    ax.set_title(title)
    return ax


def front_pairs(fronts: dict, names, markers: dict | None = None, title: str = "The trade-offs, two objectives at a time"):
    """Pairwise scatter plots of fronts (natural sign: higher is better).

    fronts: {label: values (n, m)}; names: the m objective names; markers: optional
    {label: (m,) values} drawn as large labelled stars (chosen points, presets).
    """
    pairs = list(itertools.combinations(range(len(names)), 2))
    fig, axes = plt.subplots(1, len(pairs), figsize=(4.3 * len(pairs), 4))
    axes = np.atleast_1d(axes)
    for ax, (i, j) in zip(axes, pairs, strict=True):
        for label, values in fronts.items():
            values = np.asarray(values)
            ax.scatter(values[:, i], values[:, j], s=12, alpha=0.6, label=label)
        for label, point in (markers or {}).items():
            ax.scatter(point[i], point[j], marker="*", s=200, edgecolors="black", zorder=4, label=label)
        ax.set_xlabel(names[i])
        ax.set_ylabel(names[j])
        ax.set_title(f"{names[j]} against {names[i]}")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=9)
    fig.suptitle(title, fontweight="bold")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def hv_curves(evals, curves: dict, reference: float | None = 1.0, ax=None,
              title: str = "Hypervolume against evaluations (median and range over seeds)",
              ylabel: str = "hypervolume / reference front's", reference_label: str = "reference front"):
    """Median line and min-max band per method. curves: {method: (n_seeds, len(evals))}."""
    ax = ax or plt.subplots()[1]
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        line = ax.plot(evals, np.median(values, axis=0), label=label)[0]
        ax.fill_between(evals, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label=reference_label)
    ax.set_xlabel("evaluations")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax

# ---- 07_evaluation ----------------------------------------------------------


def interval_forest(table, ax=None, title: str = "Estimates with 95% intervals", xlabel: str = "value"):
    """Forest plot: one row per index entry of ``table`` (columns estimate, low, high)."""
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.35 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    est, low, high = (table[c].to_numpy(float) for c in ("estimate", "low", "high"))
    ax.errorbar(est, y, xerr=[est - low, high - est], fmt="o", capsize=3, color="tab:blue")
    ax.set_yticks(y, [str(i) for i in table.index])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return ax


def ab_report_card(card, metrics_order, baseline: str = "CTR-only", title: str | None = None):
    """One panel per metric: each policy's % change against ``baseline``, with its interval.

    card: DataFrame with columns policy, metric, change_pct, low_pct, high_pct
    (one row per policy and metric); metrics_order: the panels, left to right,
    as (metric, panel title) pairs. Bars are green when the change is up, red when down.
    """
    policies = list(dict.fromkeys(card["policy"]))
    fig, axes = plt.subplots(1, len(metrics_order), figsize=(3.1 * len(metrics_order), 0.45 * len(policies) + 1.6),
                             sharey=True)
    y = np.arange(len(policies))[::-1]
    for ax, (metric, label) in zip(np.atleast_1d(axes), metrics_order, strict=True):
        rows = card[card["metric"] == metric].set_index("policy").loc[policies]
        change = rows["change_pct"].to_numpy(float)
        err = [change - rows["low_pct"].to_numpy(float), rows["high_pct"].to_numpy(float) - change]
        ax.barh(y, change, color=np.where(change >= 0, "tab:green", "tab:red"), alpha=0.75)
        ax.errorbar(change, y, xerr=err, fmt="none", ecolor="black", capsize=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_title(label, fontsize=10)
        ax.set_xlabel(f"% change vs {baseline}")
        ax.set_yticks(y, policies)
    fig.suptitle(title or f"Report card: simulated A/B tests against the {baseline} ranking (95% intervals)",
                 fontweight="bold")
    fig.tight_layout()
    return fig
