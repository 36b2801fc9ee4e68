"""The library's front door: :func:`sweep` (train a grid and predict its surfaces),
:func:`plan_sweep` (what a sweep would need, without running it) and :func:`load`.

They tie the stages together: spec (validated grid) -> data -> engine (plan, train, surfaces) ->
:class:`~jaxviz.results.Run`. Compiled programs are kept in a persistent cache on disk (see
:func:`enable_compilation_cache`), so a second process with the same grid shape starts fast.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

from jaxviz.analysis import METRICS, marked_models
from jaxviz.results import Run
from jaxviz.spec.config import (check_fps, check_frames, check_memory, check_resolution, frame_epochs,
                                unknown_key)
from jaxviz.spec.grid import make_grid, with_dataset
from jaxviz.spec.presets import PRESET_INFO, PRESETS, preset

# The engine (JAX) and the data (scikit-learn) are imported where used: the CLI answers a bad
# argument, and validation refuses bad input, without loading either.

__all__ = ["sweep", "plan_sweep", "load", "neurons_png", "load_checkpoint", "enable_compilation_cache", "epochs_of", "check_data",
           "read_csv", "PRESETS", "PRESET_INFO", "preset", "marked_models", "check_fps", "check_frames",
           "check_resolution", "unknown_key"]


def epochs_of(hp: dict[str, Any] | None = None, /, **overrides: Any) -> int:
    """Validate ``hp`` (as :func:`sweep` does) and return the most epochs of any model.

    Example:
        >>> epochs_of({"epochs": [5, 20]})
        20
    """
    return max(c["epochs"] for c in make_grid(hp, **overrides).configs)


def check_data(data):
    """Refuse bad user points (as ``sweep(data=...)`` would) before anything compiles.

    Example:
        >>> import numpy as np
        >>> check_data((np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2)).name
        'custom'
    """
    from jaxviz.data import dataset_from_arrays

    return dataset_from_arrays(data)


def read_csv(path, what: str = "--data"):
    """Points and labels from a CSV of ``x1,x2,label`` (see :func:`jaxviz.data.read_csv`)."""
    from jaxviz.data import read_csv as read

    return read(path, what)


def enable_compilation_cache() -> str | None:
    """Keep compiled programs on disk, so that a later process with the same grid shape starts
    without compiling. On by default for every :func:`sweep`.

    The folder is ``$JAXVIZ_CACHE_DIR`` or ``~/.cache/jaxviz/xla``; ``JAXVIZ_CACHE_DIR=off``
    disables it. JAX writes each entry atomically, so several processes can share the folder.
    A folder set by the user through ``jax.config`` is left as it is. Returns the folder in use.

    Example:
        >>> enable_compilation_cache() is None or isinstance(enable_compilation_cache(), str)
        True
    """
    import jax

    folder = os.environ.get("JAXVIZ_CACHE_DIR", str(Path.home() / ".cache" / "jaxviz" / "xla"))
    if folder.lower() == "off":
        return None
    current = jax.config.jax_compilation_cache_dir
    if current and current != folder:
        return current
    if current != folder:
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
    return folder


def _progress_bar(total: int, enabled: bool):
    """A bar over model-epochs (terminal or notebook), its rate in model-epochs per second."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compiling", unit=" model-epochs", unit_scale=True, leave=False, dynamic_ncols=True,
                smoothing=0.1)


def _advance(bar, model_epochs: int) -> None:
    """Move the bar to ``model_epochs`` done; the first call ends the compile."""
    if bar.desc == "compiling":
        bar.set_description("training", refresh=False)
    bar.update(min(model_epochs, bar.total) - bar.n)


def _prepare(hp, resolution, frames, data, memory, devices, overrides):
    """Everything a sweep decides before compiling: validated grid, data, shapes and plan."""
    from jaxviz.data import dataset_from_arrays, load_dataset, pack
    from jaxviz.engine.devices import layout_devices, model_block
    from jaxviz.engine.plan import make_plan
    from jaxviz.engine.train import chunk_length

    custom = None
    if data is not None:
        if "dataset" in {**(hp or {}), **overrides}:
            raise ValueError("dataset must not be given together with data=. Got both instead.")
        custom = dataset_from_arrays(data)
    grid = make_grid(hp, **overrides)
    if custom is not None:
        grid = with_dataset(grid, custom.name)
    resolution = check_resolution(resolution)
    epochs = max(c["epochs"] for c in grid.configs)
    frames = check_frames(frames, epochs)
    memory = check_memory(memory)
    datasets = [custom if custom is not None else load_dataset(*k) for k in grid.dataset_keys()]
    n_train = [len(d.y_train) for d in datasets]
    static = grid.static(n_train)
    hparams = grid.hparams(n_train)
    devices = layout_devices(devices)
    table = pack(datasets)
    plan = make_plan(len(np.asarray(hparams.lr)), static, (table.x_train.shape[1], table.x_test.shape[1], len(datasets)),
                     frames, resolution, chunk_length(epochs), len(devices), memory, model_block(devices[0].platform))
    return grid, datasets, static, hparams, table, devices, plan


def plan_sweep(hp: dict[str, Any] | None = None, /, *, resolution: int = 64, frames: int | None = None, data=None,
               memory: int | None = None, devices=None, **overrides: Any):
    """What :func:`sweep` with these arguments would need and how it would run, without training
    or compiling anything: a :class:`~jaxviz.plan.Plan` (memory figures, chunks of models,
    devices). Refuses what ``sweep`` refuses, with the same message.

    Example:
        >>> import jaxviz
        >>> p = jaxviz.plan_sweep(lr=[0.1, 0.5], seed=list(range(8)), epochs=100, frames=20)
        >>> p.n_models, p.split
        (16, False)
    """
    return _prepare(hp, resolution, frames, data, memory, devices, overrides)[-1]


def sweep(hp: dict[str, Any] | None = None, /, *, resolution: int = 64, frames: int | None = None,
          progress: bool = True, data=None, should_stop=None, resume=None, memory: int | None = None,
          devices=None, live=None, **overrides: Any) -> Run:
    """Train a grid of models in one compiled program and predict their surfaces.

    Any hyperparameter given as a list or tuple becomes a grid axis (Cartesian product, first
    axis slowest); scalars are fixed; unspecified ones take the seed's defaults. Models start
    from weights drawn from their ``seed`` alone and see batches in an order drawn from it alone,
    so two tiles that differ in one setting differ by that setting's effect only.

    Args:
        hp: hyperparameters (``lr``, ``decay``, ``momentum``, ``patience``, ``epochs``, ``n1``,
            ``n2``, ``n3``, ``kr``, ``activation``, ``dataset``, ``batch_size``, ``seed``,
            ``shuffle``). ``overrides`` are applied on top.
        resolution: mesh points per side of each surface.
        frames: snapshots recorded, evenly spaced from epoch 0 to the last (default: every epoch).
        progress: show a progress bar over epochs.
        data: the user's own points instead of a named dataset: ``(X, y)`` (standardised and split
            60/40 like the seed's sets) or ``(X_train, y_train, X_test, y_test)``.
        should_stop: asked between chunks of epochs; if it returns True, training stops there and
            the Run holds what exists so far (``run.completed_epochs``; ``run.checkpoint``).
        resume: a :class:`~jaxviz.train.Checkpoint` (see :func:`load_checkpoint`) to continue.
        memory: bytes the run may use (default: 70% of the device's free memory). A grid that
            does not fit at once runs in chunks of models, one after another, with the same
            results (see :mod:`jaxviz.plan`); one that cannot fit is refused before compiling.
        devices: the JAX devices the model axis is sharded over (default: all JAX sees; on
            several hosts, call ``jax.distributed.initialize()`` first). Results do not depend
            on the device count.
        live: show the tiled picture while training, updated after chunks of epochs: True (an
            IPython display updated in place), a PNG path (rewritten, e.g. ``preview.png``), or
            False. Default: on in notebooks for runs expected to take more than a few seconds.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep({"lr": [0.01, 0.5], "momentum": [0.0, 0.9]}, epochs=2,
        ...                    resolution=8, progress=False)
        >>> len(run.configs), run.metrics["loss"].shape, run.surfaces.shape
        (4, (4, 2), (4, 3, 8, 8))
    """
    from jaxviz.engine.train import train_grid

    grid, datasets, static, hparams, table, devices, plan = _prepare(hp, resolution, frames, data, memory, devices,
                                                                     overrides)
    resolution, frames, epochs = plan.resolution, plan.frames, static.epochs
    n_train = table.n_train.tolist()
    if plan.split and progress:
        print(f"jaxviz: {plan.describe()}", file=sys.stderr)
    enable_compilation_cache()
    bar = _progress_bar(len(grid.configs) * epochs, progress)
    try:
        if bar is not None and resume is not None:
            bar.update(resume.done * len(grid.configs))
        metrics, weights, checkpoint = train_grid(
            hparams, grid.order_table(n_train), table, static,
            on_epochs=(lambda done, model_epochs: _advance(bar, model_epochs)) if bar else None,
            should_stop=should_stop, resume=resume, chunk=plan.chunk, devices=devices,
            **_live(live, grid, datasets, hparams, static, plan, devices),
        )
    finally:
        if bar is not None:
            bar.close()
    n = len(grid.configs)  # drop the rows that pad a lone model (see Grid.hparams)
    metrics = {k: v[:n] for k, v in metrics.items()}
    weights = [w[:n] for w in weights]
    shown = frame_epochs(epochs, frames)
    shown = shown[shown <= checkpoint.done]  # an interrupted run shows the epochs it trained
    data_index = np.asarray(hparams.data_index)[:n]
    surfaces = _surfaces(weights, hparams, n, shown, [datasets[j].extent for j in data_index], static, plan, devices)
    return Run(
        hp={**grid.axes, **grid.fixed},
        options={"resolution": resolution, "frames": frames},
        configs=grid.configs,
        axes=grid.axes,
        metrics={k: metrics[k] for k in METRICS},
        surfaces=surfaces,
        frame_epochs=shown,
        datasets=datasets,
        data_index=data_index,
        initial_val=(metrics["initial_val_loss"], metrics["initial_val_accuracy"]),
        _weights=weights,
        completed_epochs=checkpoint.done,
        checkpoint=checkpoint,
        plan=plan,
    )


def _live(live, grid, datasets, hparams, static, plan, devices) -> dict:
    """``on_weights`` for train_grid that predicts the surfaces at the epoch reached and hands them
    to a :class:`~jaxviz.views.live.LiveView` (which updates only as often as keeps it cheap)."""
    from jaxviz.views.live import LiveView, live_by_default

    n = len(grid.configs)
    if live is None:
        live = live_by_default(n * static.epochs, static.steps)
    if live is False:
        return {}
    if not (live is True or isinstance(live, (str, os.PathLike))):
        raise ValueError(f"live must be True, False, None or a PNG path. Got {live!r} instead.")
    data_index = np.asarray(hparams.data_index)[:n]
    view = LiveView("notebook" if live is True else live, grid.configs, grid.axes, datasets, data_index,
                    plan.resolution)
    widths, activation = np.asarray(hparams.widths)[:n], np.asarray(hparams.activation)[:n]
    extents = [datasets[j].extent for j in data_index]

    def on_weights(done, weights):
        if view.due(done):
            rows = [w[:n, None] for w in weights]  # one frame per model
            view.show(done, lambda: predict_surfaces(rows, widths, activation, static.activations, extents,
                                                     plan.resolution, devices)[:, 0])

    from jaxviz.engine.surfaces import predict_surfaces

    return {"on_weights": on_weights}


def _surfaces(weights, hparams, n: int, shown, extents, static, plan, devices) -> np.ndarray:
    """Every model's surfaces at the ``shown`` epochs, predicted in calls of ``plan.surface_models``."""
    from jaxviz.engine.surfaces import predict_surfaces

    resolution = plan.resolution
    widths, activation = np.asarray(hparams.widths)[:n], np.asarray(hparams.activation)[:n]
    surfaces = np.empty((n, len(shown), resolution, resolution), np.float16)
    step = plan.surface_models
    for k in range(0, n, step):
        rows = np.minimum(np.arange(k, k + step), n - 1)  # the last call padded: one program for all
        out = predict_surfaces([w[rows[:, None], shown[None, :]] for w in weights], widths[rows], activation[rows],
                               static.activations, [extents[i] for i in rows], resolution, devices)
        surfaces[k:k + step] = out[: n - k]
    return surfaces


def load_checkpoint(path):
    """Read a checkpoint written by :meth:`Run.save_checkpoint`, to continue with ``sweep(resume=...)``.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> load_checkpoint(run.save_checkpoint(f"{tempfile.mkdtemp()}/c.npz")).done
        2
    """
    from jaxviz.engine.train import Checkpoint
    from jaxviz.io.runfolder import read_checkpoint

    return Checkpoint(**read_checkpoint(path))


def load(directory) -> Run:
    """Restore a :class:`Run` saved by :meth:`Run.save` (or a CLI run folder), without training.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> back = jaxviz.load(run.save(tempfile.mkdtemp()))
        >>> bool((back.metrics["loss"] == run.metrics["loss"]).all())
        True
    """
    from jaxviz.io.runfolder import load_run

    return load_run(directory)


def neurons_png(directory, model: int, epoch: int = -1, out=None) -> Path:
    """Write model ``model``'s unit maps (:meth:`Run.neurons`) of the run saved in ``directory`` as a
    PNG (default ``directory/neurons-<model>.png``); what ``jaxviz neurons`` does.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> neurons_png(run.save(tempfile.mkdtemp()), 1).name
        'neurons-1.png'
    """
    run = load(directory)
    if not (isinstance(model, (int, np.integer)) and 0 <= model < len(run.configs)):
        raise ValueError(f"model must be a model index in [0, {len(run.configs) - 1}]. Got {model!r} instead.")
    fig = run.neurons(model, epoch)
    path = Path(out) if out is not None else Path(directory) / f"neurons-{model}.png"
    if path.suffix.lower() != ".png":
        raise ValueError(f"out must be a .png path. Got {str(path)!r} instead.")
    fig.savefig(path)
    return path
