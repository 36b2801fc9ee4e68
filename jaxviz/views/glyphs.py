"""Text for the compositor's frames: masks assembled from glyphs rasterised once (and cached per
line), and a frame's status lines gathered as grey levels over their boxes, blended in one pass.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["GlyphText", "TextInk"]


class GlyphText:
    """Text as a grey-level mask assembled from cached glyphs (rendered once per character).

    Rasterising each status line with FreeType every frame costs more than composing the rest
    of the frame; pasting cached glyphs at their advances is several times cheaper. Kerning is
    left out, which at these sizes is invisible.

    Example:
        >>> from matplotlib import font_manager
        >>> from PIL import ImageFont
        >>> text = GlyphText(ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 10))
        >>> mask = text.mask("loss:0.25")
        >>> mask.dtype, mask.shape[1] == text.width("loss:0.25"), bool(mask.max() > 200)
        (dtype('uint8'), True, True)
    """

    def __init__(self, font):
        from PIL import Image, ImageDraw

        self.font = font
        ascent, descent = font.getmetrics()
        self.height = ascent + descent + 2
        self._glyphs: dict[str, tuple[np.ndarray, int, float]] = {}
        self._words: dict[str, np.ndarray] = {}
        self._lines: dict[str, np.ndarray] = {}
        self._prefixes: dict[str, tuple[np.ndarray, float]] = {}
        self._advances: dict[str, float] = {}
        self._image, self._draw = Image, ImageDraw

    def _glyph(self, ch: str):
        if ch not in self._glyphs:
            width = int(math.ceil(self.font.getlength(ch))) + 4
            canvas = self._image.new("L", (width, self.height), 0)
            self._draw.Draw(canvas).text((1, 1), ch, font=self.font, fill=255)
            self._glyphs[ch] = (np.asarray(canvas), width, self.font.getlength(ch))
        return self._glyphs[ch]

    def advance(self, word: str) -> float:
        """How far the pen moves over ``word``, in pixels (cached: status lines repeat most words)."""
        if word not in self._advances:
            self._advances[word] = sum(self._glyph(ch)[2] for ch in word)
        return self._advances[word]

    def width(self, text: str) -> int:
        """The width of ``text``'s mask in pixels."""
        if text in self._lines:
            return self._lines[text].shape[1]
        words = text.split(" ")
        return int(math.ceil(sum(map(self.advance, words)) + (len(words) - 1) * self.advance(" "))) + 4

    def _inked(self, word: str) -> tuple[np.ndarray, float]:
        """Every glyph of ``word`` laid at its rounded pen position (unclipped), and the pen after it.
        Cached, and built on the longest cached prefix: the numbers of status lines share their first
        characters, so a new one costs a glyph or two, not one per character."""
        if word not in self._prefixes:
            if len(self._prefixes) > 8192:
                self._prefixes.clear()
            k = len(word) - 1
            while k and word[:k] not in self._prefixes:
                k -= 1
            base, x = self._prefixes[word[:k]] if k else (np.zeros((self.height, 0), np.uint8), 0.0)
            places = []
            for ch in word[k:]:
                glyph, _, advance = self._glyph(ch)
                places.append((glyph, int(round(x))))
                x += advance
            out = np.zeros((self.height, max(base.shape[1], *(xi + g.shape[1] for g, xi in places))), np.uint8)
            out[:, :base.shape[1]] = base
            for glyph, xi in places:
                part = out[:, xi:xi + glyph.shape[1]]
                np.maximum(part, glyph, out=part)
            self._prefixes[word] = (out, x)
        return self._prefixes[word]

    def word(self, word: str) -> np.ndarray:
        """A word's mask from its glyphs (clipped to ``width(word)``), cached: status lines repeat most of their words."""
        if word not in self._words:
            if len(self._words) > 4096:
                self._words.clear()
                self._advances.clear()
            inked = self._inked(word)[0]
            out = np.zeros((self.height, self.width(word)), np.uint8)
            w = min(out.shape[1], inked.shape[1])
            out[:, :w] = inked[:, :w]
            self._words[word] = out
        return self._words[word]

    def placements(self, text: str):
        """``(word, left)`` for each word of ``text`` as ``mask`` lays it: words at their rounded pen
        positions, glyphs at their own rounded positions within the word."""
        x, space = 0.0, self.advance(" ")
        for word in text.split(" "):
            if word:
                yield word, int(round(x))
                x += self.advance(word)
            x += space

    def mask(self, text: str) -> np.ndarray:
        """``text`` as an ``(height, width(text))`` uint8 mask (255: full ink), cached (read-only):
        a frame's status lines repeat across tiles and frames."""
        if text not in self._lines:
            if len(self._lines) > 4096:
                self._lines.clear()
            out = np.zeros((self.height, self.width(text)), np.uint8)
            for word, xi in self.placements(text):
                glyphs = self.word(word)
                w = min(glyphs.shape[1], out.shape[1] - xi)
                np.maximum(out[:, xi:xi + w], glyphs[:, :w], out=out[:, xi:xi + w])
            out.flags.writeable = False
            self._lines[text] = out
        return self._lines[text]


class TextInk:
    """A frame's status lines as grey levels over their boxes: each line's cached mask is laid (as a
    maximum, where lines overlap) on a level image of the frame, and ``collect`` hands back every
    pixel of every box with its level (0 where there is no ink), so boxes and text are blended in
    one pass over those pixels (``colours.box_ink``). Lines are right-aligned, 1.2 em apart.

    Example:
        >>> from matplotlib import font_manager
        >>> from PIL import ImageFont
        >>> text = GlyphText(ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 10))
        >>> ink = TextInk(text, (40, 100), step=12)
        >>> ink.add(["acc:0.75"], bottom=38, right=98)
        >>> boxes, pixels, levels = ink.collect()
        >>> boxes[0][2:] == (text.height, text.width("acc:0.75")), bool(levels.max() > 200)
        (True, True)
        >>> mask = np.zeros(40 * 100, np.uint8); mask[pixels] = levels
        >>> top, left, h, w = boxes[0]
        >>> bool((mask.reshape(40, 100)[top:top + h, left:left + w] == text.mask("acc:0.75")).all())
        True
    """

    def __init__(self, text: GlyphText, shape: tuple[int, int], step: int):
        self.text, self.shape, self.step = text, shape, step
        self._layouts: dict[tuple, tuple] = {}  # boxes and line widths -> where pixels and lines go
        self.clear()

    def clear(self) -> None:
        self.boxes: list[tuple[int, int, int, int]] = []
        self._lines: list[tuple[list[str], list[int]]] = []

    def add(self, lines: list[str], bottom: int, right: int, widths: list[int] | None = None) -> None:
        """Right-aligned ``lines`` in a box whose bottom-right corner is at (``bottom``, ``right``)."""
        widths = widths or [self.text.width(t) for t in lines]
        h, w = self.step * (len(lines) - 1) + self.text.height, max(widths)
        self.boxes.append((bottom - h, right - w, h, w))
        self._lines.append((lines, widths))

    def _layout(self, key: tuple) -> tuple[np.ndarray, list[np.ndarray]]:
        """The boxes' pixels (flat, box after box), and for each line number the places in that
        order of every box's line of that number, pixel after pixel (cached: boxes rarely move)."""
        if key not in self._layouts:
            if len(self._layouts) > 256:
                self._layouts.clear()
            pixels, places, start, height = [], [], 0, self.text.height
            for (top, left, h, w), widths in zip(self.boxes, key[1]):
                pixels.append(((np.arange(top, top + h) * self.shape[1])[:, None] + np.arange(left, left + w)).reshape(-1))
                for k, width in enumerate(widths):
                    if k == len(places):
                        places.append([])
                    rows = np.arange(k * self.step, k * self.step + height)[:, None] * w
                    places[k].append((start + rows + np.arange(w - width, w)).reshape(-1))
                start += h * w
            self._layouts[key] = (np.concatenate(pixels), [np.concatenate(p) for p in places])
        return self._layouts[key]

    def collect(self) -> tuple[list, np.ndarray, np.ndarray]:
        """``(boxes, pixels, levels)``: each box ``(top, left, height, width)``, and every pixel of the
        boxes (flat index; boxes must not overlap) with its uint8 grey level. Clears for the next frame.

        Each line number's masks are laid for all boxes in one assignment (the first) or maximum."""
        boxes = self.boxes
        if not boxes:
            return boxes, np.zeros(0, np.intp), np.zeros(0, np.uint8)
        pixels, places = self._layout((tuple(boxes), tuple(tuple(w) for _, w in self._lines)))
        levels = np.zeros(len(pixels), np.uint8)
        for k, at in enumerate(places):
            ink = np.concatenate([self.text.mask(lines[k]).reshape(-1) for lines, _ in self._lines if len(lines) > k])
            levels[at] = ink if k == 0 else np.maximum(levels[at], ink)
        self.clear()
        return boxes, pixels, levels
