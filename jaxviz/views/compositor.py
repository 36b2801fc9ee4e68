"""Animation frames as pixel arrays: the static picture drawn by matplotlib once, each frame a
colour lookup of the probability grids plus cached text, in RGB or straight in YUV 4:2:0.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Iterator

import numpy as np

from jaxviz.analysis import flagged, score_metric, status, task_of_run, tile_flag
from jaxviz.views.colours import (DIVERGED_ENTRY, DIVERGED_GREY, LINE_ENTRY, NAN_ENTRY, SURFACE_ALPHA, SURFACE_CMAP,
                                  Palette, box_table, channels, make_palette, multiclass_rgb, subsample, surface_rgb, value_norm,
                                  yuv_bytes)
from jaxviz.views.glyphs import GlyphText, TextInk
from jaxviz.views.layout import score_name, status_lines

#: Multiclass colour-table entries start after the binary ones (256 levels, NaN, diverged, line).
MULTICLASS_BASE = 259
from jaxviz.views.tiles import draw_overlay, layout_of

__all__ = ["FrameCompositor", "Frames"]

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



#: A box row's bytes' offsets into ``box_table``: byte k of each pixel at k * 256.
_BYTE_OFFSETS = np.tile(np.arange(4, dtype=np.uint16) * 256, 4096)
_INK_OFFSETS = np.arange(4, dtype=np.uint32) << 16


def _box(px: np.ndarray, top: int, left: int, h: int, w: int, table: np.ndarray) -> None:
    """Lay a translucent box (``box_table``) over ``px`` (packed pixels) at (top, left), in place."""
    region = px[top:top + h, left:left + w].view(np.uint8)  # (h, 4w): rows stay contiguous
    region[...] = table.take(np.add(region, _BYTE_OFFSETS[:region.shape[1]], dtype=np.uint16))


def _ink(flat: np.ndarray, pixels: np.ndarray, levels: np.ndarray, table: np.ndarray) -> None:
    """Blend text of grey ``levels`` into the packed pixels ``flat[pixels]`` (``Palette.ink``), in place."""
    index = channels(flat[pixels]).astype(np.uint32)
    index <<= 8
    index |= levels[:, None]
    index |= _INK_OFFSETS
    flat[pixels] = table.take(index).view(np.uint32)[:, 0]


def _stamp(px: np.ndarray, mask: np.ndarray, top: int, left: int, box: np.ndarray, ink: np.ndarray) -> None:
    """Lay text (``mask``) on a translucent box into ``px`` (packed pixels) at (top, left)."""
    h, w = mask.shape
    _box(px, top, left, h, w, box)
    rows, cols = np.nonzero(mask)
    flat = px[top:top + h, left:left + w].copy().reshape(-1)
    _ink(flat, rows * w + cols, mask[rows, cols], ink)
    px[top:top + h, left:left + w] = flat.reshape(h, w)


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

    def __init__(self, run, size: tuple[int, int] | None = None, dpi: int = 100, decision_line: bool = False,
                 exact: bool = True):
        from matplotlib import font_manager
        from PIL import ImageFont

        self.run = run
        self.decision_line = decision_line
        self.task, self.classes = task_of_run(run)
        self.score = score_name(score_metric(run))
        self._norm = None
        if self.task == "regression":  # each tile's value limits, as (low, span) for the grids
            low, high = np.array([value_norm(run.data_of(i).y_train) for i in range(len(run.configs))]).T
            self._norm = (low.astype(np.float32)[:, None, None], (high - low).astype(np.float32)[:, None, None])
        self.layout = lay = layout_of(run, None if size is None else (size[0] / dpi, size[1] / dpi), dpi)
        overlay, self.boxes = draw_overlay(run, lay, dpi, exact)  # exact=False: points pasted, for speed
        self.shape = overlay.shape[:2]
        r0, r1, c0, c1 = self.boxes[0]
        res = run.surfaces.shape[2]
        rows = _bilinear_taps(r1 - r0, res)
        self._rows = tuple(a[::-1] for a in rows)  # image row 0 is the top, mesh row 0 the bottom
        self._cols = _bilinear_taps(c1 - c0, res)
        self._next_row = np.minimum(np.arange(res) + 1, res - 1)
        # chroma blocks (2 x 2 pixels) that can change: those touching a tile
        top, bottom, left, right = (f(b[k] for b in self.boxes) for f, k in ((min, 0), (max, 1), (min, 2), (max, 3)))
        self._blocks = (top // 2 * 2, -(-bottom // 2) * 2, left // 2 * 2, -(-right // 2) * 2)
        self._colours = self._overlay_colours(overlay)
        self._rgb = make_palette(lambda c: c, *self._colours)
        self.show_status = lay.status_px > 0
        path = font_manager.findfont("DejaVu Sans")
        self._text = GlyphText(ImageFont.truetype(path, max(6, round(lay.status_px))))  # TiledFigure's size
        self._flag_text = GlyphText(ImageFont.truetype(path, max(7, round(lay.font * 0.9 * dpi / 72))))
        self._ink = TextInk(self._text, self.shape, round(1.2 * lay.status_px))  # lines as matplotlib spaces them
        self._boxes = {}  # box opacity -> (palette id, box table)
        # what status lines read, with the configs built once (a Grid's builds a dict per lookup)
        self._facts = SimpleNamespace(configs=list(run.configs), metrics=getattr(run, "metrics", {}),
                                      initial_val=getattr(run, "initial_val", None))
        self._flags = bool((np.asarray(run.diverged_epoch) > 0).any() or (np.asarray(run.exploded_epoch) > 0).any())
        n, h, w = len(self.boxes), r1 - r0, c1 - c0
        # every frame's arrays, allocated once: fresh ones cost page faults on each frame
        self._px, self._top, self._index = np.empty((n, h, w), np.float32), np.empty((n, h, w), np.float32), \
            np.empty((n, h, w), np.uint16)
        self._tiles = np.empty((n, h, w), np.uint32)

    def _overlay_colours(self, overlay: np.ndarray) -> tuple:
        """``make_palette``'s arguments in RGB. Outside the tiles nothing changes: that part of the
        frame is composed once. Inside them, only the overlay's pixels (points, spines) are laid over
        the surfaces each frame: opaque ones replace it, translucent ones (``self._partial``) blend."""
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
        colours = surface_rgb(256)
        bad = np.asarray(SURFACE_CMAP.get_bad()[:3]) * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
        lut = np.vstack([np.round(np.vstack([colours, bad]) * 255).astype(np.uint8),
                         np.frombuffer(bytes.fromhex(DIVERGED_GREY[1:]), np.uint8), np.zeros(3, np.uint8)])
        if self.task == "multiclass":  # after the special entries: each class's 256 confidence levels
            classes, levels = np.divmod(np.arange(self.classes * 256), 256)
            probs = np.full((len(classes), self.classes), 0.0)
            probs[np.arange(len(classes)), classes] = 1.0  # confidence levels / 255 of the class
            shades = multiclass_rgb(probs, levels=256)
            shades = 1 + (shades - 1) * (levels / 255)[:, None]  # white (a tie) to the class's colour
            lut = np.vstack([lut, np.round(shades * 255).astype(np.uint8)])
        return self.shape, lut, drawn, ink, rgb[self._opaque], rgb[self._partial], alpha

    @functools.cached_property
    def _yuv(self) -> tuple[Palette, np.ndarray]:
        """The YUV palette and the picture with empty tiles as YUV 4:2:0, made when first needed."""
        palette = make_palette(yuv_bytes, *self._colours)
        return palette, np.concatenate([channels(palette.canvas)[..., 0].ravel(), subsample(palette.canvas).ravel()])

    def _resample(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, res, res)`` float32 grids resampled bilinearly to the tiles' pixels as ``imshow``
        does, as two buffers whose sum is the result: ``(step * weight, top)``, each ``(n, h, w)``."""
        (r_lo, _, r_w), (c_lo, c_hi, c_w) = self._rows, self._cols
        # Columns first, so that the row pass gathers whole rows. np.take, not fancy indexing:
        # that hands back axis-permuted arrays, and everything downstream of one runs 2-4x slower.
        left, cols = grid.take(c_lo, axis=2), grid.take(c_hi, axis=2)
        cols -= left
        cols *= c_w
        cols += left
        # pixel = top + (bottom - top) * w: the differences are taken on the grid's rows (the same
        # numbers as on the pixels' rows, fewer of them)
        step = cols.take(self._next_row, axis=1)
        step -= cols
        pixels, top = self._px, self._top
        np.take(step, r_lo, axis=1, out=pixels, mode="clip")  # "clip": "raise" copies out
        pixels *= r_w[:, None]
        np.take(cols, r_lo, axis=1, out=top, mode="clip")
        return pixels, top

    def _nan_pixels(self, nan: np.ndarray) -> np.ndarray:
        """Pixels that interpolate a NaN cell: where any of their four cells is NaN."""
        (r_lo, r_hi, _), (c_lo, c_hi, _) = self._rows, self._cols
        nan = nan[:, :, c_lo] | nan[:, :, c_hi]
        return nan[:, r_lo] | nan[:, r_hi]

    def _levels(self, frame: int) -> np.ndarray:
        """Every tile's colour-table entries, ``(n_models, h, w)``: the class-1 probability (or the
        regression value within its limits) at 256 levels resampled bilinearly as ``imshow`` does,
        or the multiclass entries (``_class_levels``), and the NaN, diverged and line entries."""
        run = self.run
        if self.task == "multiclass":
            index = self._class_levels(frame)
        else:
            levels = run.surfaces[:, frame].astype(np.float32)
            if self._norm is not None:  # regression: the value within each tile's limits
                levels -= self._norm[0]
                levels /= self._norm[1]
            nan = np.isnan(levels)
            # Interpolating levels is interpolating probabilities, and clipping before is clipping
            # after (interpolation never leaves the range), so only the grids are scaled and clipped.
            np.clip(levels, 0, 1, out=levels)
            levels *= 255
            levels += 0.5
            if nan.any():
                levels[nan] = 0.5  # as p = 0; these pixels get the NaN entry below
            pixels, top = self._resample(levels)
            index = self._index
            if self.decision_line:
                pixels += top
                np.copyto(index, pixels, casting="unsafe")
            else:
                np.add(pixels, top, out=index, casting="unsafe")  # every entry fits, cast as it is made
            if nan.any():  # a pixel is NaN where any of its four cells is, as when interpolating NaN
                index[self._nan_pixels(nan)] = NAN_ENTRY
            if self.decision_line and self._norm is None:  # darken pixels where p = 0.5 passes between neighbours
                self._mark_edges(pixels > 128.0, index)
        index[flagged(run.diverged_epoch, run.frame_epochs[frame])] = DIVERGED_ENTRY
        return index

    @staticmethod
    def _mark_edges(region: np.ndarray, index: np.ndarray) -> None:
        """Give the line entry to pixels whose ``region`` differs from their upper or left neighbour's."""
        edge = np.zeros(region.shape, bool)
        edge[:, 1:, :] |= region[:, 1:, :] != region[:, :-1, :]
        edge[:, :, 1:] |= region[:, :, 1:] != region[:, :, :-1]
        index[edge] = LINE_ENTRY

    def _class_levels(self, frame: int) -> np.ndarray:
        """Multiclass entries: each class's probability resampled, the argmax class per pixel and its
        confidence (``colours.confidence``) at 256 levels, entry ``MULTICLASS_BASE + class * 256 + level``;
        the argmax line where the argmax class changes between neighbours."""
        grid = self.run.surfaces[:, frame].astype(np.float32)  # (n, res, res, k)
        nan = np.isnan(grid).any(-1)
        np.nan_to_num(grid, copy=False)
        best, cls = np.full(self._px.shape, -1.0, np.float32), np.zeros(self._px.shape, np.uint16)
        for c in range(grid.shape[-1]):
            pixels, top = self._resample(np.ascontiguousarray(grid[..., c]))
            pixels += top
            better = pixels > best
            np.copyto(best, pixels, where=better)
            cls[better] = c
        k = grid.shape[-1]
        best -= 1 / k
        best *= 255 / (1 - 1 / k)
        np.clip(best, 0, 255, out=best)
        best += 0.5
        index = self._index
        np.copyto(index, best, casting="unsafe")
        index += cls * np.uint16(256) + np.uint16(MULTICLASS_BASE)
        if nan.any():
            index[self._nan_pixels(nan)] = NAN_ENTRY
        if self.decision_line:
            self._mark_edges(cls, index)
        return index

    def _labels(self, frame: int) -> Iterator[tuple[np.ndarray, int, int, float]]:
        """The flags on the tiles at ``frame``, ``(mask, top, left, box alpha)``; the status lines go to
        ``self._ink``, to be laid all at once."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        flags = self._flags
        for i, (r0, r1, c0, c1) in enumerate(self.boxes):
            mark = flags and tile_flag(run, i, epoch)
            if mark:  # a flag mid-tile; an exploded tile keeps its surface and status line
                text = f"{mark[0]} at epoch {mark[1]}"
                if self._flag_text.width(text) > c1 - c0 - 4:
                    text = f"{mark[0]} @{mark[1]}"
                mask = self._flag_text.mask(text)
                if mask.shape[1] <= c1 - c0 and mask.shape[0] <= r1 - r0:
                    yield mask, (r0 + r1 - mask.shape[0]) // 2, (c0 + c1 - mask.shape[1]) // 2, 0.75
                if mark[0] == "diverged":
                    continue
            if self.show_status:
                lines = status_lines(*status(self._facts, i, epoch), lines=self.layout.status_rows, score=self.score)
                widths = [self._text.width(t) for t in lines]
                if max(widths) <= c1 - c0 - 4:  # a tile too narrow goes without
                    self._ink.add(lines, r1 - 2, c1 - 2, widths)

    def label_boxes(self, frame: int) -> list[tuple[int, int, int, int]]:
        """The boxes of the text on the tiles at ``frame`` (flags, then status lines), each
        ``(top, left, height, width)`` in pixels.

        Example:
            >>> import jaxviz
            >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
            >>> len(FrameCompositor(run).label_boxes(0))  # a status line on each tile
            2
        """
        flags = [(top, left, *mask.shape) for mask, top, left, _ in self._labels(frame)]
        return flags + self._ink.collect()[0]

    def _box(self, palette: Palette, alpha: float) -> np.ndarray:
        if (id(palette), alpha) not in self._boxes:
            self._boxes[id(palette), alpha] = box_table(palette.white, alpha)
        return self._boxes[id(palette), alpha]

    def _compose(self, frame: int, palette: Palette) -> np.ndarray:
        """Frame ``frame`` in ``palette``'s colours, a pixel per uint32: ``(height, width)``.

        It is drawn on the palette's canvas, which is handed back: outside the tiles nothing ever
        changes, and every pixel of every tile is drawn anew (surface, overlay, then text), so
        reusing the canvas saves copying a whole frame; callers copy out what they keep.
        """
        tiles = np.take(palette.lut, self._levels(frame), out=self._tiles, mode="clip")  # "raise" copies out
        out = palette.canvas
        for (r0, r1, c0, c1), tile in zip(self.boxes, tiles):
            out[r0:r1, c0:c1] = tile
        flat = out.reshape(-1)
        flat[self._opaque] = palette.opaque
        blend = channels(flat[self._partial]).astype(np.uint16)  # the surface under translucent overlay
        blend *= self._under
        blend += palette.partial
        blend //= 255
        flat[self._partial] = blend.astype(np.uint8).view(np.uint32)[:, 0]
        for mask, top, left, box_alpha in self._labels(frame):
            _stamp(out, mask, top, left, self._box(palette, box_alpha), palette.ink)
        boxes, pixels, levels = self._ink.collect()
        box = self._box(palette, 0.6)
        for top, left, h, w in boxes:
            _box(out, top, left, h, w, box)
        _ink(flat, pixels, levels, palette.ink)
        return out

    def frame_rgb(self, frame: int) -> np.ndarray:
        """Frame ``frame`` (an index into ``run.frame_epochs``) as ``(height, width, 3)`` uint8."""
        px = channels(self._compose(frame, self._rgb))
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
        packed = self._compose(frame, palette)
        px = channels(packed)
        height, width = self.shape
        out = static.copy()  # only the tiles, and chroma blocks touching them, change
        luma = out[: height * width].reshape(height, width)
        for r0, r1, c0, c1 in self.boxes:
            luma[r0:r1, c0:c1] = px[r0:r1, c0:c1, 0]
        r0, r1, c0, c1 = self._blocks
        chroma = out[height * width:].reshape(2, height // 2, width // 2)
        subsample(packed[r0:r1, c0:c1], out=chroma[:, r0 // 2:r1 // 2, c0 // 2:c1 // 2])
        return out
    def frames(self, indices=None) -> Frames:
        """The frames at ``indices`` (default: all), composed one at a time as they are consumed."""
        return Frames(self, range(len(self.run.frame_epochs)) if indices is None else indices)
