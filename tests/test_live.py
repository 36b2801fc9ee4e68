"""The live picture: updated in place in a notebook while training, and kept in preview.png by the CLI."""

import os

import nbformat
import numpy as np
import pytest
from PIL import Image

import jaxviz
from jaxviz.views.live import LiveView, live_by_default


def test_preview_png_follows_training(tmp_path):
    path = tmp_path / "preview.png"
    seen = []
    run = jaxviz.sweep(lr=[0.1, 0.5], epochs=40, resolution=8, progress=False, live=str(path),
                       should_stop=lambda: seen.append(Image.open(path).copy()) or False)
    assert seen, "preview.png existed while training"
    assert Image.open(path).size == (1280, 720)
    assert len(run.configs) == 2 and run.completed_epochs == 40


def test_live_is_off_outside_notebooks_and_checked():
    assert not live_by_default(10**9, 100)
    with pytest.raises(ValueError, match="live must be True, False, None or a PNG path. Got 3 instead."):
        jaxviz.sweep(epochs=1, resolution=8, progress=False, live=3)


def test_live_view_updates_only_as_often_as_is_cheap(tmp_path):
    run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
    view = LiveView(tmp_path / "p.png", run.configs, run.axes, run.datasets, run.data_index, 8, min_interval=0.0)
    assert view.due()
    view.show(1, run.surfaces[:, 1])
    view.cost = 60.0  # an update that took a minute waits until the run is long enough to afford it
    assert not view.due(1)
    view.cost, view.spent, view.started = 0.1, 0.1, view.started - 100  # 0.2 s of a projected 200 s
    assert view.due(1)
    frame = np.asarray(Image.open(tmp_path / "p.png").convert("RGB"))
    assert (frame != 255).any(axis=2).mean() > 0.3


@pytest.mark.slow
def test_notebook_display_is_updated_while_training(tmp_path, monkeypatch):
    from nbclient import NotebookClient

    messages = []

    class Recording(NotebookClient):
        def process_message(self, msg, cell, cell_index):
            messages.append((msg["header"]["msg_type"], msg.get("content", {})))
            return super().process_message(msg, cell, cell_index)

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import jaxviz, jaxviz.views.live\n"
        "jaxviz.views.live.BUDGET = 1.0  # updates whatever they cost: this test is about where they go\n"
        "run = jaxviz.sweep(lr=[0.1, 0.5], momentum=[0.0, 0.9], epochs=3000, resolution=8, progress=False, live=True)\n"
        "print('trained', run.completed_epochs)")]
    # the kernel inherits this environment; compiling dominates a small run, so keep it light
    monkeypatch.setenv("XLA_FLAGS", f"{os.environ.get('XLA_FLAGS', '')} --xla_backend_optimization_level=0")
    Recording(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    kinds = [k for k, _ in messages]
    first = kinds.index("display_data")
    updates = [c for k, c in messages if k == "update_display_data"]
    done = next(i for i, (k, c) in enumerate(messages) if k == "stream" and "trained 3000" in c.get("text", ""))
    assert first < done and updates, kinds
    epochs = [c["metadata"]["jaxviz"]["epoch"] for k, c in messages if k in ("display_data", "update_display_data")]
    assert epochs[0] < 3000 and epochs == sorted(epochs)  # shown during training
    assert all("image/png" in c["data"] for c in updates)
    # the notebook keeps one picture, replaced in place: the last one
    (cell,) = nb.cells
    pictures = [o for o in cell.outputs if o.output_type == "display_data"]
    assert len(pictures) == 1 and pictures[0].metadata["jaxviz"]["epoch"] == epochs[-1]
