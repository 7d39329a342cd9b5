"""Plot helpers shared by the notebooks. Code here only makes figures prettier:
a learner may skip it. Every function titles its figure and labels its axes,
and returns the matplotlib Axes (or Figure) it drew on.
"""

from __future__ import annotations

import matplotlib.pyplot as plt  # noqa: F401

# ---- 01_behaviour_analysis --------------------------------------------------


def funnel(counts, ax=None, title: str = "The funnel"):
    """Horizontal bars of a funnel, top stage first, each labelled with its count
    and its conversion from the stage above.

    counts: a pandas Series {stage: count} in funnel order.
    """
    import numpy as np

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
    import numpy as np

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
    """Scatter of 2-D item coordinates (n, 2), one colour per label (e.g. category), legend outside."""
    import numpy as np

    ax = ax or plt.subplots(figsize=(8, 5))[1]
    labels = np.asarray(labels).astype(str)
    names = sorted(set(labels))
    colours = plt.cm.tab20(np.linspace(0, 1, 20))[: len(names)] if len(names) <= 20 else None
    for k, name in enumerate(names):
        m = labels == name
        ax.scatter(xy[m, 0], xy[m, 1], s=6, alpha=0.6, label=name, color=None if colours is None else colours[k])
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


# ---- 03_multi_objective_model -----------------------------------------------


def _nb03_box(ax, x, y, w, h, text, color="#dbe9f6", fontsize=8):
    from matplotlib.patches import FancyBboxPatch

    ax.add_patch(FancyBboxPatch((x - w / 2, y - h / 2), w, h, boxstyle="round,pad=0.02,rounding_size=0.15",
                                facecolor=color, edgecolor="#444444", linewidth=0.8))
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _nb03_arrow(ax, start, end, style="-|>", dashed=False):
    ax.annotate("", xy=end, xytext=start,
                arrowprops={"arrowstyle": style, "color": "#555555", "lw": 0.8, "linestyle": "--" if dashed else "-",
                            "shrinkA": 0, "shrinkB": 0})


def architecture_diagrams(title: str = "Five ways for two tasks to share a network"):
    """Block diagrams of the single-task, shared-bottom, MMoE, PLE and ESMM models, side by side.

    Blue: shared by both tasks; orange: click only; green: purchase only;
    grey: gates. Every click head also gets the slot's offset (the shallow
    position tower, dashed). Returns the Figure.
    """
    fig, axes = plt.subplots(1, 5, figsize=(15, 4.6))
    shared, click, buy, gate, out = "#dbe9f6", "#fde0c5", "#d5f0d5", "#e6e6e6", "#ffffff"

    def base(ax, name):
        ax.set_xlim(0, 10)
        ax.set_ylim(0, 10)
        ax.set_axis_off()
        ax.set_title(name, fontsize=11)

    def slot(ax, targets):
        _nb03_box(ax, 9.3, 6.2, 1.2, 0.7, "slot", gate, fontsize=7)
        for t in targets:
            _nb03_arrow(ax, (9.3, 6.55), t, dashed=True)

    # 1. single-task: two separate networks
    ax = axes[0]
    base(ax, "Single-task (x2)")
    for x, color, task in [(2.6, click, "P(click)"), (6.6, buy, "P(click & buy)")]:
        _nb03_box(ax, x, 1.2, 3.4, 1.0, "embeddings", color)
        _nb03_box(ax, x, 4.2, 3.0, 1.6, "MLP", color)
        _nb03_box(ax, x, 8.2, 3.2, 0.9, task, out)
        _nb03_arrow(ax, (x, 1.7), (x, 3.4))
        _nb03_arrow(ax, (x, 5.0), (x, 7.75))
    slot(ax, [(2.6, 7.75), (6.6, 7.75)])
    # 2. shared bottom
    ax = axes[1]
    base(ax, "Shared-bottom")
    _nb03_box(ax, 4.6, 1.2, 8.0, 1.0, "embeddings (shared)", shared)
    _nb03_box(ax, 4.6, 3.3, 6.0, 1.2, "shared layer", shared)
    _nb03_arrow(ax, (4.6, 1.7), (4.6, 2.7))
    for x, color, task in [(2.6, click, "P(click)"), (6.6, buy, "P(click & buy)")]:
        _nb03_box(ax, x, 5.6, 2.8, 1.2, "tower", color)
        _nb03_box(ax, x, 8.2, 3.2, 0.9, task, out)
        _nb03_arrow(ax, (x, 3.9), (x, 5.0))
        _nb03_arrow(ax, (x, 6.2), (x, 7.75))
    slot(ax, [(2.6, 7.75), (6.6, 7.75)])
    # 3. MMoE
    ax = axes[2]
    base(ax, "MMoE")
    _nb03_box(ax, 4.6, 1.0, 8.0, 0.9, "embeddings (shared)", shared)
    for k, x in enumerate([1.6, 3.6, 5.6, 7.6]):
        _nb03_box(ax, x, 3.0, 1.7, 1.0, f"expert {k + 1}", shared, fontsize=7)
        _nb03_arrow(ax, (x, 1.45), (x, 2.5))
    for x, color, task, g in [(2.6, click, "P(click)", "gate\nclick"), (6.6, buy, "P(click & buy)", "gate\nbuy")]:
        _nb03_box(ax, x, 4.9, 2.4, 0.9, "softmax mix", color, fontsize=7)
        _nb03_box(ax, x - 2.0 if x < 5 else x + 2.0, 4.9, 1.3, 0.9, g, gate, fontsize=6)
        _nb03_box(ax, x, 6.5, 2.4, 0.9, "tower", color)
        _nb03_box(ax, x, 8.2, 3.2, 0.9, task, out)
        for e in [1.6, 3.6, 5.6, 7.6]:
            _nb03_arrow(ax, (e, 3.5), (x, 4.45))
        _nb03_arrow(ax, (x - 1.35 if x < 5 else x + 1.35, 4.9), (x - 1.2 if x < 5 else x + 1.2, 4.9))
        _nb03_arrow(ax, (x, 5.35), (x, 6.05))
        _nb03_arrow(ax, (x, 6.95), (x, 7.75))
    slot(ax, [(2.6, 7.75), (6.6, 7.75)])
    # 4. PLE
    ax = axes[3]
    base(ax, "PLE (one extraction layer)")
    _nb03_box(ax, 4.6, 1.0, 8.0, 0.9, "embeddings (shared)", shared)
    for x, color, label in [(1.5, click, "click\nexperts"), (4.6, shared, "shared\nexperts"), (7.7, buy, "buy\nexperts")]:
        _nb03_box(ax, x, 3.0, 2.3, 1.1, label, color, fontsize=7)
        _nb03_arrow(ax, (x, 1.45), (x, 2.45))
    for x, color, task, own in [(2.6, click, "P(click)", 1.5), (6.6, buy, "P(click & buy)", 7.7)]:
        _nb03_box(ax, x, 5.0, 2.6, 0.9, "gate + mix", color, fontsize=7)
        _nb03_box(ax, x, 6.5, 2.4, 0.9, "tower", color)
        _nb03_box(ax, x, 8.2, 3.2, 0.9, task, out)
        _nb03_arrow(ax, (own, 3.55), (x, 4.55))
        _nb03_arrow(ax, (4.6, 3.55), (x, 4.55))
        _nb03_arrow(ax, (x, 5.45), (x, 6.05))
        _nb03_arrow(ax, (x, 6.95), (x, 7.75))
    slot(ax, [(2.6, 7.75), (6.6, 7.75)])
    # 5. ESMM
    ax = axes[4]
    base(ax, "ESMM")
    _nb03_box(ax, 4.6, 1.0, 8.0, 0.9, "embeddings (shared)", shared)
    _nb03_box(ax, 2.4, 3.6, 2.8, 1.6, "CTR\ntower", click)
    _nb03_box(ax, 6.8, 3.6, 2.8, 1.6, "CVR\ntower", buy)
    _nb03_box(ax, 2.4, 6.0, 2.6, 0.9, "pCTR", out)
    _nb03_box(ax, 6.8, 6.0, 2.6, 0.9, "pCVR", out)
    _nb03_box(ax, 4.6, 8.2, 3.6, 0.9, "pCTCVR = pCTR x pCVR", out, fontsize=7)
    for x in [2.4, 6.8]:
        _nb03_arrow(ax, (x, 1.45), (x, 2.8))
        _nb03_arrow(ax, (x, 4.4), (x, 5.55))
        _nb03_arrow(ax, (x, 6.45), (4.6 + (x - 4.6) * 0.4, 7.75))
    ax.text(1.0, 6.75, "loss: click", ha="center", fontsize=7, color="#aa5500")
    ax.text(4.6, 9.05, "loss: click & buy", ha="center", fontsize=7, color="#227722")
    slot(ax, [(2.4, 6.45)])
    fig.suptitle(title, fontweight="bold")
    fig.text(0.5, 0.02, "blue: shared by both tasks · orange: click task · green: purchase task · "
             "grey: gates and the slot's offset (dashed: added to the logit in training, slot 0 at serving)",
             ha="center", fontsize=9)
    fig.tight_layout(rect=(0, 0.05, 1, 0.95))
    return fig


def efficiency_bars(summary, ax=None, title: str = "AUC efficiency on the validation window (mean ± std over seeds)"):
    """Grouped bars of AUC efficiency per model and task, with error bars.

    summary: a DataFrame indexed by (model, task) with columns ``efficiency``
    (mean) and ``efficiency_std``. Dotted lines: the coarse oracle's efficiency
    when the frame has a ``coarse_efficiency`` column.
    """
    import numpy as np

    ax = ax or plt.subplots(figsize=(9, 4))[1]
    model_names = list(dict.fromkeys(summary.index.get_level_values(0)))
    tasks = list(dict.fromkeys(summary.index.get_level_values(1)))
    width = 0.8 / len(tasks)
    for t, task in enumerate(tasks):
        rows = [(m, task) for m in model_names]
        x = np.arange(len(model_names)) + (t - (len(tasks) - 1) / 2) * width
        present = [r in summary.index for r in rows]
        mean = [summary.loc[r, "efficiency"] if p else np.nan for r, p in zip(rows, present, strict=True)]
        std = [summary.loc[r, "efficiency_std"] if p else 0 for r, p in zip(rows, present, strict=True)]
        ax.bar(x, mean, width, yerr=std, capsize=3, label=task)
        if "coarse_efficiency" in summary.columns:
            c = summary.xs(task, level=1)["coarse_efficiency"].dropna()
            if len(c):
                ax.axhline(c.iloc[0], color=f"C{t}", linestyle=":", linewidth=1,
                           label=f"coarse oracle ({task})")
    ax.set_xticks(np.arange(len(model_names)), model_names, rotation=20)
    ax.set_ylabel("(AUC - 0.5) / (AUC oracle - 0.5)")
    ax.set_xlabel("model")
    ax.set_ylim(0, 1)
    ax.set_title(title)
    ax.legend(loc="lower right", fontsize=8)
    return ax


def reliability_diagram(tables: dict, ax=None, title: str = "Reliability diagram"):
    """Observed rate against mean prediction per bin, on log-log axes, with the diagonal.

    tables: {label: DataFrame with mean_predicted and observed_rate} (e.g.
    from ``models.reliability_table``).
    """
    import numpy as np

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


def gate_heatmap(usage, ax=None, title: str = "Mean gate weight per expert"):
    """Heatmap of a (tasks x experts) table of mean gate weights, annotated."""
    import numpy as np

    ax = ax or plt.subplots(figsize=(1.2 * usage.shape[1] + 2, 2.4))[1]
    im = ax.imshow(usage.to_numpy(), cmap="Blues", vmin=0, vmax=max(0.5, float(np.nanmax(usage.to_numpy()))))
    for (i, j), v in np.ndenumerate(usage.to_numpy()):
        ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(usage.shape[1]), usage.columns)
    ax.set_yticks(range(usage.shape[0]), usage.index)
    ax.set_xlabel("expert")
    ax.set_ylabel("task")
    ax.set_title(title)
    ax.grid(False)
    plt.colorbar(im, ax=ax, fraction=0.03)
    return ax


# ---- 04_ranking_objectives --------------------------------------------------


def tradeoff_path(x, y, t, ax=None, label: str = "", t_name: str = "t", title: str = "", xlabel: str = "",
                  ylabel: str = ""):
    """A line through (x, y) points of a weight sweep, its start and end labelled with t.

    x, y, t: (n,) arrays in sweep order. A label containing "true" is drawn solid, others dashed.
    """
    import numpy as np

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
    import numpy as np

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
    import numpy as np

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
    import numpy as np

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
    ``optimize.pso(..., keep_positions=True)``; iterations: which to show, e.g. (0, 5, 20).
    """
    import numpy as np

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
    import textwrap

    import numpy as np

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
    import itertools

    import numpy as np

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
              ylabel: str = "hypervolume / reference front's"):
    """Median line and min-max band per method. curves: {method: (n_seeds, len(evals))}."""
    import numpy as np

    ax = ax or plt.subplots()[1]
    for label, values in curves.items():
        values = np.asarray(values, dtype=float)
        line = ax.plot(evals, np.median(values, axis=0), label=label)[0]
        ax.fill_between(evals, values.min(axis=0), values.max(axis=0), color=line.get_color(), alpha=0.2)
    if reference is not None:
        ax.axhline(reference, color="black", linestyle="--", linewidth=1, label="grid reference front")
    ax.set_xlabel("evaluations")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(loc="lower right")
    return ax

# ---- 07_evaluation ----------------------------------------------------------


def interval_forest(table, ax=None, title: str = "Estimates with 95% intervals", xlabel: str = "value"):
    """Forest plot: one row per index entry of ``table`` (columns estimate, low, high)."""
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 0.35 * len(table) + 1.2))
    y = np.arange(len(table))[::-1]
    est, low, high = (table[c].to_numpy(float) for c in ("estimate", "low", "high"))
    ax.errorbar(est, y, xerr=[est - low, high - est], fmt="o", capsize=3, color="tab:blue")
    ax.set_yticks(y, [str(i) for i in table.index])
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    return ax


def exposure_lorenz(exposures: dict, ax=None, title: str = "Who gets the impressions? Lorenz curves of exposure"):
    """Lorenz curves of impressions per item, one per policy; ``exposures``: name -> (n_items,) counts."""
    from course_lib import metrics

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 5))
    for name, counts in exposures.items():
        x, y = metrics.lorenz_curve(counts)
        ax.plot(x, y, label=f"{name} (Gini {metrics.gini(counts):.2f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect equality")
    ax.set_title(title)
    ax.set_xlabel("share of items (least shown first)")
    ax.set_ylabel("share of impressions")
    ax.legend(fontsize=8, loc="upper left")
    return ax


def ab_report_card(card, metrics_order, baseline: str = "CTR-only", title: str | None = None):
    """One panel per metric: each policy's % change against ``baseline``, with its interval.

    card: DataFrame with columns policy, metric, change_pct, low_pct, high_pct
    (one row per policy and metric); metrics_order: the panels, left to right,
    as (metric, panel title) pairs. Bars are green when the change is up, red when down.
    """
    import numpy as np

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
