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

import functools
import itertools
import math
from typing import Any, Iterator, NamedTuple

import numpy as np
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.transforms import Affine2D, ScaledTranslation

__all__ = [
    "TiledFigure",
    "FrameCompositor",
    "Frames",
    "Layout",
    "plan_layout",
    "grid_shape",
    "format_value",
    "status_line",
]

CLASS_COLOURS = ListedColormap(["#FF0000", "#0000FF"])  # the seed's cm_bright: class 0 red, 1 blue
#: RdBu for the class-1 probability; NaN shows as flat grey.
SURFACE_CMAP = colormaps["RdBu"].with_extremes(bad="#c8c8c8")
#: The seed draws its map with alpha 0.8 over a white background.
SURFACE_ALPHA = 0.8
DIVERGED_GREY = "#bdbdbd"
#: Below these tile sizes (inches), per-tile status lines, then tile titles, are left out.
MIN_TILE_FOR_STATUS = 1.6
MIN_TILE_FOR_POINTS = 0.25


def format_value(value: Any) -> str:
    """A hyperparameter value as a label shows it.

    Example:
        >>> format_value(0.07), format_value(1e-05), format_value("relu")
        ('0.07', '1e-05', 'relu')
    """
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def status_line(epoch: int, epochs: int, loss: float, acc: float, lr: float) -> str:
    """The seed's status line for one tile.

    Example:
        >>> status_line(3, 100, 0.5, 0.75, 0.1)
        'epoch 3/100 - loss:0.500 - acc:0.75 - lr:1.00e-01'
    """
    return f"epoch {epoch}/{epochs} - loss:{loss:.3f} - acc:{acc:.2f} - lr:{lr:.2e}"


def grid_shape(axes: dict[str, list], n_tiles: int, aspect: float = 16 / 9) -> tuple[int, int]:
    """Rows and columns of one table: the last two axes for two or more axes, else a wrapped row.

    Example:
        >>> grid_shape({"lr": [1, 2, 3], "momentum": [0, 1]}, 6)
        (3, 2)
        >>> grid_shape({"lr": [1, 2, 3]}, 3)
        (1, 3)
    """
    if len(axes) >= 2:
        *_, a, b = (len(v) for v in axes.values())
        return a, b
    if n_tiles <= 5:
        return 1, n_tiles
    cols = min(n_tiles, math.ceil(math.sqrt(n_tiles * aspect)))
    return math.ceil(n_tiles / cols), cols


class Layout(NamedTuple):
    """Where everything goes. Boxes and header positions are figure fractions (origin lower left)."""

    size: tuple[float, float]  # figure (width, height), inches
    tile: float  # tile side, inches
    boxes: list  # per model: (left, bottom, width, height)
    tile_titles: list  # per model: its title, or "" where row/column headers say it
    headers: list  # (text, x, y, rotation, ha, va): row, column and panel labels
    band: float  # left edge of the legend / colour-bar band
    font: float  # header font size, points


def _panels(axes: dict[str, list]) -> list[dict]:
    names = list(axes)[:-2] if len(axes) >= 3 else []
    return [dict(zip(names, combo)) for combo in itertools.product(*(axes[k] for k in names))]


def plan_layout(axes: dict[str, list], n_tiles: int, size: tuple[float, float] | None = None) -> Layout:
    """Place every tile of a grid on a figure of ``size`` inches (default 12.8 x 7.2, i.e.
    1280 x 720 at 100 dpi; larger for very large grids, so that tiles keep ~0.45 inch).

    Example:
        >>> lay = plan_layout({"lr": [0.1, 0.5, 1.0], "momentum": [0.0, 0.9]}, 6)
        >>> len(lay.boxes), [h[0] for h in lay.headers]
        (6, ['lr = 0.1', 'lr = 0.5', 'lr = 1', 'momentum = 0', 'momentum = 0.9'])
    """
    names = list(axes)
    table = len(names) >= 2
    panels = _panels(axes)
    rows, cols = grid_shape(axes, n_tiles)
    top_band, right_band, margin, gap_f = 0.8, 1.75, 0.15, 0.06
    head_w, head_h = (0.3, 0.24) if table else (0.0, 0.0)
    title_f = 0.0 if table or not names else 0.14  # room for per-tile titles, as a share of the tile
    panel_h = 0.28 if len(panels) > 1 else 0.0

    def fit(width: float, height: float):
        best = (0.0, 1, 1)
        for pc in range(1, len(panels) + 1):
            pr = math.ceil(len(panels) / pc)
            tw = (width - right_band - margin - pc * (head_w + 0.1)) / (pc * cols * (1 + gap_f))
            th = (height - top_band - margin - pr * (head_h + panel_h + 0.1)) / (pr * rows * (1 + gap_f + title_f))
            best = max(best, (min(tw, th), pr, pc))
        return best

    width, height = size or (12.8, 7.2)
    tile, pr, pc = fit(width, height)
    if size is None and tile < 0.45:
        width, height = 12.8 * 0.45 / max(tile, 1e-3), 7.2 * 0.45 / max(tile, 1e-3)
        tile, pr, pc = fit(width, height)
    if tile < 0.05:
        raise ValueError(f"size must leave room for {n_tiles} tiles. Got {size!r} inches instead.")
    tile = min(tile, 5.0)
    gap = gap_f * tile
    step_y = tile * (1 + title_f) + gap
    panel_w = head_w + cols * (tile + gap)
    panel_ht = panel_h + head_h + rows * step_y
    spare_w = width - right_band - margin - pc * panel_w
    spare_h = height - top_band - pr * panel_ht
    boxes: list = [None] * n_tiles
    headers: list = []
    for p, panel in enumerate(panels or [{}]):
        px = margin + spare_w / 2 + (p % pc) * panel_w
        py = height - top_band - max(0.0, spare_h) / 3 - (p // pc) * panel_ht
        if panel:
            label = ", ".join(f"{k} = {format_value(v)}" for k, v in panel.items())
            headers.append((label, px + head_w + cols * (tile + gap) / 2, py - 0.04, 0, "center", "top"))
        grid_top = py - panel_h - head_h
        for r in range(rows):
            for c in range(cols):
                i = (p * rows + r) * cols + c
                if i < n_tiles:
                    bottom = grid_top - r * step_y - tile * (1 + title_f)
                    boxes[i] = (px + head_w + c * (tile + gap), bottom, tile, tile)
        if table:
            for r, v in enumerate(axes[names[-2]]):
                headers.append((f"{names[-2]} = {format_value(v)}", px + head_w * 0.45,
                                grid_top - r * step_y - tile / 2, 90, "center", "center"))
            for c, v in enumerate(axes[names[-1]]):
                headers.append((f"{names[-1]} = {format_value(v)}", px + head_w + c * (tile + gap) + tile / 2,
                                grid_top + 0.05, 0, "center", "bottom"))
    titles = [""] * n_tiles
    if len(names) == 1:
        (name, values), = axes.items()
        titles = [f"{name} = {format_value(v)}" for v in values]
    frac = lambda b: (b[0] / width, b[1] / height, b[2] / width, b[3] / height)  # noqa: E731
    return Layout(
        size=(width, height), tile=tile, boxes=[frac(b) for b in boxes], tile_titles=titles,
        headers=[(t, x / width, y / height, rot, ha, va) for t, x, y, rot, ha, va in headers],
        band=(width - right_band + 0.25) / width, font=float(np.clip(tile * 4.0, 6.0, 11.0)),
    )


def _even_size(size: tuple[float, float], dpi: int) -> tuple[float, float]:
    """Round a figure size so that it has an even number of pixels each way (H.264 yuv420p)."""
    return tuple(max(2, math.ceil(v * dpi / 2) * 2) / dpi for v in size)


def _draw_points(ax, ds, tile: float) -> None:
    """A bare tile: the seed's training circles and test squares coloured by class with black edges
    (left out below ``MIN_TILE_FOR_POINTS``), the data's extent, no ticks, thin spines."""
    if tile >= MIN_TILE_FOR_POINTS:
        marker = float(np.clip(tile * 9, 1.5, 36))
        style = dict(cmap=CLASS_COLOURS, vmin=0, vmax=1, edgecolors="k", zorder=2.5,
                     s=marker if len(ds.y_train) <= 200 else marker * 0.4, linewidths=0.5 if tile > 1 else 0.25)
        ax.scatter(ds.x_train[:, 0], ds.x_train[:, 1], c=ds.y_train, **style)
        ax.scatter(ds.x_test[:, 0], ds.x_test[:, 1], c=ds.y_test, alpha=0.6, marker="s", **style)
    ax.set_xlim(ds.extent[:2])
    ax.set_ylim(ds.extent[2:])
    ax.set_xticks(())
    ax.set_yticks(())
    for spine in ax.spines.values():
        spine.set_linewidth(0.6)


def _decorate(fig: Figure, run, lay: Layout) -> None:
    """Everything around the tiles: headers, title, fixed hyperparameters, legend and colour bars."""
    width, height = lay.size
    for text, x, y, rotation, ha, va in lay.headers:
        fig.text(x, y, text, rotation=rotation, ha=ha, va=va, fontsize=lay.font, weight="bold")
    fixed = {k: v for k, v in run.configs[0].items() if k not in run.axes}
    shown = ", ".join(f"{k}={format_value(v)}" for k, v in fixed.items())
    fig.text(0.5 * lay.band, 1 - 0.1 / height, "Neural network prediction maps", ha="center", va="top",
             fontsize=13)
    fig.text(0.5 * lay.band, 1 - 0.42 / height, shown, ha="center", va="top", fontsize=7.5, wrap=True)
    handles = [
        Line2D([0], [0], marker=m, color="w", markeredgecolor="k", markerfacecolor=c, markersize=7, label=lab)
        for m, c, lab in [("o", "#0000FF", "class 1 train"), ("s", "#0000FF", "class 1 test"),
                          ("o", "#FF0000", "class 0 train"), ("s", "#FF0000", "class 0 test")]
    ]
    fig.legend(handles=handles, loc="upper left", fontsize=8, frameon=False,
               bbox_to_anchor=(lay.band - 0.1 / width, 1 - 0.3 / height))
    # the seed's two colour bars: % prediction class 1 (Blues) and class 2 (Reds)
    bar_w, bar_h = 0.14 / width, min(0.45, 3.0 / height)
    for k, (cmap, label) in enumerate([("Blues", "% prediction class 1"), ("Reds", "% prediction class 2")]):
        cax = fig.add_axes([lay.band + (0.1 + 0.75 * k) / width, 0.12, bar_w, bar_h])
        bar = fig.colorbar(ScalarMappable(norm=Normalize(0, 100), cmap=colormaps[cmap]), cax=cax)
        bar.set_label(label, fontsize=7.5)
        bar.ax.tick_params(labelsize=6.5)


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
        self.layout = lay = plan_layout(run.axes, n, inches)
        if fig is None:
            fig = Figure(figsize=_even_size(lay.size, dpi), dpi=dpi)
        if fig.canvas is None or not hasattr(fig.canvas, "buffer_rgba"):
            FigureCanvasAgg(fig)
        self.fig = fig
        self.show_status = lay.tile >= MIN_TILE_FOR_STATUS
        self.status_size = float(np.clip(lay.tile * 2.6, 5.0, 9.0))
        self.images, self.texts, self.axes, self.flags, self.contours = [], [], [], [], [None] * n
        for i, config in enumerate(run.configs):
            ds = run.data_of(i)
            ax = fig.add_axes(lay.boxes[i])
            img = ax.imshow(run.surfaces[i, 0].astype(np.float32), cmap=SURFACE_CMAP, norm=Normalize(0, 1),
                            origin="lower", extent=ds.extent, alpha=SURFACE_ALPHA, interpolation="bilinear",
                            aspect="auto")
            _draw_points(ax, ds, lay.tile)
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

    def update(self, frame: int) -> None:
        """Show frame ``frame`` (an index into ``run.frame_epochs``) in every tile."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        for i, (ax, img, text, flag) in enumerate(zip(self.axes, self.images, self.texts, self.flags)):
            own = run.configs[i]["epochs"]
            k = int(run.diverged_epoch[i])
            surface = run.surfaces[i, frame].astype(np.float32)
            if self.contours[i] is not None:
                self.contours[i].remove()
                self.contours[i] = None
            if 0 < k <= epoch:
                img.set_data(np.full_like(surface, np.nan))
                flag.set_text(f"diverged at epoch {k}")
                text.set_text("")
                continue
            img.set_data(surface)
            x = int(run.exploded_epoch[i])
            flag.set_text(f"exploded at epoch {x}" if 0 < x <= epoch else "")
            text.set_text(status_line(min(epoch, own), own, *run.status(i, epoch)))
            if self.decision_line and np.nanmin(surface) < 0.5 < np.nanmax(surface):
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


def _bilinear_taps(n_pixels: int, n_cells: int):
    """Source cells and weights that resample ``n_cells`` image cells onto ``n_pixels`` pixels.

    Pixel centres map into cell coordinates as ``imshow`` does (cells span the extent evenly),
    so the composited frame matches the matplotlib figure of the same epoch.
    """
    centre = (np.arange(n_pixels) + 0.5) / n_pixels * n_cells - 0.5
    centre = np.clip(centre, 0, n_cells - 1)
    lo = np.floor(centre).astype(np.intp)
    hi = np.minimum(lo + 1, n_cells - 1)
    return lo, hi, (centre - lo).astype(np.float32)


#: Colour-table entries after the 256 probability levels: NaN, a diverged tile, the decision line.
NAN_ENTRY, DIVERGED_ENTRY, LINE_ENTRY = 256, 257, 258
#: RGB (0..255) to BT.601 limited-range YUV, the matrix ffmpeg uses to turn RGB into H.264's yuv420p.
RGB_TO_YUV = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255


def _rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB as BT.601 limited-range YUV, ``(..., 3)`` uint8.

    Example:
        >>> _rgb_to_yuv(np.uint8([[255, 255, 255], [0, 0, 0], [255, 0, 0]])).tolist()
        [[235, 128, 128], [16, 128, 128], [81, 90, 240]]
    """
    rgb = rgb.astype(np.float32)
    # elementwise, not ``@``: a float matmul goes to OpenBLAS, whose idle threads then spin for
    # ~0.1 s on the core that x264 needs
    yuv = sum(rgb[..., k, None] * RGB_TO_YUV[:, k].astype(np.float32) for k in range(3))
    yuv += np.float32([16.5, 128.5, 128.5])  # offsets, and 0.5 to round
    return np.clip(yuv, 0, 255).astype(np.uint8)


def _pack(colours: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 colours as one uint32 per pixel: its three bytes in order, then 0.

    A pixel per word makes colour-table lookups, pasting and overlay writes one-element operations,
    several times faster than on ``(..., 3)`` bytes.
    """
    four = np.zeros((*colours.shape[:-1], 4), np.uint8)
    four[..., :3] = colours
    return four.view(np.uint32)[..., 0]


def _channels(packed: np.ndarray) -> np.ndarray:
    """Contiguous packed pixels seen as their bytes, ``(..., 4)`` uint8 (a view)."""
    return packed.view(np.uint8).reshape(*packed.shape, 4)


def _subsample(uv: np.ndarray) -> np.ndarray:
    """Chroma ``(h, w, 2)`` uint8 (even sizes) averaged over 2 x 2 blocks: ``(2, h / 2, w / 2)``, as
    4:2:0 keeps it."""
    planes = []
    for k in range(2):  # a plane at a time: strided adds beat a reshape-and-sum several times over
        plane = uv[..., k].astype(np.uint16)
        pairs = plane[0::2] + plane[1::2]
        planes.append((pairs[:, 0::2] + pairs[:, 1::2] + 2) >> 2)
    return np.stack(planes).astype(np.uint8)


class _Palette(NamedTuple):
    """The compositor's colours in one colour space (RGB for pictures, YUV for H.264), a pixel per uint32."""

    lut: np.ndarray  # (259,) uint32: RdBu at 256 levels over white, then NaN grey, diverged grey, black
    canvas: np.ndarray  # (height, width) uint32: the picture with empty tiles; each frame draws its tiles on it
    opaque: np.ndarray  # (k,) uint32: overlay pixels inside the tiles that hide the surface
    partial: np.ndarray  # (m, 4) uint16: translucent overlay pixels inside the tiles, times their alpha, + 127
    white: np.ndarray  # (4,) int64: what status-line boxes blend towards
    black: np.ndarray  # (4,) int64: what their text blends towards


def _palette(convert, shape, lut, drawn, ink, opaque, partial, alpha) -> _Palette:
    """A ``_Palette`` from RGB colours, each converted by ``convert`` (``(..., 3)`` uint8 to the same).
    The picture is white but at the ``drawn`` pixels (flat indices), which show ``ink``."""
    white, black = (np.append(convert(np.uint8([v] * 3)), 0).astype(np.int64) for v in (255, 0))
    static = np.full(shape[0] * shape[1], _pack(white[:3].astype(np.uint8)), np.uint32)
    static[drawn] = _pack(convert(ink))  # ~10% of the frame: converting only these is ~10x cheaper
    return _Palette(_pack(convert(lut)), static.reshape(shape), _pack(convert(opaque)),
                    _channels(_pack(convert(partial))).astype(np.uint16) * alpha + 127, white, black)


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


def _overlay(run, lay: Layout, dpi: float) -> tuple[np.ndarray, list]:
    """The picture without surfaces, status lines or backgrounds, as straight RGBA ``(height, width, 4)``
    uint8, and every tile's pixel box ``(top, bottom, left, right)`` (all of one size).

    A ``TiledFigure`` builds an Axes per tile, most of its ~0.4 s at 16 tiles. Here one bare Axes
    per dataset is drawn (blitted) at every tile of that dataset, at the tile's exact position:
    the same pixels, without building the other Axes.
    """
    fig = Figure(figsize=_even_size(lay.size, dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    fig.patch.set_alpha(0.0)
    _decorate(fig, run, lay)
    renderer, bare = fig.canvas.get_renderer(), {}
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
    for i, box in enumerate(lay.boxes):
        ds = run.data_of(i)
        if id(ds) not in bare:
            bare[id(ds)] = Axes(fig, box)  # not added to the figure: drawn only here
            _draw_points(bare[id(ds)], ds, lay.tile)
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
    return overlay, [(r0, r0 + h, c0, c0 + w) for r0, _, c0, _ in boxes]


class _GlyphText:
    """Text as a grey-level mask assembled from cached glyphs (rendered once per character).

    Rasterising each status line with FreeType every frame costs more than composing the rest
    of the frame; pasting cached glyphs at their advances is several times cheaper. Kerning is
    left out, which at these sizes is invisible.
    """

    def __init__(self, font):
        from PIL import Image, ImageDraw

        self.font = font
        ascent, descent = font.getmetrics()
        self.height = ascent + descent + 2
        self._glyphs: dict[str, tuple[np.ndarray, int, float]] = {}
        self._image, self._draw = Image, ImageDraw

    def _glyph(self, ch: str):
        if ch not in self._glyphs:
            width = int(math.ceil(self.font.getlength(ch))) + 4
            canvas = self._image.new("L", (width, self.height), 0)
            self._draw.Draw(canvas).text((1, 1), ch, font=self.font, fill=255)
            self._glyphs[ch] = (np.asarray(canvas), width, self.font.getlength(ch))
        return self._glyphs[ch]

    def width(self, text: str) -> int:
        return int(math.ceil(sum(self._glyph(ch)[2] for ch in text))) + 4

    def mask(self, text: str) -> np.ndarray:
        out = np.zeros((self.height, self.width(text)), np.uint8)
        x = 0.0
        for ch in text:
            glyph, width, advance = self._glyph(ch)
            xi = int(round(x))
            np.maximum(out[:, xi:xi + width], glyph[:, : out.shape[1] - xi], out=out[:, xi:xi + width])
            x += advance
        return out


def _stamp(px: np.ndarray, mask: np.ndarray, top: int, left: int, box_alpha: float, white, black) -> None:
    """Lay text (``mask``) in ``black`` on a translucent ``white`` box into ``px`` (``(h, w, 4)``
    uint8) at (top, left)."""
    h, w = mask.shape
    region = px[top:top + h, left:left + w].astype(np.uint16)
    region = (region * int(round((1 - box_alpha) * 256)) + np.round(box_alpha * 256 * white).astype(np.uint16)) >> 8
    ink = mask[..., None].astype(np.uint16)
    px[top:top + h, left:left + w] = ((region * (255 - ink) + black * ink) // 255).astype(np.uint8)


class Frames:
    """An animation's frames, composed one at a time as they are consumed.

    Iterating gives ``(height, width, 3)`` uint8 RGB arrays; ``yuv420p()`` gives the same frames as
    planar YUV 4:2:0 (see ``FrameCompositor.frame_yuv420p``), which an H.264 writer pipes as they are
    (``write_animation`` does), sparing the encoder its colour conversion.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> frames = FrameCompositor(run).frames([0, 2])
        >>> len(frames), frames.size, [f.shape for f in frames.yuv420p()]
        (2, (1280, 720), [(1382400,), (1382400,)])
    """

    def __init__(self, compositor: FrameCompositor, indices):
        self.compositor = compositor
        self.indices = list(indices)
        self.size = compositor.shape[::-1]  # (width, height)

    def __len__(self) -> int:
        return len(self.indices)

    def __iter__(self) -> Iterator[np.ndarray]:
        return map(self.compositor.frame_rgb, self.indices)

    def yuv420p(self) -> Iterator[np.ndarray]:
        """The frames as flat planar YUV 4:2:0 arrays."""
        return map(self.compositor.frame_yuv420p, self.indices)


class FrameCompositor:
    """Animation frames as pixel arrays: everything static is drawn by matplotlib once.

    The picture without surfaces (the overlay: points, spines, headers, legend, colour bars) is
    drawn once, one bare tile per dataset drawn at each of its tiles. Each frame then resamples
    every probability grid to its tile's pixels, looks its colours up in a 256-entry RdBu table
    (alpha 0.8 over white, as the seed draws), lays the overlay on top and prints the status lines
    from cached glyphs. Frames come as RGB, or as the YUV 4:2:0 an H.264 encoder takes, composed
    from a YUV colour table directly. Only one frame exists at a time.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> comp = FrameCompositor(run)
        >>> frame = comp.frame_rgb(0)
        >>> frame.dtype, frame.shape
        (dtype('uint8'), (720, 1280, 3))
    """

    def __init__(self, run, size: tuple[int, int] | None = None, dpi: int = 100, decision_line: bool = False):
        from matplotlib import font_manager
        from PIL import ImageFont

        self.run = run
        self.decision_line = decision_line
        lay = plan_layout(run.axes, len(run.configs), None if size is None else (size[0] / dpi, size[1] / dpi))
        overlay, self.boxes = _overlay(run, lay, dpi)
        self.shape = overlay.shape[:2]
        r0, r1, c0, c1 = self.boxes[0]
        res = run.surfaces.shape[-1]
        rows = _bilinear_taps(r1 - r0, res)
        self._rows = tuple(a[::-1] for a in rows)  # image row 0 is the top, mesh row 0 the bottom
        self._cols = _bilinear_taps(c1 - c0, res)
        # chroma blocks (2 x 2 pixels) that can change: those touching a tile
        top, bottom, left, right = (f(b[k] for b in self.boxes) for f, k in ((min, 0), (max, 1), (min, 2), (max, 3)))
        self._blocks = (top // 2 * 2, -(-bottom // 2) * 2, left // 2 * 2, -(-right // 2) * 2)
        # Outside the tiles nothing changes: that part of the frame is composed once. Inside them,
        # only the overlay's pixels (points, spines) are laid over the surfaces each frame.
        a8, rgb = overlay[..., 3].reshape(-1), overlay[..., :3].reshape(-1, 3)
        drawn = np.flatnonzero(a8)
        alpha = a8[drawn].astype(np.float32)[:, None] / 255.0
        ink = (rgb[drawn] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)  # the overlay over white
        inside = np.zeros(self.shape, bool)
        for r0, r1, c0, c1 in self.boxes:
            inside[r0:r1, c0:c1] = True
        inside = inside.reshape(-1)
        self._opaque = np.flatnonzero(inside & (a8 == 255))
        self._partial = np.flatnonzero(inside & (a8 > 0) & (a8 < 255))
        alpha = a8[self._partial].astype(np.uint16)[:, None]
        self._under = 255 - alpha  # the surface's share under a translucent overlay pixel
        colours = SURFACE_CMAP(np.linspace(0, 1, 256))[:, :3] * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        bad = np.asarray(SURFACE_CMAP.get_bad()[:3]) * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        lut = np.vstack([np.round(np.vstack([colours, bad]) * 255).astype(np.uint8),
                         np.frombuffer(bytes.fromhex(DIVERGED_GREY[1:]), np.uint8), np.zeros(3, np.uint8)])
        self._colours = (self.shape, lut, drawn, ink, rgb[self._opaque], rgb[self._partial], alpha)
        self._rgb = _palette(lambda c: c, *self._colours)
        self.show_status = lay.tile >= MIN_TILE_FOR_STATUS
        path = font_manager.findfont("DejaVu Sans")
        status_size = float(np.clip(lay.tile * 2.6, 5.0, 9.0))  # TiledFigure's sizes, in pixels
        self._text = _GlyphText(ImageFont.truetype(path, max(6, round(status_size * dpi / 72))))
        self._flag_text = _GlyphText(ImageFont.truetype(path, max(7, round(lay.font * 0.9 * dpi / 72))))

    @functools.cached_property
    def _yuv(self) -> tuple[_Palette, np.ndarray]:
        """The YUV palette and the picture with empty tiles as YUV 4:2:0, made when first needed."""
        palette = _palette(_rgb_to_yuv, *self._colours)
        static = _channels(palette.canvas)
        return palette, np.concatenate([static[..., 0].ravel(), _subsample(static[..., 1:3]).ravel()])

    def _levels(self, frame: int) -> np.ndarray:
        """Every tile's colour-table entries, ``(n_models, h, w)``: the class-1 probability at 256
        levels resampled bilinearly as ``imshow`` does, and the NaN, diverged and line entries."""
        run = self.run
        levels = run.surfaces[:, frame].astype(np.float32)
        nan = np.isnan(levels)
        # Interpolating levels is interpolating probabilities, and clipping before is clipping after
        # (interpolation never leaves the range), so only the 64 x 64 grids are scaled and clipped.
        np.clip(levels, 0, 1, out=levels)
        levels *= 255
        levels += 0.5
        if nan.any():
            levels[nan] = 0.5  # as p = 0; these pixels get the NaN entry below
        (r_lo, r_hi, r_w), (c_lo, c_hi, c_w) = self._rows, self._cols
        # Columns first, so that the row pass gathers whole rows. np.take, not fancy indexing:
        # that hands back axis-permuted arrays, and everything downstream of one runs 2-4x slower.
        left, cols = levels.take(c_lo, axis=2), levels.take(c_hi, axis=2)
        cols -= left
        cols *= c_w
        cols += left
        pixels, top = cols.take(r_hi, axis=1), cols.take(r_lo, axis=1)
        pixels -= top
        pixels *= r_w[:, None]
        pixels += top
        index = pixels.astype(np.uint16)  # every entry fits; np.take is faster with it than with intp
        if nan.any():  # a pixel is NaN where any of its four cells is, as when interpolating NaN
            nan = nan[:, :, c_lo] | nan[:, :, c_hi]
            index[nan[:, r_lo] | nan[:, r_hi]] = NAN_ENTRY
        if self.decision_line:  # darken pixels where p = 0.5 passes between neighbours
            above = pixels > 128.0
            edge = np.zeros_like(above)
            edge[:, 1:, :] |= above[:, 1:, :] != above[:, :-1, :]
            edge[:, :, 1:] |= above[:, :, 1:] != above[:, :, :-1]
            index[edge] = LINE_ENTRY
        diverged = run.diverged_epoch
        index[(diverged > 0) & (diverged <= run.frame_epochs[frame])] = DIVERGED_ENTRY
        return index

    def _labels(self, frame: int) -> Iterator[tuple[np.ndarray, int, int, float]]:
        """The text on the tiles at ``frame``: ``(mask, top, left, box alpha)`` for each flag and status line."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        diverged, exploded = run.diverged_epoch, run.exploded_epoch
        for i, (r0, r1, c0, c1) in enumerate(self.boxes):
            k, x = int(diverged[i]), int(exploded[i])
            for what, at in (("diverged", k), ("exploded", x)):  # a flag mid-tile; an exploded one keeps its surface
                if 0 < at <= epoch:
                    text = f"{what} at epoch {at}"
                    if self._flag_text.width(text) > c1 - c0 - 4:
                        text = f"{what} @{at}"
                    mask = self._flag_text.mask(text)
                    if mask.shape[1] <= c1 - c0 and mask.shape[0] <= r1 - r0:
                        yield mask, (r0 + r1 - mask.shape[0]) // 2, (c0 + c1 - mask.shape[1]) // 2, 0.75
            if 0 < k <= epoch:
                continue
            if self.show_status:
                own = run.configs[i]["epochs"]
                text = status_line(min(epoch, own), own, *run.status(i, epoch))
                if self._text.width(text) <= c1 - c0 - 4:  # a tile too narrow for its status line goes without
                    mask = self._text.mask(text)
                    yield mask, r1 - 2 - mask.shape[0], c1 - 2 - mask.shape[1], 0.6

    def _compose(self, frame: int, palette: _Palette) -> np.ndarray:
        """Frame ``frame`` in ``palette``'s colours, a pixel per uint32: ``(height, width)``.

        It is drawn on the palette's canvas, which is handed back: outside the tiles nothing ever
        changes, and every pixel of every tile is drawn anew (surface, overlay, then text), so
        reusing the canvas saves copying a whole frame; callers copy out what they keep.
        """
        tiles = palette.lut.take(self._levels(frame))
        out = palette.canvas
        for (r0, r1, c0, c1), tile in zip(self.boxes, tiles):
            out[r0:r1, c0:c1] = tile
        flat = out.reshape(-1)
        flat[self._opaque] = palette.opaque
        blend = _channels(flat[self._partial]).astype(np.uint16)  # the surface under translucent overlay
        blend *= self._under
        blend += palette.partial
        blend //= 255
        flat[self._partial] = blend.astype(np.uint8).view(np.uint32)[:, 0]
        px = _channels(out)
        for mask, top, left, box_alpha in self._labels(frame):
            _stamp(px, mask, top, left, box_alpha, palette.white, palette.black)
        return out

    def frame_rgb(self, frame: int) -> np.ndarray:
        """Frame ``frame`` (an index into ``run.frame_epochs``) as ``(height, width, 3)`` uint8."""
        px = _channels(self._compose(frame, self._rgb))
        out = np.empty((*self.shape, 3), np.uint8)
        for k in range(3):  # a channel at a time: numpy copies 4 bytes to 3 per pixel far slower
            out[..., k] = px[..., k]
        return out

    def frame_yuv420p(self, frame: int) -> np.ndarray:
        """Frame ``frame`` as planar YUV 4:2:0 (BT.601, limited range, as ffmpeg converts RGB for
        H.264): a flat uint8 array, the Y plane then the U and V planes at half width and height.

        Colours come from a YUV colour table, so no RGB frame is made or converted. Chroma is the
        mean of each 2 x 2 block.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> comp = FrameCompositor(run)
            >>> yuv = comp.frame_yuv420p(0)
            >>> yuv.shape, yuv[:720 * 1280].reshape(720, 1280)[0, 0]  # white, in limited range
            ((1382400,), np.uint8(235))
        """
        palette, static = self._yuv
        px = _channels(self._compose(frame, palette))
        height, width = self.shape
        out = static.copy()  # only the tiles, and chroma blocks touching them, change
        luma = out[: height * width].reshape(height, width)
        for r0, r1, c0, c1 in self.boxes:
            luma[r0:r1, c0:c1] = px[r0:r1, c0:c1, 0]
        r0, r1, c0, c1 = self._blocks
        planes = out[height * width:].reshape(2, height // 2, width // 2)
        planes[:, r0 // 2:r1 // 2, c0 // 2:c1 // 2] = _subsample(px[r0:r1, c0:c1, 1:3])
        return out

    def frames(self, indices=None) -> Frames:
        """The frames at ``indices`` (default: all), composed one at a time as they are consumed."""
        return Frames(self, range(len(self.run.frame_epochs)) if indices is None else indices)
