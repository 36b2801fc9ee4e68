"""Per-model facts, each rule written once: what every view, file and summary says about a model.

A :class:`~jaxviz.results.Run` computes these once (cached, read-only) and the tiles, the
compositor, ``metrics.csv``, ``run.table()``, the CLI summary and the plots all read them here:

- :func:`trained_epochs`: the epochs a model trained (its own ``epochs``, fewer if interrupted);
- :func:`diverged_epoch`: the first epoch whose loss went NaN or inf;
- :func:`exploded_epoch`: the epoch the seed's "gradient explodes" lesson happened;
- :func:`flagged`: the one rule "flagged by epoch k" (an epoch ``k > 0`` at or before ``epoch``);
- :func:`tile_flag` / :func:`status`: a tile's state and status line at a frame;
- :func:`metric_rows`: the metric rows at an epoch (``run.table()``, ``metrics.csv``);
- :func:`final_values` / :func:`aggregate`: final metrics, and summaries over a replicate axis;
- :func:`history_bands`: learning curves per value of an axis (median, interquartile band);
- :func:`importance`: how much each axis explains a final metric (correlation, random forest).
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np

__all__ = [
    "task_of_run",
    "METRICS",
    "REGRESSION_METRICS",
    "metric_names",
    "metric_key",
    "read_only",
    "STALL_EPOCHS",
    "REPLICATE_AXES",
    "trained_epochs",
    "diverged_epoch",
    "exploded_epoch",
    "flagged",
    "tile_flag",
    "status",
    "metric_rows",
    "csv_rows",
    "final_values",
    "aggregate",
    "marked_models",
    "label",
    "log_spaced",
    "numeric_axis",
    "history_bands",
    "importance",
]

#: History keys of a classification, in Keras' order (the engine's, restated: views need no engine).
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")
#: History keys of a regression: the mean absolute error where a classification has its accuracy.
REGRESSION_METRICS = ("loss", "mae", "val_loss", "val_mae", "learning_rate")
#: Epochs a worse, constant training loss must last to count as an explosion.
STALL_EPOCHS = 10
#: Axes that repeat a setting rather than change it: summaries aggregate over them by default.
REPLICATE_AXES = ("seed",)


def task_of_run(run) -> tuple[str, int]:
    """The run's task name (``binary``, ``multiclass`` or ``regression``) and class count.

    What a surface holds follows from it: binary, the class-1 probability ``(n, f, r, r)``;
    multiclass, every class's probability ``(n, f, r, r, classes)``; regression, the predicted
    value ``(n, f, r, r)``. Runs saved before tasks existed are binary.

    Example:
        >>> class R: configs = [{"task": "multiclass", "classes": 3}]
        >>> task_of_run(R())
        ('multiclass', 3)
    """
    first = run.configs[0] if len(run.configs) else {}
    name = first.get("task") or "binary"
    if name == "auto":
        name = "binary"
    return name, int(first.get("classes") or 2)


def metric_names(run) -> tuple[str, ...]:
    """The History keys of a run, in Keras' order (a regression has ``mae`` for ``accuracy``). Example:
        >>> class R: configs = [{"task": "regression", "classes": 2}]
        >>> metric_names(R())
        ('loss', 'mae', 'val_loss', 'val_mae', 'learning_rate')
    """
    return REGRESSION_METRICS if task_of_run(run)[0] == "regression" else METRICS


def metric_key(run, metric: str) -> str:
    """``metric`` as ``run.metrics`` names it: a rule written for the accuracy reads a regression's
    mae (``accuracy`` <-> ``mae``, ``val_accuracy`` <-> ``val_mae``). Example:
        >>> class R: configs, metrics = [{"task": "regression"}], dict.fromkeys(REGRESSION_METRICS)
        >>> metric_key(R(), "val_accuracy"), metric_key(R(), "loss")
        ('val_mae', 'loss')
    """
    names = tuple(run.metrics) if isinstance(getattr(run, "metrics", None), dict) else metric_names(run)
    other = dict(zip(METRICS, REGRESSION_METRICS)) | dict(zip(REGRESSION_METRICS, METRICS))
    for name in (metric, other.get(metric)):
        if name in names:
            return name
    raise ValueError(f"metric must be one of {list(names)}. Got {metric!r} instead.")


def read_only(a: np.ndarray) -> np.ndarray:
    """``a`` made read-only: a cached per-model array is shared by every caller."""
    a.setflags(write=False)
    return a


def trained_epochs(own_epochs: np.ndarray, completed: int | None) -> np.ndarray:
    """Per model, the epochs it trained: its own ``epochs``, or ``completed`` if the run stopped early.

    Example:
        >>> trained_epochs(np.array([3, 5]), 4).tolist()
        [3, 4]
    """
    own = np.asarray(own_epochs)
    return read_only(np.minimum(own, completed if completed is not None else own.max()))


def diverged_epoch(metrics: dict[str, np.ndarray], own_epochs: np.ndarray) -> np.ndarray:
    """Per model, the first epoch whose ``loss`` or ``val_loss`` is NaN or inf; -1 if none.

    NaN past a model's own epochs is padding, not divergence.

    Example:
        >>> m = {"loss": np.array([[1.0, np.nan], [1.0, 2.0]]), "val_loss": np.ones((2, 2))}
        >>> diverged_epoch(m, np.array([2, 2])).tolist()
        [2, -1]
    """
    bad = ~(np.isfinite(metrics["loss"]) & np.isfinite(metrics["val_loss"]))
    bad &= np.arange(bad.shape[1])[None, :] < np.asarray(own_epochs)[:, None]
    return read_only(np.where(bad.any(axis=1), bad.argmax(axis=1) + 1, -1))


def exploded_epoch(loss: np.ndarray, trained: np.ndarray, diverged: np.ndarray) -> np.ndarray:
    """Per model, the epoch its gradient "exploded" in the seed's sense; -1 if it did not.

    The seed's lesson: too high a learning rate throws the outputs into the saturated ends of
    the sigmoid, where the clipped loss has no gradient, and the network stops learning. A
    model is marked at epoch ``k`` when its training loss, worse than its best before by at
    least ``0.1``, stays constant (to ``1e-6`` relative) from ``k`` to its last epoch, for at
    least ``STALL_EPOCHS`` epochs. A NaN/inf loss is :func:`diverged_epoch`, not this.

    Example:
        >>> loss = np.array([[0.5, 0.4] + [9.0] * 12])
        >>> exploded_epoch(loss, np.array([14]), np.array([-1])).tolist()
        [3]
    """
    out = np.full(len(trained), -1)
    for i, (last, k_div) in enumerate(zip(trained, diverged)):
        curve = loss[i, :last]
        if k_div > 0 or len(curve) <= STALL_EPOCHS:
            continue
        flat = np.abs(curve - curve[-1]) <= 1e-6 * max(1.0, abs(float(curve[-1])))
        k = len(curve) - int(np.argmin(flat[::-1])) if not flat.all() else 0  # first epoch of the last flat run
        if len(curve) - k >= STALL_EPOCHS and k > 0 and curve[-1] >= curve[:k].min() + 0.1:
            out[i] = k + 1
    return read_only(out)


def flagged(at, epoch) -> np.ndarray | bool:
    """Whether a mark set at epoch ``at`` (-1 = never) shows at ``epoch``: the one rule every view uses.

    Example:
        >>> flagged(np.array([-1, 3, 5]), 4).tolist()
        [False, True, False]
    """
    if np.ndim(at) == 0:
        return 0 < at <= epoch
    at = np.asarray(at)
    return (at > 0) & (at <= epoch)


def tile_flag(run, i: int, epoch: int) -> tuple[str, int] | None:
    """Model ``i``'s flag at ``epoch``: ``("diverged", k)`` (its tile greys out), ``("exploded", k)``
    (its surface stays, flagged), or None.

    Example:
        >>> class R: diverged_epoch, exploded_epoch = np.array([2, -1]), np.array([-1, 3])
        >>> tile_flag(R, 0, 5), tile_flag(R, 1, 5), tile_flag(R, 1, 2)
        (('diverged', 2), ('exploded', 3), None)
    """
    for what, marks in (("diverged", run.diverged_epoch), ("exploded", run.exploded_epoch)):
        k = int(marks[i])
        if flagged(k, epoch):
            return what, k
    return None


def score_metric(run) -> str:
    """The test metric a run's status lines show beside the loss: ``val_mae`` for regression
    (its History has no accuracy), ``val_accuracy`` otherwise.

    Example:
        >>> class R: metrics = {"val_loss": None, "val_mae": None}
        >>> score_metric(R())
        'val_mae'
    """
    return "val_mae" if "val_mae" in run.metrics and "val_accuracy" not in run.metrics else "val_accuracy"


def status(run, i: int, epoch: int) -> tuple[int, int, float, float, float]:
    """Model ``i``'s status line at frame epoch ``epoch``: ``(epoch shown, its epochs, test loss,
    test accuracy (a regression: test mae), learning rate)``; epoch 0 shows the values before training."""
    own = int(run.configs[i]["epochs"])
    if epoch == 0:
        return 0, own, float(run.initial_val[0][i]), float(run.initial_val[1][i]), float(run.configs[i]["lr"])
    e = min(epoch, own) - 1
    m = run.metrics
    return e + 1, own, float(m["val_loss"][i, e]), float(m[score_metric(run)][i, e]), float(m["learning_rate"][i, e])


def label(run, i: int) -> str:
    """Model ``i`` named by its varied settings ("lr=0.5, momentum=0.9"), else by its index.

    Example:
        >>> class R: axes, configs = {"lr": [0.1, 0.5]}, [{"lr": 0.1}, {"lr": 0.5}]
        >>> label(R, 1)
        'lr=0.5'
    """
    return ", ".join(f"{k}={run.configs[i][k]}" for k in run.axes) or f"model {i}"


def marked_models(run) -> Iterator[tuple[str, list[str]]]:
    """For the CLI summary: ``(what happened, ["<model> at epoch k", ...])`` for exploded and
    diverged models, only where some are."""
    for what, at in (("exploded (outputs saturated, loss stuck)", run.exploded_epoch),
                     ("diverged (loss NaN or inf)", run.diverged_epoch)):
        marked = [f"{label(run, i)} at epoch {int(k)}" for i, k in enumerate(at) if k > 0]
        if marked:
            yield what, marked


def metric_rows(run, epoch: int = -1) -> tuple[list[str], list[list[Any]]]:
    """Columns and one row per model at ``epoch`` (default: each model's last): model, the varied
    settings, epoch, the History metrics, and the epoch it diverged / exploded if by then.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> metric_rows(run)[0][:3]
        ['model', 'lr', 'epoch']
    """
    names = metric_names(run)
    columns = ["model", *run.axes, "epoch", *names, "diverged", "exploded"]
    rows = []
    marks = zip(run.trained_epochs, run.diverged_epoch, run.exploded_epoch)
    for i, (c, (last, k, x)) in enumerate(zip(run.configs, marks)):
        e = last if epoch == -1 else epoch
        if not (isinstance(e, (int, np.integer)) and 1 <= e <= last):
            raise ValueError(f"epoch must be an integer in [1, {last}] or -1. Got {epoch!r} instead.")
        rows.append([i, *(c[a] for a in run.axes), int(e), *(float(run.metrics[m][i, e - 1]) for m in names),
                     int(k) if flagged(k, e) else "", int(x) if flagged(x, e) else ""])
    return columns, rows


def csv_rows(run) -> Iterator[list[Any]]:
    """``metrics.csv``: a header, then one row per model and trained epoch, with 0/1 ``diverged``
    and ``exploded`` columns (1 from the epoch it happened)."""
    axes, names = list(run.axes), metric_names(run)
    yield ["model", *axes, "epoch", *names, "diverged", "exploded"]
    marks = zip(run.trained_epochs, run.diverged_epoch, run.exploded_epoch)
    for i, (config, (last, k, x)) in enumerate(zip(run.configs, marks)):
        for e in range(1, last + 1):
            # a float32 in its shortest round-trip form: 0.01, not 0.009999999776482582
            values = [str(np.asarray(run.metrics[m])[i, e - 1]) for m in names]
            yield [i, *(config[a] for a in axes), e, *values, int(flagged(k, e)), int(flagged(x, e))]


def final_values(run, metric: str) -> np.ndarray:
    """Each model's ``metric`` at its own last trained epoch; NaN for a model that diverged.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> final_values(run, "loss").shape
        (2,)
    """
    metric = metric_key(run, metric)
    last = np.maximum(np.asarray(run.trained_epochs), 1) - 1
    values = run.metrics[metric][np.arange(len(last)), last].astype(np.float64)
    return np.where(run.diverged_epoch > 0, np.nan, values)


_AGGREGATES = {"mean": np.nanmean, "median": np.nanmedian, "min": np.nanmin, "max": np.nanmax}


def aggregate(run, metric: str, by: list[str], how: str = "mean") -> dict[str, np.ndarray]:
    """The final ``metric`` grouped by the axes ``by`` (every other axis is aggregated over).

    Returns ``value`` (``how``: mean, median, min or max over a group's models that did not
    diverge), ``q25`` / ``q75`` (the spread), ``diverged`` (the fraction of a group that
    diverged) and ``count``, each an array with one dimension per axis of ``by``, in the axes'
    value order.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], seed=[0, 1], epochs=2, resolution=8, progress=False)
        >>> agg = aggregate(run, "val_loss", ["lr"])
        >>> agg["value"].shape, agg["count"].tolist()
        ((2,), [2, 2])
    """
    if how not in _AGGREGATES:
        raise ValueError(f"how must be one of {list(_AGGREGATES)}. Got {how!r} instead.")
    for name in by:
        if name not in run.axes:
            raise ValueError(f"by must name axes of the grid {list(run.axes)}. Got {name!r} instead.")
    values = final_values(run, metric)
    shape = tuple(len(run.axes[a]) for a in by)
    groups: dict[tuple, list[float]] = {}
    for i, config in enumerate(run.configs):
        key = tuple(run.axes[a].index(config[a]) for a in by)
        groups.setdefault(key, []).append(values[i])
    out = {k: np.full(shape, np.nan) for k in ("value", "q25", "q75", "diverged")}
    out["count"] = np.zeros(shape, int)
    for key, vals in groups.items():
        v = np.asarray(vals)
        ok = v[np.isfinite(v)]
        out["count"][key] = len(v)
        out["diverged"][key] = 1.0 - len(ok) / len(v)
        if ok.size:
            out["value"][key] = _AGGREGATES[how](ok)
            out["q25"][key], out["q75"][key] = np.percentile(ok, [25, 75])
    return out


def log_spaced(values) -> bool:
    """Whether an axis's values are positive numbers spread over at least a factor of 10, so a
    log scale shows them evenly (learning rates, regularisation strengths).

    Example:
        >>> log_spaced([0.001, 0.01, 0.1]), log_spaced([0.0, 0.5, 0.9]), log_spaced(["relu", "tanh"])
        (True, False, False)
    """
    if len(values) < 2 or not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
        return False
    v = np.asarray(values, float)
    return bool((v > 0).all() and v.max() / v.min() >= 10)


def numeric_axis(run, name: str) -> np.ndarray:
    """Each model's value of axis ``name`` as a number: log10 of a log-spaced axis, the value of
    another numeric axis, else the index of its value (a category).

    Example:
        >>> class R: axes, configs = {"lr": [0.01, 0.1]}, [{"lr": 0.01}, {"lr": 0.1}]
        >>> numeric_axis(R, "lr").tolist()
        [-2.0, -1.0]
    """
    values = run.axes[name]
    if log_spaced(values):
        return np.log10([float(c[name]) for c in run.configs])
    if all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in values):
        return np.asarray([float(c[name]) for c in run.configs])
    return np.asarray([values.index(c[name]) for c in run.configs], float)


def history_bands(run, metric: str, by: str) -> dict[str, np.ndarray]:
    """Learning curves of ``metric`` grouped by axis ``by``: per value of ``by``, per epoch, the
    ``median``, ``q25`` and ``q75`` over the models with that value (NaN epochs of diverged or
    shorter models left out), and ``count`` (the models per value). Arrays ``(values, epochs)``.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], seed=[0, 1], epochs=2, resolution=8, progress=False)
        >>> b = history_bands(run, "loss", "lr")
        >>> b["median"].shape, b["count"].tolist()
        ((2, 2), [2, 2])
    """
    metric = metric_key(run, metric)
    if by not in run.axes:
        raise ValueError(f"by must be one of the grid's axes {list(run.axes)}. Got {by!r} instead.")
    values = run.axes[by]
    curves = np.array(run.metrics[metric], np.float64)
    epochs = curves.shape[1]
    curves[np.arange(epochs)[None, :] >= np.asarray(run.trained_epochs)[:, None]] = np.nan
    which = np.asarray([values.index(c[by]) for c in run.configs])
    out = {k: np.full((len(values), epochs), np.nan) for k in ("median", "q25", "q75")}
    out["count"] = np.bincount(which, minlength=len(values))
    for k in range(len(values)):
        group = curves[which == k]
        ok = np.isfinite(group).any(axis=0)
        if ok.any():
            q = np.nanpercentile(group[:, ok], [25, 50, 75], axis=0)
            out["q25"][k, ok], out["median"][k, ok], out["q75"][k, ok] = q
    return out


def importance(run, metric: str = "val_accuracy", seed: int = 0) -> dict[str, dict[str, float]]:
    """How much each axis explains the final ``metric`` over the models that did not diverge:
    ``correlation`` (Spearman's, of :func:`numeric_axis` with the metric; NaN for a category or
    a constant) and ``forest`` (scikit-learn's random-forest impurity importance, summing to 1).

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.01, 0.1, 1.0], momentum=[0.0, 0.9], epochs=2, resolution=8, progress=False)
        >>> sorted(importance(run, "val_loss"))
        ['lr', 'momentum']
    """
    from scipy.stats import spearmanr
    from sklearn.ensemble import RandomForestRegressor

    names = list(run.axes)
    y = final_values(run, metric)
    x = np.stack([numeric_axis(run, a) for a in names], axis=1) if names else np.zeros((len(y), 0))
    ok = np.isfinite(y)
    out = {a: {"correlation": float("nan"), "forest": float("nan")} for a in names}
    if ok.sum() < 4 or not names:
        return out
    categorical = [not all(isinstance(v, (int, float, np.number)) and not isinstance(v, bool) for v in run.axes[a])
                   for a in names]
    for j, a in enumerate(names):
        if not categorical[j] and np.ptp(x[ok, j]) > 0 and np.ptp(y[ok]) > 0:
            out[a]["correlation"] = float(spearmanr(x[ok, j], y[ok]).statistic)
    if np.ptp(y[ok]) > 0:
        forest = RandomForestRegressor(n_estimators=60, min_samples_leaf=2, random_state=seed, n_jobs=1)
        forest.fit(x[ok], y[ok])
        for a, v in zip(names, forest.feature_importances_):
            out[a]["forest"] = float(v)
    return out
