"""Comparison figures beside the animation: learning curves and a summary heatmap.

Both follow scikit-learn's display convention: they accept an ``ax`` (or ``fig``) to draw on
and return the matplotlib ``Figure``, which saves to PNG, SVG or PDF.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jaxviz.analysis import METRICS, final_values
from jaxviz.views.layout import format_value, plan_layout

__all__ = ["plot_history", "plot_summary"]


def _check_metric(metric: str) -> str:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {list(METRICS)}. Got {metric!r} instead.")
    return metric


def _check_axis(run, name: str | None, what: str) -> str:
    if name not in run.axes:
        raise ValueError(f"{what} must be one of the grid's axes {list(run.axes)}. Got {name!r} instead.")
    return name


def _new_figure(size, layout=None):
    fig = Figure(figsize=size, dpi=100, layout=layout)
    FigureCanvasAgg(fig)
    return fig


def _curve(run, i: int, metric: str) -> np.ndarray:
    return run.metrics[metric][i, : run.configs[i]["epochs"]]


def plot_history(run, metric: str = "val_loss", *, by: str | None = None, ax=None, fig=None):
    """Learning curves of ``metric`` (a Keras History key).

    Without ``by``: one small panel per model, in the same layout as the tiles, on shared y
    limits; for ``loss``/``accuracy`` the ``val_`` curve is drawn dashed beside it. With ``by``
    (an axis name): every model's curve on one ``ax``, coloured by its value of ``by``.
    """
    metric = _check_metric(metric)
    epochs = np.arange(1, run.epochs + 1)
    if by is not None:
        by = _check_axis(run, by, "by")
        if ax is None:
            fig = fig or _new_figure((7, 4.5), layout="constrained")
            ax = fig.add_subplot()
        values = run.axes[by]
        colours = colormaps["viridis"](np.linspace(0, 0.9, len(values)))
        for i, config in enumerate(run.configs):
            k = values.index(config[by])
            curve = _curve(run, i, metric)
            ax.plot(epochs[: len(curve)], curve, color=colours[k], lw=1.2, alpha=0.8,
                    label=f"{by} = {format_value(config[by])}")
        handles, labels = ax.get_legend_handles_labels()
        unique = dict(zip(labels, handles))
        ax.legend(unique.values(), unique.keys(), fontsize=8)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        return ax.figure
    layout = plan_layout(run.axes, len(run.configs), None if fig is None else tuple(fig.get_size_inches()))
    fig = fig or _new_figure(layout.size)
    partner = {"loss": "val_loss", "accuracy": "val_accuracy"}.get(metric)
    # shared limits from the models that did not diverge, so one explosion does not flatten the rest
    healthy = [i for i in range(len(run.configs)) if run.diverged_epoch[i] < 0] or range(len(run.configs))
    values = [run.metrics[m][i, : run.configs[i]["epochs"]] for m in (metric, partner) if m for i in healthy]
    finite = np.concatenate([v[np.isfinite(v)] for v in values])
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if finite.size:  # a spike of one model should not flatten every other curve
        hi = min(hi, lo + 1.5 * (float(np.percentile(finite, 95)) - lo) + 1e-6)
    pad = 0.05 * (hi - lo or 1.0)
    for i, box in enumerate(layout.boxes):
        a = fig.add_axes(box)
        curve = _curve(run, i, metric)
        a.plot(epochs[: len(curve)], curve, lw=1.0, color="#1f4e9c", label=metric)
        if partner:
            a.plot(epochs[: len(curve)], _curve(run, i, partner), lw=1.0, ls="--", color="#c0392b", label=partner)
        a.set_xlim(1, max(run.epochs, 2))
        a.set_ylim(max(lo - pad, 0.0) if lo >= 0 else lo - pad, hi + pad)
        a.tick_params(labelsize=6, length=2, labelbottom=False, labelleft=False)
        if layout.tile_titles[i]:
            a.set_title(layout.tile_titles[i], fontsize=layout.font, pad=2)
        k = int(run.diverged_epoch[i])
        if k > 0:
            a.axvline(k, color="grey", lw=0.8)
            a.text(0.5, 0.5, f"diverged at epoch {k}", transform=a.transAxes, ha="center", fontsize=6)
    for text, x, y, rotation, ha, va in layout.headers:
        fig.text(x, y, text, rotation=rotation, ha=ha, va=va, fontsize=layout.font, weight="bold")
    title = f"{metric} per epoch" + (f" ({partner} dashed)" if partner else "")
    fig.text(0.5 * layout.band, 1 - 0.1 / layout.size[1], title, ha="center", va="top", fontsize=12)
    fig.text(0.5 * layout.band, 1 - 0.42 / layout.size[1],
             f"every panel: epochs 1-{run.epochs} across, {lo - pad:.3g} to {hi + pad:.3g} up", ha="center",
             va="top", fontsize=8)
    return fig


def plot_summary(run, metric: str = "val_accuracy", *, x: str | None = None, y: str | None = None, ax=None):
    """Heatmap of each model's final ``metric`` (at its own last epoch) over axes ``x`` and ``y``
    (default: the grid's last two axes); models that differ in other axes are averaged, and
    cells are annotated with their values.
    """
    metric = _check_metric(metric)
    names = list(run.axes)
    if not names:
        raise ValueError("plot_summary needs a grid with at least one axis. Got a single model instead.")
    x = _check_axis(run, x or names[-1], "x")
    y = _check_axis(run, y, "y") if y is not None else (names[-2] if len(names) >= 2 and names[-2] != x else None)
    xs, ys = run.axes[x], (run.axes[y] if y else [None])
    total = np.zeros((len(ys), len(xs)))
    count = np.zeros_like(total)
    finals = final_values(run, metric)  # NaN for a diverged model: its cell says so if all its models did
    for i, config in enumerate(run.configs):
        value = finals[i]
        r = ys.index(config[y]) if y else 0
        c = xs.index(config[x])
        total[r, c] += value
        count[r, c] += 1
    table = total / np.maximum(count, 1)  # NaN where a cell's models all diverged
    if ax is None:
        fig = _new_figure((2.6 + 0.9 * len(xs), 1.8 + 0.6 * len(ys)), layout="constrained")
        ax = fig.add_subplot()
    cmap = "viridis" if "accuracy" in metric else "viridis_r"
    image = ax.imshow(np.ma.masked_invalid(table), cmap=cmap, aspect="auto", origin="upper")
    ax.figure.colorbar(image, ax=ax, label=f"final {metric}")
    ax.set_xticks(range(len(xs)), [format_value(v) for v in xs])
    ax.set_yticks(range(len(ys)), [format_value(v) for v in ys] if y else [""])
    ax.set_xlabel(x)
    ax.set_ylabel(y or "")
    for r in range(len(ys)):
        for c in range(len(xs)):
            ax.text(c, r, "diverged" if not np.isfinite(table[r, c]) else f"{table[r, c]:.3g}", ha="center",
                    va="center", fontsize=8, color="white" if np.isfinite(table[r, c]) else "black")
    others = [n for n in names if n not in (x, y)]
    ax.set_title(f"final {metric}" + (f" (mean over {', '.join(others)})" if others else ""), fontsize=10)
    return ax.figure
