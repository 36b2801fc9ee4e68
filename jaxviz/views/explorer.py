"""The explorer: one self-contained HTML page to compare every model of a run, offline.

The page holds its script, style and data inline (no server, no CDN, no request of any kind).
Surfaces travel compact: each frame's class-1 probabilities as bytes (``round(p * 254)``, 255 for
NaN), each row stored as differences from the pixel before it, deflated and base64-encoded; the
browser inflates them with its own ``DecompressionStream`` and colours them through a lookup
table on a canvas. A run too large for :data:`MAX_BYTES` is thinned (resolution halved, then
frames dropped) and the page says so.

Everything the page computes from numbers is small (final metrics, learning curves); what needs
a library (random-forest parameter importance, :func:`jaxviz.analysis.importance`) is computed in
Python with scikit-learn when the page is written.
"""

from __future__ import annotations

import base64
import html
import json
import math
import zlib
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from jaxviz import analysis
from jaxviz.views.colours import (DIVERGED_GREY, SURFACE_ALPHA, TAB10, class_colours, confidence, surface_rgb,
                                  value_norm)

__all__ = ["MAX_BYTES", "RAW_BUDGET", "explorer_html", "write_explorer", "inline_explorer", "thinning"]

#: The largest explorer file the page aims for.
MAX_BYTES = 100_000_000
#: Surface bytes (one per pixel per frame per model) kept before thinning: ~90 MB of raw bytes
#: deflate to ~16 MB and take ~2 s to inflate and draw in the browser.
RAW_BUDGET = 96 * 2**20
#: The code of a NaN pixel (probabilities take 0..254).
NAN_CODE = 255
_POINTS_PER_SET = 400  # data points drawn per tile at most (a sample of larger data sets)


def thinning(n_models: int, n_frames: int, resolution: int, budget: int = RAW_BUDGET) -> tuple[list[int], int]:
    """Which frames and what resolution the page keeps: ``(frame indices, resolution)``.

    Within ``budget`` bytes everything is kept; above it the resolution halves (down to 32) and
    then frames are dropped evenly (first and last kept).

    Example:
        >>> thinning(1024, 21, 64)[1], len(thinning(1024, 21, 64)[0])
        (64, 21)
        >>> frames, res = thinning(4096, 21, 64)
        >>> res, len(frames)
        (32, 21)
    """
    res = resolution
    while n_models * n_frames * res * res > budget and res > 32 and res % 2 == 0:
        res //= 2
    keep = max(2, min(n_frames, budget // max(1, n_models * res * res)))
    frames = sorted({round(k * (n_frames - 1) / (keep - 1)) for k in range(keep)}) if n_frames > 1 else [0]
    return frames, res


def _codes(surfaces: np.ndarray, resolution: int, colouring: "Colouring | None" = None) -> np.ndarray:
    """``(n, res, res)`` surfaces as bytes (colour-table codes), block-averaged down to ``resolution``:
    probabilities at 255 levels; regression values within their limits; multiclass, the argmax
    class and its confidence (``Colouring``)."""
    s = surfaces.astype(np.float32)
    if s.shape[2] != resolution:
        f = s.shape[2] // resolution
        s = s.reshape(s.shape[0], resolution, f, resolution, f, *s.shape[3:]).mean(axis=(2, 4))
    if colouring is not None and colouring.task == "multiclass":
        bad = ~np.isfinite(s).all(-1)
        cls, t = confidence(np.nan_to_num(s))
        codes = (cls * colouring.levels + np.rint(t * (colouring.levels - 1))).astype(np.uint8)
        codes[bad] = NAN_CODE
        return codes
    if colouring is not None and colouring.low is not None:  # regression: each model's limits
        s = (s - colouring.low[:, None, None]) / (colouring.high - colouring.low)[:, None, None]
    bad = ~np.isfinite(s)
    codes = np.rint(np.clip(np.nan_to_num(s), 0, 1) * 254).astype(np.uint8)
    codes[bad] = NAN_CODE
    return codes


class Colouring:
    """How the page colours a run's surfaces, from ``colours``' one rule: its task, the multiclass
    levels per class (255 codes shared by the classes), each model's regression limits.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> Colouring(run).task, len(Colouring(run).lut()) // 3
        ('binary', 257)
    """

    def __init__(self, run):
        self.task, self.classes = analysis.task_of_run(run)
        self.levels = 255 // self.classes if self.task == "multiclass" else 255
        self.low = self.high = None
        if self.task == "regression":
            self.low, self.high = np.array([value_norm(run.data_of(i).y_train) for i in range(len(run.configs))]).T

    def lut(self) -> list[int]:
        """255 colours for the codes, then NaN and diverged greys, as flat RGB bytes."""
        if self.task == "multiclass":
            cls, level = np.divmod(np.arange(self.classes * self.levels), self.levels)
            t = level / (self.levels - 1)
            rgb = (1 + (TAB10[cls] - 1) * t[:, None]) * SURFACE_ALPHA + (1 - SURFACE_ALPHA)  # as multiclass_rgb
            rgb = np.vstack([rgb, np.ones((255 - len(rgb), 3))])
        else:
            rgb = surface_rgb(255)
        grey = [int(DIVERGED_GREY[k:k + 2], 16) / 255 for k in (1, 3, 5)]
        table = np.vstack([rgb, [[200 / 255] * 3], [grey]])
        return np.rint(table * 255).astype(int).ravel().tolist()

    def point_colours(self) -> list[list[int]]:
        """The points' colours by code: each class's; for regression the 255 map colours."""
        if self.task == "regression":
            return np.rint(surface_rgb(255) * 255).astype(int).tolist()
        return np.rint(class_colours(self.task, self.classes) * 255).astype(int).tolist()

    def point_codes(self, y: np.ndarray, i: int) -> np.ndarray:
        """Labels as codes into ``point_colours`` (regression: the target within model ``i``'s limits)."""
        if self.task == "regression":
            return np.rint(np.clip((y - self.low[i]) / (self.high[i] - self.low[i]), 0, 1) * 254).astype(int)
        return np.asarray(y).astype(int)


def _pack_frame(codes: np.ndarray) -> str:
    delta = codes.copy()
    delta[..., 1:] = codes[..., 1:] - codes[..., :-1]  # uint8 wraps: the page undoes it mod 256
    return base64.b64encode(zlib.compress(delta.tobytes(), 4)).decode("ascii")


def _f32(a) -> str:
    return base64.b64encode(np.ascontiguousarray(a, np.float32).tobytes()).decode("ascii")


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else str(v)
    if isinstance(v, (int, str, bool)) or v is None:
        return v
    return str(v)


def _points(run, colouring: Colouring) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    sets = []
    first = {int(d): i for i, d in reversed(list(enumerate(run.data_index)))}
    for k, ds in enumerate(run.datasets):
        x = np.vstack([ds.x_train, ds.x_test])
        y = colouring.point_codes(np.concatenate([ds.y_train, ds.y_test]), first.get(k, 0))
        test = np.r_[np.zeros(len(ds.x_train), int), np.ones(len(ds.x_test), int)]
        if len(x) > _POINTS_PER_SET:
            pick = np.sort(rng.choice(len(x), _POINTS_PER_SET, replace=False))
            x, y, test = x[pick], y[pick], test[pick]
        sets.append({"name": ds.name, "extent": [float(v) for v in ds.extent],
                     "points": np.round(np.c_[x, y, test], 3).ravel().tolist()})
    return sets


def _payload(run, frames: list[int], resolution: int, importance, colouring: Colouring) -> dict[str, Any]:
    axes = {a: [_jsonable(v) for v in vals] for a, vals in run.axes.items()}
    fixed = {k: _jsonable(v) for k, v in run.hp.items() if k not in run.axes}
    index = [[run.axes[a].index(c[a]) for a in run.axes] for c in run.configs]
    thinned = []
    full_res = run.surfaces.shape[2]
    if resolution != full_res:
        thinned.append(f"surfaces at {resolution}x{resolution} (of {full_res}x{full_res})")
    if len(frames) < len(run.frame_epochs):
        thinned.append(f"{len(frames)} of {len(run.frame_epochs)} frames")
    return {
        "models": len(run.configs), "axes": axes, "log": {a: analysis.log_spaced(v) for a, v in run.axes.items()},
        "replicate": [a for a in run.axes if a in analysis.REPLICATE_AXES], "fixed": fixed, "index": index,
        "metricNames": list(run.metrics), "metricEpochs": int(run.metrics["loss"].shape[1]),
        "metrics": {m: _f32(run.metrics[m]) for m in run.metrics}, "score": analysis.score_metric(run),
        "task": colouring.task, "classes": colouring.classes,
        "initial": [_f32(run.initial_val[0]), _f32(run.initial_val[1])],
        "trained": [int(v) for v in run.trained_epochs], "diverged": [int(v) for v in run.diverged_epoch],
        "exploded": [int(v) for v in run.exploded_epoch],
        "epochs": [int(run.frame_epochs[f]) for f in frames], "resolution": resolution,
        "dataIndex": [int(v) for v in run.data_index], "datasets": _points(run, colouring),
        "classColours": colouring.point_colours(), "lut": colouring.lut(), "importance": {m: {a: {k: _jsonable(v) for k, v in d.items()} for a, d in imp.items()}
                                       for m, imp in importance.items()},
        "thinned": "; ".join(thinned),
    }


def _asset(name: str) -> str:
    return resources.files("jaxviz.views").joinpath("assets", name).read_text(encoding="utf-8")


def _script() -> str:
    """explorer.js with the analysis views (explorer_views.js) put in its scope."""
    return _asset("explorer.js").replace("/*@VIEWS@*/", _asset("explorer_views.js"))


def explorer_html(run, *, title: str | None = None, budget: int = RAW_BUDGET) -> str:
    """The explorer page of ``run`` as one HTML string (script, style and data inline).

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> page = explorer_html(run)
        >>> page.startswith("<!DOCTYPE html>"), "http" in page.split("<script")[0]
        (True, False)
    """
    importance = {m: analysis.importance(run, m) for m in (analysis.score_metric(run), "val_loss")}
    colouring = Colouring(run)
    while True:  # thin until the page fits MAX_BYTES (the raw budget is a first guess at that)
        frames, resolution = thinning(*run.surfaces.shape[:2], run.surfaces.shape[2], budget)
        chunks = "\n".join(f'<script type="application/x-jaxviz-frame" id="jv-frame-{k}">'
                           f"{_pack_frame(_codes(run.surfaces[:, f], resolution, colouring))}</script>"
                           for k, f in enumerate(frames))
        if len(chunks) <= MAX_BYTES - 5_000_000 or (resolution <= 32 and len(frames) <= 2):
            break
        budget //= 2
    payload = _payload(run, frames, resolution, importance, colouring)
    n = len(run.configs)
    payload["title"] = title or f"jaxviz explorer: {n} model{'s' if n != 1 else ''}"
    data = json.dumps(payload, separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(payload['title'])}</title><style>{_asset('explorer.css')}</style></head>"
            f'<body><div id="jv-root"></div>\n<script type="application/json" id="jv-data">{data}</script>\n'
            f"{chunks}\n<script>{_script()}</script></body></html>\n")


def write_explorer(run, path, **options) -> Path:
    """Write the explorer page of ``run`` to ``path`` (one self-contained ``.html``); returns it.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> write_explorer(run, f"{tempfile.mkdtemp()}/explorer.html").name
        'explorer.html'
    """
    from jaxviz.io.files import atomic_path

    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise ValueError(f"path must end in .html. Got {str(path)!r} instead.")
    page = explorer_html(run, **options).encode("utf-8")
    with atomic_path(path) as tmp:
        tmp.write_bytes(page)
    return path


def inline_explorer(run, height: int = 900, **options):
    """The explorer as an ``IPython.display.HTML`` iframe (``srcdoc``), so its script runs in
    Jupyter, JupyterLab, VS Code and Colab alike. The page is kept lighter than a file's (a third
    of :data:`RAW_BUDGET` unless ``budget`` is given): the notebook stores it with its outputs.

    Example:
        >>> import jaxviz
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> inline_explorer(run).data.startswith("<iframe")
        True
    """
    import warnings

    from IPython.display import HTML

    options.setdefault("budget", RAW_BUDGET // 3)
    page = html.escape(explorer_html(run, **options), quote=True)
    with warnings.catch_warnings():  # IPython suggests IFrame, which needs a URL: srcdoc needs none
        warnings.simplefilter("ignore", UserWarning)
        return HTML(f'<iframe srcdoc="{page}" style="width:100%;height:{int(height)}px;border:1px solid #ddd" '
                'sandbox="allow-scripts allow-downloads allow-popups"></iframe>')
