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
    fig = exploding.plot_history("val_accuracy", by="lr")  # one median per lr (2 values: a legend)
    assert len(fig.axes[0].lines) == 2 and len(fig.axes[0].collections) == 2  # + interquartile bands
    assert {t.get_text() for t in fig.axes[0].get_legend().get_texts()} == {"lr = 0.05 (2)", "lr = 5 (2)"}
    wide = jaxviz.sweep(lr=[0.001, 0.01, 0.1, 1.0], seed=[0, 1], epochs=3, resolution=8, progress=False)
    fig = wide.plot_history("loss", by="lr")  # log-spaced: a log colour bar, not a legend
    assert fig.axes[0].get_legend() is None and len(fig.axes[0].lines) == 4
    assert fig.axes[1].get_ylabel() == "lr (log scale)" and fig.axes[1].get_yscale() == "log"
    median = np.nanmedian(wide.metrics["loss"][[i for i, c in enumerate(wide.configs) if c["lr"] == 0.1]], axis=0)
    assert np.allclose(fig.axes[0].lines[2].get_ydata(), median)
    fig = wide.plot_summary("val_loss")  # the non-replicate axis across; seed aggregated, spread noted
    assert fig.axes[0].get_xlabel() == "lr" and fig.axes[0].get_ylabel() == ""
    assert "mean over seed" in fig.axes[0].get_title() and "±" in fig.axes[0].texts[0].get_text()
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
    for top, left, h, w in comp.label_boxes(0):
        under[max(0, top - 6):top + h + 6, max(0, left - 6):left + w + 6] = True
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


# --- layouts that use the canvas, with no overlapping text -------------------------------------

AXIS_VALUES = {
    "lr": lambda k: [float(v) for v in np.round(np.geomspace(0.001, 1.0, k), 4)],
    "momentum": lambda k: [float(v) for v in np.round(np.linspace(0, 0.99, k), 3)],
    "seed": lambda k: list(range(k)),
    "n1": lambda k: list(range(1, k + 1)),
}


def fake_run(sizes, epochs=3, resolution=4):
    """A Run with ``sizes`` values per axis (lr, momentum, seed, n1) and made-up metrics and
    surfaces: layouts of up to 1,024 tiles without training."""
    from jaxviz.data import load_dataset
    from jaxviz.results import Run
    from jaxviz.spec.config import HP_DEFAULTS

    axes = {name: AXIS_VALUES[name](k) for name, k in zip(AXIS_VALUES, sizes)}
    import itertools
    configs = [{**HP_DEFAULTS, "epochs": epochs, **dict(zip(axes, combo))} for combo in itertools.product(*axes.values())]
    n, rng = len(configs), np.random.default_rng(0)
    metrics = {k: rng.uniform(0.1, 0.9, (n, epochs)).astype(np.float32)
               for k in ("loss", "accuracy", "val_loss", "val_accuracy")}
    metrics["learning_rate"] = np.full((n, epochs), 0.1, np.float32)
    surfaces = rng.uniform(0, 1, (n, epochs + 1, resolution, resolution)).astype(np.float16)
    return Run(hp={}, options={}, configs=configs, axes=axes, metrics=metrics, surfaces=surfaces,
               frame_epochs=np.arange(epochs + 1), datasets=[load_dataset("moons")], data_index=np.zeros(n, int),
               initial_val=(np.ones(n), np.full(n, 0.5)), _weights=[])


def text_boxes(fig):
    """Pixel boxes ``(x0, y0, x1, y1)`` of every visible, non-empty text in the figure."""
    from matplotlib.text import Text

    renderer = fig.canvas.get_renderer()
    boxes = []
    for t in fig.findobj(Text):
        if t.get_visible() and t.get_text().strip() and t.figure is not None:
            b = t.get_window_extent(renderer)
            boxes.append((b.x0, b.y0, b.x1, b.y1, t.get_text()))
    return boxes


def assert_no_overlap(boxes, tol=0.5):
    a = np.array([b[:4] for b in boxes], float)
    ox = np.minimum(a[:, None, 2], a[None, :, 2]) - np.maximum(a[:, None, 0], a[None, :, 0])
    oy = np.minimum(a[:, None, 3], a[None, :, 3]) - np.maximum(a[:, None, 1], a[None, :, 1])
    hit = (ox > tol) & (oy > tol)
    np.fill_diagonal(hit, False)
    pairs = [(boxes[i][4], boxes[j][4]) for i, j in zip(*np.nonzero(np.triu(hit)))]
    assert not pairs, pairs[:5]


def labels_figure(run, size=None):
    """Everything but the tiles' contents of ``run``'s picture: headers, titles, legend, colour bars,
    tile titles and a status line in every tile (as TiledFigure places them), plus each tile's box."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from jaxviz.views.layout import status_lines
    from jaxviz.views.tiles import _decorate, _tile_title, layout_of

    lay = layout_of(run, size)
    fig = Figure(figsize=lay.size, dpi=100)
    FigureCanvasAgg(fig)
    _decorate(fig, run, lay)
    for title, box in zip(lay.tile_titles, lay.boxes):
        if title:
            _tile_title(fig, title, box, lay.font)
    if lay.status_px:
        text = "\n".join(status_lines(run.epochs, run.epochs, 0.123, 0.95, 0.1, lay.status_rows))
        for left, bottom, w, h in lay.boxes:
            fig.text(left + 0.98 * w, bottom + 0.02 * h, text, ha="right", va="bottom",
                     fontsize=lay.status_px * 72 / 100, bbox=dict(facecolor="white", alpha=0.6, pad=1, linewidth=0))
    fig.canvas.draw()
    return fig, lay


def split(n, k):
    """``k`` axis sizes whose product is ``n`` (the largest factors first)."""
    sizes = [1] * k
    rest = n
    for j in range(k - 1):
        f = max(d for d in range(1, int(rest ** (1 / (k - j))) + 2) if rest % d == 0)
        sizes[k - 1 - j], rest = f, rest // f
    sizes[0] = rest
    return sizes[::-1] if k > 1 else [n]


@pytest.mark.parametrize("n", [1, 2, 3, 6, 12, 16, 64, 100, 256, 512, 1024])
@pytest.mark.parametrize("k", [1, 2, 3, 4])
def test_no_text_overlaps_from_1_to_1024_tiles(n, k):
    run = fake_run(split(n, k))
    assert len(run.configs) == n
    fig, lay = labels_figure(run)
    boxes = text_boxes(fig)
    assert_no_overlap(boxes)
    # headers, titles and the legend stay out of the tiles (status lines sit inside them)
    w, h = fig.canvas.get_width_height()
    tiles = np.array([(l * w, b * h, (l + bw) * w, (b + bh) * h) for l, b, bw, bh in lay.boxes])
    for x0, y0, x1, y1, text in boxes:
        if text.startswith("epoch "):
            continue
        inside = (np.minimum(x1, tiles[:, 2]) - np.maximum(x0, tiles[:, 0]) > 0.5) & \
                 (np.minimum(y1, tiles[:, 3]) - np.maximum(y0, tiles[:, 1]) > 0.5)
        assert not inside.any(), text
    # every text on the canvas
    assert all(-1 <= x0 and x1 <= w + 1 and -1 <= y0 and y1 <= h + 1 for x0, y0, x1, y1, _ in boxes)


@pytest.mark.parametrize("sizes", [[8, 8], [16, 4, 4]])
def test_64_and_3_axis_256_tile_frames_have_no_overlapping_text(sizes):
    run = fake_run(sizes)
    tiles = TiledFigure(run)
    tiles.frame_rgb(len(run.frame_epochs) - 1)
    assert_no_overlap(text_boxes(tiles.fig))


def test_demo_picture_fills_the_canvas_with_readable_status_lines():
    run = jaxviz.sweep(lr=[0.01, 0.07, 0.5], momentum=[0.0, 0.9], epochs=2, resolution=8, progress=False)
    tiles = TiledFigure(run, size=(1280, 720))
    rgb = tiles.frame_rgb(len(run.frame_epochs) - 1)
    assert rgb.shape == (720, 1280, 3)
    assert (rgb != 255).any(axis=2).mean() >= 0.5  # was 25%
    renderer = tiles.fig.canvas.get_renderer()
    status = [t for t in tiles.texts if t.get_visible() and t.get_text()]
    assert len(status) == 6
    for t in status:
        line_px = t.get_window_extent(renderer).height / t.get_text().count("\n").__add__(1)
        assert t.get_fontsize() * 100 / 72 >= 10 and line_px >= 10
    composed = FrameCompositor(run).frame_rgb(len(run.frame_epochs) - 1)
    assert (composed != 255).any(axis=2).mean() >= 0.5
    # the title names the varied axes and only settings that differ from the seed's defaults
    texts = [t.get_text() for t in tiles.fig.texts]
    assert "Neural network prediction maps: lr x momentum" in texts and "epochs=2" in texts
    assert not any("batch_size" in t for t in texts)


def test_status_lines_are_dropped_not_shrunk():
    for n in (1, 4, 16, 64, 256, 1024):
        lay = plan_layout({"lr": list(range(n))}, n, (12.8, 7.2))
        assert lay.status_px == 0 or lay.status_px >= 10
    assert plan_layout({"lr": list(range(64))}, 64, (12.8, 7.2)).status_px == 0
