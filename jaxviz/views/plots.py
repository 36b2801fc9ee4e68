"""Comparison figures beside the animation: learning curves and a summary heatmap.

Both follow scikit-learn's display convention: they accept an ``ax`` (or ``fig``) to draw on
and return the matplotlib ``Figure``, which saves to PNG, SVG or PDF.
"""

from __future__ import annotations

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from jaxviz.analysis import REPLICATE_AXES, aggregate, history_bands, log_spaced, score_metric
from jaxviz.views.layout import format_value, plan_layout

__all__ = ["plot_history", "plot_summary"]


def _check_metric(run, metric: str | None) -> str:
    """``metric``, a History key of this run (its task's: ``mae`` in place of ``accuracy`` for
    regression); None: the test metric its status lines show."""
    metric = score_metric(run) if metric is None else metric
    if metric not in run.metrics:
        raise ValueError(f"metric must be one of {list(run.metrics)}. Got {metric!r} instead.")
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
    (an axis name): on one ``ax``, one line per value of ``by``, the median over the models with
    that value, with their interquartile range as a band (see :func:`_history_by`).

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.001, 0.01, 0.1, 1.0], seed=[0, 1], epochs=3, resolution=8, progress=False)
        >>> fig = plot_history(run, "loss", by="lr")
        >>> len(fig.axes[0].lines), fig.axes[1].get_ylabel()  # four medians, and a log colour bar
        (4, 'lr (log scale)')
    """
    metric = _check_metric(run, metric)
    epochs = np.arange(1, run.epochs + 1)
    if by is not None:
        return _history_by(run, metric, _check_axis(run, by, "by"), ax, fig)
    layout = plan_layout(run.axes, len(run.configs), None if fig is None else tuple(fig.get_size_inches()))
    fig = fig or _new_figure(layout.size)
    partner = f"val_{metric}" if metric != "learning_rate" and f"val_{metric}" in run.metrics else None
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


def _history_by(run, metric: str, by: str, ax, fig):
    """One median line per value of ``by`` with an interquartile band. The colour follows the
    value: a log-spaced axis gets a log colour scale and a colour bar, a numeric axis of many
    values a linear one; a few values (up to 3, or up to 6 linear, or categories) get a legend."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import LogNorm, Normalize

    if ax is None:
        fig = fig or _new_figure((7, 4.5), layout="constrained")
        ax = fig.add_subplot()
    values = run.axes[by]
    bands = history_bands(run, metric, by)
    numeric = all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values)
    cmap = colormaps["viridis"]
    if log_spaced(values) and len(values) > 3:
        norm, bar_label = LogNorm(min(values), max(values)), f"{by} (log scale)"
    elif numeric and len(values) > 6:
        norm, bar_label = Normalize(min(values), max(values)), by
    else:  # few values or categories: evenly spaced colours and a legend
        norm, bar_label = None, None
    epochs = np.arange(1, bands["median"].shape[1] + 1)
    for k, v in enumerate(values):
        colour = cmap(0.9 * k / max(1, len(values) - 1)) if norm is None else cmap(0.9 * norm(v))
        n = int(bands["count"][k])
        ax.fill_between(epochs, bands["q25"][k], bands["q75"][k], color=colour, alpha=0.18, lw=0)
        ax.plot(epochs, bands["median"][k], color=colour, lw=1.8, label=f"{by} = {format_value(v)} ({n})")
    if norm is None:
        ax.legend(fontsize=8, title="median, IQR band (models)", title_fontsize=8)
    else:
        bar_norm = norm if isinstance(norm, LogNorm) else Normalize(norm.vmin, norm.vmax)
        scale = ScalarMappable(norm=bar_norm, cmap=_shrunk(cmap))
        ax.figure.colorbar(scale, ax=ax, label=bar_label)
    others = [a for a in run.axes if a != by]
    ax.set_title(f"{metric}: median over {', '.join(others) or 'the models'} per {by}, interquartile band", fontsize=10)
    ax.set_xlabel("epoch")
    ax.set_ylabel(metric)
    ax.grid(alpha=0.3)
    return ax.figure


def _shrunk(cmap):
    """``cmap`` cut to its first 90% (the lines use that part: the top of viridis is too pale)."""
    from matplotlib.colors import ListedColormap

    return ListedColormap(cmap(np.linspace(0, 0.9, 256)))


def _summary_axes(run, x, y):
    """The heatmap's axes: those given, else the non-replicate axes with the most values (the
    earlier one down, the later across); a replicate axis (``seed``) only if nothing else is left."""
    names = list(run.axes)
    x = _check_axis(run, x, "x") if x is not None else None
    y = _check_axis(run, y, "y") if y is not None else None
    if x is not None and y is not None:
        return x, y
    settings = [a for a in names if a not in REPLICATE_AXES] or names
    ranked = sorted((a for a in settings if a not in (x, y)), key=lambda a: -len(run.axes[a]))  # stable: grid order on ties
    given = [a for a in (x, y) if a is not None]
    chosen = sorted(given + ranked[: 2 - len(given)], key=names.index)
    if x is None and y is None:
        return (chosen[1], chosen[0]) if len(chosen) == 2 else (chosen[0], None)
    if x is None:
        others = [a for a in chosen if a != y]
        return (others[0], y) if others else (y, None)
    return x, next((a for a in chosen if a != x), None)


def plot_summary(run, metric: str | None = None, *, x: str | None = None, y: str | None = None,
                 how: str = "mean", ax=None):
    """Heatmap of each model's final ``metric`` (at its own last epoch; default ``val_accuracy``, or
    ``val_mae`` for regression) over axes ``x`` and ``y``.

    By default the two non-replicate axes with the most values; every other axis (``seed``
    above all) is aggregated with ``how`` (mean, median, min or max, over the models that did not
    diverge), and each cell notes its interquartile range over those replicates and how many of
    them diverged.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5, 1.0], momentum=[0.0, 0.9], seed=[0, 1], epochs=2,
        ...                    resolution=8, progress=False)
        >>> ax = plot_summary(run, "val_loss").axes[0]
        >>> ax.get_ylabel(), ax.get_xlabel()
        ('lr', 'momentum')
    """
    metric = _check_metric(run, metric)
    if not run.axes:
        raise ValueError("plot_summary needs a grid with at least one axis. Got a single model instead.")
    x, y = _summary_axes(run, x, y)
    agg = aggregate(run, metric, [a for a in (y, x) if a], how)
    xs, ys = run.axes[x], (run.axes[y] if y else [None])
    shape = (len(ys), len(xs))
    table, q25, q75 = (agg[k].reshape(shape) for k in ("value", "q25", "q75"))
    diverged, count = agg["diverged"].reshape(shape), agg["count"].reshape(shape)
    if ax is None:
        fig = _new_figure((2.6 + 1.0 * len(xs), 1.8 + 0.65 * len(ys)), layout="constrained")
        ax = fig.add_subplot()
    cmap = "viridis" if "accuracy" in metric else "viridis_r"
    image = ax.imshow(np.ma.masked_invalid(table), cmap=cmap, aspect="auto", origin="upper")
    ax.figure.colorbar(image, ax=ax, label=f"final {metric}")
    ax.set_xticks(range(len(xs)), [format_value(v) for v in xs])
    ax.set_yticks(range(len(ys)), [format_value(v) for v in ys] if y else [""])
    ax.set_xlabel(x)
    ax.set_ylabel(y or "")
    font = 8 if len(xs) * len(ys) <= 64 else 6
    for r in range(len(ys)):
        for c in range(len(xs)):
            ok = np.isfinite(table[r, c])
            text = f"{table[r, c]:.3g}" if ok else "diverged"
            if ok and count[r, c] > 1:
                text += f"\n±{(q75[r, c] - q25[r, c]) / 2:.2g}"
            if ok and diverged[r, c] > 0:
                text += f"\n{round(diverged[r, c] * count[r, c])}/{count[r, c]} div."
            rgb = image.cmap(image.norm(table[r, c]))[:3] if ok else (1, 1, 1)
            ink = "black" if 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2] > 0.55 else "white"
            ax.text(c, r, text, ha="center", va="center", fontsize=font, color=ink, linespacing=1.0)
    others = [n for n in run.axes if n not in (x, y)]
    note = f" ({how} over {', '.join(others)}; ± half the interquartile range)" if others else ""
    ax.set_title(f"final {metric}{note}", fontsize=10)
    return ax.figure
