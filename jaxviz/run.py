"""``sweep``: the whole pipeline, and the :class:`Run` it returns (numbers, surfaces, pictures)."""

from __future__ import annotations

import base64
import functools
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from jaxviz.config import DATASETS, check_frames, check_memory, check_resolution
from jaxviz.data import Dataset, dataset_from_arrays, load_dataset, pack
from jaxviz.grid import Grid, make_grid
from jaxviz.model import keras_weights
from jaxviz.plan import layout_devices, make_plan, model_block
from jaxviz.surfaces import frame_epochs as spaced_epochs
from jaxviz.surfaces import predict_surfaces
from jaxviz.train import METRICS, chunk_length, train_grid
from jaxviz.write import (
    read_config,
    write_animation,
    write_config,
    write_metrics_csv,
    write_npz,
)

#: Epochs a worse, constant training loss must last to count as an explosion (Run.exploded_epoch).
STALL_EPOCHS = 10

__all__ = ["Run", "MetricsTable", "plan_sweep", "sweep", "load", "load_checkpoint"]


@dataclass
class Run:
    """Everything a sweep produced: configs, History metrics, weights, surfaces, and pictures.

    Attributes:
        configs: the full hp dict of each model, in grid order.
        axes: the varied keys and their values, in the order given.
        metrics: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate``, each
            an array ``(n_models, epochs)``; entry ``e - 1`` is epoch ``e`` (Keras History).
        surfaces: class-1 probabilities ``(n_models, n_frames, resolution, resolution)``, float16,
            rows along y (row 0 at the bottom of the mesh), columns along x.
        frame_epochs: the epoch shown by each frame (0 = before training).
        dataset: the data the grid trained on (standardised split and mesh extent).

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> run.metrics["val_loss"].shape, run.surfaces.shape
        ((2, 2), (2, 3, 8, 8))
    """

    hp: dict[str, Any]
    options: dict[str, Any]
    configs: list[dict[str, Any]]
    axes: dict[str, list[Any]]
    metrics: dict[str, np.ndarray]
    surfaces: np.ndarray
    frame_epochs: np.ndarray
    datasets: list[Dataset]
    data_index: np.ndarray
    initial_val: tuple[np.ndarray, np.ndarray] = field(repr=False)
    _weights: list[np.ndarray] = field(repr=False)
    completed_epochs: int | None = None  # epochs trained (fewer than ``epochs`` if interrupted)
    checkpoint: Any = field(default=None, repr=False)  # what ``sweep(resume=...)`` continues from
    plan: Any = field(default=None, repr=False)  # the memory and device layout it ran with (jaxviz.plan.Plan)

    def save_checkpoint(self, path) -> Path:
        """Write the training state (``.npz``, no pickle) that ``sweep(resume=...)`` continues."""
        c = self.checkpoint
        arrays = {f"state_{j}": v for j, v in enumerate(c.state)}
        arrays |= {f"metric_{j}": m for j, m in enumerate(c.metrics)}
        arrays |= {f"weight_{j}": w for j, w in enumerate(c.weights)}
        arrays |= {"done": np.asarray(c.done), "initial_val_loss": c.initial_val[0],
                   "initial_val_accuracy": c.initial_val[1]}
        return write_npz(path, arrays)

    @property
    def dataset(self) -> Dataset:
        """The data of model 0 (of every model, unless ``dataset`` is a grid axis)."""
        return self.datasets[int(self.data_index[0])]

    def data_of(self, i: int) -> Dataset:
        """The data model ``i`` trained on (standardised split and mesh extent)."""
        return self.datasets[int(self.data_index[i])]

    def weights(self, i: int, epoch: int) -> list[np.ndarray]:
        """Model ``i``'s weights after ``epoch`` epochs (0 = initial), as Keras' ``get_weights()``.

        Kernels ``(in, out)`` and biases ``(out,)``, layer by layer.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> [w.shape for w in run.weights(0, 2)]
            [(2, 10), (10,), (10, 10), (10,), (10, 1), (1,)]
        """
        if not (isinstance(i, (int, np.integer)) and 0 <= i < len(self.configs)):
            raise ValueError(f"i must be a model index in [0, {len(self.configs) - 1}]. Got {i!r} instead.")
        c = self.configs[i]
        epochs = c["epochs"]
        if not (isinstance(epoch, (int, np.integer)) and -epochs - 1 <= epoch <= epochs):
            raise ValueError(f"epoch must be an integer in [0, {epochs}]. Got {epoch!r} instead.")
        epoch = epoch % (epochs + 1)
        return keras_weights([w[i, epoch] for w in self._weights], (c["n1"], c["n2"], c["n3"]))

    @functools.cached_property
    def trained_epochs(self) -> np.ndarray:
        """Per model, the epochs it trained: its own ``epochs``, or fewer if the run was interrupted.

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(epochs=[1, 2], resolution=8, progress=False).trained_epochs.tolist()
            [1, 2]
        """
        own = np.array([c["epochs"] for c in self.configs])
        return _frozen(np.minimum(own, self.completed_epochs or own.max()))

    @functools.cached_property
    def diverged_epoch(self) -> np.ndarray:
        """Per model, the first epoch whose loss or val_loss is NaN or inf; -1 if none.

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False).diverged_epoch.tolist()
            [-1, -1]
        """
        bad = ~(np.isfinite(self.metrics["loss"]) & np.isfinite(self.metrics["val_loss"]))
        own = np.array([c["epochs"] for c in self.configs])
        bad &= np.arange(bad.shape[1])[None, :] < own[:, None]  # NaN past a model's own epochs is padding
        return _frozen(np.where(bad.any(axis=1), bad.argmax(axis=1) + 1, -1))

    @functools.cached_property
    def exploded_epoch(self) -> np.ndarray:
        """Per model, the epoch its gradient "exploded" in the seed's sense; -1 if it did not.

        The seed's lesson: too high a learning rate throws the outputs into the saturated ends of
        the sigmoid, where the clipped loss has no gradient, and the network stops learning. A
        model is marked at epoch ``k`` when its training loss, worse than its best before by at
        least ``0.1``, stays constant (to ``1e-6`` relative) from ``k`` to its last epoch, for at
        least ``STALL_EPOCHS`` epochs. A NaN/inf loss is :attr:`diverged_epoch`, not this.

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False).exploded_epoch.tolist()
            [-1, -1]
        """
        out = np.full(len(self.configs), -1)
        for i, (last, diverged) in enumerate(zip(self.trained_epochs, self.diverged_epoch)):
            loss = self.metrics["loss"][i, :last]
            if diverged > 0 or len(loss) <= STALL_EPOCHS:
                continue
            flat = np.abs(loss - loss[-1]) <= 1e-6 * max(1.0, abs(float(loss[-1])))
            k = len(loss) - int(np.argmin(flat[::-1])) if not flat.all() else 0  # first epoch of the last flat run
            if len(loss) - k >= STALL_EPOCHS and k > 0 and loss[-1] >= loss[:k].min() + 0.1:
                out[i] = k + 1
        return _frozen(out)

    def status(self, i: int, epoch: int) -> tuple[float, float, float]:
        """Test loss, test accuracy and learning rate of model ``i`` at ``epoch`` (the status line)."""
        if epoch == 0:
            return float(self.initial_val[0][i]), float(self.initial_val[1][i]), float(self.configs[i]["lr"])
        m = self.metrics
        e = min(epoch, self.configs[i]["epochs"]) - 1
        return float(m["val_loss"][i, e]), float(m["val_accuracy"][i, e]), float(m["learning_rate"][i, e])

    @property
    def epochs(self) -> int:
        """The most epochs of any model (the length of the animation)."""
        return max(c["epochs"] for c in self.configs)

    def _frame_index(self, epoch: int) -> int:
        if isinstance(epoch, (int, np.integer)) and epoch == -1:
            return len(self.frame_epochs) - 1  # the last recorded frame (of an interrupted run too)
        epochs = self.epochs
        if isinstance(epoch, (int, np.integer)) and -epochs - 1 <= epoch < 0:
            epoch = epochs + 1 + epoch
        hits = np.flatnonzero(self.frame_epochs == epoch)
        if not hits.size:
            raise ValueError(
                f"epoch must be one of the recorded frame epochs {self.frame_epochs.tolist()} "
                f"(or -1 for the last). Got {epoch!r} instead."
            )
        return int(hits[0])

    def figure(self, epoch: int = -1, *, size: tuple[int, int] | None = None, decision_line: bool = False,
               fig=None):
        """A matplotlib ``Figure`` of every model's surface at ``epoch`` (default: the last).

        The same layout and look as the animation (``size`` in pixels at 100 dpi, or draw on
        ``fig``). Saved as PDF or SVG, text and lines stay vector and surfaces are embedded images.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> len(run.figure().axes) >= 2
            True
        """
        from jaxviz.render import TiledFigure

        tiles = TiledFigure(self, size=size, decision_line=decision_line, fig=fig)
        tiles.update(self._frame_index(epoch))
        return tiles.fig

    def animate(self, path, fps: float = 10, hold: float = 0.0, *, size: tuple[int, int] | None = None,
                frames: int | None = None, decision_line: bool = False, encoder_preset: str = "ultrafast") -> Path:
        """Write the tiled animation to ``path``: ``.mp4`` (H.264, yuv420p), ``.gif`` (looping) or
        a folder path without suffix (PNG frames).

        Frames are composed as pixel arrays and streamed to the encoder one at a time.
        ``hold`` seconds repeat the last frame (the seed holds its final picture 2 s); ``size``
        is ``(width, height)`` in pixels (default 1280 x 720, larger for very large grids);
        ``frames`` keeps that many of the recorded frames, evenly spaced, first and last included;
        ``encoder_preset`` is x264's speed preset (``"medium"`` for files ~3.5x smaller, slower).

        Example:
            >>> import jaxviz, tempfile
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> run.animate(f"{tempfile.mkdtemp()}/grid.gif").name
            'grid.gif'
        """
        from jaxviz.render import FrameCompositor
        from jaxviz.write import animation_format

        animation_format(path)  # refuse a bad path before drawing anything
        n = len(self.frame_epochs)
        if frames is None:
            indices = range(n)
        elif isinstance(frames, (int, np.integer)) and not isinstance(frames, bool) and 1 <= frames <= n:
            indices = spaced_epochs(n - 1, frames) if frames > 1 else [n - 1]  # same spacing as recording
        else:
            raise ValueError(f"frames must be an integer in [1, {n}] (the recorded frames). Got {frames!r} instead.")
        if size is not None and not (isinstance(size, (tuple, list)) and len(size) == 2
                                     and all(isinstance(v, (int, np.integer)) and 64 <= v <= 8192 for v in size)):
            raise ValueError(f"size must be (width, height) in pixels, each in [64, 8192]. Got {size!r} instead.")
        compositor = FrameCompositor(self, size=None if size is None else tuple(size), decision_line=decision_line)
        return write_animation(path, compositor.frames(indices), fps=fps, hold=hold, encoder_preset=encoder_preset)

    def plot_history(self, metric: str = "val_loss", *, by: str | None = None, ax=None, fig=None):
        """Learning curves: one small panel per model (the tiles' layout), or with ``by`` an axis
        name, every model's curve in one plot coloured by that axis's value. Returns the Figure.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=3, resolution=8, progress=False)
            >>> len(run.plot_history("loss").axes)
            2
        """
        from jaxviz.figures import plot_history

        return plot_history(self, metric, by=by, ax=ax, fig=fig)

    def plot_summary(self, metric: str = "val_accuracy", *, x: str | None = None, y: str | None = None, ax=None):
        """Heatmap of each model's final ``metric`` over two axes (others averaged). Returns the Figure.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], momentum=[0.0, 0.9], epochs=3, resolution=8, progress=False)
            >>> run.plot_summary("val_loss").axes[0].get_xlabel()
            'momentum'
        """
        from jaxviz.figures import plot_summary

        return plot_summary(self, metric, x=x, y=y, ax=ax)

    def table(self, epoch: int = -1) -> "MetricsTable":
        """Every model's varied settings and History metrics at ``epoch`` (default: its last).

        Shows as an HTML table in Jupyter / Colab and as aligned text elsewhere; ``rows`` holds
        the values. A diverged or exploded model's row gives the epoch it happened at.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> t = run.table()
            >>> t.columns[:3], len(t.rows)
            (['model', 'lr', 'epoch'], 2)
        """
        columns = ["model", *self.axes, "epoch", *METRICS, "diverged", "exploded"]
        rows = []
        marks = zip(self.trained_epochs, self.diverged_epoch, self.exploded_epoch)
        for i, (c, (last, k, x)) in enumerate(zip(self.configs, marks)):
            e = last if epoch == -1 else epoch
            if not (isinstance(e, (int, np.integer)) and 1 <= e <= last):
                raise ValueError(f"epoch must be an integer in [1, {last}] or -1. Got {epoch!r} instead.")
            rows.append([i, *(c[a] for a in self.axes), int(e), *(float(self.metrics[m][i, e - 1]) for m in METRICS),
                         int(k) if 0 < k <= e else "", int(x) if 0 < x <= e else ""])
        return MetricsTable(columns, rows)

    def show(self, fps: float = 10, **options):
        """Embed the animation in Jupyter / Colab (HTML5 MP4 video; GIF if MP4 cannot be written).

        ``options`` go to :meth:`animate` (``hold``, ``size``, ``frames``, ``decision_line``,
        ``encoder_preset``): fewer ``frames`` or a smaller ``size`` keep the notebook light.
        """
        from IPython.display import HTML

        with tempfile.TemporaryDirectory() as d:
            try:
                data = self.animate(Path(d) / "a.mp4", fps=fps, **options).read_bytes()
                b64 = base64.b64encode(data).decode()
                return HTML(f'<video controls autoplay loop src="data:video/mp4;base64,{b64}"></video>')
            except (OSError, RuntimeError):
                options.pop("encoder_preset", None)
                data = self.animate(Path(d) / "a.gif", fps=fps, **options).read_bytes()
                return HTML(f'<img src="data:image/gif;base64,{base64.b64encode(data).decode()}">')

    def save(self, directory) -> Path:
        """Write ``run.npz`` (arrays), ``config.toml`` (re-runs it) and ``metrics.csv``.

        Plain NumPy / TOML / CSV, no pickle; :func:`load` reads it back without retraining.
        """
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        arrays = {f"metric_{k}": v for k, v in self.metrics.items()}
        arrays |= {f"weight_{j}": w for j, w in enumerate(self._weights)}
        arrays |= {"surfaces": self.surfaces, "frame_epochs": self.frame_epochs, "data_index": self.data_index,
                   "initial_val_loss": self.initial_val[0], "initial_val_accuracy": self.initial_val[1]}
        for j, ds in enumerate(self.datasets):
            arrays |= {f"data_{j}_{k}": getattr(ds, k) for k in ("x_train", "y_train", "x_test", "y_test")}
            arrays[f"data_{j}_extent"] = np.asarray(ds.extent)
            arrays[f"data_{j}_name"] = np.asarray(ds.name)
        write_npz(d / "run.npz", arrays)
        self.write_config(d / "config.toml")
        write_metrics_csv(d / "metrics.csv", self)
        return d

    def write_config(self, path) -> Path:
        """The TOML that re-runs this sweep (``jaxviz run --config``)."""
        return write_config(path, self.hp, self.options)


def _frozen(a: np.ndarray) -> np.ndarray:
    """``a`` made read-only: a cached per-model array is shared by every caller."""
    a.setflags(write=False)
    return a


class MetricsTable(NamedTuple):
    """Rows of values under named columns (see :meth:`Run.table`); HTML in notebooks.

    Example:
        >>> print(MetricsTable(["model", "loss"], [[0, 0.25]]))
        model  loss
            0  0.25
    """

    columns: list[str]
    rows: list[list[Any]]

    def _cells(self) -> list[list[str]]:
        fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
        return [[fmt(v) for v in row] for row in self.rows]

    def __str__(self) -> str:
        cells = [self.columns, *self._cells()]
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.columns))]
        return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths)).rstrip() for r in cells)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


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


def _with_data(grid: Grid, name: str) -> Grid:
    """The grid with every model's dataset set to the user's data ``name``."""
    if "dataset" in grid.axes:
        raise ValueError(f"dataset must not be a grid axis when data= is given. Got {grid.axes['dataset']!r} instead.")
    configs = [{**c, "dataset": name} for c in grid.configs]
    return Grid(configs, grid.axes, {**grid.fixed, "dataset": name})


def _prepare(hp, resolution, frames, data, memory, devices, overrides):
    """Everything a sweep decides before compiling: validated grid, data, shapes and plan."""
    custom = None
    if data is not None:
        if "dataset" in {**(hp or {}), **overrides}:
            raise ValueError("dataset must not be given together with data=. Got both instead.")
        custom = dataset_from_arrays(data)
    grid = make_grid(hp, **overrides)
    if custom is not None:
        grid = _with_data(grid, custom.name)
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
          devices=None, **overrides: Any) -> Run:
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

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep({"lr": [0.01, 0.5], "momentum": [0.0, 0.9]}, epochs=2,
        ...                    resolution=8, progress=False)
        >>> len(run.configs), run.metrics["loss"].shape, run.surfaces.shape
        (4, (4, 2), (4, 3, 8, 8))
    """
    grid, datasets, static, hparams, table, devices, plan = _prepare(hp, resolution, frames, data, memory, devices,
                                                                     overrides)
    resolution, frames, epochs = plan.resolution, plan.frames, static.epochs
    n_train = table.n_train.tolist()
    if plan.split and progress:
        print(f"jaxviz: {plan.describe()}", file=sys.stderr)
    bar = _progress_bar(len(grid.configs) * epochs, progress)
    try:
        if bar is not None and resume is not None:
            bar.update(resume.done * len(grid.configs))
        metrics, weights, checkpoint = train_grid(
            hparams, grid.order_table(n_train), table, static,
            on_epochs=(lambda done, model_epochs: _advance(bar, model_epochs)) if bar else None,
            should_stop=should_stop, resume=resume, chunk=plan.chunk, devices=devices,
        )
    finally:
        if bar is not None:
            bar.close()
    n = len(grid.configs)  # drop the rows that pad a lone model (see Grid.hparams)
    metrics = {k: v[:n] for k, v in metrics.items()}
    weights = [w[:n] for w in weights]
    shown = spaced_epochs(epochs, frames)
    shown = shown[shown <= checkpoint.done]  # an interrupted run shows the epochs it trained
    data_index = np.asarray(hparams.data_index)[:n]
    widths, activation = np.asarray(hparams.widths)[:n], np.asarray(hparams.activation)[:n]
    extents = [datasets[j].extent for j in data_index]
    surfaces = np.empty((n, len(shown), resolution, resolution), np.float16)
    step = plan.surface_models
    for k in range(0, n, step):
        rows = np.minimum(np.arange(k, k + step), n - 1)  # the last call padded: one program for all
        out = predict_surfaces([w[rows[:, None], shown[None, :]] for w in weights], widths[rows], activation[rows],
                               static.activations, [extents[i] for i in rows], resolution, devices)
        surfaces[k:k + step] = out[: n - k]
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


def load_checkpoint(path):
    """Read a checkpoint written by :meth:`Run.save_checkpoint`.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> load_checkpoint(run.save_checkpoint(f"{tempfile.mkdtemp()}/c.npz")).done
        2
    """
    from jaxviz.train import Checkpoint

    with np.load(path, allow_pickle=False) as z:
        count = lambda prefix: sum(1 for k in z.files if k.startswith(prefix))  # noqa: E731
        return Checkpoint(
            state=[z[f"state_{j}"] for j in range(count("state_"))], done=int(z["done"]),
            metrics=[z[f"metric_{j}"] for j in range(count("metric_"))],
            weights=[z[f"weight_{j}"] for j in range(count("weight_"))],
            initial_val=(z["initial_val_loss"], z["initial_val_accuracy"]),
        )


def load(directory) -> Run:
    """Restore a :class:`Run` saved by :meth:`Run.save` (or a CLI run folder), without training.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> back = jaxviz.load(run.save(tempfile.mkdtemp()))
        >>> bool((back.metrics["loss"] == run.metrics["loss"]).all())
        True
    """
    d = Path(directory)
    if not (d / "run.npz").is_file():
        raise ValueError(f"directory must hold a saved run (run.npz). Got {str(d)!r} instead.")
    config = read_config(d / "config.toml")
    hp = dict(config["hp"])
    custom = hp.pop("dataset") if isinstance(hp.get("dataset"), str) and hp["dataset"] not in DATASETS else None
    grid = make_grid(hp)
    if custom is not None:
        grid = _with_data(grid, custom)
    with np.load(d / "run.npz", allow_pickle=False) as z:
        metrics = {k: z[f"metric_{k}"] for k in METRICS}
        n_weights = sum(1 for k in z.files if k.startswith("weight_"))
        weights = [z[f"weight_{j}"] for j in range(n_weights)]
        surfaces, shown, data_index = z["surfaces"], z["frame_epochs"], z["data_index"]
        initial = (z["initial_val_loss"], z["initial_val_accuracy"])
        n_data = sum(1 for k in z.files if k.endswith("_extent"))
        datasets = [Dataset(str(z[f"data_{j}_name"]), *(z[f"data_{j}_{k}"] for k in ("x_train", "y_train", "x_test", "y_test")),
                            tuple(float(v) for v in z[f"data_{j}_extent"])) for j in range(n_data)]
    return Run(
        hp={**grid.axes, **grid.fixed}, options=config["options"], configs=grid.configs, axes=grid.axes,
        metrics=metrics, surfaces=surfaces, frame_epochs=shown, datasets=datasets, data_index=data_index,
        initial_val=initial, _weights=weights,
    )
