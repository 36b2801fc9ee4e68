"""The picture's colours, one rule for every view: the seed's class colours and RdBu surface map
(binary), class colours blended by confidence as scikit-learn's ``DecisionBoundaryDisplay`` draws
``multiclass_colors`` (multiclass), the RdBu map centred on the target mean (regression), and the
colour tables the compositor builds in RGB or in the YUV that H.264 takes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap, to_rgba_array

__all__ = ["CLASS_COLOURS", "SURFACE_CMAP", "SURFACE_ALPHA", "DIVERGED_GREY", "surface_rgb", "Palette", "make_palette",
           "rgb_to_yuv", "yuv_bytes", "TAB10", "class_colours", "confidence", "multiclass_rgb", "value_norm", "scalar_rgb", "pack", "channels", "subsample", "box_table"]

CLASS_COLOURS = ListedColormap(["#FF0000", "#0000FF"])  # the seed's cm_bright: class 0 red, 1 blue
#: RdBu for the class-1 probability; NaN shows as flat grey.
SURFACE_CMAP = colormaps["RdBu"].with_extremes(bad="#c8c8c8")
#: The seed draws its map with alpha 0.8 over a white background.
SURFACE_ALPHA = 0.8
DIVERGED_GREY = "#bdbdbd"


def surface_rgb(levels: int) -> np.ndarray:
    """``levels`` probabilities from 0 to 1 in the seed's colours: RdBu at alpha 0.8 over white,
    ``(levels, 3)`` floats in [0, 1] (the compositor's and the explorer's colour tables).

    Example:
        >>> surface_rgb(256).shape, bool((surface_rgb(2) <= 1).all())
        ((256, 3), True)
    """
    return SURFACE_CMAP(np.linspace(0, 1, levels))[:, :3] * SURFACE_ALPHA + (1 - SURFACE_ALPHA)


#: Multiclass class colours: matplotlib's tab10, as scikit-learn 1.6-1.7 picks for up to 10 classes.
TAB10 = np.asarray(colormaps["tab10"].colors)


def class_colours(task: str, classes: int) -> np.ndarray:
    """Each class's point colour, ``(classes, 3)`` floats: the seed's red and blue for binary,
    tab10 for multiclass (regression points are coloured by value, see ``value_norm``).

    Example:
        >>> class_colours("binary", 2).tolist(), class_colours("multiclass", 3).shape
        ([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]], (3, 3))
    """
    if task == "multiclass":
        if not 2 <= classes <= len(TAB10):
            raise ValueError(f"classes must be from 2 to {len(TAB10)}. Got {classes} instead.")
        return TAB10[:classes].copy()
    return to_rgba_array(CLASS_COLOURS.colors)[:, :3]


def confidence(probs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The argmax class and how far its probability goes from a tie (``1 / k``) to certainty (1),
    in [0, 1], of ``(..., k)`` class probabilities.

    Example:
        >>> cls, t = confidence(np.array([[0.2, 0.3, 0.5], [0.0, 1.0, 0.0]]))
        >>> cls.tolist(), t.round(2).tolist()
        ([2, 1], [0.25, 1.0])
    """
    k = probs.shape[-1]
    return probs.argmax(-1), np.clip((probs.max(-1) - 1 / k) / (1 - 1 / k), 0, 1)


def multiclass_rgb(probs: np.ndarray, levels: int | None = None) -> np.ndarray:
    """``(..., k)`` class probabilities as ``(..., 3)`` colours: the argmax class's colour, from white
    (a tie) to the full colour (certain), as scikit-learn's ``multiclass_colors`` shades each class's
    region, at the seed's alpha 0.8 over white. NaN probabilities give the NaN grey.

    With ``levels``, the confidence is first rounded to that many steps (the compositor's table).

    Example:
        >>> rgb = multiclass_rgb(np.array([[0.0, 0.0, 1.0], [1 / 3, 1 / 3, 1 / 3]]))
        >>> bool(np.allclose(rgb[0], TAB10[2] * 0.8 + 0.2)), rgb[1].tolist()
        (True, [1.0, 1.0, 1.0])
    """
    bad = np.isnan(probs).any(-1)
    cls, t = confidence(np.nan_to_num(probs))
    if levels is not None:
        t = np.round(t * (levels - 1)) / (levels - 1)
    rgb = 1 + (TAB10[cls] - 1) * t[..., None]
    rgb = rgb * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
    rgb[bad] = np.asarray(SURFACE_CMAP.get_bad()[:3]) * SURFACE_ALPHA + (1 - SURFACE_ALPHA)
    return rgb


def value_norm(y_train: np.ndarray) -> tuple[float, float]:
    """Regression's colour limits ``(low, high)``: centred on the training targets' mean, as far
    each way as the farthest target, so the mean is the map's white centre.

    Example:
        >>> value_norm(np.array([0.0, 1.0, 5.0]))  # mean 2, the farthest target 3 away
        (-1.0, 5.0)
    """
    y = np.asarray(y_train, float).reshape(-1)
    centre = float(y.mean())
    half = float(np.abs(y - centre).max()) or 1.0
    return centre - half, centre + half


def scalar_rgb(values: np.ndarray, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """Binary probabilities (``low, high = 0, 1``) or regression values (``value_norm``) as colours:
    RdBu from ``low`` to ``high`` at alpha 0.8 over white, ``(..., 3)``; NaN is the NaN grey.

    Example:
        >>> scalar_rgb(np.array([0.5]), 0.0, 1.0).round(2).tolist()
        [[0.97, 0.97, 0.97]]
    """
    return SURFACE_CMAP((np.asarray(values, float) - low) / (high - low))[..., :3] * SURFACE_ALPHA + (1 - SURFACE_ALPHA)


#: Colour-table entries after the 256 probability levels: NaN, a diverged tile, the decision line.
NAN_ENTRY, DIVERGED_ENTRY, LINE_ENTRY = 256, 257, 258
#: RGB (0..255) to BT.601 limited-range YUV, the matrix ffmpeg uses to turn RGB into H.264's yuv420p.
RGB_TO_YUV = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255


def rgb_to_yuv(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB as BT.601 limited-range YUV, ``(..., 3)`` uint8.

    Example:
        >>> rgb_to_yuv(np.uint8([[255, 255, 255], [0, 0, 0], [255, 0, 0]])).tolist()
        [[235, 128, 128], [16, 128, 128], [81, 90, 240]]
    """
    rgb = rgb.astype(np.float32)
    # elementwise, not ``@``: a float matmul goes to OpenBLAS, whose idle threads then spin for
    # ~0.1 s on the core that x264 needs
    yuv = sum(rgb[..., k, None] * RGB_TO_YUV[:, k].astype(np.float32) for k in range(3))
    yuv += np.float32([16.5, 128.5, 128.5])  # offsets, and 0.5 to round
    return np.clip(yuv, 0, 255).astype(np.uint8)


def yuv_bytes(rgb: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 RGB as the compositor packs YUV: ``(..., 4)`` bytes Y, U, 0, V.

    U and V a byte apart in every other byte let ``subsample`` sum both in one uint32 pass.

    Example:
        >>> yuv_bytes(np.uint8([255, 0, 0])).tolist()
        [81, 90, 0, 240]
    """
    yuv = rgb_to_yuv(rgb)
    out = np.zeros((*yuv.shape[:-1], 4), np.uint8)
    out[..., [0, 1, 3]] = yuv
    return out


def subsample(packed: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Chroma of ``(h, w)`` packed ``yuv_bytes`` pixels (even sizes) averaged over 2 x 2 blocks:
    ``(2, h / 2, w / 2)`` uint8 U and V, as 4:2:0 keeps them (written into ``out`` when given).

    Both sums are made at once, in the 16-bit halves of a uint32 (four bytes sum to at most 1020).

    Example:
        >>> px = pack(np.uint8([[[0, 0, 0, 9], [0, 1, 0, 9]], [[0, 2, 0, 9], [0, 3, 0, 9]]]))
        >>> subsample(px).tolist()
        [[[2]], [[9]]]
    """
    if out is None:
        out = np.empty((2, packed.shape[0] // 2, packed.shape[1] // 2), np.uint8)
    lanes = packed >> 8
    lanes &= 0x00FF00FF  # U in the low half, V in the high half
    pairs = lanes[0::2]
    pairs += lanes[1::2]
    blocks = pairs[:, 0::2]
    blocks += pairs[:, 1::2]
    blocks += 0x00020002  # + 2 in each half, to round
    blocks >>= 2
    out[0] = blocks  # the low byte: U (assignment keeps the low byte)
    blocks >>= 16
    out[1] = blocks
    return out


def pack(colours: np.ndarray) -> np.ndarray:
    """``(..., 3)`` (or ``(..., 4)``) uint8 colours as one uint32 per pixel: its bytes in order, then 0.

    A pixel per word makes colour-table lookups, pasting and overlay writes one-element operations,
    several times faster than on ``(..., 3)`` bytes.

    Example:
        >>> hex(int(pack(np.uint8([1, 2, 3]))))
        '0x30201'
    """
    four = np.zeros((*colours.shape[:-1], 4), np.uint8)
    four[..., :colours.shape[-1]] = colours
    return four.view(np.uint32)[..., 0]


def channels(packed: np.ndarray) -> np.ndarray:
    """Packed pixels (last axis contiguous) seen as their bytes, ``(..., 4)`` uint8 (a view).

    Example:
        >>> channels(pack(np.uint8([[1, 2, 3]]))).tolist()
        [[1, 2, 3, 0]]
    """
    return packed.view(np.uint8).reshape(*packed.shape, 4)


class Palette(NamedTuple):
    """The compositor's colours in one colour space (RGB for pictures, YUV for H.264), a pixel per uint32."""

    lut: np.ndarray  # (259,) uint32: RdBu at 256 levels over white, then NaN grey, diverged grey, black
    canvas: np.ndarray  # (height, width) uint32: the picture with empty tiles; each frame draws its tiles on it
    opaque: np.ndarray  # (k,) uint32: overlay pixels inside the tiles that hide the surface
    partial: np.ndarray  # (m, 4) uint16: translucent overlay pixels inside the tiles, times their alpha, + 127
    white: np.ndarray  # (4,) int64: what status-line boxes blend towards
    ink: np.ndarray  # (4 * 65536,) uint8: byte k at level v under text of grey level g, at [k << 16 | v << 8 | g]


def box_table(white: np.ndarray, alpha: float) -> np.ndarray:
    """``(4 * 256,)`` uint8: byte k at level v under a box of ``white`` at opacity ``alpha``, at
    ``[k << 8 | v]`` (in 8-bit fixed point, as the compositor has always blended it).

    Example:
        >>> box_table(np.array([255, 255, 255, 0]), 0.6)[[0, 255, 3 * 256 + 0]].tolist()
        [153, 254, 0]
    """
    level = np.arange(256, dtype=np.int64)
    keep, add = int(round((1 - alpha) * 256)), np.round(alpha * 256 * white).astype(np.int64)
    return ((level[None] * keep + add[:, None]) >> 8).astype(np.uint8).reshape(-1)


def _ink_table(black: np.ndarray) -> np.ndarray:
    """Text of grey level g blends a pixel towards ``black`` by g / 255, rounded down
    (``floor(x / 255) = (x + 1 + (x >> 8)) >> 8`` for x <= 255 * 255); see ``Palette.ink``."""
    v, g = np.divmod(np.arange(65536, dtype=np.int64), 256)
    x = v[None] * (255 - g[None]) + black[:, None] * g[None]
    return ((x + 1 + (x >> 8)) >> 8).astype(np.uint8).reshape(-1)


def make_palette(convert, shape, lut, drawn, ink, opaque, partial, alpha) -> Palette:
    """A ``Palette`` from RGB colours, each converted by ``convert`` (``(..., 3)`` uint8 to ``(..., 3)``
    or ``(..., 4)`` bytes).
    The picture is white but at the ``drawn`` pixels (flat indices), which show ``ink``.

    Example:
        >>> p = make_palette(lambda c: c, (2, 2), np.zeros((259, 3), np.uint8), np.array([0]),
        ...                  np.uint8([[0, 0, 0]]), np.zeros((0, 3), np.uint8), np.zeros((0, 3), np.uint8),
        ...                  np.zeros((0, 1), np.uint16))
        >>> channels(p.canvas)[..., 0].tolist()
        [[0, 255], [255, 255]]
    """
    white, black = (channels(pack(convert(np.uint8([[v] * 3]))))[0].astype(np.int64) for v in (255, 0))
    static = np.full(shape[0] * shape[1], pack(white.astype(np.uint8)), np.uint32)
    static[drawn] = pack(convert(ink))  # ~10% of the frame: converting only these is ~10x cheaper
    return Palette(pack(convert(lut)), static.reshape(shape), pack(convert(opaque)),
                   channels(pack(convert(partial))).astype(np.uint16) * alpha + 127, white, _ink_table(black))
