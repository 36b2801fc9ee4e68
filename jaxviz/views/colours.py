"""The picture's colours: the seed's class colours and RdBu surface map, and the colour tables
the compositor builds in RGB or in the YUV that H.264 takes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from matplotlib import colormaps
from matplotlib.colors import ListedColormap

__all__ = ["CLASS_COLOURS", "SURFACE_CMAP", "SURFACE_ALPHA", "DIVERGED_GREY", "surface_rgb", "Palette", "make_palette",
           "rgb_to_yuv", "pack", "channels", "subsample"]

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


def pack(colours: np.ndarray) -> np.ndarray:
    """``(..., 3)`` uint8 colours as one uint32 per pixel: its three bytes in order, then 0.

    A pixel per word makes colour-table lookups, pasting and overlay writes one-element operations,
    several times faster than on ``(..., 3)`` bytes.
    """
    four = np.zeros((*colours.shape[:-1], 4), np.uint8)
    four[..., :3] = colours
    return four.view(np.uint32)[..., 0]


def channels(packed: np.ndarray) -> np.ndarray:
    """Contiguous packed pixels seen as their bytes, ``(..., 4)`` uint8 (a view)."""
    return packed.view(np.uint8).reshape(*packed.shape, 4)


def subsample(uv: np.ndarray) -> np.ndarray:
    """Chroma ``(h, w, 2)`` uint8 (even sizes) averaged over 2 x 2 blocks: ``(2, h / 2, w / 2)``, as
    4:2:0 keeps it."""
    planes = []
    for k in range(2):  # a plane at a time: strided adds beat a reshape-and-sum several times over
        plane = uv[..., k].astype(np.uint16)
        pairs = plane[0::2] + plane[1::2]
        planes.append((pairs[:, 0::2] + pairs[:, 1::2] + 2) >> 2)
    return np.stack(planes).astype(np.uint8)


class Palette(NamedTuple):
    """The compositor's colours in one colour space (RGB for pictures, YUV for H.264), a pixel per uint32."""

    lut: np.ndarray  # (259,) uint32: RdBu at 256 levels over white, then NaN grey, diverged grey, black
    canvas: np.ndarray  # (height, width) uint32: the picture with empty tiles; each frame draws its tiles on it
    opaque: np.ndarray  # (k,) uint32: overlay pixels inside the tiles that hide the surface
    partial: np.ndarray  # (m, 4) uint16: translucent overlay pixels inside the tiles, times their alpha, + 127
    white: np.ndarray  # (4,) int64: what status-line boxes blend towards
    black: np.ndarray  # (4,) int64: what their text blends towards


def make_palette(convert, shape, lut, drawn, ink, opaque, partial, alpha) -> Palette:
    """A ``Palette`` from RGB colours, each converted by ``convert`` (``(..., 3)`` uint8 to the same).
    The picture is white but at the ``drawn`` pixels (flat indices), which show ``ink``."""
    white, black = (np.append(convert(np.uint8([v] * 3)), 0).astype(np.int64) for v in (255, 0))
    static = np.full(shape[0] * shape[1], pack(white[:3].astype(np.uint8)), np.uint32)
    static[drawn] = pack(convert(ink))  # ~10% of the frame: converting only these is ~10x cheaper
    return Palette(pack(convert(lut)), static.reshape(shape), pack(convert(opaque)),
                    channels(pack(convert(partial))).astype(np.uint16) * alpha + 127, white, black)
