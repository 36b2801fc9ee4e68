"""Trainability maps: one model per pixel over two dense hyperparameter axes, coloured by whether
(and how fast) its training converged, after Sohl-Dickstein (2024), "The boundary of neural network
trainability is fractal" (see ``docs/design/fractal-paper.md``).

:func:`trainability` trains the grid with ``record="final"`` and the paper's convergence measure
computed inside the program from each model's per-epoch training loss
(:mod:`jaxviz.engine.score`); nothing per epoch is kept, so a million models fit in a few
hundred megabytes of results. :class:`TrainabilityMap` holds the scores and draws, saves, zooms,
measures and replays them.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from jaxviz import fractal
from jaxviz.spec.axes import axis_spacing, linspace, logspace
from jaxviz.spec.grid import make_grid

# matplotlib (views) and JAX (engine) are imported where used: `import jaxviz` stays light.

__all__ = ["MAP_MEMORY", "TrainabilityMap", "Zoom", "trainability", "load_map"]

#: Default memory budget of a map on a CPU (bytes): chunks of ~100k models already keep the cores
#: busy, and a million-model map stays well under 4 GB. On an accelerator: the usual plan.
MAP_MEMORY = 1 << 30
#: Host bytes kept per model for the whole map: score, converged, 5 last metrics, its settings row.
MAP_BYTES = 96


def _map_grid(hp, overrides):
    """The validated grid, refused unless it has exactly two numeric axes of 2+ values each."""
    grid = make_grid(hp, **overrides)
    if len(grid.axes) != 2:
        raise ValueError(f"trainability axes must be exactly two hyperparameters given as lists (x first, then y). "
                         f"Got {list(grid.axes)} instead.")
    for key, values in grid.axes.items():
        if any(isinstance(v, (bool, str)) for v in values):
            raise ValueError(f"trainability axis {key} must be numbers. Got {values[:4]!r} instead.")
    return grid


def _default_memory(devices) -> int | None:
    from jaxviz.engine.devices import layout_devices
    from jaxviz.engine.plan import HEADROOM, free_memory

    first = layout_devices(devices)[0]
    if first.platform != "cpu":
        return None
    return min(int(HEADROOM * free_memory(first)[1]), MAP_MEMORY)


def trainability(hp: dict[str, Any] | None = None, /, *, progress: bool = True, memory: int | None = None,
                 devices=None, data=None, preset: str | None = None, **overrides: Any) -> TrainabilityMap:
    """Train one model per pixel of a plane of two hyperparameters and score its trainability.

    Exactly two settings must be lists (axes): the first is x, the second y (see
    :func:`jaxviz.logspace`, :func:`jaxviz.linspace`); everything else is as in
    :func:`jaxviz.sweep`. Each model's score is the paper's convergence measure of its per-epoch
    training loss, computed during training (see :mod:`jaxviz.engine.score`): negative when the
    mean of its last 20 normalised losses is below its first epoch's loss.

    Models train in chunks sized by the memory plan (``memory``: bytes; default on a CPU
    ``MAP_MEMORY``), the model axis sharded over ``devices`` as in a sweep; ``progress`` shows a
    bar in models per second. ``preset`` names a preset (see :data:`jaxviz.PRESETS`) whose settings
    come first, under ``hp`` and ``overrides``: ``trainability(preset="fractal", lr1=..., lr2=...)``
    is the fractal paper's map (input-layer x output-layer learning rate, float64).

    Example:
        >>> import jaxviz
        >>> m = jaxviz.trainability(lr=[0.01, 0.1, 50.0], momentum=[0.0, 0.9], epochs=3, progress=False)
        >>> m.score.shape, m.converged[:, 0].tolist(), bool(m.score[0, 2] > 0)
        ((2, 3), [True, True], True)
    """
    from jaxviz import api
    from jaxviz.engine.devices import is_main_process

    if preset is not None:
        from jaxviz.spec.presets import preset as named

        hp = {**named(preset), **(hp or {})}
    _map_grid(hp, overrides)
    if memory is None:
        memory = _default_memory(devices)
    prepared = api._prepare(hp, 8, None, data, memory, devices, overrides, "final", kept=MAP_BYTES)
    api._notes(prepared.grid)
    progress = progress and is_main_process()  # several processes: process 0 shows it
    if prepared.plan.split and progress:
        print(f"jaxviz: {prepared.plan.describe()}", file=sys.stderr)
    api.enable_compilation_cache()
    t0 = time.perf_counter()
    results = _train(prepared, progress)
    seconds = time.perf_counter() - t0
    grid = prepared.grid
    (x, xs), (y, ys) = grid.axes.items()
    shaped = lambda a: np.ascontiguousarray(a.reshape(len(xs), len(ys)).T)  # noqa: E731 - x varies slowest
    return TrainabilityMap(
        score=shaped(results.score), converged=shaped(results.converged),
        final={k: shaped(v) for k, v in results.final.items()}, axes={x: list(xs), y: list(ys)},
        hp={**grid.axes, **grid.fixed}, seconds=seconds, data=data, plan=prepared.plan)


def _train(prepared, progress: bool):
    from jaxviz.engine.trainmap import train_map
    from jaxviz.views.progress import advance, progress_bar

    grid, table = prepared.grid, prepared.table
    n, n_train = grid.n_models, table.n_train.tolist()
    bar = progress_bar(n, progress, " models")

    try:
        out = train_map(grid.hparams(n_train), grid.order_table(n_train), table, prepared.static,
                        chunk=prepared.plan.chunk, devices=prepared.devices, on_models=(lambda done: advance(bar, done)) if bar else None)
    finally:
        if bar is not None:
            bar.close()
    return out._replace(score=out.score[:n], converged=out.converged[:n],
                        final={k: v[:n] for k, v in out.final.items()})


class Zoom(NamedTuple):
    """What :meth:`TrainabilityMap.zoom` made: the movie and the map of every level (outermost first)."""

    path: Path
    maps: list


@dataclass
class TrainabilityMap:
    """A trainability map: ``score[iy, ix]`` of the model at ``x = axes[x][ix]``, ``y = axes[y][iy]``.

    Attributes:
        score: ``(ny, nx)`` float32, the paper's convergence measure; negative = converged.
        converged: ``(ny, nx)`` bool.
        final: every History metric at each model's last epoch, each ``(ny, nx)`` (NaN if it diverged).
        axes: ``{x name: values, y name: values}``.
        hp: every setting of the grid (the two axes as lists).
        seconds: training time (compile included); None for a loaded map.

    Example:
        >>> import jaxviz
        >>> m = jaxviz.trainability(lr=[0.01, 0.1, 50.0], momentum=[0.0, 0.9], epochs=3, progress=False)
        >>> m.x, m.y, m.final["val_accuracy"].shape, m.image().shape
        ('lr', 'momentum', (2, 3), (2, 3, 3))
    """

    score: np.ndarray
    converged: np.ndarray
    final: dict[str, np.ndarray]
    axes: dict[str, list]
    hp: dict[str, Any]
    seconds: float | None = None
    data: Any = field(default=None, repr=False)  # the user's points, if the map trained on them
    plan: Any = field(default=None, repr=False)

    def __repr__(self) -> str:
        ny, nx = self.score.shape
        return (f"TrainabilityMap({nx} x {ny}: x={self.x}, y={self.y}, "
                f"{float(np.mean(self.converged)):.1%} converged)")

    @property
    def x(self) -> str:
        """The x axis's hyperparameter."""
        return list(self.axes)[0]

    @property
    def y(self) -> str:
        """The y axis's hyperparameter."""
        return list(self.axes)[1]

    @property
    def spacings(self) -> tuple[str, str]:
        """How each axis is spaced: ``"log"``, ``"linear"`` or ``"irregular"``."""
        return axis_spacing(self.axes[self.x]), axis_spacing(self.axes[self.y])

    @property
    def models_per_second(self) -> float | None:
        """Models trained per second (compile included), or None for a loaded map."""
        return self.score.size / self.seconds if self.seconds else None

    def config(self, ix: int, iy: int) -> dict[str, Any]:
        """The settings of pixel ``(ix, iy)``'s model (no axes: every value fixed).

        Example:
            >>> m = TrainabilityMap(np.zeros((2, 3)), np.ones((2, 3), bool), {}, {"lr": [1, 2, 3], "kr": [0, 1]},
            ...                     {"lr": [1, 2, 3], "kr": [0, 1], "epochs": 5})
            >>> m.config(2, 1)
            {'lr': 3, 'kr': 1, 'epochs': 5}
        """
        ny, nx = self.score.shape
        for name, i, n in (("ix", ix, nx), ("iy", iy, ny)):
            if isinstance(i, bool) or not isinstance(i, (int, np.integer)) or not 0 <= i < n:
                raise ValueError(f"{name} must be a pixel index in [0, {n - 1}]. Got {i!r} instead.")
        return {**self.hp, self.x: self.axes[self.x][ix], self.y: self.axes[self.y][iy]}

    def figure(self, ax=None):
        """The map as a matplotlib figure (see :func:`jaxviz.views.maps.map_figure`): each pixel one
        model, the paper's rank-stretched ``Spectral`` colours, real tick labels (log axes in log10)."""
        from jaxviz.views import maps as pictures

        return pictures.map_figure(self.score, self.axes, self.spacings, self.converged, ax=ax)

    def image(self) -> np.ndarray:
        """The map as RGB pixels ``(ny, nx, 3)`` uint8, one per model, the highest y in row 0."""
        from jaxviz.views import maps as pictures

        return pictures.map_rgb(self.score)

    def boundary_dimension(self, *others: TrainabilityMap) -> float:
        """Box-counting dimension of the converged/diverged boundary (see :mod:`jaxviz.fractal`):
        the median local slope over this map's boundary and those of ``others`` (e.g. a zoom's maps)."""
        return fractal.boundary_dimension(self.score, *(m.score for m in others))

    def save(self, directory) -> Path:
        """Write ``map.npz``, ``config.toml`` and ``map.png`` into ``directory``; :func:`jaxviz.load` reads it back."""
        from jaxviz.io.mapfile import write_map

        arrays = {"score": self.score, "converged": self.converged, "x_values": np.asarray(self.axes[self.x]),
                  "y_values": np.asarray(self.axes[self.y]), **{f"final_{k}": v for k, v in self.final.items()}}
        options = {"kind": "trainability", "x": self.x, "y": self.y}
        if self.seconds:
            options["seconds"] = round(float(self.seconds), 3)

        def draw(path):
            fig = self.figure()
            dpi = max(100, min(400, int(max(self.score.shape) / 4.8)))  # about a screen pixel per model
            fig.savefig(path, dpi=dpi, format="png")

        return write_map(directory, arrays, self.hp, options, draw)

    def _level(self, center, size, n: tuple[int, int]) -> dict:
        """The two axes of a window of ``size`` (pixel-centre span per axis, figure coordinates)."""
        out = {}
        for name, spacing, c, s, k in zip(self.axes, self.spacings, center, size, n):
            out[name] = (logspace(c - s / 2, c + s / 2, k) if spacing == "log" else linspace(c - s / 2, c + s / 2, k))
        return out

    def zoom(self, center, factor: float = 2.0, steps: int = 4, path="zoom.mp4", *, size: int = 512,
             per_level: int = 24, fps: float = 24, progress: bool = False, memory: int | None = None) -> Zoom:
        """Zoom in on ``center`` (``(x, y)`` values), ``factor`` narrower per level for ``steps``
        levels, retraining every level at this map's resolution (as the paper's movies do), and write
        the movie to ``path`` (MP4, GIF or a folder of PNGs, see :func:`jaxviz.io.video.write_animation`).
        Returns the path and the maps of every level, this one first."""
        from jaxviz.engine.devices import is_main_process
        from jaxviz.io.video import write_animation
        from jaxviz.views import maps as pictures

        if self.spacings[0] == "irregular" or self.spacings[1] == "irregular":
            raise ValueError(f"zoom needs evenly spaced axes (linear or log). Got {self.spacings} instead.")
        if not (isinstance(factor, (int, float)) and factor > 1):
            raise ValueError(f"factor must be a number above 1. Got {factor!r} instead.")
        if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= 64:
            raise ValueError(f"steps must be an integer in [1, 64]. Got {steps!r} instead.")
        try:
            cx, cy = (float(v) for v in center)
        except (TypeError, ValueError):
            raise ValueError(f"center must be an (x, y) pair of numbers. Got {center!r} instead.") from None
        coords = [pictures.axis_coords(self.axes[a], s) for a, s in zip(self.axes, self.spacings)]
        c = [pictures.axis_coords([v], s)[0] if s == "linear" or v > 0 else np.nan
             for v, s in zip((cx, cy), self.spacings)]
        if not all(np.isfinite(c)) or not all(a.min() <= ci <= a.max() for a, ci in zip(coords, c)):
            raise ValueError(f"center must lie inside the map ({self.x} and {self.y} within their axes). "
                             f"Got {center!r} instead.")
        span = [a.max() - a.min() for a in coords]
        ny, nx = self.score.shape
        fixed = {k: v for k, v in self.hp.items() if k not in self.axes}
        maps = [self]
        for k in range(1, steps + 1):
            axes = self._level(c, [s / factor**k for s in span], (nx, ny))
            maps.append(trainability({**fixed, **axes}, progress=progress, memory=memory, data=self.data))
        levels = [(m.score, *[pictures.axis_coords(m.axes[a], s) for a, s in zip(m.axes, m.spacings)]) for m in maps]
        if not is_main_process():  # several processes trained every level together; process 0 writes
            return Zoom(Path(path), maps)
        out = write_animation(path, pictures.zoom_frames(levels, size=size, per_level=per_level), fps=fps)
        return Zoom(out, maps)

    def replay(self, ix: int, iy: int, resolution: int = 64, frames: int | None = None, progress: bool = False):
        """Retrain pixel ``(ix, iy)``'s model with every epoch recorded (``record="history"``) and
        return its :class:`~jaxviz.results.Run`, surfaces included: the map's pixel, as tiles.
        Its last metrics equal ``final[...][iy, ix]`` (the same compiled arithmetic)."""
        from jaxviz.api import sweep

        return sweep(self.config(ix, iy), resolution=resolution, frames=frames, progress=progress, data=self.data)


def load_map(directory) -> TrainabilityMap:
    """Read a map saved by :meth:`TrainabilityMap.save` (:func:`jaxviz.load` calls this for a map folder).

    Example:
        >>> import jaxviz, tempfile
        >>> m = jaxviz.trainability(lr=[0.01, 50.0], momentum=[0.0, 0.9], epochs=2, progress=False)
        >>> back = load_map(m.save(tempfile.mkdtemp()))
        >>> bool((back.score == m.score).all()), back.axes == m.axes
        (True, True)
    """
    from jaxviz.io.mapfile import read_map

    arrays, hp, options = read_map(directory)
    where = Path(directory) / "map.npz"
    try:
        xs, ys, score = arrays["x_values"].tolist(), arrays["y_values"].tolist(), arrays["score"]
        x, y = options["x"], options["y"]
        final = {k[len("final_"):]: v for k, v in arrays.items() if k.startswith("final_")}
        shapes_ok = all(a.shape == (len(ys), len(xs)) for a in (score, arrays["converged"], *final.values()))
    except KeyError as e:
        raise ValueError(f"{where} must be a map saved by jaxviz. Got one without {e} instead.") from None
    if not shapes_ok or hp.get(x) != xs or hp.get(y) != ys:
        raise ValueError(f"{where} must match its config.toml ({len(xs)} x {len(ys)} models over {x}, {y}). "
                         f"Got arrays of shape {score.shape} instead.")
    return TrainabilityMap(score=score, converged=arrays["converged"].astype(bool), final=final,
                           axes={x: xs, y: ys}, hp=hp)
