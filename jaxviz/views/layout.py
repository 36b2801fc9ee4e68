"""Where everything goes on a tiled picture: tiles, headers, titles, status lines, legend and colour bars.

Pure geometry (text is measured with matplotlib's font machinery, nothing is drawn), shared by the
matplotlib figure (:mod:`.tiles`) and the pixel compositor (:mod:`.compositor`), so both place every
tile and label at the same spot. :func:`plan_layout` tries every arrangement (which axis goes to
rows, how panels wrap, legend at the right or below) and keeps the one with the largest tiles;
labels then shrink, abbreviate to their values (the title names the axes) or thin out, so that
no two texts overlap.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any, NamedTuple

__all__ = ["Layout", "plan_layout", "grid_shape", "format_value", "status_line", "status_lines", "score_name", "even_size",
           "text_width", "title_lines", "MIN_STATUS_PX"]

#: Status lines are this many pixels tall (font size) at least, else left out.
MIN_STATUS_PX = 10.0
MIN_FONT = 5.0  # points: headers below this are abbreviated, then thinned
MARGIN, PANEL_GAP, GAP = 0.1, 0.16, 0.05  # inches; GAP is a share of the tile
TITLE_PT, SUBTITLE_PT, LEGEND_PT = 13.0, 8.0, 8.0
RIGHT_BAND, BOTTOM_BAND = 1.45, 0.75  # inches the legend and colour bars need at the right / below


def format_value(value: Any) -> str:
    """A hyperparameter value as a label shows it.

    Example:
        >>> format_value(0.07), format_value(1e-05), format_value("relu")
        ('0.07', '1e-05', 'relu')
    """
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def status_line(epoch: int, epochs: int, loss: float, acc: float, lr: float, score: str = "acc") -> str:
    """The seed's status line for one tile; ``score`` names the second metric (``mae`` for regression).

    Example:
        >>> status_line(3, 100, 0.5, 0.75, 0.1)
        'epoch 3/100 - loss:0.500 - acc:0.75 - lr:1.00e-01'
    """
    return f"epoch {epoch}/{epochs} - loss:{loss:.3f} - {score}:{acc:.2f} - lr:{lr:.2e}"


def status_lines(epoch: int, epochs: int, loss: float, acc: float, lr: float, lines: int = 1,
                 score: str = "acc") -> list[str]:
    """The status line, whole or split in two where a tile is too narrow for it in one.

    Example:
        >>> status_lines(3, 100, 0.5, 0.75, 0.1, lines=2, score="mae")
        ['epoch 3/100 - lr:1.00e-01', 'loss:0.500 - mae:0.75']
    """
    if lines == 1:
        return [status_line(epoch, epochs, loss, acc, lr, score)]
    return [f"epoch {epoch}/{epochs} - lr:{lr:.2e}", f"loss:{loss:.3f} - {score}:{acc:.2f}"]


def score_name(metric: str) -> str:
    """A status line's short name for a History metric.

    Example:
        >>> score_name("val_accuracy"), score_name("val_mae")
        ('acc', 'mae')
    """
    return {"val_accuracy": "acc", "accuracy": "acc"}.get(metric, metric.removeprefix("val_"))


@functools.lru_cache(maxsize=4096)
def text_width(text: str, points: float, bold: bool = False) -> float:
    """Width in inches of ``text`` in DejaVu Sans at ``points`` (as matplotlib lays it out, unhinted).

    Example:
        >>> round(text_width("lr = 0.1", 10.0), 2)
        0.52
    """
    from matplotlib import font_manager
    from matplotlib.ft2font import LoadFlags

    prop = font_manager.FontProperties(family="DejaVu Sans", weight="bold" if bold else "normal")
    font = font_manager.get_font(font_manager.findfont(prop))
    font.set_size(points, 72)
    font.set_text(text, 0, flags=LoadFlags.NO_HINTING)
    return font.get_width_height()[0] / 64 / 72


def _line(points: float) -> float:
    """A text line's height in inches (matplotlib's bounding box: ~1.17 em)."""
    return points * 1.2 / 72


def title_lines(axes: dict[str, list], fixed: dict[str, Any] | None = None) -> tuple[str, str]:
    """The title (naming the varied axes and where they go) and the line of fixed settings that
    differ from the seed's defaults (empty when none do).

    Example:
        >>> title_lines({"lr": [0.1, 0.5], "momentum": [0.0, 0.9]}, {"epochs": 100, "n1": 4})
        ('Neural network prediction maps: lr x momentum', 'n1=4')
    """
    from jaxviz.spec.config import HP_DEFAULTS

    title = "Neural network prediction maps"
    if axes:
        title += ": " + " x ".join(axes)
    # a run's configs hold the resolved task: "auto" on the seed's data is binary
    defaults = {**HP_DEFAULTS, "task": "binary"}
    changed = {k: v for k, v in (fixed or {}).items() if k in defaults and v != defaults[k]}
    return title, ", ".join(f"{k}={format_value(v)}" for k, v in changed.items())


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
    band: float  # left edge of the legend / colour-bar band (1 when they sit below the tiles)
    font: float  # tile-title and flag font size, points
    header_font: float = 9.0  # row / column / panel header font size, points
    legend: str = "right"  # "right" or "bottom": where the legend and colour bars go
    block: tuple = (0.0, 0.0, 1.0, 1.0)  # the tiles' and headers' extent (left, bottom, right, top)
    status_px: float = 0.0  # status line font size in pixels at ``dpi`` (0: no status lines)
    status_rows: int = 1  # the status line in one line or two
    title: tuple = ("", "")  # title and subtitle (see title_lines)
    title_top: float = 1.0  # the title's top edge, figure fraction
    dpi: float = 100.0


class _Arrangement(NamedTuple):
    tile: float
    rows: int
    cols: int
    pr: int
    pc: int
    legend: str
    swap: bool


def _panels(axes: dict[str, list]) -> list[dict]:
    names = list(axes)[:-2] if len(axes) >= 3 else []
    return [dict(zip(names, combo)) for combo in itertools.product(*(axes[k] for k in names))]


def _header_pt(tile: float) -> float:
    return min(11.0, max(MIN_FONT, tile * 4.0))


def _best(axes, n_tiles, width, height, title_h, strict: bool = True) -> _Arrangement:
    """The arrangement with the largest tile: orientation, table wrap, panel wrap and legend place."""
    names, n_panels = list(axes), max(1, len(_panels(axes)))
    best = _Arrangement(0.0, 1, 1, 1, 1, "right", False)
    shapes = []
    if len(names) >= 2:
        a, b = len(axes[names[-2]]), len(axes[names[-1]])
        shapes = [(a, b, False), (b, a, True)]
    else:  # one wrapped table
        shapes = [(math.ceil(n_tiles / c), c, False) for c in range(1, n_tiles + 1)]
    for (rows, cols, swap), pc, legend in itertools.product(shapes, range(1, n_panels + 1), ("right", "bottom")):
        pr = math.ceil(n_panels / pc)
        tile = 1.0
        for _ in range(3):  # header sizes follow the tile: settle them in a few rounds
            pt = _header_pt(tile)
            head = _line(pt) + 0.04 if len(names) >= 2 else 0.0
            tt = _line(pt) + 0.04 if len(names) == 1 else 0.0
            ph = _line(pt) + 0.06 if len(names) >= 3 else 0.0
            fixed_w = 2 * MARGIN + pc * head + (pc - 1) * PANEL_GAP + (RIGHT_BAND if legend == "right" else 0.0)
            fixed_h = MARGIN + title_h + pr * (head + ph + rows * tt) + (pr - 1) * PANEL_GAP \
                + (BOTTOM_BAND if legend == "bottom" else 0.0)
            tw = (width - fixed_w) / (pc * (cols + (cols - 1) * GAP))
            th = (height - fixed_h) / (pr * (rows + (rows - 1) * GAP))
            if strict and legend == "bottom" and width < 7.5:  # a horizontal legend and two bars need ~7.5 inches
                tw = 0.0
            if strict and legend == "right" and height - title_h < 2.4:
                th = 0.0
            tile = max(min(tw, th), 1e-3)
        if tile > best.tile + 1e-9:
            best = _Arrangement(tile, rows, cols, pr, pc, legend, swap)
    return best


def _fit_labels(labels: list[str], values: list[str], room: float, pt: float) -> tuple[list[str], float]:
    """Header texts that fit in ``room`` inches each: whole, then smaller, then values only, then
    every k-th value only (unhinted text widths scale with the font size: each is measured once)."""
    for texts in (labels, values):
        widest = max(text_width(t, 10.0, True) for t in texts) / 10.0  # inches per point
        size = min(pt, math.floor(room / max(widest, 1e-9) * 2) / 2)
        if size >= MIN_FONT:
            return texts, size
    width = max(text_width(t, MIN_FONT, True) for t in values)
    k = max(1, math.ceil(width / max(room, 1e-3)))
    return [v if j % k == 0 else "" for j, v in enumerate(values)], MIN_FONT


def _status_fit(tile_px: float, epochs: int) -> tuple[float, int]:
    """The status lines' font size in pixels and their count (one line or two) for a tile ``tile_px``
    pixels wide: about 4.5% of the tile, at least ``MIN_STATUS_PX``; ``(0, 1)``: none fit."""
    target = min(16.0, max(MIN_STATUS_PX, tile_px * 0.045))
    for rows in (1, 2):
        sample = status_lines(epochs, epochs, 10.0, 0.0, 1e-3, rows)
        ems = max(text_width(t, 72.0) for t in sample)  # at 72 points an em is an inch: width in ems
        px = min((tile_px - 8) / (ems * 1.04), tile_px * 0.3 / (1.25 * rows))
        if px >= target or (rows == 2 and px >= MIN_STATUS_PX):
            return math.floor(min(px, target) * 2) / 2, rows
    return 0.0, 1


def plan_layout(axes: dict[str, list], n_tiles: int, size: tuple[float, float] | None = None, *,
                fixed: dict[str, Any] | None = None, epochs: int = 100, dpi: float = 100) -> Layout:
    """Place every tile of a grid on a figure of ``size`` inches (default 12.8 x 7.2, i.e.
    1280 x 720 at 100 dpi; larger for very large grids, so that tiles keep ~0.45 inch).

    Every arrangement is tried (which of the last two axes goes to rows, how panels of the others
    wrap, legend and colour bars at the right or below) and the one with the largest tiles kept;
    ``fixed`` (settings shared by every model) and ``epochs`` size the subtitle and status lines.

    Example:
        >>> lay = plan_layout({"lr": [0.1, 0.5, 1.0], "momentum": [0.0, 0.9]}, 6)
        >>> len(lay.boxes), sorted(h[0] for h in lay.headers)
        (6, ['lr = 0.1', 'lr = 0.5', 'lr = 1', 'momentum = 0', 'momentum = 0.9'])
    """
    title, subtitle = title_lines(axes, fixed)
    width, height = size or (12.8, 7.2)

    def title_height(w):
        lines = math.ceil(text_width(subtitle, SUBTITLE_PT) / max(w - 2 * MARGIN, 1.0)) if subtitle else 0
        return 0.08 + _line(TITLE_PT) + lines * _line(SUBTITLE_PT) + 0.06

    arr = _best(axes, n_tiles, width, height, title_height(width))
    if size is None and arr.tile < 0.45:
        scale = 0.45 / max(arr.tile, 1e-3) * 1.02
        width, height = 12.8 * scale, 7.2 * scale
        arr = _best(axes, n_tiles, width, height, title_height(width))
    if arr.tile < 0.05:  # a small canvas: the legend squeezes rather than the tiles vanish
        arr = _best(axes, n_tiles, width, height, title_height(width), strict=False)
    if arr.tile < 0.05:
        raise ValueError(f"size must leave room for {n_tiles} tiles. Got {size!r} inches instead.")
    return _place(axes, n_tiles, (width, height), arr, (title, subtitle), title_height(width), epochs, dpi)


def _place(axes, n_tiles, size, arr: _Arrangement, titles, title_h, epochs, dpi) -> Layout:
    """Every box and label of an arrangement, in figure fractions (a long one: one pass places all)."""
    names, panels = list(axes), _panels(axes)
    width, height = size
    tile = min(arr.tile, 5.0)
    gap, pt = GAP * tile, _header_pt(tile)
    table = len(names) >= 2
    head = _line(pt) + 0.04 if table else 0.0
    tt = _line(pt) + 0.04 if len(names) == 1 else 0.0
    ph = _line(pt) + 0.06 if len(names) >= 3 else 0.0
    rows, cols = arr.rows, arr.cols
    panel_w = head + cols * tile + (cols - 1) * gap
    panel_h = ph + head + rows * (tile + tt) + (rows - 1) * gap
    block_w = arr.pc * panel_w + (arr.pc - 1) * PANEL_GAP
    block_h = arr.pr * panel_h + (arr.pr - 1) * PANEL_GAP
    right = RIGHT_BAND if arr.legend == "right" else 0.0
    bottom = BOTTOM_BAND if arr.legend == "bottom" else 0.0
    x0 = MARGIN + max(0.0, width - 2 * MARGIN - right - block_w) / 2  # tiles and legend centred together
    room_h = height - title_h - MARGIN - bottom
    top = height - title_h - max(0.0, room_h - block_h) / 2
    row_axis, col_axis = (names[-1], names[-2]) if arr.swap else (names[-2], names[-1]) if table else (None, None)
    boxes: list = [None] * n_tiles
    spots = []  # (kind, value text, label text, x, y)
    for p, panel in enumerate(panels or [{}]):
        px = x0 + (p % arr.pc) * (panel_w + PANEL_GAP)
        py = top - (p // arr.pc) * (panel_h + PANEL_GAP)
        if panel:
            spots.append(("panel", ", ".join(format_value(v) for v in panel.values()),
                          ", ".join(f"{k} = {format_value(v)}" for k, v in panel.items()),
                          px + head + (panel_w - head) / 2, py))
        grid_top = py - ph - head
        for r in range(rows):
            for c in range(cols):
                i = p * rows * cols + (c * rows + r if arr.swap else r * cols + c)
                if i < n_tiles:
                    b = grid_top - r * (tile + tt + gap) - tt - tile
                    boxes[i] = (px + head + c * (tile + gap), b, tile, tile)
        if table:
            for r, v in enumerate(axes[row_axis]):
                spots.append(("row", format_value(v), f"{row_axis} = {format_value(v)}",
                              px + head / 2, grid_top - r * (tile + gap) - tile / 2))
            for c, v in enumerate(axes[col_axis]):
                spots.append(("col", format_value(v), f"{col_axis} = {format_value(v)}",
                              px + head + c * (tile + gap) + tile / 2, grid_top + 0.02))
    headers, sizes, short = [], {}, []
    room = {"row": tile + gap * 0.5, "col": tile + gap * 0.5, "panel": panel_w - head}
    for kind in ("panel", "row", "col"):
        mine = [s for s in spots if s[0] == kind]
        if not mine:
            continue
        texts, sizes[kind] = _fit_labels([s[2] for s in mine], [s[1] for s in mine], room[kind] - 0.04, pt)
        if texts != [s[2] for s in mine]:  # abbreviated to values: the title says which axis is where
            where = {"panel": ", ".join(names[:-2]), "row": row_axis, "col": col_axis}[kind]
            short.append(f"{ {'panel': 'panels', 'row': 'rows', 'col': 'columns'}[kind]}: {where}")
        for (k, _, _, x, y), text in zip(mine, texts):
            if text:
                rot, ha, va = (90, "center", "center") if k == "row" else (0, "center", "bottom" if k == "col" else "top")
                headers.append((text, x / width, y / height, rot, ha, va))
    tile_titles = [""] * n_tiles
    font = pt
    if len(names) == 1:
        (name, values), = axes.items()
        tile_titles, font = _fit_labels([f"{name} = {format_value(v)}" for v in values],
                                        [format_value(v) for v in values], tile + gap * 0.5, pt)
    status_px, status_rows = _status_fit(tile * dpi, epochs)
    fx = lambda b: (b[0] / width, b[1] / height, b[2] / width, b[3] / height)  # noqa: E731
    block = (x0 / width, (top - block_h) / height, (x0 + block_w) / width, top / height)
    return Layout(
        size=(width, height), tile=tile, boxes=[fx(b) for b in boxes], tile_titles=tile_titles, headers=headers,
        band=(x0 + block_w + 0.15) / width if right else 1.0, font=font,
        header_font=min(sizes.values()) if sizes else pt, legend=arr.legend, block=block,
        status_px=status_px, status_rows=status_rows, title=(titles[0] + (f" ({'; '.join(short)})" if short else ""),
                                                             titles[1]), title_top=1 - 0.08 / height, dpi=dpi,
    )


def even_size(size: tuple[float, float], dpi: int) -> tuple[float, float]:
    """Round a figure size so that it has an even number of pixels each way (H.264 yuv420p)."""
    return tuple(max(2, math.ceil(v * dpi / 2) * 2) / dpi for v in size)
