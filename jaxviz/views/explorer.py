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
from jaxviz.views.colours import CLASS_COLOURS, DIVERGED_GREY, surface_rgb

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


def _codes(surfaces: np.ndarray, resolution: int) -> np.ndarray:
    """``(n, res, res)`` probabilities as bytes, block-averaged down to ``resolution``."""
    s = surfaces.astype(np.float32)
    if s.shape[-1] != resolution:
        f = s.shape[-1] // resolution
        s = s.reshape(s.shape[0], resolution, f, resolution, f).mean(axis=(2, 4))
    bad = ~np.isfinite(s)
    codes = np.rint(np.clip(np.nan_to_num(s), 0, 1) * 254).astype(np.uint8)
    codes[bad] = NAN_CODE
    return codes


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


def _lut() -> list[int]:
    """256 probability colours (RdBu at the seed's alpha over white), then NaN and diverged greys."""
    rgb = surface_rgb(255)
    grey = [int(DIVERGED_GREY[k:k + 2], 16) / 255 for k in (1, 3, 5)]
    table = np.vstack([rgb, [[200 / 255] * 3], [grey]])
    return np.rint(table * 255).astype(int).ravel().tolist()


def _points(run) -> list[dict[str, Any]]:
    rng = np.random.default_rng(0)
    sets = []
    for ds in run.datasets:
        x = np.vstack([ds.x_train, ds.x_test])
        y = np.concatenate([ds.y_train, ds.y_test]).astype(int)
        test = np.r_[np.zeros(len(ds.x_train), int), np.ones(len(ds.x_test), int)]
        if len(x) > _POINTS_PER_SET:
            pick = np.sort(rng.choice(len(x), _POINTS_PER_SET, replace=False))
            x, y, test = x[pick], y[pick], test[pick]
        sets.append({"name": ds.name, "extent": [float(v) for v in ds.extent],
                     "points": np.round(np.c_[x, y, test], 3).ravel().tolist()})
    return sets


def _payload(run, frames: list[int], resolution: int, importance) -> dict[str, Any]:
    axes = {a: [_jsonable(v) for v in vals] for a, vals in run.axes.items()}
    fixed = {k: _jsonable(v) for k, v in run.hp.items() if k not in run.axes}
    index = [[run.axes[a].index(c[a]) for a in run.axes] for c in run.configs]
    thinned = []
    full_res = run.surfaces.shape[-1]
    if resolution != full_res:
        thinned.append(f"surfaces at {resolution}x{resolution} (of {full_res}x{full_res})")
    if len(frames) < len(run.frame_epochs):
        thinned.append(f"{len(frames)} of {len(run.frame_epochs)} frames")
    return {
        "models": len(run.configs), "axes": axes, "log": {a: analysis.log_spaced(v) for a, v in run.axes.items()},
        "replicate": [a for a in run.axes if a in analysis.REPLICATE_AXES], "fixed": fixed, "index": index,
        "metricNames": list(analysis.METRICS), "metricEpochs": int(run.metrics["loss"].shape[1]),
        "metrics": {m: _f32(run.metrics[m]) for m in analysis.METRICS},
        "initial": [_f32(run.initial_val[0]), _f32(run.initial_val[1])],
        "trained": [int(v) for v in run.trained_epochs], "diverged": [int(v) for v in run.diverged_epoch],
        "exploded": [int(v) for v in run.exploded_epoch],
        "epochs": [int(run.frame_epochs[f]) for f in frames], "resolution": resolution,
        "dataIndex": [int(v) for v in run.data_index], "datasets": _points(run),
        "classColours": [[int(v) for v in CLASS_COLOURS(k, bytes=True)[:3]] for k in (0, 1)],
        "lut": _lut(), "importance": {m: {a: {k: _jsonable(v) for k, v in d.items()} for a, d in imp.items()}
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
    importance = {m: analysis.importance(run, m) for m in ("val_accuracy", "val_loss")}
    while True:  # thin until the page fits MAX_BYTES (the raw budget is a first guess at that)
        frames, resolution = thinning(*run.surfaces.shape[:2], run.surfaces.shape[-1], budget)
        chunks = "\n".join(f'<script type="application/x-jaxviz-frame" id="jv-frame-{k}">'
                           f"{_pack_frame(_codes(run.surfaces[:, f], resolution))}</script>"
                           for k, f in enumerate(frames))
        if len(chunks) <= MAX_BYTES - 5_000_000 or (resolution <= 32 and len(frames) <= 2):
            break
        budget //= 2
    payload = _payload(run, frames, resolution, importance)
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
