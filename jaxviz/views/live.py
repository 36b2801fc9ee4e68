"""The tiled picture while a grid trains: shown in a notebook and updated in place, or kept in a PNG.

:func:`jaxviz.sweep` (``live=``) predicts the surfaces at the epoch reached after a chunk of epochs
and hands them here; a :class:`LiveView` composes the frame with the same
:class:`~jaxviz.views.compositor.FrameCompositor` as the animation (the static layers drawn once),
adds the epoch counter and a progress line, and updates an IPython display handle (Jupyter, Colab,
VS Code: no extra dependency) or rewrites a PNG atomically. It times itself and updates only while
updates have taken under ``BUDGET`` (9%) of the run's time, so that it slows training by ~10% at most.
"""

from __future__ import annotations

import io
import math
import sys
import time
from pathlib import Path

import numpy as np

from jaxviz.views.compositor import FrameCompositor

__all__ = ["LiveView", "in_notebook", "live_by_default"]

#: Model-epochs times batches per epoch above which a notebook sweep is live unless told otherwise:
#: about what two cores train in a few seconds (~120,000 a second on the benchmarks' machine).
LIVE_WORK = 500_000
#: The share of the run's time that updates may take.
BUDGET = 0.09


def in_notebook() -> bool:
    """True inside a Jupyter / Colab / VS Code kernel (an IPython kernel with a display front end).

    Example:
        >>> in_notebook()
        False
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return shell is not None and (type(shell).__name__ == "ZMQInteractiveShell" or "google.colab" in sys.modules)


def live_by_default(model_epochs: int, batches: int) -> bool:
    """Live on by default: in a notebook, for runs expected to take more than a few seconds.

    Example:
        >>> live_by_default(10**9, 10)  # not in a notebook
        False
    """
    return in_notebook() and model_epochs * max(batches, 1) > LIVE_WORK


class _PartialRun:
    """What the compositor reads from a Run, for a grid still training: one frame, no metrics."""

    def __init__(self, configs, axes, datasets, data_index, resolution: int):
        n = len(configs)
        self.configs, self.axes, self.datasets, self.data_index = configs, axes, datasets, np.asarray(data_index)
        self.surfaces = np.full((n, 1, resolution, resolution), 0.5, np.float16)
        self.frame_epochs = np.zeros(1, int)
        self.diverged_epoch = self.exploded_epoch = np.full(n, -1)
        self.epochs = max(c["epochs"] for c in configs)
        task = (configs[0].get("task") if n else None) or "binary"
        self.metrics = {"val_mae": None} if task == "regression" else {"val_accuracy": None}  # names only

    def data_of(self, i: int):
        return self.datasets[int(self.data_index[i])]


class LiveView:
    """A picture of a grid in training, redrawn as surfaces come in.

    ``target``: ``"notebook"`` (an IPython display updated in place) or a PNG path (rewritten
    atomically). ``show(done, surfaces)`` draws the surfaces ``(n_models, res, res)`` at epoch
    ``done``; ``due()`` says whether an update is wanted now.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> view = LiveView(f"{tempfile.mkdtemp()}/preview.png", run.configs, run.axes, run.datasets,
        ...                 run.data_index, 8)
        >>> view.show(2, run.surfaces[:, -1]).name
        'preview.png'
    """

    def __init__(self, target, configs, axes, datasets, data_index, resolution: int, min_interval: float = 0.5,
                 size: tuple[int, int] | None = None):
        self.target = target
        self.partial = _PartialRun(configs, axes, datasets, data_index, resolution)
        self.size, self._compositor, self.build = size, None, 0.0
        self.min_interval, self.cost, self.spent, self.last = min_interval, 0.0, 0.0, -math.inf
        self.started = time.perf_counter()
        self.handle = None
        self.updates: list[int] = []

    @property
    def compositor(self) -> FrameCompositor:
        """The frame compositor, built at the first update (its cost counts as the update's)."""
        if self._compositor is None:
            t0 = time.perf_counter()
            self._compositor = FrameCompositor(self.partial, size=self.size, exact=False)
            self.build = time.perf_counter() - t0
            self._compositor.show_status = False  # no metrics yet: the progress line says where training is
        return self._compositor

    def due(self, done: int | None = None) -> bool:
        """Whether an update is wanted now (at epoch ``done``): ``min_interval`` seconds since the
        last, the first update whatever it costs (the picture appears early), and later ones only
        while all updates, this one included (estimated at the last one's cost), stay under
        ``BUDGET`` of the run's time projected from the epochs done so far."""
        now = time.perf_counter()
        if now - self.last < self.min_interval:
            return False
        if not self.updates:
            return True
        elapsed = now - self.started
        total = elapsed * self.partial.epochs / done if done else elapsed
        return self.spent + self.cost <= BUDGET * total

    def _png(self, done: int) -> bytes:
        from matplotlib import font_manager
        from PIL import Image, ImageDraw, ImageFont

        frame = self.compositor.frame_rgb(0)
        image = Image.fromarray(frame)
        n, epochs = len(self.partial.configs), self.partial.epochs
        text = (f"training: epoch {done}/{epochs} ({100 * done / epochs:.0f}%), {n} models, "
                f"{time.perf_counter() - self.started:.1f} s")
        font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), 13)
        draw = ImageDraw.Draw(image)
        left, top, right, bottom = draw.textbbox((8, 6), text, font=font)
        draw.rectangle((left - 3, top - 2, right + 3, bottom + 8), fill=(255, 255, 255))
        draw.text((8, 6), text, fill=(0, 0, 0), font=font)
        bar = int((right - left) * done / epochs)
        draw.rectangle((left, bottom + 3, left + bar, bottom + 6), fill=(33, 102, 172))
        buffer = io.BytesIO()
        image.save(buffer, format="png", compress_level=1, optimize=False)  # fast: rewritten every update
        return buffer.getvalue()

    def show(self, done: int, surfaces):
        """Draw ``surfaces`` (``(n_models, res, res)``, or a function that predicts them, whose time
        then counts as the update's) as the picture at epoch ``done``."""
        t0 = time.perf_counter()
        surfaces = np.asarray(surfaces() if callable(surfaces) else surfaces)
        if self.partial.surfaces.shape[2:] != surfaces.shape[1:]:  # multiclass: (n, res, res, classes)
            self.partial.surfaces = np.empty((surfaces.shape[0], 1, *surfaces.shape[1:]), np.float16)
        self.partial.surfaces[:, 0] = surfaces
        self.partial.frame_epochs[0] = done
        png = self._png(done)
        out = self._publish(png, done)
        self.last = time.perf_counter()
        self.spent += self.last - t0
        self.cost = self.last - t0 - (self.build if len(self.updates) == 0 else 0.0)  # the next one's estimate
        self.updates.append(done)
        return out

    def _publish(self, png: bytes, done: int):
        meta = {"jaxviz": {"epoch": int(done), "epochs": int(self.partial.epochs)}}
        if self.target == "notebook":
            from IPython.display import Image, display

            image = Image(data=png, format="png", metadata=meta)
            if self.handle is None:
                self.handle = display(image, display_id=True, metadata=meta)
            else:
                self.handle.update(image, metadata=meta)
            return self.handle
        from jaxviz.io.files import atomic_path

        path = Path(self.target)
        with atomic_path(path) as tmp:
            tmp.write_bytes(png)
        return path
