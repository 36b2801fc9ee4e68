"""The :class:`Run` a sweep returns: configs, History metrics, weights, surfaces, and its views."""

from __future__ import annotations

import base64
import functools
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from jaxviz import analysis
from jaxviz.spec.config import frame_epochs
from jaxviz.views.table import MetricsTable

if TYPE_CHECKING:
    from jaxviz.data import Dataset

__all__ = ["Run", "MetricsTable"]


@dataclass
class Run:
    """Everything a sweep produced: configs, History metrics, weights, surfaces, and pictures.

    Attributes:
        configs: the full hp dict of each model, in grid order.
        axes: the varied keys and their values, in the order given.
        metrics: ``loss``, ``accuracy``, ``val_loss``, ``val_accuracy``, ``learning_rate`` (a
            regression: ``mae``, ``val_mae``), each ``(n_models, epochs)``; entry ``e - 1`` is epoch ``e``.
        surfaces: class-1 probabilities ``(n_models, n_frames, res, res)``, float16, rows along y (row 0
            at the bottom), columns along x; multi-class: ``(..., classes)``; regression: the value.
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

    def __repr__(self) -> str:
        """A short summary: models, axes, epochs, frames, task, and how many diverged / exploded.

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            Run(2 models, axes {lr: [0.1, 0.5]}, 2 epochs, 3 frames of 8x8, task binary, dataset moons, 0 diverged, 0 exploded)
        """
        axes = ", ".join(f"{k}: {_short(v)}" for k, v in self.axes.items())
        done = self.completed_epochs
        epochs = f"{self.epochs} epochs" + (f" ({done} trained)" if done is not None and done < self.epochs else "")
        names = list(dict.fromkeys(d.name for d in self.datasets))
        res = "x".join(map(str, self.surfaces.shape[2:4]))
        task = "{} ({} classes)".format(*analysis.task_of_run(self)) if self.task == "multiclass" else self.task
        return (f"Run({len(self.configs)} model{'s' if len(self.configs) != 1 else ''}, axes {{{axes}}}, {epochs}, "
                f"{len(self.frame_epochs)} frames of {res}, task {task}, dataset{'s' if len(names) > 1 else ''} "
                f"{', '.join(names[:4])}{', ...' if len(names) > 4 else ''}, "
                f"{int((self.diverged_epoch > 0).sum())} diverged, {int((self.exploded_epoch > 0).sum())} exploded)")

    def save_checkpoint(self, path) -> Path:
        """Write the training state (``.npz``, no pickle) that ``sweep(resume=...)`` continues."""
        from jaxviz.io.runfolder import write_checkpoint

        return write_checkpoint(path, self.checkpoint, self.configs)

    @property
    def dataset(self) -> Dataset:
        """The data of model 0 (of every model, unless ``dataset`` is a grid axis)."""
        return self.datasets[int(self.data_index[0])]

    def data_of(self, i: int) -> Dataset:
        """The data model ``i`` trained on (standardised split and mesh extent)."""
        return self.datasets[int(self.data_index[i])]

    def weights(self, i: int, epoch: int) -> list[np.ndarray]:
        """Model ``i``'s weights after ``epoch`` epochs (0 = initial), as Keras' ``get_weights()``.

        Kernels ``(in, out)`` and biases ``(out,)``, layer by layer. Negative ``i`` and ``epoch``
        count from the end, as Python indexing does.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> [w.shape for w in run.weights(0, 2)]
            [(2, 10), (10,), (10, 10), (10,), (10, 1), (1,)]
        """
        n = len(self.configs)
        if isinstance(i, bool) or not (isinstance(i, (int, np.integer)) and -n <= i < n):
            raise ValueError(f"i must be a model index in [0, {n - 1}] (or -{n}..-1 from the end). Got {i!r} instead.")
        i = int(i) % n  # negative indices count from the end, as for epochs
        c = self.configs[i]
        epochs = c["epochs"]
        if not (isinstance(epoch, (int, np.integer)) and -epochs - 1 <= epoch <= epochs):
            raise ValueError(f"epoch must be an integer in [0, {epochs}]. Got {epoch!r} instead.")
        epoch = epoch % (epochs + 1)
        if self.record == "final":  # only the initial and final weights were kept
            if epoch not in (0, epochs):
                raise ValueError(f"epoch must be 0 or {epochs} (the final weights) in a record='final' run; "
                                 f"use record='history' for every epoch's weights. Got {epoch!r} instead.")
            epoch = int(epoch == epochs)
        from jaxviz.engine.model import keras_weights
        from jaxviz.spec.paper import model_inputs

        return keras_weights([w[i, epoch] for w in self._weights], (c["n1"], c["n2"], c["n3"]), model_inputs(c),
                             c["bias"])

    @property
    def record(self) -> str:
        """What the run kept: ``"history"`` (every epoch's weights, surfaces) or ``"final"``
        (every epoch's metrics, initial and final weights, no surfaces).

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(lr=[0.1, 0.5], epochs=2, progress=False, record="final").record
            'final'
        """
        return "history" if len(self.frame_epochs) else "final"

    def _needs_history(self, what: str) -> None:
        if self.record != "history":
            raise ValueError(f"{what} needs record='history': this run was recorded with record='final' (metrics "
                             f"and final weights only, no surfaces). Run the sweep again with record='history'.")

    @functools.cached_property
    def trained_epochs(self) -> np.ndarray:
        """Per model, the epochs it trained: its own ``epochs``, or fewer if the run was interrupted.

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(epochs=[1, 2], resolution=8, progress=False).trained_epochs.tolist()
            [1, 2]
        """
        return analysis.trained_epochs(self.own_epochs, self.completed_epochs)

    @functools.cached_property
    def diverged_epoch(self) -> np.ndarray:
        """Per model, the first epoch whose loss or val_loss is NaN or inf; -1 if none.

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False).diverged_epoch.tolist()
            [-1, -1]
        """
        return analysis.diverged_epoch(self.metrics, self.own_epochs)

    @functools.cached_property
    def exploded_epoch(self) -> np.ndarray:
        """Per model, the epoch its gradient "exploded" in the seed's sense; -1 if it did not
        (see :func:`jaxviz.analysis.exploded_epoch`: loss jumped and stuck at saturated outputs).

        Example:
            >>> import jaxviz
            >>> jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False).exploded_epoch.tolist()
            [-1, -1]
        """
        return analysis.exploded_epoch(self.metrics["loss"], self.trained_epochs, self.diverged_epoch)

    @functools.cached_property
    def own_epochs(self) -> np.ndarray:
        """Per model, its own ``epochs`` setting (read-only)."""
        column = getattr(self.configs, "column", None)  # a grid's lazy configs build it with NumPy
        own = column("epochs") if column else np.array([c["epochs"] for c in self.configs])
        return analysis.read_only(np.array(own))

    @property
    def task(self) -> str:
        """``"binary"``, ``"multiclass"`` or ``"regression"``: what the models learned. Example:
            >>> import jaxviz
            >>> jaxviz.sweep(dataset="plane", epochs=1, resolution=8, progress=False).task
            'regression'
        """
        return analysis.task_of_run(self)[0]

    def status(self, i: int, epoch: int) -> tuple[float, float, float]:
        """Test loss, test accuracy (or mae) and learning rate of model ``i`` at ``epoch``."""
        return analysis.status(self, i, epoch)[2:]

    @property
    def epochs(self) -> int:
        """The most epochs of any model (the length of the animation)."""
        return int(self.own_epochs.max())

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
        from jaxviz.views.tiles import TiledFigure

        self._needs_history("figure")
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
        from jaxviz.io.video import FORMATS, animation_destination, animation_format, write_animation
        from jaxviz.views.compositor import FrameCompositor

        self._needs_history("animate")
        # refuse a bad path (and make its missing folders) before drawing anything
        animation_destination(Path(path), bool(FORMATS[animation_format(path)].suffix))
        n = len(self.frame_epochs)
        if frames is None:
            indices = range(n)
        elif isinstance(frames, (int, np.integer)) and not isinstance(frames, bool) and 1 <= frames <= n:
            indices = frame_epochs(n - 1, frames) if frames > 1 else [n - 1]  # same spacing as recording
        else:
            raise ValueError(f"frames must be an integer in [1, {n}] (the recorded frames). Got {frames!r} instead.")
        if size is not None and not (isinstance(size, (tuple, list)) and len(size) == 2
                                     and all(isinstance(v, (int, np.integer)) and 64 <= v <= 8192 for v in size)):
            raise ValueError(f"size must be (width, height) in pixels, each in [64, 8192]. Got {size!r} instead.")
        compositor = FrameCompositor(self, size=None if size is None else tuple(size), decision_line=decision_line)
        return write_animation(path, compositor.frames(indices), fps=fps, hold=hold, encoder_preset=encoder_preset)

    def neurons(self, i: int, epoch: int = -1, *, size: tuple[int, int] | None = None):
        """A matplotlib ``Figure`` of model ``i``'s network after ``epoch`` epochs (default: the last),
        as TensorFlow Playground draws it: every hidden unit's activation over the plane, layer by
        layer, the output map, and lines whose width and colour show the weights.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> len(run.neurons(0).axes)  # 2 inputs, 10 + 10 units, the output
            23
        """
        from jaxviz.views.neurons import NeuronFigure

        nf = NeuronFigure(self, i, [epoch], size=size)
        nf.update(0)
        return nf.fig

    def animate_neurons(self, i: int, path, fps: float = 10, hold: float = 0.0, *,
                        size: tuple[int, int] | None = None) -> Path:
        """Write model ``i``'s :meth:`neurons` view over the recorded frames to ``path`` (``.mp4``,
        ``.gif`` or a folder of PNG frames), as :meth:`animate` writes the tiles.

        Example:
            >>> import jaxviz, tempfile
            >>> run = jaxviz.sweep(epochs=2, resolution=8, progress=False)
            >>> run.animate_neurons(0, f"{tempfile.mkdtemp()}/units.gif").name
            'units.gif'
        """
        from jaxviz.io.video import animation_format, write_animation
        from jaxviz.views.neurons import NeuronFigure

        animation_format(path)
        epochs = [int(min(e, self.configs[i]["epochs"])) for e in self.frame_epochs] if 0 <= i < len(self.configs) \
            else [0]
        nf = NeuronFigure(self, i, epochs, size=size)
        return write_animation(path, nf.frames(), fps=fps, hold=hold)

    def plot_history(self, metric: str = "val_loss", *, by: str | None = None, ax=None, fig=None):
        """Learning curves: one small panel per model (the tiles' layout), or with ``by`` an axis
        name, one line per value of that axis (the median over the other models, with an
        interquartile band; a log colour bar for a log-spaced axis). Returns the Figure.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=3, resolution=8, progress=False)
            >>> len(run.plot_history("loss").axes)
            2
        """
        from jaxviz.views.plots import plot_history

        return plot_history(self, metric, by=by, ax=ax, fig=fig)

    def plot_summary(self, metric: str | None = None, *, x: str | None = None, y: str | None = None,
                     how: str = "mean", ax=None):
        """Heatmap of each model's final ``metric`` over two axes (default: the two non-replicate
        axes with the most values), the others (``seed``) aggregated with ``how`` (mean, median,
        min, max) and their spread noted in each cell. Returns the Figure.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], momentum=[0.0, 0.9], epochs=3, resolution=8, progress=False)
            >>> run.plot_summary("val_loss").axes[0].get_xlabel()
            'momentum'
        """
        from jaxviz.views.plots import plot_summary

        return plot_summary(self, metric, x=x, y=y, how=how, ax=ax)

    def explore(self, path=None, **options):
        """The explorer: every model's surface, linked to a summary heatmap, parallel coordinates,
        parameter importance, learning curves and a table, in one self-contained HTML page.

        With ``path``, writes the page there (one ``.html`` file, everything inline, no network)
        and returns its path; without, returns it for a notebook to show inline (an
        ``IPython.display.HTML`` iframe; ``height`` sets its height in pixels).

        Example:
            >>> import jaxviz, tempfile
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> run.explore(f"{tempfile.mkdtemp()}/explorer.html").name
            'explorer.html'
        """
        from jaxviz.views.explorer import inline_explorer, write_explorer

        self._needs_history("explore")
        return inline_explorer(self, **options) if path is None else write_explorer(self, path, **options)

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
        columns, rows = analysis.metric_rows(self, epoch)
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

    def save(self, directory, overwrite: bool = False) -> Path:
        """Write ``run.npz`` (arrays), ``config.toml`` (re-runs it) and ``metrics.csv``.

        Plain NumPy / TOML / CSV, no pickle; :func:`jaxviz.load` reads it back without retraining.
        A folder holding anything but this same run is refused unless ``overwrite=True``, which
        first removes the outputs of the run there (animation, ``final.png``, frames, checkpoint).
        """
        from jaxviz.io.runfolder import save_run

        return save_run(self, directory, overwrite=overwrite)

    def write_config(self, path) -> Path:
        """The TOML that re-runs this sweep (``jaxviz run --config``)."""
        from jaxviz.io.files import write_config

        return write_config(path, self.hp, self.options)


def _short(values: list) -> str:
    """An axis's values, the middle elided past 6.

    Example:
        >>> _short(list(range(10)))
        '[0, 1, 2, ..., 7, 8, 9] (10 values)'
    """
    if len(values) <= 6:
        return f"[{', '.join(map(str, values))}]"
    return f"[{', '.join(map(str, values[:3]))}, ..., {', '.join(map(str, values[-3:]))}] ({len(values)} values)"
