"""The explorer page in a real browser: headless Chromium (Debian's ``chromium`` package) driven
by Playwright, checked through ``window.jaxvizExplorer`` and screenshots.

Skips (with the reason) only where no browser can be started; ``.ci/run`` installs one.
"""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

import jaxviz
from jaxviz.views.explorer import explorer_html, thinning

CHROMIUM = os.environ.get("JAXVIZ_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
ALLOWED = ("file:", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def run():
    """3 lr x 2 kr x 2 seeds, 4 epochs, resolution 16; lr 5 with kr 3 diverges (NaN loss)."""
    return jaxviz.sweep({"lr": [0.05, 0.5, 5.0], "kr": [0.0, 3.0], "seed": [0, 1]}, epochs=4,
                        resolution=16, progress=False)


def _no_browser(reason: str):
    """Skip where no browser can be installed; fail in CI (.ci/run sets JAXVIZ_REQUIRE_BROWSER=1)."""
    if os.environ.get("JAXVIZ_REQUIRE_BROWSER"):
        pytest.fail(f"the explorer tests need a browser: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright import sync_api
    except ImportError:
        _no_browser("playwright is not installed (pip install -e .[dev])")
    if not CHROMIUM:
        _no_browser("no Chromium browser installed (apt-get install -y chromium; .ci/run does)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


@pytest.fixture(scope="module")
def page_file(run, tmp_path_factory):
    return run.explore(tmp_path_factory.mktemp("explorer") / "explorer.html")


@pytest.fixture()
def page(browser, page_file):
    """The page loaded and ready, with every request and page error recorded."""
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    pg = context.new_page()
    pg.requests, pg.page_errors = [], []
    pg.on("request", lambda r: pg.requests.append(r.url))
    pg.on("pageerror", lambda e: pg.page_errors.append(str(e)))
    pg.goto(page_file.as_uri())
    pg.evaluate("window.jaxvizExplorer.ready")
    yield pg
    assert pg.evaluate("window.jaxvizExplorer.errors") == [] and pg.page_errors == []
    assert [u for u in pg.requests if not u.startswith(ALLOWED)] == []
    context.close()


def handle(pg, expr):
    return pg.evaluate(f"(async () => {{ const h = window.jaxvizExplorer; return {expr}; }})()")


def test_page_is_one_self_contained_file(run, page_file):
    text = page_file.read_text()
    assert text.count("<script") == text.count("</script>") and "<link" not in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert "src=" not in text  # nothing loaded from elsewhere


def test_decoded_values_match_the_surfaces(run, page):
    n, n_frames, res = run.surfaces.shape[:3]
    assert handle(page, "h.models") == n and handle(page, "h.epochs") == run.frame_epochs.tolist()
    got = np.array(page.evaluate(
        f"""() => {{ const h = window.jaxvizExplorer, out = [];
            for (let m = 0; m < {n}; m++) for (let f = 0; f < {n_frames}; f++)
              for (let i = 0; i < {res}; i++) for (let j = 0; j < {res}; j++) out.push(h.probability(m, f, i, j));
            return out; }}"""), float).reshape(run.surfaces.shape)
    want = run.surfaces.astype(float)
    finite = np.isfinite(want)
    assert np.array_equal(np.isnan(got), ~finite)
    assert np.abs(got[finite] - want[finite]).max() <= 1 / 255


def test_scrub_sort_filter(run, page):
    n = len(run.configs)
    assert handle(page, "h.drawn()") == n and sorted(handle(page, "h.visible()")) == list(range(n))
    for e in run.frame_epochs.tolist():
        assert handle(page, f"h.setEpoch({e}).then(() => [h.drawn(), document.querySelector('.jv-epoch').textContent])") == \
            [n, f"epoch {e} / {run.epochs}"]
    final = jaxviz.analysis.final_values(run, "val_loss")
    order = handle(page, "h.sortBy('val_loss', false).then(() => h.visible())")
    ok = [i for i in np.argsort(final, kind="stable") if np.isfinite(final[i])]
    assert order[:len(ok)] == ok and all(np.isnan(final[i]) for i in order[len(ok):])  # NaN last
    order = handle(page, "h.sortBy('val_accuracy', true).then(() => h.visible())")
    acc = jaxviz.analysis.final_values(run, "val_accuracy")
    assert all(acc[a] >= acc[b] for a, b in zip(order, order[1:]) if np.isfinite(acc[b]))
    shown = handle(page, "h.filter({lr: [0.5], kr: [3]}).then(() => h.visible())")
    assert sorted(shown) == [i for i, c in enumerate(run.configs) if c["lr"] == 0.5 and c["kr"] == 3.0]
    assert handle(page, "h.drawn()") == len(shown)
    assert sorted(handle(page, "h.filter({}).then(() => h.visible())")) == list(range(n))
    low = float(np.nanmedian(acc))  # a metric range from the filter panel: test accuracy >= the median
    box = page.locator(".jv-range").first.locator("input").first
    box.fill(str(low))
    box.dispatch_event("change")
    assert sorted(handle(page, "h.visible()")) == [i for i in range(n) if acc[i] >= low]
    assert sorted(handle(page, "h.filter({}).then(() => h.visible())")) == list(range(n))


def test_click_enlarges_with_learning_curves_and_marks_show(run, page, tmp_path):
    page.screenshot(path=tmp_path / "page.png", full_page=True)
    box = handle(page, "h.tileRect(7)")
    x, y = box["x"] + box["w"] / 2, box["y"] + box["h"] / 2
    page.mouse.move(x, y)
    tip = page.locator(".jv-tip").inner_text()
    assert tip.startswith("model 7") and "lr = 0.5" in tip and "test loss" in tip
    page.mouse.click(x, y)
    card = page.locator(".jv-modal.jv-open .jv-card")
    assert card.is_visible() and "model 7: lr = 0.5, kr = 3, seed = 1" in card.inner_text()
    assert page.locator(".jv-modal.jv-open svg polyline").count() >= 4  # loss, val_loss, accuracy, val_accuracy
    card.screenshot(path=tmp_path / "card.png")
    page.keyboard.press("Escape")
    assert not card.is_visible()
    from PIL import Image

    shot = np.asarray(Image.open(tmp_path / "page.png").convert("RGB"))
    assert shot.std() > 20  # a drawn page, not a blank one


def test_views_link_to_the_tiles(run, page):
    for tab in ("summary", "parallel", "importance", "curves", "table"):
        page.click(f"button[data-tab={tab}]")
        assert page.locator(".jv-view").inner_text() or page.locator(".jv-view canvas").count()
    page.click("button[data-tab=summary]")
    page.locator(".jv-heat td").first.click()  # a cell shows its tiles (lr 0.05, kr 0: two seeds)
    assert sorted(handle(page, "h.visible()")) == [i for i, c in enumerate(run.configs)
                                                    if c["lr"] == 0.05 and c["kr"] == 0.0]
    page.click("button[data-tab=table]")
    assert page.locator(".jv-table tr").count() == 1 + 2
    _ = handle(page, "h.csv()").splitlines()
    handle(page, "h.filter({})")
    page.click("button[data-tab=parallel]")  # brush the top quarter of the lr axis: lr 5 only
    box = page.locator(".jv-view canvas").bounding_box()
    page.mouse.move(box["x"] + 50, box["y"] + 29)
    page.mouse.down()
    page.mouse.move(box["x"] + 50, box["y"] + 28 + 0.25 * (320 - 68), steps=4)
    page.mouse.up()
    assert sorted(handle(page, "h.visible()")) == [i for i, c in enumerate(run.configs) if c["lr"] == 5.0]
    handle(page, "h.filter({lr: [0.05], kr: [0]})")
    page.click("button[data-tab=table]")
    csv = handle(page, "h.csv()").splitlines()
    assert csv[0].startswith("model,lr,kr,seed,") and len(csv) == 3
    with page.expect_download() as download:
        page.click("#jv-csv")
    assert download.value.suggested_filename.endswith(".csv")
    # filter's promise resolves once the view has followed: read in the same task, the table is the new one
    assert handle(page, "h.filter({}).then(() => document.querySelectorAll('.jv-table tr').length)") == 1 + len(run.configs)
    marked = [i for i in range(len(run.configs)) if run.diverged_epoch[i] > 0 or run.exploded_epoch[i] > 0]
    assert marked and page.locator("tr.jv-diverged, tr.jv-exploded").count() == len(marked)
    assert "diverged" in page.locator("tr.jv-diverged").first.inner_text()
    box = handle(page, f"h.tileRect({marked[0]})")
    page.mouse.move(box["x"] + box["w"] / 2, box["y"] + box["h"] / 2)
    assert "diverged at epoch" in page.locator(".jv-tip").inner_text()


def test_thinning_keeps_large_runs_small():
    assert thinning(1024, 21, 64) == (list(range(21)), 64)
    frames, res = thinning(4096, 21, 64)
    assert res == 32 and len(frames) == 21
    frames, res = thinning(16384, 21, 64)
    assert res == 32 and 2 <= len(frames) < 21 and frames[0] == 0 and frames[-1] == 20


def test_thinned_page_says_so(run, browser, tmp_path):
    path = tmp_path / "thin.html"
    path.write_text(explorer_html(run, budget=12 * 16 * 16 * 2))
    pg = browser.new_page()
    pg.goto(path.as_uri())
    pg.evaluate("window.jaxvizExplorer.ready")
    assert "keeps" in pg.locator(".jv-note").inner_text() and handle(pg, "h.epochs.length") == 2
    assert handle(pg, "h.errors") == []
    pg.close()


def test_explore_inline_runs_in_a_notebook_output(run, browser, tmp_path):
    """A notebook shows ``run.explore()`` as an iframe (srcdoc): its script runs inside it."""
    shown = run.explore()
    assert shown.data.startswith("<iframe srcdoc=") and "jaxvizExplorer" in shown.data
    host = tmp_path / "notebook.html"
    host.write_text(f"<html><body><h1>a notebook</h1>{shown.data}</body></html>")
    pg = browser.new_page()
    requests = []
    pg.on("request", lambda r: requests.append(r.url))
    pg.goto(host.as_uri())
    frame = pg.frames[1]
    frame.evaluate("window.jaxvizExplorer.ready")
    assert frame.evaluate("[window.jaxvizExplorer.drawn(), window.jaxvizExplorer.errors]") == [len(run.configs), []]
    assert [u for u in requests if not u.startswith(ALLOWED)] == []
    pg.close()
    with pytest.raises(ValueError, match=r"path must end in .html. Got '.*x.png' instead."):
        run.explore(tmp_path / "x.png")


@pytest.mark.slow
def test_cli_explore_writes_the_page(run, tmp_path):
    folder = run.save(tmp_path / "r")
    out = tmp_path / "page.html"
    code = subprocess.run([sys.executable, "-m", "jaxviz.cli", "explore", str(folder), "--out", str(out)],
                          capture_output=True, text=True)
    assert code.returncode == 0 and out.stat().st_size > 10_000, code.stderr
    bad = subprocess.run([sys.executable, "-m", "jaxviz.cli", "explore", str(tmp_path / "nothing")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.startswith("jaxviz: error: directory must hold a saved run")


@pytest.mark.slow
def test_cli_run_writes_explorer_html_into_the_run_folder(tmp_path, capsys):
    from jaxviz.cli import main

    out = tmp_path / "run"
    assert main(["run", "--grid", "lr=0.1,0.5", "--set", "epochs=2", "--resolution", "8", "--format", "gif",
                 "--out", str(out)]) == 0
    assert "explorer.html" in capsys.readouterr().out
    page = (out / "explorer.html").read_text()
    assert "window.jaxvizExplorer" in page and 'id="jv-frame-2"' in page  # frames of epochs 0, 1, 2
