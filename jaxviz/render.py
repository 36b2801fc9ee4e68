"""Tiled pictures of a grid: one tile per model, laid out by the varied hyperparameters.

Each tile is the seed's plot: the class-1 probability map in RdBu (fixed 0..1 scale, alpha 0.8
over white), training points as circles and test points as squares coloured by class with black
edges, and the status line ``epoch i/N - loss - acc - lr`` (test loss and accuracy, learning
rate in force). The figure has one legend and the seed's two colour bars. One varied axis is a
wrapped row of titled tiles; two axes are a table with row and column headers; with more, the
last two axes form the table inside one labelled panel per value of the others. A model whose
loss became NaN or inf is drawn as a grey tile saying when it diverged.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Iterator, NamedTuple

import numpy as np
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

__all__ = [
    "TiledFigure",
    "FrameCompositor",
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
        marker = float(np.clip(lay.tile * 9, 1.5, 36))
        self.images, self.texts, self.axes, self.flags, self.contours = [], [], [], [], [None] * n
        for i, config in enumerate(run.configs):
            ds = run.data_of(i)
            ax = fig.add_axes(lay.boxes[i])
            img = ax.imshow(run.surfaces[i, 0].astype(np.float32), cmap=SURFACE_CMAP, norm=Normalize(0, 1),
                            origin="lower", extent=ds.extent, alpha=SURFACE_ALPHA, interpolation="bilinear",
                            aspect="auto")
            if lay.tile >= MIN_TILE_FOR_POINTS:
                ms = marker if len(ds.y_train) <= 200 else marker * 0.4
                ax.scatter(ds.x_train[:, 0], ds.x_train[:, 1], c=ds.y_train, cmap=CLASS_COLOURS, vmin=0, vmax=1,
                           edgecolors="k", s=ms, linewidths=0.5 if lay.tile > 1 else 0.25, zorder=2.5)
                ax.scatter(ds.x_test[:, 0], ds.x_test[:, 1], c=ds.y_test, cmap=CLASS_COLOURS, vmin=0, vmax=1,
                           alpha=0.6, edgecolors="k", marker="s", s=ms, linewidths=0.5 if lay.tile > 1 else 0.25,
                           zorder=2.5)
            ax.set_xlim(ds.extent[:2])
            ax.set_ylim(ds.extent[2:])
            ax.set_xticks(())
            ax.set_yticks(())
            for spine in ax.spines.values():
                spine.set_linewidth(0.6)
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
        self._decorate()

    def _decorate(self) -> None:
        run, lay, fig = self.run, self.layout, self.fig
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
            flag.set_text("")
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


def _stamp(out: np.ndarray, mask: np.ndarray, top: int, left: int, box_alpha: float = 0.6) -> None:
    """Lay black text (``mask``) on a translucent white box into ``out`` at (top, left)."""
    h, w = mask.shape
    region = out[top:top + h, left:left + w].astype(np.uint16)
    region = (region * int(round((1 - box_alpha) * 256)) + int(round(box_alpha * 255 * 256))) >> 8
    region = (region * (255 - mask[..., None].astype(np.uint16))) // 255
    out[top:top + h, left:left + w] = region.astype(np.uint8)


class FrameCompositor:
    """Animation frames as pixel arrays: everything static is drawn by matplotlib once.

    The tiled figure is drawn once with transparent tile backgrounds and no surfaces (the
    overlay: points, headers, legend, colour bars). Each frame then resamples every probability
    grid to its tile's pixels, looks its colours up in a 256-entry RdBu table (alpha 0.8 over
    white, as the seed draws), lays the overlay on top and prints the status lines with Pillow.
    Only one RGB frame exists at a time.

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
        tiles = TiledFigure(run, size=size, dpi=dpi)
        for artist in tiles.images + tiles.texts + tiles.flags:
            artist.set_visible(False)
        tiles.fig.patch.set_alpha(0.0)
        for ax in tiles.axes:
            ax.patch.set_alpha(0.0)
        tiles.fig.canvas.draw()
        overlay = np.asarray(tiles.fig.canvas.buffer_rgba()).copy()
        height = overlay.shape[0]
        self.shape = overlay.shape[:2]
        boxes = []
        for ax in tiles.axes:
            x0, y0, x1, y1 = np.round(ax.get_window_extent().extents).astype(int)
            boxes.append((height - y1, height - y0, x0, x1))
        res = run.surfaces.shape[-1]
        h = min(b[1] - b[0] for b in boxes)
        w = min(b[3] - b[2] for b in boxes)
        self.boxes = [(r0, r0 + h, c0, c0 + w) for r0, _, c0, _ in boxes]
        # Outside the tiles nothing changes: that part of the frame is composed once. Inside them,
        # only the overlay's pixels (points, spines) are laid over the surfaces each frame.
        alpha = overlay[..., 3].astype(np.float32)[..., None] / 255.0
        self._static = (overlay[..., :3] * alpha + 255 * (1 - alpha) + 0.5).astype(np.uint8)
        inside = np.zeros(self.shape, bool)
        for r0, r1, c0, c1 in self.boxes:
            inside[r0:r1, c0:c1] = True
        a8 = overlay[..., 3].reshape(-1)
        inside = inside.reshape(-1)
        self._opaque = np.flatnonzero(inside & (a8 == 255))
        self._partial = np.flatnonzero(inside & (a8 > 0) & (a8 < 255))
        rgb = overlay[..., :3].reshape(-1, 3)
        self._opaque_rgb = rgb[self._opaque]
        self._partial_a = a8[self._partial].astype(np.uint16)[:, None]
        self._partial_rgb = rgb[self._partial].astype(np.uint16) * self._partial_a
        rows = _bilinear_taps(h, res)
        self._rows = tuple(a[::-1] for a in rows)  # image row 0 is the top, mesh row 0 the bottom
        self._cols = _bilinear_taps(w, res)
        colours = SURFACE_CMAP(np.linspace(0, 1, 256))[:, :3] * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        bad = np.asarray(SURFACE_CMAP.get_bad()[:3]) * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        self._lut = np.round(np.vstack([colours, bad]) * 255).astype(np.uint8)  # entry 256: NaN
        self._grey = np.frombuffer(bytes.fromhex(DIVERGED_GREY[1:]), np.uint8)
        dpi = tiles.fig.dpi
        self.show_status = tiles.show_status
        path = font_manager.findfont("DejaVu Sans")
        self._text = _GlyphText(ImageFont.truetype(path, max(6, round(tiles.status_size * dpi / 72))))
        self._flag_text = _GlyphText(ImageFont.truetype(path, max(7, round(tiles.layout.font * 0.9 * dpi / 72))))

    def _surface_pixels(self, frame: int) -> np.ndarray:
        """Every tile's probability map resampled to tile pixels: ``(n_models, h, w)`` float32."""
        surf = self.run.surfaces[:, frame].astype(np.float32)
        r_lo, r_hi, r_w = self._rows
        c_lo, c_hi, c_w = self._cols
        top, bottom = surf[:, r_lo], surf[:, r_hi]
        rows = top + (bottom - top) * r_w[None, :, None]
        left, right = rows[:, :, c_lo], rows[:, :, c_hi]
        return left + (right - left) * c_w[None, None, :]

    def frame_rgb(self, frame: int) -> np.ndarray:
        """Frame ``frame`` (an index into ``run.frame_epochs``) as ``(height, width, 3)`` uint8."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        diverged = (run.diverged_epoch > 0) & (run.diverged_epoch <= epoch)
        probs = self._surface_pixels(frame)
        nan = np.isnan(probs)
        index = np.clip(np.where(nan, 0, probs) * 255 + 0.5, 0, 255).astype(np.uint16)
        index[nan] = 256
        colours = np.take(self._lut, index, axis=0)  # much faster than fancy indexing here
        if self.decision_line:  # darken pixels where p = 0.5 passes between neighbours
            above = probs > 0.5
            edge = np.zeros_like(above)
            edge[:, 1:, :] |= above[:, 1:, :] != above[:, :-1, :]
            edge[:, :, 1:] |= above[:, :, 1:] != above[:, :, :-1]
            colours[edge] = 0
        out = self._static.copy()
        for i, ((r0, r1, c0, c1), tile) in enumerate(zip(self.boxes, colours)):
            out[r0:r1, c0:c1] = self._grey if diverged[i] else tile
        flat = out.reshape(-1, 3)
        flat[self._opaque] = self._opaque_rgb
        under = flat[self._partial].astype(np.uint16)
        flat[self._partial] = ((self._partial_rgb + under * (255 - self._partial_a) + 127) // 255).astype(np.uint8)
        for i, (r0, r1, c0, c1) in enumerate(self.boxes):
            if diverged[i]:
                text = f"diverged at epoch {int(run.diverged_epoch[i])}"
                if self._flag_text.width(text) > c1 - c0 - 4:
                    text = f"diverged @{int(run.diverged_epoch[i])}"
                mask = self._flag_text.mask(text)
                if mask.shape[1] <= c1 - c0 and mask.shape[0] <= r1 - r0:
                    _stamp(out, mask, (r0 + r1 - mask.shape[0]) // 2, (c0 + c1 - mask.shape[1]) // 2, 0.75)
                continue
            if not self.show_status:
                continue
            own = run.configs[i]["epochs"]
            text = status_line(min(epoch, own), own, *run.status(i, epoch))
            if self._text.width(text) > c1 - c0 - 4:  # tile too narrow for its status line: leave it out
                continue
            mask = self._text.mask(text)
            _stamp(out, mask, r1 - 2 - mask.shape[0], c1 - 2 - mask.shape[1])
        return out

    def frames(self, indices=None) -> Iterator[np.ndarray]:
        """RGB frames, produced one at a time as the writer consumes them."""
        for f in range(len(self.run.frame_epochs)) if indices is None else indices:
            yield self.frame_rgb(f)
