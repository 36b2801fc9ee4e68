"""The compositor's fast paths (one colour lookup over the tiles' area with boxed and gap entries,
float16 lookups, lane arithmetic for boxes, text and translucent overlay, packed chroma sums) against
a plain per-tile reference written the straightforward way: the frames must be the same to the last
byte, for binary, multiclass and regression runs, on a grid of tiles and on panels."""

import dataclasses

import numpy as np
import pytest

import jaxviz
from jaxviz.analysis import flagged, status, tile_flag
from jaxviz.views.colours import LINE_ENTRY, NAN_ENTRY, DIVERGED_ENTRY, rgb_to_yuv, value_norm
from jaxviz.views.compositor import FrameCompositor
from jaxviz.views.layout import status_lines
from jaxviz.views.levels import MULTICLASS_BASE


@pytest.fixture(scope="module")
def exploding():
    """lr x kr where lr 5 with kr 3 diverges (a flag on a grey tile) next to trained tiles."""
    return jaxviz.sweep({"lr": [0.05, 5.0], "kr": [0.0, 3.0]}, epochs=6, resolution=16, progress=False)


def _with_task(run, task, classes, surfaces, metrics):
    return dataclasses.replace(run, configs=[{**c, "task": task, "classes": classes} for c in run.configs],
                               surfaces=surfaces, metrics=metrics)


@pytest.fixture(scope="module")
def multiclass(tiny_run):
    """k = 3 softmax probabilities (float16, as runs keep them), with NaN cells in one tile."""
    n, f, r = tiny_run.surfaces.shape[:3]
    logits = np.random.default_rng(1).normal(size=(n, f, r, r, 3)) * 3
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    probs[1, 2:, 3:6, 4:9, 1] = np.nan
    return _with_task(tiny_run, "multiclass", 3, probs.astype(np.float16), tiny_run.metrics)


@pytest.fixture(scope="module")
def regression(tiny_run):
    """Values around the targets (float16), beyond their limits in places, NaN cells in one tile."""
    metrics = {k.replace("accuracy", "mae"): v for k, v in tiny_run.metrics.items()}
    values = np.asarray(tiny_run.surfaces, np.float32) * 6 - 3
    values[2, 3:, 5:9, 2:4] = np.nan
    return _with_task(tiny_run, "regression", 2, values.astype(np.float16), metrics)


@pytest.fixture(scope="module")
def panels():
    """Three axes: one panel of tiles per dataset, so the tiles are not one evenly spaced grid."""
    return jaxviz.sweep(dataset=["moons", "xor"], lr=[0.05, 0.5], momentum=[0.0, 0.9], epochs=2, resolution=8,
                        progress=False)


def _resample(p, rows, cols):
    """``p`` (res, res) float32 bilinearly resampled, columns first, as the compositor's arithmetic goes."""
    (r_lo, r_hi, r_w), (c_lo, c_hi, c_w) = rows, cols
    cols = (p[:, c_hi] - p[:, c_lo]) * c_w + p[:, c_lo]
    return (cols[r_hi] - cols[r_lo]) * r_w[:, None] + cols[r_lo]


def _entries(comp, i, frame):
    """Tile ``i``'s colour-table entries at ``frame``, computed the plain way for the run's task."""
    run, rows, cols = comp.run, comp._rows, comp._cols
    grid = np.asarray(run.surfaces[i, frame], np.float32)
    if comp.task == "multiclass":
        nan = np.isnan(grid).any(-1)
        grid = np.nan_to_num(grid)
        k = grid.shape[-1]
        probs = np.stack([_resample(np.ascontiguousarray(grid[..., c]), rows, cols) for c in range(k)])
        cls = probs.argmax(0)  # the first of equals, as the compositor keeps the earlier class
        level = (probs.max(0) - np.float32(1 / k)) * np.float32(255 / (1 - 1 / k))
        index = MULTICLASS_BASE + cls * 256 + (np.clip(level, 0, 255) + np.float32(0.5)).astype(np.int64)
        region = cls
    else:
        if comp.task == "regression":
            low, high = value_norm(run.data_of(i).y_train)
            grid = (grid - np.float32(low)) / np.float32(high - low)
        nan = np.isnan(grid)
        p = np.where(nan, 0.5, np.clip(grid, 0, 1) * np.float32(255) + np.float32(0.5)).astype(np.float32)
        pixels = _resample(p, rows, cols)
        index = pixels.astype(np.int64)
        region = pixels > 128 if comp.task == "binary" else None
    (r_lo, r_hi, _), (c_lo, c_hi, _) = rows, cols
    index[(nan[:, c_lo] | nan[:, c_hi])[r_lo] | (nan[:, c_lo] | nan[:, c_hi])[r_hi]] = NAN_ENTRY
    if comp.decision_line and region is not None:
        edge = np.zeros(region.shape, bool)
        edge[1:] |= region[1:] != region[:-1]
        edge[:, 1:] |= region[:, 1:] != region[:, :-1]
        index[edge] = LINE_ENTRY
    if flagged(run.diverged_epoch, int(run.frame_epochs[frame]))[i]:
        index[...] = DIVERGED_ENTRY
    return index


def _stamp(px, mask, top, left, alpha, white, black):
    """Text in ``black`` on a translucent ``white`` box, in 8-bit fixed point, one pixel at a time in spirit."""
    h, w = mask.shape
    region = px[top:top + h, left:left + w].astype(np.int64)
    region = (region * int(round((1 - alpha) * 256)) + np.round(alpha * 256 * white).astype(np.int64)) >> 8
    ink = mask[..., None].astype(np.int64)
    px[top:top + h, left:left + w] = (region * (255 - ink) + black * ink) // 255


def reference(comp, frame, convert):
    """Frame ``frame`` composed plainly in the colours ``convert`` makes of RGB (``(height, width, 3)``)."""
    run, (rgb_lut, opaque_rgb, partial_rgb) = comp.run, (comp._colours[1], comp._colours[4], comp._colours[5])
    lut, white, black = convert(rgb_lut).astype(np.int64), convert(np.uint8([[255] * 3]))[0], convert(np.uint8([[0] * 3]))[0]
    px = np.empty((*comp.shape, 3), np.int64)
    px[...] = white
    drawn, ink = comp._colours[2], comp._colours[3]
    px.reshape(-1, 3)[drawn] = convert(ink)
    epoch = int(run.frame_epochs[frame])
    for i, (r0, r1, c0, c1) in enumerate(comp.boxes):
        px[r0:r1, c0:c1] = lut[_entries(comp, i, frame)]
    flat = px.reshape(-1, 3)
    flat[comp._opaque] = convert(opaque_rgb)
    flat[comp._partial] = (flat[comp._partial] * comp._under + convert(partial_rgb) * (255 - comp._under) + 127) // 255
    for i, (r0, r1, c0, c1) in enumerate(comp.boxes):
        mark = tile_flag(run, i, epoch)
        if mark:
            text = f"{mark[0]} at epoch {mark[1]}"
            if comp._flag_text.width(text) > c1 - c0 - 4:
                text = f"{mark[0]} @{mark[1]}"
            mask = comp._flag_text.mask(text)
            if mask.shape[1] <= c1 - c0 and mask.shape[0] <= r1 - r0:
                _stamp(px, mask, (r0 + r1 - mask.shape[0]) // 2, (c0 + c1 - mask.shape[1]) // 2, 0.75, white, black)
            if mark[0] == "diverged":
                continue
        if comp.show_status:
            lines = status_lines(*status(run, i, epoch), lines=comp.layout.status_rows, score=comp.score)
            masks = [comp._text.mask(t) for t in lines]
            if max(m.shape[1] for m in masks) <= c1 - c0 - 4:
                step = round(1.2 * comp.layout.status_px)
                mask = np.zeros((step * (len(masks) - 1) + masks[-1].shape[0], max(m.shape[1] for m in masks)), np.uint8)
                for k, m in enumerate(masks):
                    part = mask[k * step:k * step + m.shape[0], mask.shape[1] - m.shape[1]:]
                    np.maximum(part, m, out=part)
                _stamp(px, mask, r1 - 2 - mask.shape[0], c1 - 2 - mask.shape[1], 0.6, white, black)
    return px.astype(np.uint8)


@pytest.mark.parametrize("decision_line", [False, True])
@pytest.mark.parametrize("name", ["tiny_run", "exploding", "multiclass", "regression", "panels"])
def test_frames_equal_the_plain_reference(request, name, decision_line):
    run = request.getfixturevalue(name)
    comp = FrameCompositor(run, decision_line=decision_line)
    assert comp.show_status
    height, width = comp.shape
    for frame in sorted({0, min(3, len(run.frame_epochs) - 1), len(run.frame_epochs) - 1}):
        rgb = reference(comp, frame, lambda c: c)
        assert np.array_equal(comp.frame_rgb(frame), rgb)
        yuv = reference(comp, frame, rgb_to_yuv).astype(np.int64)
        got = comp.frame_yuv420p(frame)
        assert np.array_equal(got[:height * width].reshape(height, width), yuv[..., 0])
        blocks = yuv[0::2, 0::2] + yuv[0::2, 1::2] + yuv[1::2, 0::2] + yuv[1::2, 1::2]
        chroma = np.moveaxis((blocks[..., 1:] + 2) >> 2, -1, 0)
        assert np.array_equal(got[height * width:].reshape(2, height // 2, width // 2), chroma)
    if name == "exploding":  # the diverged tile's flag is drawn and the others carry status lines
        assert tile_flag(run, 3, int(run.frame_epochs[-1]))[0] == "diverged"


def test_panels_and_grids_place_tiles_their_own_way(exploding, panels):
    """An evenly spaced grid's entries are written in place through one view; panels' tiles one view each."""
    assert FrameCompositor(exploding)._target is not None
    assert FrameCompositor(panels)._target is None and len(FrameCompositor(panels)._slots) == len(panels.configs)


@pytest.mark.parametrize("way", ["gather", "overlapping digits", "line by line"])
def test_status_text_equals_each_lines_own_mask(tiny_run, way):
    """Boxes of different templates in one frame (digit counts, nan, signs, double spaces), each box's
    levels equal to its lines' ``GlyphText.mask``, right-aligned and stacked; also where the digits'
    advances differ and every line is laid as its own template, and where digits' columns overlap
    and meet in several layers."""
    from jaxviz.views.glyphs import TextInk

    comp = FrameCompositor(tiny_run)
    ink = TextInk(comp._text, (400, 600), step=round(1.2 * comp.layout.status_px))
    if way == "line by line":
        ink._digits, ink._ascii, ink._atlas = {}, bytes(range(256)), None
    elif way == "overlapping digits":  # every glyph column counted as inked: every neighbouring digit overlaps
        ink._inked = list(range(ink._atlas.shape[2]))
    boxes = [["epoch 7/10 - lr:1.00e-01", "loss:0.512 - acc:0.75"], ["epoch 7/10 - lr:2.50e-02", "loss:0.498 - acc:0.80"],
             ["epoch 10/10 - lr:1.00e-01", "loss:12.345 - acc:0.75"], ["epoch 7/10 - lr:1.00e-01", "loss:nan - acc:0.50"],
             ["epoch 7/10 -  lr:1.00e-01", "loss:-0.512 - mae:19.75"], ["acc:0.75"]]
    assert not ink.add(boxes[0], bottom=60, right=590, room=10)  # too wide: left out
    for b, lines in enumerate(boxes):
        assert ink.add(lines, bottom=60 * (b + 1), right=590)
    got, pixels, levels, (inkable, inkable_pixels) = ink.collect()
    assert not np.delete(levels, inkable).any() and np.array_equal(pixels[inkable], inkable_pixels)
    canvas = np.zeros(400 * 600, np.uint8)
    canvas[pixels] = levels
    canvas = canvas.reshape(400, 600)
    for (top, left, h, w), lines in zip(got, boxes):
        want = np.zeros((h, w), np.uint8)
        for k, line in enumerate(lines):
            m = comp._text.mask(line)
            part = want[k * ink.step:k * ink.step + m.shape[0], w - m.shape[1]:]
            np.maximum(part, m, out=part)
        assert np.array_equal(canvas[top:top + h, left:left + w], want)
    assert len(pixels) == sum(h * w for _, _, h, w in got) and ink.collect()[0] == []
    layers = [t[2] for t in ink._templates.values()]  # each (columns, row, per digit, character index)
    digits = [[bool(layer[2].any()) for layer in ls] for ls in layers]  # which layers gather digits
    assert any(map(any, digits)) == (way != "line by line")
    assert way != "overlapping digits" or any(any(d[1:]) for d in digits)  # digits laid over digits
