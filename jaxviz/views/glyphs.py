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
        self._laid: dict[str, tuple[int, tuple]] = {}
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
        if text in self._laid:
            return self._laid[text][0]
        words = text.split(" ")
        return int(math.ceil(sum(map(self.advance, words)) + (len(words) - 1) * self.advance(" "))) + 4

    def laid(self, text: str) -> tuple[int, tuple]:
        """``text``'s mask width and its words as ``mask`` lays them: ``(glyphs, left)`` each, the
        word's glyphs clipped to the word's mask and to the line (cached per line).

        Example:
            >>> from matplotlib import font_manager
            >>> from PIL import ImageFont
            >>> text = GlyphText(ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 10))
            >>> width, words = text.laid("acc: 0.5")
            >>> mask = np.zeros((text.height, width), np.uint8)
            >>> for glyphs, left in words:
            ...     part = mask[:, left:left + glyphs.shape[1]]
            ...     _ = np.maximum(part, glyphs, out=part)
            >>> bool((mask == text.mask("acc: 0.5")).all())
            True
        """
        if text not in self._laid:
            if len(self._laid) > 4096:
                self._laid.clear()
            words, space = text.split(" "), self.advance(" ")
            advances = [self.advance(word) for word in words]
            width, laid, x = int(math.ceil(sum(advances) + (len(words) - 1) * space)) + 4, [], 0.0  # as width()
            for word, advance in zip(words, advances):
                if word:  # as placements() lays it
                    xi, glyphs = int(round(x)), self._inked(word)[0]  # columns past its glyphs are empty
                    cut = min(glyphs.shape[1], int(math.ceil(advance)) + 4, width - xi)
                    laid.append((glyphs[:, :cut] if cut < glyphs.shape[1] else glyphs, xi))
                    x += advance
                x += space
            self._laid[text] = (width, tuple(laid))
        return self._laid[text]

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
    """A frame's status lines as grey levels over their boxes, assembled from cached word masks: the
    words at the same place in their lines (the first word of every first line, ...) are laid for
    all boxes in one assignment (the first) or maximum, where lines or words overlap. ``collect``
    hands back every pixel of every box with its level (0 where there is no ink), so boxes and text
    are blended in one pass over those pixels. Lines are right-aligned, 1.2 em apart, and equal to
    ``GlyphText.mask`` of each line; a new line costs no mask of its own.

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
        self._layouts: dict[tuple, tuple] = {}  # where boxes and words are -> their pixels and places
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

    def _words(self) -> tuple[dict, tuple]:
        """Every word's mask (clipped to its line) grouped by (line, word) number, and where each
        goes: (box, row, column, width) within its box."""
        groups: dict[tuple[int, int], list[np.ndarray]] = {}
        where = []
        for b, ((_, _, _, w), (lines, widths)) in enumerate(zip(self.boxes, self._lines)):
            for k, (line, width) in enumerate(zip(lines, widths)):
                for j, (glyphs, xi) in enumerate(self.text.laid(line)[1]):
                    groups.setdefault((k, j), []).append(glyphs)
                    where.append((k, j, b, k * self.step, w - width + xi, glyphs.shape[1]))
        return groups, tuple(where)

    def _layout(self, key: tuple) -> tuple[np.ndarray, dict]:
        """The boxes' pixels (flat, box after box), and for each (line, word) number the places in
        that order of its words' pixels (cached: boxes and words rarely move)."""
        if key not in self._layouts:
            if len(self._layouts) > 256:
                self._layouts.clear()
            boxes, where = key
            starts = np.cumsum([0] + [h * w for _, _, h, w in boxes])
            pixels = [((np.arange(top, top + h) * self.shape[1])[:, None] + np.arange(left, left + w)).reshape(-1)
                      for top, left, h, w in boxes]
            places: dict[tuple[int, int], list] = {}
            rows = np.arange(self.text.height)[:, None]
            for k, j, b, row, col, cut in where:
                at = starts[b] + (row + rows) * boxes[b][3] + col + np.arange(cut)
                places.setdefault((k, j), []).append(at.reshape(-1))
            self._layouts[key] = (np.concatenate(pixels), {g: np.concatenate(p) for g, p in places.items()})
        return self._layouts[key]

    def collect(self) -> tuple[list, np.ndarray, np.ndarray]:
        """``(boxes, pixels, levels)``: each box ``(top, left, height, width)``, and every pixel of the
        boxes (flat index; boxes must not overlap) with its uint8 grey level. Clears for the next frame."""
        boxes = self.boxes
        if not boxes:
            return boxes, np.zeros(0, np.intp), np.zeros(0, np.uint8)
        groups, where = self._words()
        pixels, places = self._layout((tuple(boxes), where))
        levels = np.zeros(len(pixels), np.uint8)
        for g, masks in groups.items():
            ink = np.concatenate([m.reshape(-1) for m in masks])
            at = places[g]
            levels[at] = ink if g == (0, 0) else np.maximum(levels[at], ink)
        self.clear()
        return boxes, pixels, levels
