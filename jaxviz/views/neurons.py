"""One model's network drawn as TensorFlow Playground draws it: every unit's map, layer by layer.

Columns from left to right: the model's inputs (x1 and x2 over the plane, and any engineered
features it takes: x1^2, x1x2, sin x1, ...), each hidden layer's units
(the unit's activation over the same mesh as the surfaces), and the output map (the model's tile,
with its data points). Lines join each unit to the units of the next layer; a line's width shows
the weight's size and its colour its sign (blue positive, red negative, as the surfaces'
RdBu). The maps come from :func:`jaxviz.engine.neurons.unit_maps` (one compiled program over
units and frames); nothing is recomputed when a frame changes.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import Normalize
from matplotlib.figure import Figure

from jaxviz.engine.neurons import input_maps, unit_maps
from jaxviz.analysis import task_of_run
from jaxviz.views.colours import SURFACE_ALPHA, SURFACE_CMAP, multiclass_rgb, value_norm
from jaxviz.views.layout import even_size, format_value
from jaxviz.views.tiles import _draw_points, point_style

__all__ = ["NeuronFigure", "check_epochs"]

#: How the input column names each feature (Playground's labels).
FEATURE_LABELS = {"x1": "$x_1$", "x2": "$x_2$", "x1sq": "$x_1^2$", "x2sq": "$x_2^2$", "x1x2": "$x_1x_2$",
                  "sinx1": "sin $x_1$", "sinx2": "sin $x_2$"}
UNIT_CMAP = colormaps["RdBu"]  # activations: red below zero, blue above, as Playground's orange / blue


def check_epochs(run, i: int, epochs) -> list[int]:
    """Model ``i``'s epochs to show: each an integer in ``[-epochs - 1, epochs]`` (negative counts
    from the end), refused with the library's one message shape otherwise."""
    own = int(run.configs[i]["epochs"]) if isinstance(i, (int, np.integer)) and 0 <= i < len(run.configs) else None
    if own is None:
        raise ValueError(f"i must be a model index in [0, {len(run.configs) - 1}]. Got {i!r} instead.")
    out = []
    for e in epochs:
        if not (isinstance(e, (int, np.integer)) and not isinstance(e, bool) and -own - 1 <= e <= own):
            raise ValueError(f"epoch must be an integer in [0, {own}] (or negative, from the end). Got {e!r} instead.")
        out.append(int(e) % (own + 1))
    return out


class NeuronFigure:
    """Model ``i``'s units at each of ``epochs`` (weights after that many epochs), one frame each.

    ``size`` is ``(width, height)`` in pixels at 100 dpi (default 1280 x 720).

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> nf = NeuronFigure(run, 0, [2])
        >>> len(nf.units[1]), nf.frame_rgb(0).shape  # the first hidden layer's 10 units
        (10, (720, 1280, 3))
    """

    def __init__(self, run, i: int, epochs, size: tuple[int, int] | None = None):
        self.run, self.i = run, i
        self.epochs = check_epochs(run, i, epochs)
        c = run.configs[i]
        widths = (c["n1"], c["n2"], c["n3"])
        ds = run.data_of(i)
        self.resolution = res = run.surfaces.shape[-1]
        weights = [np.asarray(w[i, self.epochs]) for w in run._weights]
        hidden, self.output = unit_maps(weights, widths, c["activation"], ds.extent, res, c["features"],
                                        c["parametrization"])
        self.layers = [k for k, n in enumerate(widths[:hidden.shape[1]]) if n]  # slots that exist
        self.maps = [hidden[:, k, :widths[k]] for k in self.layers]  # per layer (frames, units, res, res)
        self.weights = weights
        self.input_names, self.inputs = input_maps(ds.extent, res, c["features"])
        self.widths = [widths[k] for k in self.layers]
        width, height = (size[0] / 100, size[1] / 100) if size else (12.8, 7.2)
        self.fig = fig = Figure(figsize=even_size((width, height), 100), dpi=100)
        FigureCanvasAgg(fig)
        self._build(fig, ds, c, width, height)

    def _build(self, fig, ds, c, width, height) -> None:
        """Every Axes and line, placed once (a long one: the arrangement is one piece)."""
        columns = [len(self.input_names), *self.widths]
        n_cols = len(columns) + 1
        out_side = min(2.6, height * 0.45, width / (n_cols + 1.5))
        col_w = (width - 0.4 - out_side - 0.3) / len(columns)
        top_y, mid = height - 0.75, (height - 0.75 + 0.25) / 2
        self.units, self.centres, self.images = [], [], []
        for col, n in enumerate(columns):
            side = min(0.9, col_w * 0.55, (height - 1.0) / (n * 1.15))  # each layer as large as it fits
            gap = side * 0.15
            x = 0.3 + col * col_w + (col_w - side) / 2
            span = n * side + (n - 1) * gap
            y0 = mid + span / 2 - side
            boxes = [(x, y0 - j * (side + gap)) for j in range(n)]
            axes = []
            for j, (bx, by) in enumerate(boxes):
                ax = fig.add_axes((bx / width, by / height, side / width, side / height))
                ax.set_xticks(())
                ax.set_yticks(())
                for spine in ax.spines.values():
                    spine.set_linewidth(0.4)
                axes.append(ax)
            self.centres.append([((bx) / width, (bx + side) / width, (by + side / 2) / height) for bx, by in boxes])
            self.units.append(axes)
            label = "input" if col == 0 else f"layer {col}\n{n} unit{'s' * (n != 1)}"
            fig.text((x + side / 2) / width, min(top_y, mid + span / 2 + 0.08) / height, label, ha="center",
                     va="bottom", fontsize=8)
        # inputs: each feature over the plane, as Playground's first column (its own symmetric scale)
        for ax, plane, name in zip(self.units[0], self.inputs, self.input_names):
            m = max(float(np.abs(plane).max()), 1e-6)
            ax.imshow(plane, cmap=UNIT_CMAP, norm=Normalize(-m, m), origin="lower", extent=ds.extent, aspect="auto")
            ax.text(-0.08, 0.5, FEATURE_LABELS[name], transform=ax.transAxes, ha="right", va="center", fontsize=8)
        self.norms = [Normalize(-m, m) for m in (max(float(np.abs(a).max()), 1e-6) for a in self.maps)]
        for axes, maps, norm in zip(self.units[1:], self.maps, self.norms):
            self.images.append([ax.imshow(maps[0, j], cmap=UNIT_CMAP, norm=norm, origin="lower", extent=ds.extent,
                                          aspect="auto", interpolation="bilinear") for j, ax in enumerate(axes)])
        ox = width - 0.25 - out_side
        oy = mid - out_side / 2
        self.out_ax = ax = fig.add_axes((ox / width, oy / height, out_side / width, out_side / height))
        task = task_of_run(self.run)[0]
        self._multiclass = task == "multiclass" and self.output.ndim == 4  # (frames, res, res, k)
        self.out_img = ax.imshow(self._output(0), cmap=SURFACE_CMAP, origin="lower", extent=ds.extent,
                                 norm=Normalize(*(value_norm(ds.y_train) if task == "regression" else (0, 1))),
                                 alpha=1.0 if self._multiclass else SURFACE_ALPHA, interpolation="bilinear",
                                 aspect="auto")
        _draw_points(ax, ds, out_side, point_style(self.run, self.i))
        fig.text((ox + out_side / 2) / width, (oy + out_side + 0.08) / height, "output", ha="center", va="bottom",
                 fontsize=8)
        self.centres.append([(ox / width, (ox + out_side) / width, (oy + out_side / 2) / height)])
        self.edges = LineCollection(self._segments(), transform=fig.transFigure, zorder=0, capstyle="round")
        fig.add_artist(self.edges)
        shown = ", ".join(f"{k}={format_value(c[k])}" for k in self.run.axes) or "the seed's settings"
        self.title = fig.text(0.5, 1 - 0.1 / height, "", ha="center", va="top", fontsize=12)
        self._name = f"Model {self.i} ({shown}, {c['activation']})"

    def _output(self, frame: int) -> np.ndarray:
        """The output map at ``frame`` as the tiles colour it (``colours``: one rule for every view)."""
        out = self.output[frame].astype(np.float32)
        return multiclass_rgb(out) if self._multiclass else out

    def _segments(self) -> list:
        segments = []
        for src, dst in zip(self.centres[:-1], self.centres[1:]):
            for _, right, ys in src:
                for left, _, yd in dst:
                    segments.append([(right, ys), (left, yd)])
        return segments

    def _edge_weights(self, frame: int) -> np.ndarray:
        """Each line's weight at ``frame``, in the segments' order (kernel rows: source units)."""
        kernels = self.weights[0::2]
        rows, fan_in = [], len(self.input_names)
        for k, n in zip(self.layers, self.widths):
            rows.append(kernels[k][frame, :fan_in, :n].ravel())
            fan_in = n
        rows.append(kernels[-1][frame, :fan_in, 0])
        return np.concatenate(rows)

    def update(self, frame: int) -> None:
        """Show frame ``frame`` (an index into the epochs given)."""
        for images, maps in zip(self.images, self.maps):
            for j, img in enumerate(images):
                img.set_data(maps[frame, j])
        self.out_img.set_data(self._output(frame))
        w = self._edge_weights(frame)
        m = max(float(np.abs(w).max()), 1e-6)
        self.edges.set_linewidths(0.2 + 2.8 * np.abs(w) / m)
        self.edges.set_colors(UNIT_CMAP(Normalize(-m, m)(w), alpha=0.75))
        self.title.set_text(f"{self._name}: epoch {self.epochs[frame]}")

    def frame_rgb(self, frame: int) -> np.ndarray:
        """Frame ``frame`` as ``(height, width, 3)`` uint8."""
        self.update(frame)
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def frames(self) -> Iterator[np.ndarray]:
        """Every frame, drawn as the writer asks for it."""
        return map(self.frame_rgb, range(len(self.epochs)))
