"""Every view for the three tasks: multiclass tiles in class colours blended by confidence (as
scikit-learn's ``multiclass_colors``), regression on RdBu centred on the target mean with its colour
bar, status lines naming the task's metric. Runs of the other tasks are made from a real binary run
by replacing its task, surfaces, labels and metrics, so these tests need no engine support."""

import dataclasses

import numpy as np
import pytest

import jaxviz
from jaxviz.views.colours import SURFACE_ALPHA, TAB10, value_norm
from jaxviz.views.compositor import FrameCompositor
from jaxviz.views.tiles import TiledFigure


@pytest.fixture(scope="module")
def binary():
    return jaxviz.sweep(lr=[0.05, 0.5], momentum=[0.0, 0.9], epochs=2, resolution=8, progress=False)


def _with_task(run, task, classes, surfaces, metrics, relabel):
    datasets = [d._replace(y_train=relabel(d.x_train, d.y_train), y_test=relabel(d.x_test, d.y_test))
                for d in run.datasets]
    return dataclasses.replace(run, configs=[{**c, "task": task, "classes": classes} for c in run.configs],
                               surfaces=surfaces, metrics=metrics, datasets=datasets)


@pytest.fixture(scope="module")
def multiclass(binary):
    """k = 3: tile 0's class-2 probability is ~1 everywhere but in its left third (class 0), the
    others random softmax probabilities; labels by the sign of x and y."""
    n, f, r = binary.surfaces.shape[:3]
    logits = np.random.default_rng(0).normal(size=(n, f, r, r, 3)) * 3
    logits[0, :, :, :, 2] = 20.0
    logits[0, :, :, : r // 3, 0] = 40.0  # columns are x: the left third is class 0
    probs = np.exp(logits - logits.max(-1, keepdims=True))
    probs = (probs / probs.sum(-1, keepdims=True)).astype(np.float16)
    return _with_task(binary, "multiclass", 3, probs, binary.metrics,
                      lambda x, y: ((x[:, 0] > 0).astype(int) + (x[:, 1] > 0)).astype(np.float32))


@pytest.fixture(scope="module")
def regression(binary):
    """Targets y = x0 + 2 x1; tile 0 predicts the training targets' mean everywhere."""
    metrics = {k.replace("accuracy", "mae"): v for k, v in binary.metrics.items()}
    ds = binary.data_of(0)
    y = ds.x_train[:, 0] + 2 * ds.x_train[:, 1]
    surfaces = np.asarray(binary.surfaces, np.float32) * 4 - 2
    surfaces[0] = y.mean()
    return _with_task(binary, "regression", 2, surfaces.astype(np.float16), metrics,
                      lambda x, _: (x[:, 0] + 2 * x[:, 1]).astype(np.float32))


def _centre(comp, i):
    r0, r1, c0, c1 = comp.boxes[i]
    return (r0 + r1) // 2, (c0 + c1) // 2


def test_multiclass_frame_colours_each_class(multiclass, tmp_path):
    comp = FrameCompositor(multiclass, decision_line=True)
    frame = comp.frame_rgb(len(multiclass.frame_epochs) - 1)
    r0, r1, c0, c1 = comp.boxes[0]
    want2 = np.round((TAB10[2] * SURFACE_ALPHA + 1 - SURFACE_ALPHA) * 255)
    want0 = np.round((TAB10[0] * SURFACE_ALPHA + 1 - SURFACE_ALPHA) * 255)
    tile = frame[r0:r1, c0:c1].astype(int)
    # class 2 certain on the right of tile 0, class 0 on its left (points and text aside)
    assert (np.abs(tile[:, -(c1 - c0) // 4] - want2).max(axis=1) <= 1).mean() > 0.7
    assert (np.abs(tile[:, (c1 - c0) // 8] - want0).max(axis=1) <= 1).mean() > 0.7
    # the argmax line: black pixels near the column where the argmax changes, none elsewhere
    black = (tile.sum(axis=2) == 0)
    cols = np.flatnonzero(black.mean(axis=0) > 0.5)
    res = multiclass.surfaces.shape[2]
    assert len(cols) and all(abs(c - (res // 3) / res * (c1 - c0)) <= 3 for c in cols)  # cells span the tile evenly
    from PIL import Image
    Image.fromarray(frame).save("/tmp/vw_multiclass.png")


def test_regression_frame_is_centred_on_the_target_mean(regression):
    comp = FrameCompositor(regression)
    frame = comp.frame_rgb(len(regression.frame_epochs) - 1)
    r, c = _centre(comp, 0)
    centre = np.asarray(comp._colours[1][128], int)  # the map's middle entry: near white
    assert centre.min() > 235
    r0, r1, c0, c1 = comp.boxes[0]
    tile = frame[r0:r1, c0:c1].astype(int)
    assert (np.abs(tile - centre).max(axis=2) <= 2).mean() > 0.7
    from PIL import Image
    Image.fromarray(frame).save("/tmp/vw_regression.png")


def test_figures_legends_bars_and_status_follow_the_task(multiclass, regression, binary):
    tiles = TiledFigure(multiclass, decision_line=True)
    tiles.frame_rgb(len(multiclass.frame_epochs) - 1)
    labels = [t.get_text() for t in tiles.fig.legends[0].get_texts()]
    assert labels[:3] == ["class 0", "class 1", "class 2"]
    assert len(tiles.fig.axes) == len(multiclass.configs)  # no colour bars: the legend names the classes
    assert tiles.contours[0] is not None  # the argmax line
    rgb = tiles.images[0].get_array()
    assert rgb.shape[-1] == 3 and np.allclose(rgb[0, -1], TAB10[2] * SURFACE_ALPHA + 1 - SURFACE_ALPHA, atol=1e-3)

    tiles = TiledFigure(regression)
    tiles.frame_rgb(1)
    low, high = value_norm(regression.data_of(0).y_train)
    bars = [a for a in tiles.fig.axes if a not in tiles.axes]
    assert len(bars) == 1  # one colour bar, of the value, centred on the target mean
    lo, hi = sorted(bars[0].get_ylim() if bars[0].get_ylim() != (0, 1) else bars[0].get_xlim())
    assert np.isclose(lo, low) and np.isclose(hi, high) and np.isclose((lo + hi) / 2, regression.data_of(0).y_train.mean())
    assert "mae:" in tiles.texts[0].get_text() and "acc" not in tiles.texts[0].get_text()
    assert tiles.images[0].norm.vmin == low
    plain = TiledFigure(binary)
    plain.update(1)
    assert "acc:" in plain.texts[0].get_text()
    assert FrameCompositor(regression).score == "mae"


def test_plots_read_metric_names_from_the_run(regression):
    fig = regression.plot_summary()
    assert "val_mae" in fig.axes[0].get_title()
    fig = regression.plot_history("mae")
    assert {line.get_label() for line in fig.axes[0].lines} == {"mae", "val_mae"}
    with pytest.raises(ValueError, match=r"metric must be one of \['loss', 'mae'"):
        regression.plot_summary("val_accuracy")


def test_explorer_colours_as_the_tiles(multiclass, regression, tmp_path):
    import shutil
    import subprocess

    from jaxviz.views.explorer import Colouring, _codes, explorer_html

    colouring = Colouring(multiclass)
    codes = _codes(multiclass.surfaces[:, -1], multiclass.surfaces.shape[2], colouring)
    lut = np.asarray(colouring.lut()).reshape(-1, 3)
    want = np.round((TAB10[2] * SURFACE_ALPHA + 1 - SURFACE_ALPHA) * 255)
    assert np.abs(lut[codes[0, :, -1]] - want).max() <= 1  # class 2 certain: class 2's colour
    colouring = Colouring(regression)
    codes = _codes(regression.surfaces[:, -1], regression.surfaces.shape[2], colouring)
    assert (codes[0] == 127).all()  # the target mean: the map's centre
    for run in (multiclass, regression):
        page = explorer_html(run)
        assert '"task": "%s"' % run.configs[0]["task"] in page or f'"task":"{run.configs[0]["task"]}"' in page
    assert '"score": "val_mae"' in page or '"score":"val_mae"' in page
    if shutil.which("node"):  # the page's script still parses
        script = page.split('<script>')[-1].split('</script>')[0] if '<script>' in page else None
        if script:
            (tmp_path / "page.js").write_text(script)
            assert subprocess.run(["node", "--check", str(tmp_path / "page.js")]).returncode == 0


def test_explorer_pages_of_other_tasks_work_in_a_browser(multiclass, regression, tmp_path):
    test_explorer = pytest.importorskip("test_explorer")
    pytest.importorskip("playwright")
    if not test_explorer.CHROMIUM:
        test_explorer._no_browser("no Chromium browser installed")
    from playwright import sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=test_explorer.CHROMIUM)
        for run, score in ((multiclass, "val_accuracy"), (regression, "val_mae")):
            pg = browser.new_page(viewport={"width": 1300, "height": 900})
            errors = []
            pg.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
            pg.goto(run.explore(tmp_path / f"{score}.html").as_uri())
            pg.evaluate("window.jaxvizExplorer.ready")
            pg.evaluate(f"(async () => {{ const h = window.jaxvizExplorer; await h.sortBy('{score}'); h.open(0); }})()")
            assert errors == [] and pg.evaluate("window.jaxvizExplorer.errors") == []
            text = pg.inner_text("body")
            assert ("test mae" in text) == (score == "val_mae")
            pg.close()
        browser.close()
