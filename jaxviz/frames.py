"""The surfaces of a sweep's frames: predicted after training in calls of a few models (their
program prepared while the epochs train), and the live view's while it trains."""

from __future__ import annotations

import os

import numpy as np

from jaxviz.spec.config import frame_epochs
from jaxviz.spec.grid import SHARED_MODELS
from jaxviz.spec.shapes import bucket, cut_to_width, pad_to_width

__all__ = ["live_hook", "prepare_hook", "frame_surfaces", "model_extents", "task_of_static"]  # for jaxviz.api


def live_hook(live, prepared, hparams) -> dict:
    """The ``on_weights`` keyword for :func:`~jaxviz.engine.train.train_grid` of a prepared sweep
    (``jaxviz.api._prepare``): it starts building the final surfaces' program (:func:`prepare_hook`)
    and, with a live view, predicts the surfaces at the epoch reached and hands them to a
    :class:`~jaxviz.views.live.LiveView` (which updates only as often as keeps it cheap).
    ``record="final"`` keeps no surfaces: no hook.

    Example:
        >>> from jaxviz.api import _prepare
        >>> p = _prepare({"lr": [0.1, 0.5], "epochs": 2}, 8, None, None, None, None, {})
        >>> sorted(live_hook(False, p, p.grid.hparams(p.table.n_train.tolist())))
        ['on_weights']
    """
    import jax

    from jaxviz.views.live import LiveView, live_by_default

    grid, datasets, static, plan, devices = (prepared.grid, prepared.datasets, prepared.static, prepared.plan,
                                             prepared.devices)
    if prepared.record != "history":
        if live not in (None, False):
            raise ValueError(f"live must be False with record='final' (no surfaces are kept). Got {live!r} instead.")
        return {}
    n, processes = grid.n_models, jax.process_count()
    if live is None:  # several processes: each would decide when to draw (a collective) on its own
        live = processes == 1 and live_by_default(n * static.epochs, static.steps)
    if live is False:
        return {"on_weights": prepare_hook(prepared, hparams)}
    if processes > 1:
        raise ValueError(f"live must be False when {processes} processes train together. Got {live!r} instead.")
    if not (live is True or isinstance(live, (str, os.PathLike))):
        raise ValueError(f"live must be True, False, None or a PNG path. Got {live!r} instead.")
    data_index = np.asarray(hparams.data_index)[:n]
    view = LiveView("notebook" if live is True else live, grid.configs, grid.axes, datasets, data_index,
                    plan.resolution)
    extents = model_extents(prepared, hparams)
    one_frame = np.zeros(1, np.int64)
    prepare = prepare_hook(prepared, hparams)

    def on_weights(done, weights):
        prepare(done, weights)
        # done None: the weights' shapes only (zeros), before training; else the same chunked
        # prediction as the final surfaces, one frame per model
        if done is not None and view.due(done):
            view.show(done, lambda: frame_surfaces(_as_frame(weights, prepared), hparams, n, one_frame, extents,
                                                   static, plan, devices)[:, 0])

    return {"on_weights": on_weights}


def model_extents(prepared, hparams) -> list:
    """Each model's mesh extent (its dataset's), in grid order.

    Example:
        >>> from jaxviz.api import _prepare
        >>> p = _prepare({"lr": [0.1, 0.5], "epochs": 2}, 8, None, None, None, None, {})
        >>> len(model_extents(p, p.grid.hparams(p.table.n_train.tolist())))
        2
    """
    return [prepared.datasets[j].extent for j in np.asarray(hparams.data_index)[:prepared.grid.n_models]]


def _as_frame(weights, prepared) -> list:
    """train_grid's weights at one epoch (bucket width, padded rows) as one frame per real model at
    the grid's own width: what :func:`frame_surfaces` takes."""
    grid = prepared.grid
    return cut_to_width([w[:, None] for w in weights], grid.n_models, prepared.static.hidden, grid.width())


def task_of_static(static):
    """The engine's :class:`~jaxviz.engine.task.Task` of a program's static settings.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> task_of_static(make_grid(epochs=1).static([60])).name
        'binary'
    """
    from jaxviz.engine.task import task_of

    return task_of(static.task, static.classes)


def prepare_hook(prepared, hparams):
    """``on_weights(done, weights)`` that, on its first call (``done=None``, zeros of the weights'
    shapes, while the programs are prepared), starts building the program of the final surfaces
    (:func:`frame_surfaces` with ``prepare=True``): it compiles before the epoch program does, while
    that is traced, not after training.

    Example:
        >>> from jaxviz.api import _prepare
        >>> p = _prepare({"lr": [0.1, 0.5], "epochs": 2}, 8, None, None, None, None, {})
        >>> callable(prepare_hook(p, p.grid.hparams(p.table.n_train.tolist())))
        True
    """
    plan, static = prepared.plan, prepared.static
    extents = model_extents(prepared, hparams)
    pending = [True]

    def on_weights(done, weights):
        # a float64 grid trains in x64 mode, but its surfaces are predicted outside it: not from here
        if pending and (done is None or done < static.epochs) and static.precision != "float64":
            pending.clear()
            frame_surfaces(_as_frame(weights, prepared), hparams, prepared.grid.n_models,
                           frame_epochs(static.epochs, plan.frames), extents, static, plan, prepared.devices, True)

    return on_weights


def frame_surfaces(weights, hparams, n: int, shown, extents, static, plan, devices,
                   prepare: bool = False) -> np.ndarray | None:
    """Every model's surfaces at the ``shown`` epochs of its ``weights`` (leading axes: models,
    epochs), predicted in calls of ``plan.surface_models`` models (fewer for a small grid);
    ``prepare``: only start building the program of the first call, from the shapes of ``weights``.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> from jaxviz.api import _prepare
        >>> p = _prepare({"lr": [0.1, 0.5], "epochs": 2}, 8, None, None, None, None, {})
        >>> hp = p.grid.hparams(p.table.n_train.tolist())
        >>> again = frame_surfaces(run._weights, hp, 2, run.frame_epochs, [p.datasets[0].extent] * 2, p.static,
        ...                        p.plan, p.devices)
        >>> again.shape, bool((again == run.surfaces).all())
        ((2, 3, 8, 8), True)
    """
    from jaxviz.engine.surfaces import predict_surfaces

    resolution, task = plan.resolution, task_of_static(static)
    widths, activation = np.asarray(hparams.widths)[:n], np.asarray(hparams.activation)[:n]
    # the activations the models use, not all a small grid's training program holds: the surfaces
    # compute only these (every unit of every frame at every mesh point: 3.5x faster for the demo)
    used = np.unique(activation)
    activations, activation = tuple(static.activations[i] for i in used), np.searchsorted(used, activation)
    features, parametrization = np.asarray(hparams.features)[:n], np.asarray(hparams.parametrization)[:n]
    # a small grid is not padded to a whole call of a big one (6 models were predicted 64 times over)
    step = min(plan.surface_models, bucket(n))
    # a small grid's surfaces are predicted at its bucket width, so the grids of one bucket share their
    # program; a big grid's at its own width, as fast as its weights allow (10 units cost 0.4x of 16)
    width = static.hidden if n <= SHARED_MODELS else weights[0].shape[-1]

    def predict(rows, frames, prepare=False):
        return predict_surfaces(frames, widths[rows], activation[rows], activations, [extents[i] for i in rows],
                                resolution, devices, features[rows], parametrization[rows], task, prepare)

    if prepare:  # the first call's program, from the shapes of the weights
        import jax

        padded = pad_to_width([np.zeros((1, 1, *w.shape[2:]), w.dtype) for w in weights], width)
        return predict(np.minimum(np.arange(step), n - 1),
                       [jax.ShapeDtypeStruct((step, len(shown), *a.shape[2:]), a.dtype) for a in padded], True)
    surfaces = np.empty((n, len(shown), resolution, resolution, *task.maps), np.float16)
    for k in range(0, n, step):
        rows = np.minimum(np.arange(k, k + step), n - 1)  # the last call padded: one program for all
        surfaces[k:k + step] = predict(rows, pad_to_width([w[rows[:, None], shown[None, :]] for w in weights],
                                                          width))[: n - k]
    return surfaces
