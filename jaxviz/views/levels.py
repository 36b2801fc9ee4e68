"""A frame's colour-table entries for every tile: the probability grids (or regression values, or
multiclass confidences) resampled bilinearly to the tiles' pixels as ``imshow`` does, with the NaN,
diverged and decision-line entries (the compositor's first step, in numbers only).
"""

from __future__ import annotations

import functools

import numpy as np

from jaxviz.analysis import flagged
from jaxviz.views.colours import DIVERGED_ENTRY, LINE_ENTRY, NAN_ENTRY

__all__ = ["MULTICLASS_BASE", "bilinear_taps", "TileLevels"]

#: Multiclass colour-table entries start after the binary ones (256 levels, NaN, diverged, line).
MULTICLASS_BASE = 259


def bilinear_taps(n_pixels: int, n_cells: int):
    """Source cells and weights that resample ``n_cells`` image cells onto ``n_pixels`` pixels.

    Pixel centres map into cell coordinates as ``imshow`` does (cells span the extent evenly),
    so the composited frame matches the matplotlib figure of the same epoch.

    Example:
        >>> lo, hi, w = bilinear_taps(4, 2)
        >>> lo.tolist(), hi.tolist(), w.tolist()
        ([0, 0, 0, 1], [1, 1, 1, 1], [0.0, 0.25, 0.75, 0.0])
    """
    centre = (np.arange(n_pixels) + 0.5) / n_pixels * n_cells - 0.5
    centre = np.clip(centre, 0, n_cells - 1)
    lo = np.floor(centre).astype(np.intp)
    hi = np.minimum(lo + 1, n_cells - 1)
    return lo, hi, (centre - lo).astype(np.float32)



def _scale_levels(values: np.ndarray) -> np.ndarray:
    """``values`` (float32, in place) clipped to [0, 1] as levels ``* 255 + 0.5``; their NaN mask."""
    nan = np.isnan(values)
    np.clip(values, 0, 1, out=values)
    values *= 255
    values += 0.5
    return nan


@functools.cache
def _half_table(levels: bool) -> np.ndarray:
    """Every float16 (by its bits) as float32, or as ``_scale_levels`` makes it with NaN as -1:
    a lookup converts a frame's grids several times faster than numpy's float16 casts."""
    values = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16).view(np.float16).astype(np.float32)
    if levels:
        with np.errstate(invalid="ignore"):  # signalling NaNs among the bits
            values[_scale_levels(values)] = -1
    return values


def _float32(values: np.ndarray) -> np.ndarray:
    """``values`` as a new float32 array (float16 through ``_half_table``)."""
    if values.dtype == np.float16:
        return np.take(_half_table(False), values.view(np.uint16), mode="wrap")
    return values.astype(np.float32)


class TileLevels:
    """The compositor's entries step: ``_levels(frame)`` gives every tile's colour-table entries.

    A base of ``FrameCompositor``, which sets what it reads: ``run``, ``task``, ``decision_line``,
    ``_norm`` (regression limits), ``_rows`` and ``_cols`` (``bilinear_taps``), the ``(n, h, w)``
    buffers ``_px``, ``_top`` and ``_index``, and ``_target`` (the entries' place in the frame's
    area where the tiles form a grid, else None).

    Example:
        >>> import jaxviz
        >>> from jaxviz.views.compositor import FrameCompositor
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> entries = FrameCompositor(run)._levels(0)
        >>> entries.dtype, int(entries.max()) < 256  # 256 probability levels, no NaN
        (dtype('uint16'), True)
    """

    def _resample(self, grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(n, res, res)`` float32 grids resampled bilinearly to the tiles' pixels as ``imshow``
        does, as two buffers whose sum is the result: ``(step * weight, top)``, each ``(n, h, w)``."""
        (r_lo, _, r_w), (c_lo, c_hi, c_w) = self._rows, self._cols
        # Columns first, so that the row pass gathers whole rows. np.take, not fancy indexing:
        # that hands back axis-permuted arrays, and everything downstream of one runs 2-4x slower.
        # mode "wrap" (every index is in range): "raise" copies ``out``, and "clip" runs slower
        left, cols = grid.take(c_lo, axis=2, mode="wrap"), grid.take(c_hi, axis=2, mode="wrap")
        cols -= left
        cols *= c_w
        cols += left
        # pixel = top + (bottom - top) * w: the differences are taken on the grid's rows (the same
        # numbers as on the pixels' rows, fewer of them)
        step = np.empty_like(cols)
        np.subtract(cols[:, 1:], cols[:, :-1], out=step[:, :-1])
        step[:, -1] = 0  # the last row's neighbour is itself
        pixels, top = self._px, self._top
        np.take(step, r_lo, axis=1, out=pixels, mode="wrap")
        pixels *= r_w[:, None]
        np.take(cols, r_lo, axis=1, out=top, mode="wrap")
        return pixels, top

    def _nan_pixels(self, nan: np.ndarray) -> np.ndarray:
        """Pixels that interpolate a NaN cell: where any of their four cells is NaN."""
        (r_lo, r_hi, _), (c_lo, c_hi, _) = self._rows, self._cols
        nan = nan[:, :, c_lo] | nan[:, :, c_hi]
        return nan[:, r_lo] | nan[:, r_hi]

    def _grid_levels(self, frame: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The grids at ``frame`` as levels ``p * 255 + 0.5`` (``p`` clipped to [0, 1], NaN as 0), and
        their NaN cells (None if none). Interpolating levels is interpolating probabilities, and
        clipping before is clipping after (interpolation never leaves the range), so only the grids
        are scaled and clipped."""
        surfaces = np.asarray(self.run.surfaces)[:, frame]
        if self._norm is None and surfaces.dtype == np.float16:  # all of it one lookup by the bits
            levels = np.take(_half_table(True), surfaces.view(np.uint16), mode="wrap")
            nan = levels < 0
        else:
            levels = _float32(surfaces)
            if self._norm is not None:  # regression: the value within each tile's limits
                levels -= self._norm[0]
                levels /= self._norm[1]
            nan = _scale_levels(levels)
        if not nan.any():
            return levels, None
        levels[nan] = 0.5  # as p = 0; these pixels get the NaN entry
        return levels, nan

    def _levels(self, frame: int) -> np.ndarray:
        """Every tile's colour-table entries, ``(n_models, h, w)``: the class-1 probability (or the
        regression value within its limits) at 256 levels resampled bilinearly as ``imshow`` does,
        or the multiclass entries (``_class_levels``), and the NaN, diverged and line entries."""
        run = self.run
        if self.task == "multiclass":
            index = self._class_levels(frame)
        else:
            levels, nan = self._grid_levels(frame)
            pixels, top = self._resample(levels)
            index = self._index if self.decision_line or self._target is None else self._target
            if self.decision_line:
                pixels += top
                np.copyto(index, pixels, casting="unsafe")
            else:  # every entry fits, cast as it is made (into the area, where the tiles are a grid)
                np.add(pixels.reshape(index.shape), top.reshape(index.shape), out=index, casting="unsafe")
            if nan is not None:  # a pixel is NaN where any of its four cells is, as when interpolating NaN
                index[self._nan_pixels(nan).reshape(index.shape)] = NAN_ENTRY
            if self.decision_line and self._norm is None:  # darken pixels where p = 0.5 passes between neighbours
                self._mark_edges(pixels > 128.0, index)
        index[flagged(run.diverged_epoch, run.frame_epochs[frame]).reshape(index.shape[:-2])] = DIVERGED_ENTRY
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
        grid = _float32(np.asarray(self.run.surfaces)[:, frame])  # (n, res, res, k)
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

