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
    """A frame's status lines as grey levels over their boxes, laid for all boxes at once. Lines
    differ from tile to tile and frame to frame mostly in their digits, and DejaVu's digits share
    one advance, so a line's layout depends only on its template (digits as ``0``): every glyph
    but the digits is laid once per template, and a line of every box with that template is one
    gather of glyph columns (the digits' from an atlas, indexed by the boxes' characters; the rest
    from the template's own ink), the boxes laid column by column. ``collect`` hands back
    every pixel of every box with its level (0 where there is no ink), so boxes and text are
    blended in one pass over those pixels. Lines are right-aligned, 1.2 em apart, and equal to
    ``GlyphText.mask`` of each line.

    Example:
        >>> from matplotlib import font_manager
        >>> from PIL import ImageFont
        >>> text = GlyphText(ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 10))
        >>> ink = TextInk(text, (40, 100), step=12)
        >>> ink.add(["acc:0.75"], bottom=38, right=98)
        True
        >>> boxes, pixels, levels, (inkable, _) = ink.collect()
        >>> boxes[0][2:] == (text.height, text.width("acc:0.75")), bool(levels[inkable].max() > 200)
        (True, True)
        >>> mask = np.zeros(40 * 100, np.uint8); mask[pixels] = levels
        >>> top, left, h, w = boxes[0]
        >>> bool((mask.reshape(40, 100)[top:top + h, left:left + w] == text.mask("acc:0.75")).all())
        True
    """

    def __init__(self, text: GlyphText, shape: tuple[int, int], step: int):
        self.text, self.shape, self.step = text, shape, step
        glyphs = [text._glyph(ch) for ch in "0123456789"]
        same = len({(g[1], g[2]) for g in glyphs}) == 1  # else every line is its own template
        self._digits = str.maketrans("0123456789", "0" * 10) if same else {}
        self._ascii = bytes.maketrans(b"0123456789", b"0" * 10) if same else bytes(range(256))  # 10x faster
        self._atlas = np.stack([g[0] for g in glyphs]) if same else None  # (digit, height, width)
        if same:  # each digit's columns as rows (digit * width + column), and the columns any digit inks
            self._columns = np.ascontiguousarray(self._atlas.transpose(0, 2, 1)).reshape(-1, text.height)
            self._inked = np.flatnonzero(self._atlas.any(axis=(0, 1))).tolist()
        self._templates: dict = {}  # template (bytes where ASCII) -> its layout
        self._sizes: dict[tuple, tuple[int, int]] = {}  # a box's templates -> its height and width
        self._pixels: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # boxes -> their pixels, box starts
        self._may: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}  # boxes and templates -> where ink can be
        self.clear()

    def clear(self) -> None:
        self.boxes: list[tuple[int, int, int, int]] = []
        self._lines: list[tuple[tuple[str, ...], list[str]]] = []

    def _template(self, key: str) -> tuple:
        """A template line's mask width and its column gathers (``_layers``). Glyphs are laid as ``GlyphText.mask``
        lays them (words at rounded pen positions, glyphs at rounded positions within their word,
        each word clipped to its advance + 4 and to the line)."""
        if key not in self._templates:
            if len(self._templates) > 4096:
                self._templates.clear()
                self._sizes.clear()
            text = self.text
            words, space = (key.decode("ascii") if isinstance(key, bytes) else key).split(" "), text.advance(" ")
            advances = [text.advance(word) for word in words]
            width = int(math.ceil(sum(advances) + (len(words) - 1) * space)) + 4  # as GlyphText.width
            ink, places, x, i = np.zeros((text.height, width), np.uint8), [], 0.0, 0
            for word, advance in zip(words, advances):
                if word:
                    xi, pen = int(round(x)), 0.0
                    end = xi + min(int(math.ceil(advance)) + 4, width - xi)
                    for j, ch in enumerate(word):
                        glyph, columns, step = text._glyph(ch)
                        col = xi + int(round(pen))
                        cut = min(columns, end - col)
                        if cut > 0 and ch == "0" and self._atlas is not None:
                            places.append((i + j, col, cut))
                        elif cut > 0:
                            np.maximum(ink[:, col:col + cut], glyph[:, :cut], out=ink[:, col:col + cut])
                        pen += step
                    x += advance
                x += space
                i += len(word) + 1
            self._templates[key] = (width, *self._layers(ink, places))
        return self._templates[key]

    def add(self, lines: list[str], bottom: int, right: int, room: int | None = None) -> bool:
        """Right-aligned ``lines`` in a box whose bottom-right corner is at (``bottom``, ``right``),
        unless wider than ``room``; whether they were added."""
        try:
            keys = tuple(line.encode("ascii").translate(self._ascii) for line in lines)
        except UnicodeEncodeError:
            keys = tuple(line.translate(self._digits) for line in lines)
        if keys not in self._sizes:
            self._sizes[keys] = (self.step * (len(lines) - 1) + self.text.height,
                                 max(self._template(key)[0] for key in keys))
        h, w = self._sizes[keys]
        if room is not None and w > room:
            return False
        self.boxes.append((bottom - h, right - w, h, w))
        self._lines.append((keys, lines))
        return True

    def _layers(self, ink: np.ndarray, places: list) -> tuple[np.ndarray, tuple, np.ndarray]:
        """A template line as column gathers: a table of glyph columns (each digit's, then the line's
        ink without digits), and layers ``(columns, row, per digit, character index)``: each listed
        column of the line is the table's row ``row + per digit * (the box's digit there)``. The first
        layer gives every column one source (a digit where one inks, else the ink without digits); the
        rest hold the columns where sources meet (a digit by punctuation), laid by maximum. Last, the
        places (column * height + row) where any box's line can have ink."""
        sources: list[list] = [[] for _ in range(ink.shape[1])]
        wide = 0 if self._atlas is None else self._atlas.shape[2]
        for i, col, cut in places:
            for c in self._inked:
                if c < cut:
                    sources[col + c].append((c, wide, i))
        for c, got in enumerate(sources):
            if ink[:, c].any() or not got:
                got.append((10 * wide + c, 0, 0))
        layers = []
        for r in range(max(map(len, sources))):
            cols = [c for c, got in enumerate(sources) if len(got) > r]
            layers.append((np.array(cols), *(np.array(v) for v in zip(*(sources[c][r] for c in cols)))))
        table = np.ascontiguousarray(ink.T)
        may = table > 0  # (column, row): where a box's line can have ink
        for c, got in enumerate(sources):
            for gc, per, _ in got:
                if per:
                    may[c] |= self._atlas[:, :, gc].any(0)
        table = table if self._atlas is None else np.concatenate([self._columns, table])
        return table, tuple(layers), np.flatnonzero(may)

    def _box_pixels(self, boxes: tuple) -> tuple[np.ndarray, np.ndarray]:
        """The boxes' pixels (flat; box after box, column by column) and where each box starts (cached)."""
        if boxes not in self._pixels:
            if len(self._pixels) > 256:
                self._pixels.clear()
            starts = np.cumsum([0] + [h * w for _, _, h, w in boxes])
            pixels = [(np.arange(left, left + w)[:, None] + np.arange(top, top + h) * self.shape[1]).reshape(-1)
                      for top, left, h, w in boxes]
            self._pixels[boxes] = (np.concatenate(pixels), starts)
        return self._pixels[boxes]

    def _levels(self, keys: tuple, lines: list[list[str]], shape: tuple[int, int]) -> np.ndarray:
        """The ``(boxes, w, h)`` grey levels (column by column) of boxes whose lines share the templates
        ``keys``: each line a gather of glyph columns (``_layers``), a column's levels contiguous."""
        out = np.zeros((len(lines), shape[1], shape[0]), np.uint8)
        codes = np.frombuffer("".join("".join(ls) for ls in lines).encode("utf-32-le"), np.uint32)
        codes = codes.reshape(len(lines), -1).astype(np.intp) - ord("0")  # each box's characters, line after line
        at, height = 0, self.text.height
        for k, key in enumerate(keys):
            width, table, layers, _ = self._templates[key]
            region = out[:, shape[1] - width:, k * self.step:k * self.step + height]
            for r, (cols, row, per, char) in enumerate(layers):
                got = np.take(table, row + codes[:, at + char] * per, axis=0)
                if r == 0 and k == 0:
                    region[...] = got
                elif r == 0:  # lines may overlap: later ones by maximum
                    np.maximum(region, got, out=region)
                else:
                    region[:, cols] = np.maximum(region[:, cols], got)
            at += len(key)
        return out

    def _inkable(self, boxes: tuple, keys: tuple, pixels: np.ndarray, starts: np.ndarray) -> tuple:
        """The places in ``pixels`` where the boxes' lines can have ink, and those pixels (cached)."""
        if (boxes, keys) not in self._may:
            if len(self._may) > 64:
                self._may.clear()
            height, got = self.text.height, []
            for (_, _, h, w), box_keys, start in zip(boxes, keys, starts):
                for k, key in enumerate(box_keys):
                    width, _, _, may = self._templates[key]
                    col, row = np.divmod(may, height)
                    got.append(start + (w - width + col) * h + k * self.step + row)
            at = np.unique(np.concatenate(got))
            self._may[(boxes, keys)] = (at, pixels[at])
        return self._may[(boxes, keys)]

    def collect(self) -> tuple[list, np.ndarray, np.ndarray, tuple]:
        """``(boxes, pixels, levels, inkable)``: each box ``(top, left, height, width)``, every pixel of
        the boxes (flat index, box after box, column by column; boxes must not overlap) with its uint8
        grey level, and ``(places, pixels)``: the places in ``pixels`` that can have ink (elsewhere the
        level is 0) and those pixels. Clears for the next frame."""
        boxes = self.boxes
        if not boxes:
            return boxes, np.zeros(0, np.intp), np.zeros(0, np.uint8), (np.zeros(0, np.intp),) * 2
        pixels, starts = self._box_pixels(tuple(boxes))
        may = self._inkable(tuple(boxes), tuple(keys for keys, _ in self._lines), pixels, starts)
        groups: dict[tuple, list[int]] = {}
        for b, (keys, _) in enumerate(self._lines):
            groups.setdefault(keys, []).append(b)
        if len(groups) == 1:  # the usual frame: one template for every box, laid in box order
            levels = self._levels(self._lines[0][0], [ls for _, ls in self._lines], boxes[0][2:]).reshape(-1)
        else:
            levels = np.empty(len(pixels), np.uint8)
            for keys, members in groups.items():
                got = self._levels(keys, [self._lines[b][1] for b in members], boxes[members[0]][2:])
                for b, mask in zip(members, got):
                    levels[starts[b]:starts[b + 1]] = mask.reshape(-1)
        self.clear()
        return boxes, pixels, levels, may
