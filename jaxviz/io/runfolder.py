"""The run folder as a library feature: everything a run writes to disk and reads back.

A run folder holds the animation (one of :data:`~jaxviz.io.video.FORMATS`), ``final.png``,
``metrics.csv``, ``config.toml`` (re-runs it), ``run.npz`` (restores the Run without training)
and, for a run stopped early, ``checkpoint.npz`` (continues it). ``run.npz`` and checkpoints
share one key scheme (:func:`run_arrays`). Destinations are checked before training (room on
disk, writable, not holding another run); if writing fails after training anyway, the results
go to a rescue folder beside it.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxviz.analysis import METRICS
from jaxviz.data import Dataset
from jaxviz.io.files import read_config, write_config, write_metrics_csv, write_npz
from jaxviz.io.video import FORMATS
from jaxviz.spec.config import DATASETS, format_bytes
from jaxviz.spec.grid import make_grid, with_dataset

__all__ = ["RUN_FILES", "CHECKPOINT", "save_run", "load_run", "write_checkpoint", "read_checkpoint",
           "animation_name", "disk_needed", "prepare_folder", "write_outputs", "rescue"]

CHECKPOINT = "checkpoint.npz"
#: What a run folder holds; a run is not written over another without ``overwrite``.
RUN_FILES = (*(f"animation{f.suffix}" if f.suffix else "frames" for f in FORMATS.values()),
             "final.png", "metrics.csv", "config.toml", "run.npz", "explorer.html")


def animation_name(fmt: str) -> str:
    """The animation's name in a run folder for format ``fmt``.

    Example:
        >>> animation_name("mp4"), animation_name("png")
        ('animation.mp4', 'frames')
    """
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {list(FORMATS)}. Got {fmt!r} instead.")
    return f"animation{FORMATS[fmt].suffix}" if FORMATS[fmt].suffix else "frames"


def run_arrays(metrics: list | dict, weights: list, initial_val: tuple) -> dict[str, np.ndarray]:
    """The key scheme shared by ``run.npz`` and checkpoints: ``metric_<name>``, ``weight_<j>``,
    ``initial_val_loss`` and ``initial_val_accuracy``."""
    metrics = metrics if isinstance(metrics, dict) else dict(zip(METRICS, metrics))
    arrays = {f"metric_{k}": v for k, v in metrics.items()}
    arrays |= {f"weight_{j}": w for j, w in enumerate(weights)}
    return arrays | {"initial_val_loss": initial_val[0], "initial_val_accuracy": initial_val[1]}


def _read_run_arrays(z) -> tuple[dict[str, np.ndarray], list[np.ndarray], tuple]:
    metrics = {k: z[f"metric_{k}"] for k in METRICS}
    weights = [z[f"weight_{j}"] for j in range(sum(1 for k in z.files if k.startswith("weight_")))]
    return metrics, weights, (z["initial_val_loss"], z["initial_val_accuracy"])


def write_checkpoint(path, checkpoint) -> Path:
    """Write a training checkpoint (``.npz``, no pickle): the state leaves, epochs done, and the
    results so far under :func:`run_arrays`' keys."""
    arrays = run_arrays(checkpoint.metrics, checkpoint.weights, checkpoint.initial_val)
    arrays |= {f"state_{j}": v for j, v in enumerate(checkpoint.state)}
    return write_npz(path, arrays | {"done": np.asarray(checkpoint.done)})


def read_checkpoint(path) -> dict[str, Any]:
    """The fields of a checkpoint written by :func:`write_checkpoint`, as a dict."""
    with np.load(path, allow_pickle=False) as z:
        metrics, weights, initial = _read_run_arrays(z)
        state = [z[f"state_{j}"] for j in range(sum(1 for k in z.files if k.startswith("state_")))]
        return {"state": state, "done": int(z["done"]), "metrics": [metrics[k] for k in METRICS],
                "weights": weights, "initial_val": initial}


def save_run(run, directory) -> Path:
    """Write ``run.npz`` (arrays), ``config.toml`` (re-runs it) and ``metrics.csv`` into ``directory``.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> sorted(p.name for p in save_run(run, tempfile.mkdtemp()).iterdir())
        ['config.toml', 'metrics.csv', 'run.npz']
    """
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    arrays = run_arrays(run.metrics, run._weights, run.initial_val)
    arrays |= {"surfaces": run.surfaces, "frame_epochs": run.frame_epochs, "data_index": run.data_index}
    for j, ds in enumerate(run.datasets):
        arrays |= {f"data_{j}_{k}": getattr(ds, k) for k in ("x_train", "y_train", "x_test", "y_test")}
        arrays[f"data_{j}_extent"] = np.asarray(ds.extent)
        arrays[f"data_{j}_name"] = np.asarray(ds.name)
    write_npz(d / "run.npz", arrays)
    write_config(d / "config.toml", run.hp, run.options)
    write_metrics_csv(d / "metrics.csv", run)
    return d


def load_run(directory):
    """Restore the :class:`~jaxviz.results.Run` in a run folder (``run.npz`` and ``config.toml``).

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> load_run(save_run(run, tempfile.mkdtemp())).metrics["loss"].shape
        (2, 2)
    """
    from jaxviz.results import Run

    d = Path(directory)
    if not (d / "run.npz").is_file():
        raise ValueError(f"directory must hold a saved run (run.npz). Got {str(d)!r} instead.")
    config = read_config(d / "config.toml")
    hp = dict(config["hp"])
    custom = hp.pop("dataset") if isinstance(hp.get("dataset"), str) and hp["dataset"] not in DATASETS else None
    grid = make_grid(hp)
    if custom is not None:
        grid = with_dataset(grid, custom)
    with np.load(d / "run.npz", allow_pickle=False) as z:
        metrics, weights, initial = _read_run_arrays(z)
        surfaces, shown, data_index = z["surfaces"], z["frame_epochs"], z["data_index"]
        n_data = sum(1 for k in z.files if k.endswith("_extent"))
        datasets = [Dataset(str(z[f"data_{j}_name"]), *(z[f"data_{j}_{k}"] for k in ("x_train", "y_train", "x_test", "y_test")),
                            tuple(float(v) for v in z[f"data_{j}_extent"])) for j in range(n_data)]
    return Run(
        hp={**grid.axes, **grid.fixed}, options=config["options"], configs=grid.configs, axes=grid.axes,
        metrics=metrics, surfaces=surfaces, frame_epochs=shown, datasets=datasets, data_index=data_index,
        initial_val=initial, _weights=weights,
    )


def disk_needed(plan, size, fmt: str) -> int:
    """Bytes a run folder will take, on the high side: run.npz holds the results uncompressed; an
    animation frame takes at most a tenth of its raw pixels (PNG frames a half).

    Example:
        >>> class P: results, frames = 1000, 9
        >>> disk_needed(P, (100, 100), "mp4")
        31000
    """
    w, h = size or (1280, 720)
    per_frame = w * h * 3 // (2 if fmt == "png" else 10)
    return plan.results + (plan.frames + 1) * per_frame


def prepare_folder(out, overwrite: bool = False, what: str = "--out") -> Path:
    """Check and create a run folder before anything trains: a folder (not a file), creatable,
    writable, and not holding a run already unless ``overwrite``."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"{what} must be a folder. Got {str(out)!r} (an existing file) instead.")
    if not overwrite and out.is_dir() and any((out / name).exists() for name in RUN_FILES):
        raise ValueError(f"{what} must not hold a run already (or pass --overwrite). Got {str(out)!r}, "
                         "which has one, instead.")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"{what} must be a folder that can be created. Got {str(out)!r} ({e.strerror}) instead.") from None
    if not os.access(out, os.W_OK):
        raise ValueError(f"{what} must be a writable folder. Got {str(out)!r} instead.")
    return out


def check_room(out, plan, size, fmt: str) -> None:
    """Refuse a destination without room for the run, before training."""
    need, free = disk_needed(plan, size, fmt), shutil.disk_usage(out).free
    if free < need:
        raise ValueError(f"--out must have room for the run: it needs about {format_bytes(need)} and "
                         f"{format_bytes(free)} are free there. Got {str(out)!r} instead.")


def write_outputs(run, out, fmt: str = "mp4", size=None, fps: float = 10, hold: float = 0.0,
                  decision_line: bool = False) -> Path:
    """The animation, final.png, run.npz, metrics.csv, config.toml and explorer.html (and a
    checkpoint if the run stopped early) in ``out``; returns the animation's path."""
    out = Path(out)
    animation = run.animate(out / animation_name(fmt), fps=fps, hold=hold, size=size, decision_line=decision_line)
    run.figure(-1, size=size, decision_line=decision_line).savefig(out / "final.png", dpi=100)
    save_run(run, out)
    run.explore(out / "explorer.html")
    if run.completed_epochs < run.epochs:
        write_checkpoint(out / CHECKPOINT, run.checkpoint)
    return animation


def rescue(run, out) -> Path | None:
    """Save the results (run.npz, metrics.csv, config.toml, checkpoint) beside ``out``, else in
    the temp folder, else in the home folder; the first place that takes them, or None."""
    import tempfile

    out = Path(out)
    name = f"{out.resolve().name}-rescued-{time.strftime('%Y%m%d-%H%M%S')}"
    for parent in (out.resolve().parent, Path(tempfile.gettempdir()), Path.home()):
        folder = parent / name
        try:
            save_run(run, folder)
            if run.completed_epochs < run.epochs:
                write_checkpoint(folder / CHECKPOINT, run.checkpoint)
            return folder
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
    return None
