"""The picture: layout, diverged tiles, sizes and formats, comparison figures."""

import imageio.v3 as iio
import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

import jaxviz
from jaxviz.views.colours import rgb_to_yuv as _rgb_to_yuv
from jaxviz.views.compositor import FrameCompositor
from jaxviz.views.layout import plan_layout
from jaxviz.views.tiles import TiledFigure
from jaxviz.io.video import write_animation


@pytest.fixture(scope="module")
def exploding():
    """lr x kr where lr 5 with kr 3 blows the weights up to inf (loss NaN from epoch 3)."""
    return jaxviz.sweep({"lr": [0.05, 5.0], "kr": [0.0, 3.0]}, epochs=6, resolution=16, progress=False)


@pytest.fixture(scope="module")
def by_dataset():
    """One axis (titled tiles) over two datasets (two sets of points)."""
    return jaxviz.sweep(dataset=["moons", "xor"], epochs=2, resolution=16, progress=False)


def test_layouts_explain_themselves():
    one = plan_layout({"lr": [0.1, 0.2, 0.3]}, 3)
    assert one.tile_titles == ["lr = 0.1", "lr = 0.2", "lr = 0.3"] and one.headers == []
    two = plan_layout({"lr": [0.1, 0.5, 1.0], "momentum": [0.0, 0.9]}, 6)
    assert two.tile_titles == [""] * 6  # the headers say it, not every tile
    rows = [h[0] for h in two.headers if h[3] == 90]
    # the wide canvas takes the longer axis across: momentum goes to rows
    assert rows == ["momentum = 0", "momentum = 0.9"]
    assert [h[0] for h in two.headers if h[3] == 0] == ["lr = 0.1", "lr = 0.5", "lr = 1"]
    # three axes: the last two form the table, one labelled panel per value of the first
    three = plan_layout({"dataset": ["moons", "xor"], "lr": [0.1, 0.5], "momentum": [0.0, 0.9]}, 8)
    panels = [h[0] for h in three.headers if h[0].startswith("dataset")]
    assert panels == ["dataset = moons", "dataset = xor"]
    lefts = sorted({round(b[0], 4) for b in three.boxes})
    assert len(lefts) in (2, 4, 8) and all(0 <= b[0] and b[0] + b[2] <= three.band for b in three.boxes)
    # no two tiles overlap
    for i, a in enumerate(three.boxes):
        for b in three.boxes[i + 1:]:
            assert a[0] + a[2] <= b[0] + 1e-9 or b[0] + b[2] <= a[0] + 1e-9 or a[1] + a[3] <= b[1] + 1e-9 \
                or b[1] + b[3] <= a[1] + 1e-9


def test_1024_tiles_stay_legible():
    axes = {"lr": list(np.round(np.linspace(0.01, 1, 32), 4)), "momentum": list(np.round(np.linspace(0, 0.99, 32), 4))}
    lay = plan_layout(axes, 1024)
    assert lay.tile >= 0.44 and lay.size[0] > 12.8  # the canvas grows instead of shrinking tiles to dots
    assert len([h for h in lay.headers if h[3] == 90]) == 32  # headers stay


def test_small_tiles_drop_status_lines_but_keep_headers():
    run = jaxviz.sweep(lr=[0.01, 0.02, 0.03, 0.04, 0.05, 0.06], momentum=[0.0, 0.3, 0.6, 0.9], seed=[0, 1],
                       epochs=2, resolution=8, progress=False)
    tiles = TiledFigure(run, size=(640, 360))
    assert not tiles.show_status
    texts = [t.get_text() for t in tiles.fig.texts]
    assert any(t in ("momentum = 0.9", "0.9") for t in texts)  # whole or abbreviated to the value
    assert any("lr x momentum x seed" in t for t in texts)  # the title names the axes


def test_diverged_models_are_marked_and_the_others_unaffected(exploding):
    assert exploding.diverged_epoch.tolist() == [-1, -1, -1, 3]
    solo = jaxviz.sweep(lr=5.0, kr=0.0, epochs=6, resolution=16, progress=False)
    np.testing.assert_allclose(exploding.metrics["loss"][2], solo.metrics["loss"][0], atol=1e-5)
    comp = FrameCompositor(exploding)
    last = comp.frame_rgb(6)
    r0, r1, c0, c1 = comp.boxes[3]
    tile = last[r0:r1, c0:c1].reshape(-1, 3)
    grey = (tile == np.frombuffer(bytes.fromhex("bdbdbd"), np.uint8)).all(axis=1).mean()
    assert grey > 0.5  # a grey tile under its points and label, not garbage colours
    before = comp.frame_rgb(2)[r0:r1, c0:c1].reshape(-1, 3)
    assert (before == np.frombuffer(bytes.fromhex("bdbdbd"), np.uint8)).all(axis=1).mean() < 0.1
    fig = exploding.figure(-1)
    assert any(t.get_text() == "diverged at epoch 3" for ax in fig.axes for t in ax.texts)


def test_size_frames_and_png_folder(tiny_run, tmp_path):
    folder = tiny_run.animate(tmp_path / "frames", size=(640, 360), frames=3)
    names = sorted(p.name for p in folder.iterdir())
    assert names == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]
    assert Image.open(folder / names[0]).size == (640, 360)
    with pytest.raises(ValueError, match=r"frames must be an integer in \[1, 7\]"):
        tiny_run.animate(tmp_path / "x.mp4", frames=8)
    with pytest.raises(ValueError, match=r"size must be \(width, height\) in pixels"):
        tiny_run.animate(tmp_path / "x.mp4", size=(10, 10))


def test_decision_line_is_drawn(tiny_run):
    plain = FrameCompositor(tiny_run).frame_rgb(6)
    lined = FrameCompositor(tiny_run, decision_line=True).frame_rgb(6)
    changed = (plain != lined).any(axis=2)
    assert 0 < changed.mean() < 0.05
    assert (lined[changed].max(axis=1) < 60).mean() > 0.8  # dark line pixels (points may sit on top)


def test_vector_pdf_and_svg(exploding, tmp_path):
    fig = exploding.figure(-1)
    fig.savefig(tmp_path / "x.pdf")
    pdf = (tmp_path / "x.pdf").read_bytes()
    assert pdf.startswith(b"%PDF") and b"/Font" in pdf and b"/Image" in pdf  # vector text, image surfaces
    fig.savefig(tmp_path / "x.svg")
    svg = (tmp_path / "x.svg").read_text()
    assert "<image" in svg  # surfaces embedded as images
    labels = [t.get_text() for t in fig.texts]
    assert "lr = 5" in labels and "lr = 0.05" in labels  # headers are figure text, written as vector glyphs
    assert svg.count("<use ") > 20 or "lr = 5" in svg  # matplotlib writes text as glyph paths (or as text)


def test_single_model_view_looks_like_the_seed(tmp_path):
    run = jaxviz.sweep(epochs=2, resolution=16, progress=False)
    fig = run.figure(-1)
    tiles = [ax for ax in fig.axes if ax.get_images()]
    assert len(tiles) == 1
    labels = [ax.get_ylabel() for ax in fig.axes]
    assert "% prediction class 1" in labels and "% prediction class 2" in labels  # the seed's two bars
    assert any(t.get_text().startswith("epoch 2/2 - loss:") for t in tiles[0].texts)


def test_history_and_summary_figures(exploding, tmp_path):
    fig = exploding.plot_history("loss")
    assert len(fig.axes) == 4
    fig.savefig(tmp_path / "h.png")
    from PIL import Image

    assert Image.open(tmp_path / "h.png").size == tuple(int(v * 100) for v in fig.get_size_inches())
    fig = exploding.plot_history("val_accuracy", by="lr")
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"lr = 0.05", "lr = 5"}
    fig = exploding.plot_summary("val_accuracy")
    ax = fig.axes[0]
    assert ax.get_xlabel() == "kr" and ax.get_ylabel() == "lr"
    assert "diverged" in [t.get_text() for t in ax.texts]
    fig.savefig(tmp_path / "s.pdf")
    assert (tmp_path / "s.pdf").read_bytes()[:4] == b"%PDF"
    with pytest.raises(ValueError, match=r"metric must be one of \['loss', 'accuracy', 'val_loss'"):
        exploding.plot_summary("auc")
    with pytest.raises(ValueError, match=r"by must be one of the grid's axes \['lr', 'kr'\]. Got 'seed' instead."):
        exploding.plot_history(by="seed")


@pytest.mark.parametrize("name, size", [("exploding", None), ("exploding", (640, 360)), ("by_dataset", None)])
def test_composed_frame_is_the_matplotlib_figure(name, size, request):
    run = request.getfixturevalue(name)  # at 640 x 360 the fixed hyperparameters wrap to two lines
    comp, tiles = FrameCompositor(run, size=size), TiledFigure(run, size=size)
    around = np.zeros(comp.shape, bool)
    for r0, r1, c0, c1 in comp.boxes:
        around[r0 - 1:r1 + 1, c0 - 1:c1 + 1] = True
    for frame in (0, len(run.frame_epochs) - 1):  # the last with a diverged tile's flag, if any
        fast, slow = comp.frame_rgb(frame).astype(int), tiles.frame_rgb(frame).astype(int)
        diff = np.abs(fast - slow).max(axis=2)
        assert diff[~around].max() <= 1  # headers, titles, legend, colour bars: matplotlib's pixels
        # inside the tiles, anti-aliasing and the status and flag text renderers differ
        assert np.abs(fast - slow).mean() < 3.0 and (diff > 40).mean() < 0.03
    # points and spines, drawn once per dataset and blitted at every tile, are matplotlib's too
    # (bar those under status lines, whose boxes the two renderers draw a few pixels apart)
    under = np.zeros(comp.shape, bool)
    for mask, top, left, _ in comp._labels(0):
        under[max(0, top - 6):top + mask.shape[0] + 6, max(0, left - 6):left + mask.shape[1] + 6] = True
    keep = comp._opaque[~under.reshape(-1)[comp._opaque]]
    fast, slow = comp.frame_rgb(0).reshape(-1, 3), tiles.frame_rgb(0).reshape(-1, 3)
    assert (fast[keep] == slow[keep]).all(axis=1).mean() > 0.99


@pytest.mark.parametrize("name, decision_line", [("exploding", False), ("tiny_run", True)])
def test_yuv_frames_are_the_rgb_frames_converted(name, decision_line, request):
    comp = FrameCompositor(request.getfixturevalue(name), decision_line=decision_line)
    rgb, yuv = comp.frame_rgb(6), comp.frame_yuv420p(6).astype(float)
    h, w = comp.shape
    ref = _rgb_to_yuv(rgb).astype(float)
    assert np.abs(yuv[:h * w].reshape(h, w) - ref[..., 0]).max() <= 1  # Y: luma of every pixel
    for k, plane in enumerate(yuv[h * w:].reshape(2, h // 2, w // 2), start=1):  # U, V: mean of 2 x 2 blocks
        assert np.abs(plane - ref[..., k].reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))).max() <= 2.5


def test_mp4_of_composed_yuv_looks_like_ffmpegs_conversion(tiny_run, tmp_path):
    frames = FrameCompositor(tiny_run).frames([0, 3, 6])
    assert len(frames) == 3 and frames.size == (1280, 720)
    write_animation(tmp_path / "yuv.mp4", frames)  # frames offering yuv420p(): piped as planar YUV
    write_animation(tmp_path / "rgb.mp4", iter(list(frames)))  # plain RGB arrays: ffmpeg converts them
    ours, theirs = (np.stack(list(iio.imiter(tmp_path / f"{k}.mp4"))).astype(int) for k in ("yuv", "rgb"))
    assert ours.shape == theirs.shape == (3, 720, 1280, 3)
    assert np.abs(ours - theirs).mean() < 1.0


@pytest.mark.parametrize("frames, message", [
    ([np.zeros((32, 48, 3))],
     r"frames must be \(height, width, 3\) uint8 RGB arrays. Got float64 \(32, 48, 3\) instead."),
    ([np.zeros((32, 48, 3), np.uint8), np.zeros((32, 50, 3), np.uint8)],
     r"every frame must have the first one's shape \(32, 48, 3\). Got \(32, 50, 3\) instead."),
    ([], "an animation needs at least one frame. Got none instead."),
])
def test_mp4_frames_are_checked(frames, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        write_animation(tmp_path / "a.mp4", frames)
    assert list(tmp_path.iterdir()) == []  # nothing half-written left behind


def test_mp4_of_odd_sized_frames_with_hold(tmp_path):
    frames = [np.full((33, 47, 3), v, np.uint8) for v in (0, 255)]
    path = write_animation(tmp_path / "odd.mp4", frames, fps=5, hold=1.0)
    assert imageio_ffmpeg.count_frames_and_secs(str(path))[0] == 2 + 5  # the last frame held 1 s
    assert next(iio.imiter(path)).shape == (34, 48, 3)  # H.264 4:2:0 needs even sizes: scaled up
