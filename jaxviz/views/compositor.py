"""Animation frames as pixel arrays: the static picture drawn by matplotlib once, each frame a
colour lookup of the probability grids plus cached text, in RGB or straight in YUV 4:2:0.
"""

from __future__ import annotations

import functools
from types import SimpleNamespace
from typing import Iterator

import numpy as np

from jaxviz.analysis import flagged, score_metric, task_of_run, tile_flag
from jaxviz.views.colours import (DIVERGED_GREY, SURFACE_ALPHA, SURFACE_CMAP, Palette, blend_under, box, box_ink, channels,
                                  ink, make_palette, multiclass_rgb, subsample, surface_rgb, value_norm, yuv_bytes)
from jaxviz.views.glyphs import GlyphText, TextInk
from jaxviz.views.layout import score_name, status_lines
from jaxviz.views.levels import TileLevels, bilinear_taps
from jaxviz.views.tiles import draw_overlay, layout_of

#: The status lines' box: white at this opacity, as ``TiledFigure`` draws it.
STATUS_BOX = 0.6

__all__ = ["FrameCompositor", "Frames"]

def _overlap(a: tuple, b: tuple) -> bool:
    """Whether boxes ``(top, left, height, width)`` ``a`` and ``b`` share a pixel."""
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _tile_views(area: np.ndarray, corners: list, shape: tuple[int, int]) -> list[np.ndarray]:
    """Writeable views of ``area``'s ``shape`` blocks at ``corners`` (the tiles): one
    ``(rows, cols, h, w)`` view where the tiles are an evenly spaced grid in row-major order (one
    copy places them all), else one view per tile."""
    h, w = shape
    tops, lefts = sorted({int(t) for t, _ in corners}), sorted({int(c) for _, c in corners})
    steps = [set(np.diff(v).tolist()) for v in (tops, lefts)]
    if [(int(t), int(c)) for t, c in corners] == [(t, c) for t in tops for c in lefts] and all(len(d) <= 1 for d in steps):
        (down,), (across,) = (d or {0} for d in steps)
        rows, cols = area.strides
        return [np.lib.stride_tricks.as_strided(area[tops[0]:, lefts[0]:], (len(tops), len(lefts), h, w),
                                                (down * rows, across * cols, rows, cols))]
    return [area[t:t + h, c:c + w] for t, c in corners]


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


class FrameCompositor(TileLevels):
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
        overlay, boxes = draw_overlay(run, lay, dpi, exact)  # exact=False: points pasted, for speed
        self.boxes = [tuple(map(int, b)) for b in boxes]  # plain ints: text layouts are cached by them
        self.shape = overlay.shape[:2]
        r0, r1, c0, c1 = self.boxes[0]
        res = run.surfaces.shape[2]
        rows = bilinear_taps(r1 - r0, res)
        self._rows = tuple(a[::-1] for a in rows)  # image row 0 is the top, mesh row 0 the bottom
        self._cols = bilinear_taps(c1 - c0, res)
        # chroma blocks (2 x 2 pixels) that can change: those touching a tile
        top, bottom, left, right = (f(b[k] for b in self.boxes) for f, k in ((min, 0), (max, 1), (min, 2), (max, 3)))
        self._blocks = (top // 2 * 2, -(-bottom // 2) * 2, left // 2 * 2, -(-right // 2) * 2)
        self._colours = self._overlay_colours(overlay)
        self._rgb = make_palette(lambda c: c, *self._colours)
        self.show_status = lay.status_px > 0
        path = font_manager.findfont("DejaVu Sans")
        self._text = GlyphText(ImageFont.truetype(path, max(6, round(lay.status_px))))  # TiledFigure's size
        self._flag_text = GlyphText(ImageFont.truetype(path, max(7, round(lay.font * 0.9 * dpi / 72))))
        # what status lines read, with the configs built once (a Grid's builds a dict per lookup)
        self._facts = SimpleNamespace(configs=list(run.configs), metrics=getattr(run, "metrics", {}),
                                      initial_val=getattr(run, "initial_val", None))
        self._flags = bool((np.asarray(run.diverged_epoch) > 0).any() or (np.asarray(run.exploded_epoch) > 0).any())
        n, h, w = len(self.boxes), r1 - r0, c1 - c0
        # every frame's arrays, allocated once: fresh ones cost page faults on each frame
        self._px, self._top, self._index = np.empty((n, h, w), np.float32), np.empty((n, h, w), np.float32), \
            np.empty((n, h, w), np.uint16)
        self._region_arrays()
        self._ink = TextInk(self._text, self._area.shape, round(1.2 * lay.status_px))  # lines as matplotlib spaces them
        self._parts = {}  # id(palette) -> (its colour tables, its colours of the still pixels, the palette)
        self._under_boxes = {}  # status boxes -> the overlay's pixels under them
        self._in_tiles = {}  # status boxes -> their place within each tile, where it is one place

    def _region_arrays(self) -> None:
        """Frames are composed over the area of the chroma blocks touching a tile (``_blocks``), a
        contiguous array: its colour lookup writes the frame's pixels in place, with no copy per tile.
        The pixels between tiles (a few colours) have colour-table entries of their own after the
        surfaces' (set once); the opaque overlay's pixels (``_still``) are put back after the lookup."""
        top, bottom, left, right = self._blocks
        height, width = bottom - top, right - left
        self._area = np.empty((height, width), np.uint32)
        self._area_index = np.zeros((height, width), np.uint16)
        self._slots = _tile_views(self._area_index, [(r0 - top, c0 - left) for r0, _, c0, _ in self.boxes],
                                  self._index.shape[1:])
        self._target = self._slots[0] if len(self._slots) == 1 else None  # a grid: entries written in place
        self._chroma = tuple(np.empty((height // 2, width // 2), np.uint64) for _ in range(2))
        inside = np.zeros((height, width), bool)
        for r0, r1, c0, c1 in self.boxes:
            inside[r0 - top:r1 - top, c0 - left:c1 - left] = True

        def to_frame(flat):  # the area's pixels (flat) as flat indices into the frame
            rows, cols = np.divmod(flat, width)
            return (rows + top) * self.shape[1] + cols + left

        gaps = np.flatnonzero(~inside.reshape(-1))
        colours, first, rank = np.unique(self._rgb.canvas.reshape(-1)[to_frame(gaps)], return_index=True,
                                         return_inverse=True)
        entries = len(self._colours[1])
        listed = rank < (1 << 16) - entries  # any colours past the entries' range are put back instead
        self._area_index.reshape(-1)[gaps[listed]] = entries + rank[listed]
        self._gap_colours = to_frame(gaps[first[:(1 << 16) - entries]])  # a pixel of each colour
        rows, cols = np.divmod(self._opaque, self.shape[1])
        self._still = np.concatenate([gaps[~listed], (rows - top) * width + cols - left])
        self._still_frame = to_frame(self._still)
        rows, cols = np.divmod(self._partial, self.shape[1])
        self._partial_area = (rows - top) * width + cols - left
        self._under32 = self._under[:, 0].astype(np.uint32)

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

    def _labels(self, frame: int) -> Iterator[tuple[np.ndarray, int, int, float]]:
        """The flags on the tiles at ``frame``, ``(mask, top, left, box alpha)``; the status lines go to
        ``self._ink`` (in the area's coordinates), to be laid all at once."""
        run = self.run
        epoch = int(run.frame_epochs[frame])
        marks = self._marks(epoch)
        top, left = self._blocks[0], self._blocks[2]
        statuses = self._statuses(epoch) if self.show_status else None
        for i, (r0, r1, c0, c1) in enumerate(self.boxes):
            mark = marks.get(i)
            if mark:  # a flag mid-tile; an exploded tile keeps its surface and status line
                text = f"{mark[0]} at epoch {mark[1]}"
                if self._flag_text.width(text) > c1 - c0 - 4:
                    text = f"{mark[0]} @{mark[1]}"
                mask = self._flag_text.mask(text)
                if mask.shape[1] <= c1 - c0 and mask.shape[0] <= r1 - r0:
                    yield mask, (r0 + r1 - mask.shape[0]) // 2, (c0 + c1 - mask.shape[1]) // 2, 0.75
                if mark[0] == "diverged":
                    continue
            if statuses is not None:
                lines = status_lines(*statuses[i], lines=self.layout.status_rows, score=self.score)
                self._ink.add(lines, r1 - 2 - top, c1 - 2 - left, room=c1 - c0 - 4)  # a tile too narrow goes without

    def _marks(self, epoch: int) -> dict[int, tuple[str, int]]:
        """``tile_flag`` of the tiles flagged at ``epoch``, by tile."""
        if not self._flags:
            return {}
        run = self.run
        shown = flagged(run.diverged_epoch, epoch) | flagged(run.exploded_epoch, epoch)
        return {i: tile_flag(run, i, epoch) for i in np.flatnonzero(shown).tolist()}

    def _statuses(self, epoch: int) -> list[tuple]:
        """``analysis.status`` of every tile at ``epoch``, read from the metrics all at once."""
        facts = self._facts
        own = np.array([int(c["epochs"]) for c in facts.configs])
        if epoch == 0:
            lr = [float(c["lr"]) for c in facts.configs]
            values = [np.asarray(v).reshape(-1)[:len(own)].tolist() for v in facts.initial_val[:2]]
            return list(zip([0] * len(own), own.tolist(), *values, lr))
        e, rows, m = np.minimum(epoch, own) - 1, np.arange(len(own)), facts.metrics
        values = [np.asarray(m[k])[rows, e].tolist() for k in ("val_loss", score_metric(facts), "learning_rate")]
        return list(zip((e + 1).tolist(), own.tolist(), *values))

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
        top, left = self._blocks[0], self._blocks[2]
        return flags + [(t + top, c + left, h, w) for t, c, h, w in self._ink.collect()[0]]

    def _palette_parts(self, palette: Palette) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The palette's colour table with the colours between the tiles after the surfaces' and then
        all of them again under a status box, and its colours of the pixels put back after the colour
        lookup (``_still``)."""
        if id(palette) not in self._parts:
            canvas = palette.canvas.reshape(-1)
            lut = np.concatenate([palette.lut, canvas[self._gap_colours]])
            boxed = box(lut, STATUS_BOX, palette.white)
            self._parts[id(palette)] = (lut, np.concatenate([lut, boxed]), canvas[self._still_frame], palette)
        return self._parts[id(palette)][:3]

    def _boxed(self, boxes: tuple) -> tuple[np.ndarray, np.ndarray]:
        """The overlay's pixels (opaque and translucent) under the status boxes ``boxes``, flat in the
        area, and which of the translucent ones (``_partial_area``) are there."""
        if boxes not in self._under_boxes:
            if len(self._under_boxes) > 64:
                self._under_boxes.clear()
            inside = np.zeros(self._area.shape, bool)
            for top, left, h, w in boxes:
                inside[top:top + h, left:left + w] = True
            inside = inside.reshape(-1)
            below = np.flatnonzero(inside[self._partial_area])
            self._under_boxes[boxes] = (np.concatenate([self._still[inside[self._still]], self._partial_area[below]]),
                                        below)
        return self._under_boxes[boxes]

    def _box_in_tiles(self, boxes: tuple) -> tuple | None:
        """``(top, left, h, w)`` within its tile of every status box, where each tile has its box at
        that place (cached), else None."""
        if boxes not in self._in_tiles:
            if len(self._in_tiles) > 64:
                self._in_tiles.clear()
            top, left, (h, w) = self._blocks[0], self._blocks[2], self._index.shape[1:]
            places = {(t - r0 + top, c - c0 + left, bh, bw) for (t, c, bh, bw), (r0, _, c0, _) in zip(boxes, self.boxes)}
            (at,) = places if len(places) == 1 and len(boxes) == len(self.boxes) else (None,)
            fits = at is not None and at[0] >= 0 and at[1] >= 0 and at[0] + at[2] <= h and at[1] + at[3] <= w
            self._in_tiles[boxes] = at if fits else None
        return self._in_tiles[boxes]

    def _compose(self, frame: int, palette: Palette) -> np.ndarray:
        """Frame ``frame`` in ``palette``'s colours over the area of the tiles (``_blocks``), a pixel
        per uint32. The array is reused by the next frame: callers copy out what they keep.

        Every pixel of the area is drawn anew: surfaces (one colour lookup for all tiles; under a
        status box, from the table's boxed half), the still pixels put back, the translucent overlay
        blended (boxed where under a status box), then flags and the status lines' ink.
        """
        index = self._levels(frame)
        flags = list(self._labels(frame))
        boxes, pixels, levels, (inkable, inkable_pixels) = self._ink.collect()
        lut, both, still = self._palette_parts(palette)
        top, left = self._blocks[0], self._blocks[2]
        flags = [(mask, r - top, c - left, box_alpha) for mask, r, c, box_alpha in flags]
        boxed = bool(boxes) and not any(_overlap((r, c, *mask.shape), box) for mask, r, c, _ in flags for box in boxes)
        at = self._box_in_tiles(tuple(boxes)) if boxed else None
        if at is not None:  # the status boxes come with the colour lookup: one box at one place in every tile
            index[..., at[0]:at[0] + at[2], at[1]:at[1] + at[3]] += len(lut)
        if index is not self._target:  # the entries go to the area now
            if self._target is not None:
                np.copyto(self._target, index.reshape(self._target.shape))
            else:
                for slot, tile in zip(self._slots, index):
                    slot[...] = tile
        if boxed and at is None:  # (flags and boxes apart, the order is moot)
            for t, c, h, w in boxes:
                self._area_index[t:t + h, c:c + w] += len(lut)
        area = np.take(both if boxed else lut, self._area_index, out=self._area, mode="wrap")  # as in _resample
        flat = area.reshape(-1)
        flat[self._still] = still
        under = flat[self._partial_area]  # the surface under the translucent overlay
        if boxed:
            fix, below = self._boxed(tuple(boxes))  # under a box: unboxed ("wrap": the table's first half)
            under[below] = np.take(lut, self._area_index.reshape(-1)[self._partial_area[below]], mode="wrap")
        flat[self._partial_area] = blend_under(under, self._under32, palette.partial)
        if boxed:
            flat[fix] = box(flat[fix], STATUS_BOX, palette.white)
        width = area.shape[1]
        for mask, r, c, box_alpha in flags:
            h, w = mask.shape
            at = ((np.arange(r, r + h) * width)[:, None] + np.arange(c, c + w)).reshape(-1)
            flat[at] = box_ink(flat[at], mask.reshape(-1), box_alpha, palette.white, palette.black)
        if boxed:
            flat[inkable_pixels] = ink(flat[inkable_pixels], levels[inkable], palette.black)  # level 0: unchanged
        elif len(pixels):
            flat[pixels] = box_ink(flat[pixels], levels, STATUS_BOX, palette.white, palette.black)
        return area

    @functools.cached_property
    def _rgb_canvas(self) -> np.ndarray:
        """The picture with empty tiles as ``(height, width, 3)`` RGB."""
        return np.ascontiguousarray(channels(self._rgb.canvas)[..., :3])

    def frame_rgb(self, frame: int) -> np.ndarray:
        """Frame ``frame`` (an index into ``run.frame_epochs``) as ``(height, width, 3)`` uint8."""
        px = channels(self._compose(frame, self._rgb))
        top, bottom, left, right = self._blocks
        out = self._rgb_canvas.copy()
        for k in range(3):  # a channel at a time: numpy copies 4 bytes to 3 per pixel far slower
            out[top:bottom, left:right, k] = px[..., k]
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
        area = self._compose(frame, palette)
        height, width = self.shape
        top, bottom, left, right = self._blocks
        out = static.copy()  # only the area of the tiles changes
        luma = out[: height * width].reshape(height, width)[top:bottom, left:right]
        np.copyto(luma, area, casting="unsafe")  # Y, the low byte: a cast, several times faster than a strided copy
        chroma = out[height * width:].reshape(2, height // 2, width // 2)
        subsample(area, out=chroma[:, top // 2:bottom // 2, left // 2:right // 2], scratch=self._chroma)
        return out

    def frames(self, indices=None) -> Frames:
        """The frames at ``indices`` (default: all), composed one at a time as they are consumed."""
        return Frames(self, range(len(self.run.frame_epochs)) if indices is None else indices)
