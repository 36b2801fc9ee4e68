"""Tiled pictures of a grid: one tile per model, laid out by the varied hyperparameters.

Each tile is the seed's plot: the class-1 probability map in RdBu (fixed 0..1 scale), training
points as circles and test points as squares coloured by class with black edges, and the status
line ``epoch i/N - loss - acc - lr`` (test loss and accuracy, learning rate in force).
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap, Normalize
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib import colormaps

__all__ = ["TiledFigure", "FrameCompositor", "grid_shape", "format_value", "status_line"]

CLASS_COLOURS = ListedColormap(["#FF0000", "#0000FF"])  # the seed's cm_bright: class 0 red, 1 blue
#: RdBu for the class-1 probability; NaN (a diverged model) shows as flat grey.
SURFACE_CMAP = colormaps["RdBu"].with_extremes(bad="#c8c8c8")
#: The seed draws its map with alpha 0.8 over a white background.
SURFACE_ALPHA = 0.8


def format_value(value: Any) -> str:
    """A hyperparameter value as a tile label shows it.

    Example:
        >>> format_value(0.07), format_value(1e-05), format_value("relu")
        ('0.07', '1e-05', 'relu')
    """
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def grid_shape(axes: dict[str, list], n_tiles: int, aspect: float = 16 / 9) -> tuple[int, int]:
    """Rows and columns of tiles: a table for two axes, otherwise a row wrapped to ~16:9.

    Example:
        >>> grid_shape({"lr": [1, 2, 3], "momentum": [0, 1]}, 6)
        (3, 2)
        >>> grid_shape({"lr": [1, 2, 3]}, 3)
        (1, 3)
    """
    if len(axes) == 2:
        a, b = (len(v) for v in axes.values())
        return a, b
    if n_tiles <= 5:
        return 1, n_tiles
    cols = min(n_tiles, math.ceil(math.sqrt(n_tiles * aspect)))
    return math.ceil(n_tiles / cols), cols


def status_line(epoch: int, epochs: int, loss: float, acc: float, lr: float) -> str:
    """The seed's status line for one tile.

    Example:
        >>> status_line(3, 100, 0.5, 0.75, 0.1)
        'epoch 3/100 - loss:0.500 - acc:0.75 - lr:1.00e-01'
    """
    return f"epoch {epoch}/{epochs} - loss:{loss:.3f} - acc:{acc:.2f} - lr:{lr:.2e}"


class TiledFigure:
    """A matplotlib figure with one tile per model, updated in place frame by frame.

    The static layers (points, labels, legend, colour bar) are drawn once; each frame only swaps
    the surface images and status lines, so rendering an animation costs one draw per frame.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> tf = TiledFigure(run)
        >>> tf.frame_rgb(0).shape[2]
        3
    """

    def __init__(self, run, dpi: int = 100, tile_inches: float | None = None):
        self.run = run
        n = len(run.configs)
        rows, cols = grid_shape(run.axes, n)
        tile = tile_inches or float(np.clip(9.0 / max(rows, cols * 9 / 16), 1.2, 3.2))
        self.small = tile < 2.0
        width = cols * tile + 1.6
        height = rows * tile + 1.0
        # even pixel sizes so that H.264 in yuv420p accepts the frames as they are
        width = math.ceil(width * dpi / 2) * 2 / dpi
        height = math.ceil(height * dpi / 2) * 2 / dpi
        self.fig = Figure(figsize=(width, height), dpi=dpi)
        FigureCanvasAgg(self.fig)
        left, right, bottom, top = 0.35 / width, 1 - 1.25 / width, 0.25 / height, 1 - 0.75 / height
        gs = self.fig.add_gridspec(
            rows, cols, left=left, right=right, bottom=bottom, top=top, wspace=0.06, hspace=0.22
        )
        self.images, self.texts, self.axes = [], [], []
        axis_names = list(run.axes)
        for i, config in enumerate(run.configs):
            ds = run.data_of(i)
            ax = self.fig.add_subplot(gs[i // cols, i % cols])
            img = ax.imshow(
                run.surfaces[i, 0].astype(np.float32), cmap=SURFACE_CMAP, norm=Normalize(0, 1),
                origin="lower", extent=ds.extent, alpha=SURFACE_ALPHA, interpolation="bilinear",
                aspect="auto",
            )
            size = 10 if self.small else 22
            ax.scatter(ds.x_train[:, 0], ds.x_train[:, 1], c=ds.y_train, cmap=CLASS_COLOURS,
                       vmin=0, vmax=1, edgecolors="k", s=size, linewidths=0.5, zorder=2.5)
            ax.scatter(ds.x_test[:, 0], ds.x_test[:, 1], c=ds.y_test, cmap=CLASS_COLOURS, vmin=0,
                       vmax=1, alpha=0.6, edgecolors="k", marker="s", s=size, linewidths=0.5, zorder=2.5)
            ax.set_xlim(ds.extent[:2])
            ax.set_ylim(ds.extent[2:])
            ax.set_xticks(())
            ax.set_yticks(())
            label = ", ".join(f"{k}={format_value(config[k])}" for k in axis_names)
            ax.set_title(label, fontsize=7 if self.small else 9, pad=2)
            self.status_size = 5 if self.small else 7
            text = ax.text(0.98, 0.02, "", transform=ax.transAxes, ha="right", va="bottom",
                           fontsize=self.status_size,
                           bbox=dict(facecolor="white", alpha=0.6, pad=1, linewidth=0))
            self.axes.append(ax)
            self.images.append(img)
            self.texts.append(text)
        self._decorate(width, height)

    def _decorate(self, width: float, height: float) -> None:
        run = self.run
        fixed = {k: v for k, v in run.configs[0].items() if k not in run.axes}
        shown = ", ".join(f"{k}={format_value(v)}" for k, v in fixed.items())
        self.fig.suptitle("Neural network prediction maps", fontsize=12, y=1 - 0.12 / height, va="top")
        self.fig.text(0.5, 1 - 0.42 / height, shown, ha="center", va="top", fontsize=7, wrap=True)
        handles = [
            Line2D([0], [0], marker=m, color="w", markeredgecolor="k", markerfacecolor=c, label=l)
            for m, c, l in [("o", "#0000FF", "class 1 train"), ("s", "#0000FF", "class 1 test"),
                            ("o", "#FF0000", "class 0 train"), ("s", "#FF0000", "class 0 test")]
        ]
        self.fig.legend(handles=handles, loc="upper right", fontsize=7, frameon=False,
                        bbox_to_anchor=(1 - 0.05 / width, 1 - 0.7 / height))
        cax = self.fig.add_axes([1 - 0.75 / width, 0.12, 0.18 / width, 0.45])
        bar = self.fig.colorbar(self.images[0], cax=cax)
        bar.set_label("P(class 1)", fontsize=8)
        bar.ax.tick_params(labelsize=7)

    def update(self, frame: int) -> None:
        """Show frame ``frame`` (an index into ``run.frame_epochs``) in every tile."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        for i, (img, text) in enumerate(zip(self.images, self.texts)):
            img.set_data(run.surfaces[i, frame].astype(np.float32))
            own = run.configs[i]["epochs"]
            text.set_text(status_line(min(epoch, own), own, *run.status(i, epoch)))

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


class FrameCompositor:
    """Animation frames as pixel arrays: everything static is drawn by matplotlib once.

    The tiled figure is drawn once with transparent tile backgrounds and no surfaces (the
    overlay: points, labels, legend, colour bar). Each frame then resamples every probability
    grid to its tile's pixels, looks its colours up in a 256-entry RdBu table (alpha 0.8 over
    white, as the seed draws), lays the overlay on top and prints the status lines with Pillow.
    Only one RGB frame exists at a time.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> comp = FrameCompositor(run)
        >>> frame = comp.frame_rgb(0)
        >>> frame.dtype, frame.shape[2], frame.shape[0] % 2, frame.shape[1] % 2
        (dtype('uint8'), 3, 0, 0)
    """

    def __init__(self, run, dpi: int = 100):
        from matplotlib import font_manager
        from PIL import ImageFont

        self.run = run
        tiles = TiledFigure(run, dpi=dpi)
        for artist in tiles.images + tiles.texts:
            artist.set_visible(False)
        tiles.fig.patch.set_alpha(0.0)
        for ax in tiles.axes:
            ax.patch.set_alpha(0.0)
        tiles.fig.canvas.draw()
        overlay = np.asarray(tiles.fig.canvas.buffer_rgba()).copy()
        height = overlay.shape[0]
        self.shape = overlay.shape[:2]
        alpha = overlay[..., 3].reshape(-1)
        self._opaque = np.flatnonzero(alpha == 255)
        self._partial = np.flatnonzero((alpha > 0) & (alpha < 255))
        rgb = overlay[..., :3].reshape(-1, 3)
        self._opaque_rgb = rgb[self._opaque]
        self._partial_rgb = rgb[self._partial].astype(np.float32)
        self._partial_a = (alpha[self._partial].astype(np.float32) / 255.0)[:, None]
        self.boxes = []
        for ax in tiles.axes:
            x0, y0, x1, y1 = np.round(ax.get_window_extent().extents).astype(int)
            self.boxes.append((height - y1, height - y0, x0, x1))
        res = run.surfaces.shape[-1]
        h = min(b[1] - b[0] for b in self.boxes)
        w = min(b[3] - b[2] for b in self.boxes)
        self.boxes = [(r0, r0 + h, c0, c0 + w) for r0, _, c0, _ in self.boxes]
        self._rows = _bilinear_taps(h, res)
        self._cols = _bilinear_taps(w, res)
        self._rows = tuple(a[::-1] for a in self._rows)  # image row 0 is the top, mesh row 0 the bottom
        colours = SURFACE_CMAP(np.linspace(0, 1, 256))[:, :3] * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        bad = np.asarray(SURFACE_CMAP.get_bad()[:3]) * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        self._lut = np.round(np.vstack([colours, bad]) * 255).astype(np.uint8)  # entry 256: NaN
        font_px = max(6, round(tiles.status_size * dpi / 72))
        self._font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), font_px)
        tiles.fig.clear()

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
        from PIL import Image, ImageDraw

        probs = self._surface_pixels(frame)
        index = np.where(np.isnan(probs), 256, np.clip(probs * 255 + 0.5, 0, 255)).astype(np.intp)
        colours = self._lut[index]
        out = np.full((*self.shape, 3), 255, np.uint8)
        for (r0, r1, c0, c1), tile in zip(self.boxes, colours):
            out[r0:r1, c0:c1] = tile
        flat = out.reshape(-1, 3)
        flat[self._opaque] = self._opaque_rgb
        under = flat[self._partial].astype(np.float32)
        flat[self._partial] = (self._partial_rgb * self._partial_a + under * (1 - self._partial_a) + 0.5).astype(np.uint8)
        image = Image.fromarray(out)
        draw = ImageDraw.Draw(image, "RGBA")
        run, epoch = self.run, int(self.run.frame_epochs[frame])
        for i, (r0, r1, c0, c1) in enumerate(self.boxes):
            own = run.configs[i]["epochs"]
            text = status_line(min(epoch, own), own, *run.status(i, epoch))
            x0, y0, x1, y1 = draw.textbbox((0, 0), text, font=self._font)
            if x1 - x0 > c1 - c0 - 4:  # tile too small for its status line: drop it
                continue
            x, y = c1 - 3 - (x1 - x0), r1 - 3 - (y1 - y0)
            draw.rectangle((x - 1, y - 1 + y0, x + x1 - x0 + 1, y + y1 + 1), fill=(255, 255, 255, 150))
            draw.text((x - x0, y), text, font=self._font, fill=(0, 0, 0, 255))
        return np.asarray(image)

    def frames(self, indices=None) -> Iterator[np.ndarray]:
        """RGB frames, produced one at a time as the writer consumes them."""
        for f in range(len(self.run.frame_epochs)) if indices is None else indices:
            yield self.frame_rgb(f)
