"""The fractal dimension of a trainability boundary, as the paper's notebook estimates it.

Boundary pixels (:func:`extract_edges`, the notebook's): every 2 x 2 window of raw scores that
holds both signs. Box counting (:func:`boxcount`, porespy's ``metrics.boxcount`` with
``bins=10``, which the notebook calls): tiles of sizes ``Ds`` laid from the corner (edge tiles
truncated) count when they hold a boundary pixel without being all boundary; the local slopes are
``-gradient(log N, log Ds)``. The estimate (:func:`boundary_dimension`) is the median of the local
slopes of every image given (the notebook: every keyframe of a zoom sequence).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["BoxCount", "extract_edges", "boxcount", "boundary_dimension"]


class BoxCount(NamedTuple):
    """Box sizes, the tiles counted at each size, and the local slopes (dimension estimates)."""

    size: np.ndarray  # (k,) int
    count: np.ndarray  # (k,) int
    slope: np.ndarray  # (k,) float


def extract_edges(score) -> np.ndarray:
    """Boundary pixels of a map of raw scores: 2 x 2 windows whose largest and smallest scores have
    opposite signs; ``(ny - 1, nx - 1)`` bool.

    Example:
        >>> extract_edges(np.array([[-1.0, -1.0, 1.0], [-1.0, -1.0, 1.0]])).tolist()
        [[False, True]]
    """
    x = np.asarray(score, np.float64)
    windows = np.stack((x[1:, 1:], x[:-1, 1:], x[1:, :-1], x[:-1, :-1]), axis=-1)
    return np.sign(windows.max(axis=-1) * windows.min(axis=-1)) < 0


def _tiles(image: np.ndarray, d: int) -> int:
    """Tiles of side ``d`` (from the corner, the last ones truncated) that hold a True pixel and are
    not all True: porespy's ``np.any(t) - np.all(t)`` summed over the tiles, without a Python loop."""
    h, w = image.shape
    ph, pw = -(-h // d) * d, -(-w // d) * d
    grid = lambda fill: np.pad(image, ((0, ph - h), (0, pw - w)), constant_values=fill).reshape(  # noqa: E731
        ph // d, d, pw // d, d)
    return int(grid(False).any(axis=(1, 3)).sum() - grid(True).all(axis=(1, 3)).sum())


def boxcount(image, bins: int = 10) -> BoxCount:
    """porespy's tiled box counting of a 2-D boolean image, with its box sizes
    ``unique(int(logspace(1, log10(min(shape)), bins)))``.

    Example:
        >>> line = np.zeros((1023, 1023), bool)
        >>> line[:, 500] = True
        >>> bc = boxcount(line)
        >>> bc.size.tolist()[:3], round(float(np.median(bc.slope)), 1)
        ([10, 16, 27], 1.0)
    """
    im = np.asarray(image, bool)
    if im.ndim != 2:
        raise ValueError(f"image must be 2-dimensional. Got shape {im.shape} instead.")
    sizes = np.unique(np.logspace(1, np.log10(min(im.shape)), bins).astype(int))
    counts = np.array([_tiles(im, int(d)) for d in sizes])
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = -np.gradient(np.log(counts), np.log(sizes)) if len(sizes) > 1 else np.full(1, np.nan)
    return BoxCount(sizes, counts, slope)


def boundary_dimension(*scores) -> float:
    """The boundary's box-counting dimension: the median local slope over the boundaries of every
    map of raw scores given (NaN when none has a boundary).

    Example:
        >>> y, x = np.mgrid[:1024, :1024]
        >>> round(boundary_dimension(x - 500.5 + 0.0 * y), 1)  # a straight boundary
        1.0
        >>> round(boundary_dimension(np.random.default_rng(0).normal(size=(1024, 1024))), 1)  # fills the plane
        2.0
    """
    slopes = []
    for s in scores:
        edges = extract_edges(s)
        if edges.any():
            slopes.append(boxcount(edges).slope)
    if not slopes:
        return float("nan")
    all_slopes = np.concatenate(slopes)
    all_slopes = all_slopes[np.isfinite(all_slopes)]
    return float(np.median(all_slopes)) if all_slopes.size else float("nan")
