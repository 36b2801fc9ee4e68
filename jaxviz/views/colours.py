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
           "rgb_to_yuv", "yuv_bytes", "TAB10", "class_colours", "confidence", "multiclass_rgb", "value_norm", "scalar_rgb", "pack", "channels", "subsample", "blend_under", "box", "ink", "box_ink"]

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

    Y in the low byte makes the luma plane a cast; U and V a byte apart in every other byte let
    ``subsample`` sum both in one pass.

    Example:
        >>> yuv_bytes(np.uint8([255, 0, 0])).tolist()
        [81, 90, 0, 240]
    """
    yuv = rgb_to_yuv(rgb)
    out = np.zeros((*yuv.shape[:-1], 4), np.uint8)
    out[..., [0, 1, 3]] = yuv
    return out


#: Bytes 0 and 2 (or 1 and 3, shifted down) of a packed pixel as two 16-bit lanes, for arithmetic
#: on two channels at once; ``_LANES64`` the same for two pixels in a uint64.
_LANES, _LANES64 = 0x00FF00FF, 0x00FF00FF00FF00FF


def subsample(packed: np.ndarray, out: np.ndarray | None = None, scratch: tuple | None = None) -> np.ndarray:
    """Chroma of ``(h, w)`` packed ``yuv_bytes`` pixels (even sizes, each row contiguous) averaged over
    2 x 2 blocks: ``(2, h / 2, w / 2)`` uint8 U and V, as 4:2:0 keeps them (written into ``out`` when given).

    Two neighbours are read as one uint64, so U and V of both sit in four 16-bit lanes (four bytes sum
    to at most 1020): one shift and mask per row, a sum of the two rows, then of the word's two halves.
    ``scratch``: two ``(h / 2, w / 2)`` uint64 arrays to work in (a caller's, reused between frames).

    Example:
        >>> px = pack(np.uint8([[[0, 0, 0, 9], [0, 1, 0, 9]], [[0, 2, 0, 9], [0, 3, 0, 9]]]))
        >>> subsample(px).tolist()
        [[[2]], [[9]]]
    """
    if out is None:
        out = np.empty((2, packed.shape[0] // 2, packed.shape[1] // 2), np.uint8)
    if packed.strides[-1] != 4:
        packed = np.ascontiguousarray(packed)
    pairs = packed.view(np.uint64)  # (h, w / 2): two horizontal neighbours per word
    sums, lower = scratch or (np.empty(out.shape[1:], np.uint64), np.empty(out.shape[1:], np.uint64))
    np.right_shift(pairs[0::2], 8, out=sums)
    sums &= _LANES64
    np.right_shift(pairs[1::2], 8, out=lower)
    lower &= _LANES64
    sums += lower
    np.right_shift(sums, 32, out=lower)
    sums += lower  # the low half: U (bits 0-15) and V (16-31) of the 2 x 2 block
    sums += 0x00020002  # + 2 in each sum, to round
    sums >>= 2
    out[0] = sums  # the low byte: U (assignment keeps the low byte)
    sums >>= 16
    out[1] = sums
    return out


def _floor255(x: np.ndarray) -> np.ndarray:
    """``floor(lane / 255)`` in each 16-bit lane of ``x`` (lanes up to 65534), a new array."""
    out = np.right_shift(x, 8)
    out &= _LANES
    out += 0x00010001
    out += x
    out >>= 8
    out &= _LANES
    return out


def _lanes(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packed pixels' bytes 0 and 2, and 1 and 3, each pair as two 16-bit lanes of a uint32."""
    odd = np.right_shift(v, 8)
    odd &= _LANES
    return np.bitwise_and(v, _LANES), odd


def _pair(values: np.ndarray) -> tuple[int, int]:
    """Four per-byte constants as the two lane words ``_lanes`` splits pixels into."""
    v = [int(x) for x in values]
    return v[0] | v[2] << 16, v[1] | v[3] << 16


def blend_under(v: np.ndarray, under: np.ndarray, lanes: np.ndarray) -> np.ndarray:
    """Packed pixels ``v`` seen through translucent overlay pixels: per byte
    ``(v * under + c * alpha + 127) // 255``, with ``under = 255 - alpha`` (``(m,)`` uint32) and
    ``lanes`` the ``(2, m)`` uint32 lane words of ``c * alpha + 127`` (``Palette.partial``).

    Example:
        >>> c = np.array([[200, 100, 0, 0]]) * 51 + 127  # colour (200, 100, 0) at alpha 51 / 255
        >>> lanes = np.uint32([[c[0, 0] | c[0, 2] << 16], [c[0, 1] | c[0, 3] << 16]])
        >>> channels(blend_under(pack(np.uint8([[0, 0, 255]])), np.uint32([204]), lanes)).tolist()
        [[40, 20, 204, 0]]
    """
    even, odd = _lanes(v)
    for lane, add in ((even, lanes[0]), (odd, lanes[1])):
        lane *= under
        lane += add
    return _join((_floor255(even), _floor255(odd)))


def _join(lanes: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    even, odd = lanes
    odd <<= 8
    odd |= even
    return odd


def _box_lanes(lanes: tuple[np.ndarray, np.ndarray], alpha: float, white: np.ndarray) -> None:
    keep = int(round((1 - alpha) * 256))
    for lane, add in zip(lanes, _pair(np.round(alpha * 256 * np.asarray(white)))):
        lane *= keep
        lane += add
        lane >>= 8
        lane &= _LANES


def _ink_lanes(lanes: tuple[np.ndarray, np.ndarray], levels: np.ndarray, black: np.ndarray) -> tuple:
    g = levels.astype(np.uint32)
    clear = 255 - g
    out = []
    for lane, b in zip(lanes, _pair(black)):
        lane *= clear
        lane += g * np.uint32(b)
        out.append(_floor255(lane))
    return tuple(out)


def box(v: np.ndarray, alpha: float, white: np.ndarray) -> np.ndarray:
    """Packed pixels ``v`` under a box of ``white`` at opacity ``alpha``: per byte, in 8-bit fixed
    point, ``(v * round((1 - alpha) * 256) + round(alpha * 256 * white)) >> 8``.

    Example:
        >>> channels(box(pack(np.uint8([[0, 0, 0]])), 0.6, np.array([255, 255, 255, 0]))).tolist()
        [[153, 153, 153, 0]]
    """
    lanes = _lanes(v)
    _box_lanes(lanes, alpha, white)
    return _join(lanes)


def ink(v: np.ndarray, levels: np.ndarray, black: np.ndarray) -> np.ndarray:
    """Packed pixels ``v`` under text of grey ``levels`` (uint8) in ``black``: per byte
    ``floor((v * (255 - level) + black * level) / 255)``.

    Example:
        >>> channels(ink(pack(np.uint8([[255, 255, 255]])), np.uint8([128]), np.zeros(4, int))).tolist()
        [[127, 127, 127, 0]]
    """
    return _join(_ink_lanes(_lanes(v), levels, black))


def box_ink(v: np.ndarray, levels: np.ndarray, alpha: float, white: np.ndarray, black: np.ndarray) -> np.ndarray:
    """``box`` then ``ink``, the ink only where there is some (a fifth of a status box).

    Example:
        >>> white, black = np.array([255, 255, 255, 0]), np.zeros(4, int)
        >>> px = box_ink(pack(np.uint8([[0, 0, 0], [0, 0, 0]])), np.uint8([0, 255]), 0.6, white, black)
        >>> channels(px).tolist()
        [[153, 153, 153, 0], [0, 0, 0, 0]]
    """
    lanes = _lanes(v)
    _box_lanes(lanes, alpha, white)
    inked = np.flatnonzero(levels)
    for lane, inked_lane in zip(lanes, _ink_lanes(tuple(lane[inked] for lane in lanes), levels[inked], black)):
        lane[inked] = inked_lane
    return _join(lanes)


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
    canvas: np.ndarray  # (height, width) uint32: the picture with empty tiles
    opaque: np.ndarray  # (k,) uint32: overlay pixels inside the tiles that hide the surface
    partial: np.ndarray  # (2, m) uint32: translucent overlay pixels inside the tiles, times their alpha, + 127, as lanes
    white: np.ndarray  # (4,) int64: what text boxes blend towards
    black: np.ndarray  # (4,) int64: the text's colour


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
    scaled = channels(pack(convert(partial))).astype(np.uint32) * alpha.astype(np.uint32) + 127
    lanes = np.stack([scaled[:, 0] | scaled[:, 2] << 16, scaled[:, 1] | scaled[:, 3] << 16]).astype(np.uint32)
    return Palette(pack(convert(lut)), static.reshape(shape), pack(convert(opaque)), lanes, white, black)
