"""Tiled pictures of a grid: one tile per model, laid out by the varied hyperparameters.

Each tile is the seed's plot: the class-1 probability map in RdBu (fixed 0..1 scale, alpha 0.8
over white), training points as circles and test points as squares coloured by class with black
edges, and the status line ``epoch i/N - loss - acc - lr`` (test loss and accuracy, learning
rate in force). The figure has one legend and the seed's two colour bars. One varied axis is a
wrapped row of titled tiles; two axes are a table with row and column headers; with more, the
last two axes form the table inside one labelled panel per value of the others. A model whose
loss became NaN or inf is drawn as a grey tile saying when it diverged; one whose gradient
exploded as in the seed's lesson (loss jumped and stuck, see ``Run.exploded_epoch``) keeps its
surface under a flag saying when.
"""

from __future__ import annotations

import math
from typing import Iterator

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Affine2D, ScaledTranslation

from jaxviz.analysis import score_metric, status, task_of_run, tile_flag
from jaxviz.views.colours import (CLASS_COLOURS, DIVERGED_GREY, SURFACE_ALPHA, SURFACE_CMAP, class_colours, confidence,
                                  multiclass_rgb, value_norm)
from jaxviz.views.layout import Layout, even_size, plan_layout, score_name, status_lines

__all__ = ["TiledFigure", "MIN_TILE_FOR_POINTS", "draw_overlay", "layout_of", "point_style"]

#: Below this tile size (inches), the data points are left out. Status lines go where they would
#: be under ``MIN_STATUS_PX`` pixels tall (see ``plan_layout``).
MIN_TILE_FOR_POINTS = 0.25
_DIVERGED_CMAP = SURFACE_CMAP.with_extremes(bad=DIVERGED_GREY)


def layout_of(run, size: tuple[float, float] | None = None, dpi: float = 100) -> Layout:
    """The layout of ``run``'s tiles on ``size`` inches (default: 1280 x 720 pixels, larger for
    very large grids), sized for its fixed settings and epochs.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> layout_of(run).title[0]
        'Neural network prediction maps: lr'
    """
    fixed = {k: v for k, v in run.configs[0].items() if k not in run.axes}
    return plan_layout(run.axes, len(run.configs), size, fixed=fixed, epochs=run.epochs, dpi=dpi)



def point_style(run, i: int) -> dict:
    """How tile ``i``'s points are coloured, as ``scatter`` keywords: by class (the seed's red and blue
    for binary, tab10 for multiclass) or, for regression, by target on the surface's map and limits.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> point_style(run, 0)["vmax"]
        1
    """
    task, classes = task_of_run(run)
    if task == "regression":
        low, high = value_norm(run.data_of(i).y_train)
        return dict(cmap=SURFACE_CMAP, vmin=low, vmax=high)
    if task == "multiclass":
        return dict(cmap=ListedColormap(class_colours(task, classes)), vmin=-0.5, vmax=classes - 0.5)
    return dict(cmap=CLASS_COLOURS, vmin=0, vmax=1)


def _draw_points(ax, ds, tile: float, colours: dict) -> None:
    """A bare tile: the seed's training circles and test squares coloured by class (or target) with
    black edges (left out below ``MIN_TILE_FOR_POINTS``), the data's extent, no ticks, thin spines."""
    if tile >= MIN_TILE_FOR_POINTS:
        marker = float(np.clip(tile * 9, 1.5, 36))
        style = dict(**colours, edgecolors="k", zorder=2.5,
                     s=marker if len(ds.y_train) <= 200 else marker * 0.4, linewidths=0.5 if tile > 1 else 0.25)
        ax.scatter(ds.x_train[:, 0], ds.x_train[:, 1], c=ds.y_train, **style)
        ax.scatter(ds.x_test[:, 0], ds.x_test[:, 1], c=ds.y_test, alpha=0.6, marker="s", **style)
    ax.set_xlim(ds.extent[:2])
    ax.set_ylim(ds.extent[2:])
    ax.set_xticks(())
    ax.set_yticks(())
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)


def _legend_handles(task: str = "binary", classes: int = 2) -> list:
    """The seed's four entries (class 1 and 0, train circles and test squares); for multiclass one
    colour patch per class and the two marker shapes; for regression the two marker shapes."""
    def handle(m, c, lab):
        return Line2D([0], [0], marker=m, color="w", markeredgecolor="k", markerfacecolor=c, markersize=7, label=lab)
    if task == "binary":
        return [handle(m, c, lab) for m, c, lab in [("o", "#0000FF", "class 1 train"), ("s", "#0000FF", "class 1 test"),
                                                      ("o", "#FF0000", "class 0 train"), ("s", "#FF0000", "class 0 test")]]
    shapes = [handle("o", "#bbbbbb", "train"), handle("s", "#bbbbbb", "test")]
    if task == "regression":
        return shapes
    return [handle("s", tuple(c), f"class {k}") for k, c in enumerate(class_colours(task, classes))] + shapes


def _decorate(fig: Figure, run, lay: Layout) -> None:
    """Everything around the tiles: headers, the title naming the varied axes (and the fixed
    settings that differ from the seed's defaults), the legend and the seed's two colour bars,
    next to the tiles (at their right, or below them, whichever left the tiles larger)."""
    width, height = lay.size
    for text, x, y, rotation, ha, va in lay.headers:
        fig.text(x, y, text, rotation=rotation, ha=ha, va=va, fontsize=lay.header_font, weight="bold")
    title, subtitle = lay.title
    left, bottom, right, top = lay.block
    centre = (left + (lay.band + 1.25 / width if lay.legend == "right" else right)) / 2
    fig.text(centre, lay.title_top, title, ha="center", va="top", fontsize=13)
    if subtitle:
        fig.text(centre, lay.title_top - 0.25 / height, subtitle, ha="center", va="top", fontsize=8, wrap=True)
    task, classes = task_of_run(run)
    # the seed's two colour bars; regression's one, of the value; multiclass has its legend
    bars = {"binary": [("Blues", "% prediction class 1", Normalize(0, 100)),
                       ("Reds", "% prediction class 2", Normalize(0, 100))],
            "regression": [(SURFACE_CMAP, "predicted value", Normalize(*value_norm(run.data_of(0).y_train)))]}.get(task, [])
    handles = _legend_handles(task, classes)
    if lay.legend == "right":
        fig.legend(handles=handles, loc="upper left", fontsize=8 if len(handles) <= 6 else 7, frameon=False,
                   borderaxespad=0, bbox_to_anchor=(lay.band, top))
        bar_h = min(2.2, max(0.6, (top - bottom) * height - 1.3)) / height
        boxes = [[lay.band + (0.05 + 0.7 * k) / width, top - 1.15 / height - bar_h, 0.14 / width, bar_h]
                 for k in range(2)]
    else:
        fig.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, ncols=min(len(handles), 6),
                   borderaxespad=0, bbox_to_anchor=(left, bottom - 0.08 / height))
        boxes = [[left + (4.9 + 1.45 * k) / width, bottom - 0.3 / height, 1.15 / width, 0.12 / height]
                 for k in range(2)]
    for box, (cmap, label, norm) in zip(boxes, bars):
        cax = fig.add_axes(box)
        horizontal = lay.legend != "right"
        ticks = [norm.vmin, (norm.vmin + norm.vmax) / 2, norm.vmax]
        bar = fig.colorbar(ScalarMappable(norm=norm, cmap=colormaps[cmap] if isinstance(cmap, str) else cmap), cax=cax,
                           orientation="horizontal" if horizontal else "vertical", ticks=ticks,
                           format="%g" if task != "regression" else "%.2g")
        bar.set_label(label, fontsize=7.5, labelpad=1)
        bar.ax.tick_params(labelsize=6.5, pad=1)


class TiledFigure:
    """A matplotlib figure with one tile per model, updated in place frame by frame.

    ``size`` is ``(width, height)`` in pixels at ``dpi`` (default 1280 x 720, larger for very
    large grids); ``decision_line`` draws the p = 0.5 contour in each tile.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> tf = TiledFigure(run)
        >>> tf.frame_rgb(0).shape
        (720, 1280, 3)
    """

    def __init__(self, run, size: tuple[int, int] | None = None, dpi: int = 100, decision_line: bool = False,
                 fig: Figure | None = None):
        self.run = run
        self.decision_line = decision_line
        n = len(run.configs)
        inches = None if size is None else (size[0] / dpi, size[1] / dpi)
        if fig is not None:
            inches = tuple(fig.get_size_inches())
        self.layout = lay = layout_of(run, inches, dpi)
        if fig is None:
            fig = Figure(figsize=even_size(lay.size, dpi), dpi=dpi)
        if fig.canvas is None or not hasattr(fig.canvas, "buffer_rgba"):
            FigureCanvasAgg(fig)
        self.fig = fig
        self.task, self.classes = task_of_run(run)
        self.score = score_name(score_metric(run))
        self._norms = [Normalize(*(value_norm(run.data_of(i).y_train) if self.task == "regression" else (0, 1)))
                       for i in range(n)]
        self.show_status = lay.status_px > 0
        self.status_size = lay.status_px * 72 / dpi
        self.images, self.texts, self.axes, self.flags, self.contours = [], [], [], [], [None] * n
        for i, config in enumerate(run.configs):
            ds = run.data_of(i)
            ax = fig.add_axes(lay.boxes[i])
            img = ax.imshow(self._image(i, 0), cmap=SURFACE_CMAP, norm=self._norms[i], origin="lower",
                            extent=ds.extent, alpha=1.0 if self.task == "multiclass" else SURFACE_ALPHA,
                            interpolation="bilinear", aspect="auto")
            _draw_points(ax, ds, lay.tile, point_style(run, i))
            if lay.tile_titles[i]:
                ax.set_title(lay.tile_titles[i], fontsize=lay.font, pad=2)
            text = ax.text(0.98, 0.02, "", transform=ax.transAxes, ha="right", va="bottom",
                           fontsize=self.status_size, visible=self.show_status,
                           bbox=dict(facecolor="white", alpha=0.6, pad=1, linewidth=0))
            flag = ax.text(0.5, 0.5, "", transform=ax.transAxes, ha="center", va="center", wrap=True,
                           fontsize=max(lay.font * 0.9, 5.5), color="#333333", zorder=3,
                           bbox=dict(facecolor="white", alpha=0.8, pad=2, linewidth=0))
            self.axes.append(ax)
            self.images.append(img)
            self.texts.append(text)
            self.flags.append(flag)
        _decorate(fig, run, lay)

    def _image(self, i: int, frame: int) -> np.ndarray:
        """Tile ``i``'s image at ``frame``: the class-1 probability or the value (mapped by ``imshow``),
        or for multiclass the class colours blended by confidence (``colours.multiclass_rgb``)."""
        surface = self.run.surfaces[i, frame].astype(np.float32)
        return multiclass_rgb(surface) if self.task == "multiclass" else surface

    def update(self, frame: int) -> None:
        """Show frame ``frame`` (an index into ``run.frame_epochs``) in every tile."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        for i, (ax, img, text, flag) in enumerate(zip(self.axes, self.images, self.texts, self.flags)):
            surface = self._image(i, frame)
            if self.contours[i] is not None:
                self.contours[i].remove()
                self.contours[i] = None
            mark = tile_flag(run, i, epoch)
            flag.set_text(f"{mark[0]} at epoch {mark[1]}" if mark else "")
            if mark and mark[0] == "diverged":  # a grey tile; an exploded one keeps its surface
                img.set_data(np.full(surface.shape[:2], np.nan, np.float32))
                img.set_cmap(_DIVERGED_CMAP)
                img.set_alpha(1.0)  # flat DIVERGED_GREY, as the compositor paints it
                text.set_text("")
                continue
            img.set_cmap(SURFACE_CMAP)
            img.set_alpha(1.0 if self.task == "multiclass" else SURFACE_ALPHA)
            img.set_data(surface)
            text.set_text("\n".join(status_lines(*status(run, i, epoch), lines=self.layout.status_rows, score=self.score)))
            if self.decision_line and self.task == "multiclass":  # where the argmax class changes
                cls = confidence(np.nan_to_num(run.surfaces[i, frame].astype(np.float32)))[0]
                if cls.min() < cls.max():
                    self.contours[i] = ax.contour(cls, levels=np.arange(self.classes - 1) + 0.5,
                                                  extent=run.data_of(i).extent, colors="k", linewidths=0.8,
                                                  origin="lower")
            elif self.decision_line and self.task == "binary" and np.nanmin(surface) < 0.5 < np.nanmax(surface):
                ds = run.data_of(i)
                self.contours[i] = ax.contour(surface, levels=[0.5], extent=ds.extent, colors="k",
                                              linewidths=0.8, origin="lower")

    def frame_rgb(self, frame: int) -> np.ndarray:
        """Frame ``frame`` as an ``(height, width, 3)`` uint8 array."""
        self.update(frame)
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def frames(self, indices=None) -> Iterator[np.ndarray]:
        """RGB frames, one at a time (they are produced as the writer asks for them)."""
        for f in range(len(self.run.frame_epochs)) if indices is None else indices:
            yield self.frame_rgb(f)


def _tile_title(fig: Figure, text: str, box, font: float) -> None:
    """A tile's title where ``Axes.set_title(pad=2)`` puts it: 2 points above the tile, then raised
    until its descent clears the tile, as matplotlib places an Axes title."""
    left, bottom, width, height = box
    offset = fig.transFigure + ScaledTranslation(0, 2 / 72, fig.dpi_scale_trans)
    title = fig.text(left + width / 2, bottom + height, text, ha="center", va="baseline", fontsize=font,
                     transform=offset)
    top = fig.transFigure.transform((0, bottom + height))[1]
    lift = top - title.get_window_extent(fig.canvas.get_renderer()).y0
    if lift > 0:
        title.set_transform(offset + Affine2D().translate(0, lift))


def draw_overlay(run, lay: Layout, dpi: float, exact: bool = True) -> tuple[np.ndarray, list]:
    """The picture without surfaces, status lines or backgrounds, as straight RGBA ``(height, width, 4)``
    uint8, and every tile's pixel box ``(top, bottom, left, right)`` (all of one size).

    A ``TiledFigure`` builds an Axes per tile, most of its ~0.4 s at 16 tiles. Here one bare Axes
    per dataset is drawn (blitted) at every tile of that dataset, at the tile's exact position:
    the same pixels, without building the other Axes. With ``exact=False`` (the live picture) it
    is drawn once per dataset and its pixels pasted at the other tiles (up to a pixel off).
    """
    fig = Figure(figsize=even_size(lay.size, dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.patch.set_alpha(0.0)
    _decorate(fig, run, lay)
    renderer, bare, first = fig.canvas.get_renderer(), {}, {}
    # matplotlib wraps a text by measuring every prefix of it (~1.5 ms each); one that fits whole
    # wraps to itself, so one measurement settles it
    for text in fig.texts:
        if text.get_wrap() and text.get_rotation() == 0:
            text.set_wrap(False)
            x, width = text.get_transform().transform(text.get_position())[0], fig.bbox.width
            room = {"left": width - x, "right": x}.get(text.get_horizontalalignment(), 2 * min(x, width - x))
            text.set_wrap(math.ceil(text.get_window_extent(renderer).width) > room)
    for title, box in zip(lay.tile_titles, lay.boxes):
        if title:
            _tile_title(fig, title, box, lay.font)
    fig.canvas.draw()
    pasted = {}
    for i, box in enumerate(lay.boxes):
        ds = run.data_of(i)
        if not exact and id(ds) in bare:
            pasted[i] = first[id(ds)]
            continue
        if id(ds) not in bare:
            bare[id(ds)], first[id(ds)] = Axes(fig, box), i  # not added to the figure: drawn only here
            _draw_points(bare[id(ds)], ds, lay.tile, point_style(run, i))
        ax = bare[id(ds)]
        ax.set_position(box)
        for artist in (*ax.collections, *ax.spines.values()):  # all a bare Axes shows, in Axes.draw's order
            artist.draw(renderer)
    overlay = np.asarray(fig.canvas.buffer_rgba()).copy()
    height = overlay.shape[0]
    boxes = []
    for left, bottom, w, h in lay.boxes:  # an Axes' pixels, rounded
        (x0, y0), (x1, y1) = np.round(fig.transFigure.transform([(left, bottom), (left + w, bottom + h)])).astype(int)
        boxes.append((height - y1, height - y0, x0, x1))
    h, w = min(b[1] - b[0] for b in boxes), min(b[3] - b[2] for b in boxes)
    for i, j in pasted.items():  # a drawn tile's pixels (and a pixel around, for the spines) pasted
        (r0, _, c0, _), (s0, _, d0, _) = boxes[i], boxes[j]
        src = overlay[s0 - 1:s0 + h + 1, d0 - 1:d0 + w + 1]
        dst = overlay[r0 - 1:r0 + h + 1, c0 - 1:c0 + w + 1]
        np.copyto(dst, src, where=src[..., 3:] > 0)
    return overlay, [(r0, r0 + h, c0, c0 + w) for r0, _, c0, _ in boxes]
