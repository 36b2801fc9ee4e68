"""Pictures of a trainability map: the paper's rank-stretched colours, the figure, the RGB image
and the frames of a zoom movie.

Colours follow the notebook's ``cdf_img`` and ``plot_img`` (Sohl-Dickstein 2024): each score is
replaced by its rank among the map's scores, converged models (negative scores) spread over
``+[buffer, 1]`` and the others over ``-[1, buffer]``, drawn with matplotlib's ``Spectral``
(converged blue, diverged red); the gap of ``2 * buffer`` makes the boundary a sharp colour jump.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
from matplotlib import colormaps
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

__all__ = ["MAP_CMAP", "cdf_colours", "map_rgb", "map_figure", "axis_coords", "zoom_frames"]

#: The paper's colour map: red (diverged) to blue (converged).
MAP_CMAP = colormaps["Spectral"]


def cdf_colours(score, reference=None, buffer: float = 0.25) -> np.ndarray:
    """The notebook's ``cdf_img``: each score's rank among ``reference`` (default: the scores
    themselves), keeping the sign: converged (negative) -> ``[buffer, 1]``, others -> ``[-1, -buffer]``.

    Example:
        >>> cdf_colours(np.array([-3.0, -1.0, 2.0, 5.0])).round(3).tolist()
        [1.0, 0.25, -0.25, -1.0]
    """
    x = np.asarray(score, np.float64)
    u = np.asarray(x if reference is None else reference, np.float64).ravel()
    u = np.sort(u[np.isfinite(u)])
    if u.size == 0:
        return np.zeros(x.shape)
    x = np.clip(np.nan_to_num(x, nan=u[-1], posinf=u[-1], neginf=u[0]), u[0], u[-1])
    neg = int(np.sum(u < 0))
    v = np.concatenate([np.linspace(-1, -buffer, neg), np.linspace(buffer, 1, u.size - neg)])
    return -np.interp(x, u, v)


def map_rgb(score, reference=None) -> np.ndarray:
    """The map as an RGB image ``(ny, nx, 3)`` uint8, as the figure shows it: the highest y at the
    top (row 0), the smallest x on the left.

    Example:
        >>> img = map_rgb(np.array([[-1.0, 2.0], [-3.0, 4.0]]))
        >>> img.shape, img.dtype.name
        ((2, 2, 3), 'uint8')
    """
    c = cdf_colours(score, reference)
    rgb = MAP_CMAP((c[::-1] + 1) / 2)[..., :3]
    return np.round(rgb * 255).astype(np.uint8)


def axis_coords(values, spacing: str) -> np.ndarray:
    """Where an axis's values sit on the figure: log10 of them on a log axis, the values on a
    linear one, their index on an irregular one.

    Example:
        >>> axis_coords([0.01, 0.1, 1.0], "log").tolist(), axis_coords([3, 7], "irregular").tolist()
        ([-2.0, -1.0, 0.0], [0.0, 1.0])
    """
    a = np.asarray(values, np.float64)
    return np.log10(a) if spacing == "log" else a if spacing == "linear" else np.arange(len(a), dtype=np.float64)


def _extent(coords: np.ndarray) -> tuple[float, float]:
    half = (coords[-1] - coords[0]) / (len(coords) - 1) / 2
    return coords[0] - half, coords[-1] + half


def _label_axis(axis, name: str, values, spacing: str) -> None:
    axis.set_label_text(name + (" (log scale)" if spacing == "log" else ""))
    if spacing == "log":
        axis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{10.0 ** v:g}"))
    elif spacing == "irregular":
        axis.set_major_locator(MaxNLocator(nbins=7, integer=True))
        axis.set_major_formatter(FuncFormatter(
            lambda v, _: f"{values[int(round(v))]:g}" if 0 <= round(v) < len(values) else ""))


def map_figure(score, axes: dict, spacings: tuple[str, str], converged=None, ax=None, title: str | None = None):
    """The map as a matplotlib figure: each pixel one model (x = first axis, y = second, the
    smallest values at the bottom left), in the paper's colours, with the axes' real values as
    tick labels (log axes in log scale). Draws into ``ax`` if given; returns the figure.

    Example:
        >>> s = np.array([[-1.0, 2.0, 3.0], [-3.0, -4.0, 5.0]])
        >>> fig = map_figure(s, {"lr": [0.01, 0.1, 1.0], "momentum": [0.0, 0.9]}, ("log", "linear"))
        >>> [a.get_xlabel() for a in fig.axes][:1]
        ['lr (log scale)']
    """
    (xname, xs), (yname, ys) = axes.items()
    if ax is None:
        fig = Figure(figsize=(6.4, 5.4), dpi=100)
        ax = fig.add_subplot(1, 1, 1)
    fig = ax.figure
    cx, cy = axis_coords(xs, spacings[0]), axis_coords(ys, spacings[1])
    image = ax.imshow(cdf_colours(score), extent=[*_extent(cx), *_extent(cy)], origin="lower", vmin=-1, vmax=1,
                      cmap=MAP_CMAP, aspect="auto", interpolation="nearest")
    _label_axis(ax.xaxis, xname, xs, spacings[0])
    _label_axis(ax.yaxis, yname, ys, spacings[1])
    if title is None:
        share = f", {np.mean(converged):.0%} converged" if converged is not None else ""
        title = f"trainability: {np.size(score):,} models{share}"
    ax.set_title(title, fontsize=10)
    bar = fig.colorbar(image, ax=ax, ticks=[-0.625, 0.625], fraction=0.05, pad=0.03)
    bar.ax.set_yticklabels(["diverged", "converged"], rotation=90, va="center")
    return fig


def _sample(score: np.ndarray, cx: np.ndarray, cy: np.ndarray, window, size: int) -> np.ndarray:
    """Colour values of ``score`` (pixel centres at ``cx``, ``cy``) seen through ``window``
    ``(x0, x1, y0, y1)`` at ``size x size``, nearest pixel; row 0 at the top."""
    x0, x1, y0, y1 = window
    sx = (np.arange(size) + 0.5) / size
    px = np.clip(np.round((x0 + sx * (x1 - x0) - cx[0]) / (cx[1] - cx[0])), 0, len(cx) - 1).astype(np.int64)
    py = np.clip(np.round((y1 - sx * (y1 - y0) - cy[0]) / (cy[1] - cy[0])), 0, len(cy) - 1).astype(np.int64)
    return score[py[:, None], px[None, :]]


def zoom_frames(levels: list, size: int = 512, per_level: int = 24, hold: int = 12) -> Iterator[np.ndarray]:
    """RGB frames ``(size, size, 3)`` of a zoom movie through ``levels``, each ``(score, cx, cy)``
    (pixel centres in figure coordinates, see :func:`axis_coords`), every level inside the one
    before. Between levels the view narrows geometrically over ``per_level`` frames through the
    outer level's pixels, each level coloured by its own ranks; the last level is held ``hold`` frames.

    Example:
        >>> a = (np.array([[-1.0, 2.0], [3.0, -4.0]]), np.array([0.0, 1.0]), np.array([0.0, 1.0]))
        >>> b = (a[0], np.array([0.25, 0.75]), np.array([0.25, 0.75]))
        >>> frames = list(zoom_frames([a, b], size=16, per_level=3, hold=1))
        >>> len(frames), frames[0].shape
        (5, (16, 16, 3))
    """
    def window(cx, cy):
        return np.array([*_extent(cx), *_extent(cy)])

    for k, (score, cx, cy) in enumerate(levels):
        colours = cdf_colours(score)
        here = window(cx, cy)
        if k + 1 == len(levels):
            frame = _rgb(_sample(colours, cx, cy, here, size))
            for _ in range(1 + hold):
                yield frame
            return
        there = window(*levels[k + 1][1:])
        for t in np.arange(per_level) / per_level:
            yield _rgb(_sample(colours, cx, cy, _between(here, there, t), size))


def _between(here: np.ndarray, there: np.ndarray, t: float) -> np.ndarray:
    """The window a fraction ``t`` of the way from ``here`` to ``there`` (each ``(x0, x1, y0, y1)``):
    scaled geometrically about the point both windows share (the notebook's ``cstar``), so the
    zoom looks steady."""
    a, b = here.reshape(2, 2), there.reshape(2, 2)
    out = np.empty_like(a)
    for i in range(2):
        r = (b[i, 1] - b[i, 0]) / (a[i, 1] - a[i, 0])
        if abs(1 - r) < 1e-12:  # this axis does not zoom: slide
            out[i] = a[i] * (1 - t) + b[i] * t
        else:
            fixed = (b[i].mean() - a[i].mean() * r) / (1 - r)
            out[i] = fixed + (a[i] - fixed) * r**t
    return out.ravel()


def _rgb(colours: np.ndarray) -> np.ndarray:
    return np.round(MAP_CMAP((colours + 1) / 2)[..., :3] * 255).astype(np.uint8)
