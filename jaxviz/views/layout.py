"""Where everything goes on a tiled picture: tiles, headers, titles, the legend band.

Pure geometry, shared by the matplotlib figure (:mod:`.tiles`) and the pixel compositor
(:mod:`.compositor`), so both place every tile and label at the same spot.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Layout", "plan_layout", "grid_shape", "format_value", "status_line", "even_size"]

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


def even_size(size: tuple[float, float], dpi: int) -> tuple[float, float]:
    """Round a figure size so that it has an even number of pixels each way (H.264 yuv420p)."""
    return tuple(max(2, math.ceil(v * dpi / 2) * 2) / dpi for v in size)
