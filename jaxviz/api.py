"""The library's front door: :func:`sweep` (train a grid and predict its surfaces),
:func:`plan_sweep` (what a sweep would need, without running it) and :func:`load`.

They tie the stages together: spec (validated grid) -> data -> engine (plan, train, surfaces) ->
:class:`~jaxviz.results.Run`. Compiled programs are kept in a persistent cache on disk (see
:func:`enable_compilation_cache`), so a second process with the same grid shape starts fast.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from jaxviz.analysis import marked_models
from jaxviz.maps import trainability
from jaxviz.results import Run
from jaxviz.spec.axes import is_range, linspace, logspace, parse_range
from jaxviz.spec.config import (check_fps, check_frames, check_memory, check_resolution, frame_epochs,
                                unknown_key)
from jaxviz.spec.grid import MIN_MODELS, make_grid, resolve_task, with_dataset, with_task
from jaxviz.spec.shapes import cut_to_width
from jaxviz.frames import frame_surfaces, live_hook, model_extents, task_of_static
from jaxviz.io.cache import DatasetStore, ExecutableStore, cache_folder, enable_compilation_cache as _enable_jax_cache
from jaxviz.spec.presets import PRESET_INFO, PRESETS, preset
from jaxviz.views.progress import advance, progress_bar

# The engine (JAX) and the data (scikit-learn) are imported where used: the CLI answers a bad
# argument, and validation refuses bad input, without loading either.

__all__ = ["sweep", "plan_sweep", "load", "neurons_png", "load_checkpoint", "enable_compilation_cache", "set_fast_start", "epochs_of", "check_data",
           "read_csv", "PRESETS", "PRESET_INFO", "preset", "marked_models", "check_fps", "check_frames",
           "check_resolution", "unknown_key", "explore",
           "trainability", "logspace", "linspace", "parse_range", "is_range"]  # trainability maps (jaxviz.maps)


def enable_compilation_cache() -> str | None:
    """Keep compiled programs on disk (:func:`jaxviz.io.cache.enable_compilation_cache`; a sweep's whole,
    loaded without tracing: :class:`~jaxviz.io.cache.ExecutableStore`); returns the folder.

    Example:
        >>> isinstance(enable_compilation_cache(), (str, type(None)))
        True
    """
    from jaxviz.engine.programs import set_store
    folder = _enable_jax_cache()
    set_store(None if folder is None else ExecutableStore(folder))
    return folder


def set_fast_start(exact: bool = True, background: bool = True) -> None:
    """How a process's first small grid gets its first picture early: it trains on its exact
    program (only its activations, optimisers and depth; the same bits), and the shared program
    that later changes reuse is then built in the background (see :mod:`jaxviz.engine.exact`).
    A process that ends while that build compiles waits for it (up to the program's compile
    time, a few seconds on 2 cores), and the executable store keeps it for the next process;
    a script that runs one grid and ends can do without it: ``set_fast_start(background=False)``.

    Example:
        >>> set_fast_start(background=False); set_fast_start()
    """
    from jaxviz.engine.exact import set_fast_start as configure

    configure(exact=exact, background=background)


def epochs_of(hp: dict[str, Any] | None = None, /, **overrides: Any) -> int:
    """Validate ``hp`` (as :func:`sweep` does) and return the most epochs of any model.

    Example:
        >>> epochs_of({"epochs": [5, 20]})
        20
    """
    return max(make_grid(hp, **overrides).values("epochs"))


def check_data(data, task: str = "auto", classes: int = 2):
    """Refuse bad user points (as ``sweep(data=...)`` would) before anything compiles; ``task``
    and ``classes`` are checked against the labels (see :func:`jaxviz.data.infer_task`).

    Example:
        >>> import numpy as np
        >>> check_data((np.random.default_rng(0).normal(size=(20, 2)), np.arange(20) % 2)).name
        'custom'
    """
    from jaxviz.data import dataset_from_arrays
    from jaxviz.spec.config import validate_value

    return dataset_from_arrays(data, task=validate_value("task", task), classes=validate_value("classes", classes))


def read_csv(path, what: str = "--data"):
    """Points and labels from a CSV of ``x1,x2,label`` (see :func:`jaxviz.data.read_csv`)."""
    from jaxviz.data import read_csv as read

    return read(path, what)


class _Prepared(NamedTuple):
    """Everything a sweep decides before compiling."""

    grid: Any
    datasets: list
    static: Any
    table: Any
    devices: list
    plan: Any
    record: str


def _prepare(hp, resolution, frames, data, memory, devices, overrides, record="history", kept=None) -> _Prepared:
    """Validated grid, data, shapes and plan; nothing per model is built (the plan refuses what
    cannot fit first, so an absurd grid is refused at once)."""
    from jaxviz.data import dataset_from_arrays, infer_task, load_dataset, pack
    from jaxviz.engine.devices import layout_devices, model_block
    from jaxviz.engine.plan import make_plan
    from jaxviz.engine.train import check_record, chunk_length

    record = check_record(record)
    if data is not None and "dataset" in {**(hp or {}), **overrides}:
        raise ValueError("dataset must not be given together with data=. Got both instead.")
    grid = make_grid(hp, **overrides)
    task, classes = grid.values("task")[0], grid.values("classes")[0]
    custom = None
    if data is not None:  # the labels decide an "auto" task
        task, classes = infer_task(data, task, classes)
        custom = dataset_from_arrays(data, task=task, classes=classes)
        grid = with_dataset(grid, custom.name)
    else:
        task, classes = resolve_task(task, classes, grid.values("dataset"))
    grid = with_task(grid, task, classes)  # every config carries the resolved task
    resolution = check_resolution(resolution)
    epochs = max(grid.values("epochs"))
    frames = check_frames(frames, epochs)
    memory = check_memory(memory)
    devices = layout_devices(devices)
    keys = grid.dataset_keys()
    drawn = classes if task == "multiclass" and classes > 2 else None  # k arms, centres, blobs
    store = DatasetStore(cache_folder())  # prepared sets kept beside the compiled programs
    datasets = [custom if custom is not None else store.get((*k, drawn), lambda k=k: load_dataset(*k, classes=drawn))
                for k in keys]
    static = grid.static([len(d.y_train) for d in datasets])
    table = pack(datasets)
    n_data = (table.x_train.shape[1], table.x_test.shape[1], len(datasets))
    orders = len(grid.values("seed")) * len(keys)  # distinct batch orders, at most
    plan = make_plan(max(grid.n_models, MIN_MODELS), static, n_data, frames, resolution, chunk_length(epochs),
                     len(devices), memory, model_block(devices[0].platform), record, orders, kept)
    return _Prepared(grid, datasets, static, table, devices, plan, record)


def _notes(grid) -> None:
    from jaxviz.engine.devices import is_main_process

    for line in grid.notes if is_main_process() else ():  # several processes: process 0 speaks for all
        print(line, file=sys.stderr)


def plan_sweep(hp: dict[str, Any] | None = None, /, *, resolution: int = 64, frames: int | None = None, data=None,
               memory: int | None = None, devices=None, record: str = "history", **overrides: Any):
    """What :func:`sweep` with these arguments would need and how it would run, without training
    or compiling anything: a :class:`~jaxviz.plan.Plan` (memory figures, chunks of models,
    devices). Refuses what ``sweep`` refuses, with the same message.

    Example:
        >>> import jaxviz
        >>> p = jaxviz.plan_sweep(lr=[0.1, 0.5], seed=list(range(8)), epochs=100, frames=20)
        >>> p.n_models, p.split
        (16, False)
        >>> jaxviz.plan_sweep(lr=[0.1, 0.5], epochs=20, record="final").frames
        0
    """
    prepared = _prepare(hp, resolution, frames, data, memory, devices, overrides, record)
    _notes(prepared.grid)
    return prepared.plan


def sweep(hp: dict[str, Any] | None = None, /, *, resolution: int = 64, frames: int | None = None,
          progress: bool = True, data=None, should_stop=None, resume=None, memory: int | None = None,
          devices=None, record: str = "history", live=None, **overrides: Any) -> Run:
    """Train a grid of models in one compiled program and predict their surfaces.

    Any hyperparameter given as a list or tuple is a grid axis (Cartesian product, first
    axis slowest); scalars are fixed; unspecified ones take the seed's defaults. Models start
    from weights drawn from their ``seed`` alone and see batches in an order drawn from it alone,
    so two tiles that differ in one setting differ by that setting's effect only.

    Args:
        hp: hyperparameters (``lr``, ``decay``, ``momentum``, ``patience``, ``epochs``, ``n1``,
            ``n2``, ``n3``, ``kr``, ``activation``, ``dataset``, ``batch_size``, ``seed``,
            ``shuffle``, ``task``, ``classes``: see the README). ``overrides`` are applied on top: a
            later value wins (an axis or a value alike), with one note on stderr per key it replaced.
        resolution: mesh points per side of each surface.
        frames: snapshots recorded, evenly spaced from epoch 0 to the last (default: every epoch).
        progress: show a progress bar over epochs.
        data: the user's own points instead of a named dataset: ``(X, y)`` (standardised and split
            60/40 like the seed's sets) or ``(X_train, y_train, X_test, y_test)``; ``y`` holds
            labels 0..k-1 or, with ``task="regression"``, real targets.
        should_stop: asked between chunks of epochs; if it returns True, training stops there and
            the Run holds what exists so far (``run.completed_epochs``; ``run.checkpoint``).
        resume: a :class:`~jaxviz.train.Checkpoint` (see :func:`load_checkpoint`) to continue.
        memory: bytes the run may use (default: 70% of the device's free memory). A grid that
            does not fit at once runs in chunks of models, one after another, with the same
            results (see :mod:`jaxviz.plan`); one that cannot fit is refused before compiling.
        devices: the JAX devices the model axis is sharded over, or a platform name such as
            ``"cpu"`` (default: all JAX sees; on several hosts, call
            ``jax.distributed.initialize()`` first). Results do not depend on the device count.
        record: ``"history"`` keeps every epoch's weights and the surfaces; ``"final"`` keeps the
            metrics of every epoch and the initial and final weights only, no surfaces, so that
            memory grows with the models but not with the epochs (trainability maps of many
            models). The metrics are the same bit for bit.
        live: show the tiled picture while training, updated after chunks of epochs: True (an
            IPython display updated in place), a PNG path (rewritten, e.g. ``preview.png``), or
            False. Default: on in notebooks for runs expected to take more than a few seconds
            (with ``record="history"``; a final run has no surfaces to show).

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep({"lr": [0.01, 0.5], "momentum": [0.0, 0.9]}, epochs=2,
        ...                    resolution=8, progress=False)
        >>> len(run.configs), run.metrics["loss"].shape, run.surfaces.shape
        (4, (4, 2), (4, 3, 8, 8))
        >>> final = jaxviz.sweep({"lr": [0.01, 0.5], "momentum": [0.0, 0.9]}, epochs=2, progress=False,
        ...                      record="final")
        >>> bool((final.metrics["loss"] == run.metrics["loss"]).all()), final.surfaces.shape
        (True, (4, 0, 64, 64))
    """
    from jaxviz.engine.devices import decided_by_main, is_main_process

    prepared = _prepare(hp, resolution, frames, data, memory, devices, overrides, record)
    _notes(prepared.grid)
    progress = progress and is_main_process()
    if prepared.plan.split and progress:
        print(f"jaxviz: {prepared.plan.describe()}", file=sys.stderr)
    enable_compilation_cache()
    metrics, weights, checkpoint, hparams = _train(prepared, progress, decided_by_main(should_stop), resume, live)
    run = _run_of(prepared, metrics, weights, checkpoint, hparams, frames)
    from jaxviz.engine.exact import start_later

    start_later()  # a shared program for the runs that follow, built in the background (jaxviz.engine.exact)
    return run


def _train(prepared: _Prepared, progress: bool, should_stop, resume, live=None):
    """Train the grid (see :func:`jaxviz.engine.train.train_grid`) with a progress bar; the
    metrics and weights of the real models (the rows padding a lone model dropped)."""
    from jaxviz.engine.train import train_grid

    grid, table, plan = prepared.grid, prepared.table, prepared.plan
    n, n_train = grid.n_models, table.n_train.tolist()
    hparams = grid.hparams(n_train)
    bar = progress_bar(n * prepared.static.epochs, progress)
    try:
        if bar is not None and resume is not None:
            bar.update(resume.done * n)
        metrics, weights, checkpoint = train_grid(
            hparams, grid.order_table(n_train), table, prepared.static,
            on_epochs=(lambda done, model_epochs: advance(bar, model_epochs)) if bar else None,
            should_stop=should_stop, resume=resume, chunk=plan.chunk, devices=prepared.devices,
            record=prepared.record, **live_hook(live, prepared, hparams),
        )
    finally:
        if bar is not None:
            bar.close()
    return {k: v[:n] for k, v in metrics.items()}, cut_to_width(weights, n, prepared.static.hidden, grid.width()), \
        checkpoint, hparams


def _run_of(prepared: _Prepared, metrics, weights, checkpoint, hparams, frames) -> Run:
    """The :class:`Run`: with a history, the surfaces of the frames shown; without, none."""
    grid, plan, datasets = prepared.grid, prepared.plan, prepared.datasets
    n, epochs, resolution = grid.n_models, prepared.static.epochs, plan.resolution
    data_index = np.asarray(hparams.data_index)[:n]
    names = task_of_static(prepared.static).metrics
    if prepared.record == "history":
        shown = frame_epochs(epochs, plan.frames)
        shown = shown[shown <= checkpoint.done]  # an interrupted run shows the epochs it trained
        surfaces = frame_surfaces(weights, hparams, n, shown, model_extents(prepared, hparams), prepared.static, plan,
                                  prepared.devices)
        options = {"resolution": resolution, "frames": plan.frames}
    else:
        shown = np.zeros(0, np.int64)
        surfaces = np.zeros((n, 0, resolution, resolution, *task_of_static(prepared.static).maps), np.float16)
        options = {"resolution": resolution, "frames": frames}
    return Run(
        hp={**grid.axes, **grid.fixed},
        options=options,
        configs=grid.configs,
        axes=grid.axes,
        metrics={k: metrics[k] for k in names},
        surfaces=surfaces,
        frame_epochs=shown,
        datasets=datasets,
        data_index=data_index,
        initial_val=(metrics["initial_val_loss"], metrics[f"initial_{names[3]}"]),
        _weights=weights,
        completed_epochs=checkpoint.done,
        checkpoint=checkpoint,
        plan=plan,
    )


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
    """Restore a :class:`Run` saved by :meth:`Run.save` (or a CLI run folder), without training;
    a folder with a ``map.npz`` gives its :class:`~jaxviz.maps.TrainabilityMap`.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> back = jaxviz.load(run.save(tempfile.mkdtemp()))
        >>> bool((back.metrics["loss"] == run.metrics["loss"]).all())
        True
    """
    from jaxviz.io.mapfile import holds_map
    from jaxviz.io.runfolder import load_run

    if holds_map(directory):  # a trainability map (jaxviz.maps)
        from jaxviz.maps import load_map

        return load_map(directory)
    return load_run(directory)


def explore(directory, out=None) -> Path:
    """Write the explorer page of the run saved in ``directory`` to ``out`` (default:
    ``directory/explorer.html``); returns its path. ``jaxviz explore DIR`` calls this.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> explore(run.save(tempfile.mkdtemp())).name
        'explorer.html'
    """
    path = Path(directory) / "explorer.html" if out is None else Path(out)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"--out must be a file ending in .html. Got {str(out)!r} instead.")
    return load(directory).explore(path)


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
