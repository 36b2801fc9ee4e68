"""The run folder as a library feature: everything a run writes to disk and reads back.

A run folder holds the animation (one of :data:`~jaxviz.io.video.FORMATS`), ``final.png``,
``metrics.csv``, ``config.toml`` (re-runs it), ``run.npz`` (restores the Run without training)
and, for a run stopped early, ``checkpoint.npz`` (continues it). ``run.npz`` and checkpoints
share one key scheme (:func:`run_arrays`). Destinations are checked before training (room on
disk, writable, not holding another run); if writing fails after training anyway, the results
go to a rescue folder beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from jaxviz.analysis import METRICS, REGRESSION_METRICS
from jaxviz.io.files import hp_hash, hp_table, read_config, table_hash, write_config, write_metrics_csv, write_npz
from jaxviz.io.video import FORMATS
from jaxviz.spec.config import DATASETS, format_bytes
from jaxviz.spec.grid import make_grid, with_dataset

__all__ = ["RUN_FILES", "CHECKPOINT", "save_run", "load_run", "write_checkpoint", "read_checkpoint",
           "animation_name", "disk_needed", "prepare_folder", "write_outputs", "rescue", "clear_run",
           "write_run_files", "resume_config", "check_resumable"]

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


def run_arrays(metrics: list | dict, weights: list, initial_val: tuple, names=METRICS) -> dict[str, np.ndarray]:
    """The key scheme shared by ``run.npz`` and checkpoints: ``metric_<name>``, ``weight_<j>``,
    ``initial_val_loss`` and ``initial_val_accuracy`` (a regression: ``initial_val_mae``).
    A list of metrics is in the order of ``names``."""
    metrics = metrics if isinstance(metrics, dict) else dict(zip(names, metrics))
    arrays = {f"metric_{k}": v for k, v in metrics.items()}
    arrays |= {f"weight_{j}": w for j, w in enumerate(weights)}
    second = "mae" if "mae" in metrics else "accuracy"
    return arrays | {"initial_val_loss": initial_val[0], f"initial_val_{second}": initial_val[1]}


def _hp_arrays(configs) -> dict[str, np.ndarray]:
    table = hp_table(configs)
    return {"hp_hash": np.asarray(table_hash(table)), "hp_table": np.asarray(table)}


def write_checkpoint(path, checkpoint, configs: list[dict[str, Any]] | None = None) -> Path:
    """Write a training checkpoint (``.npz``, no pickle): the state leaves, epochs done, the
    results so far under :func:`run_arrays`' keys, and (given ``configs``) the hash of the hp
    table it trains, so that a resume after an edit of the config is refused."""
    regression = configs is not None and len(configs) and configs[0].get("task") == "regression"
    arrays = run_arrays(checkpoint.metrics, checkpoint.weights, checkpoint.initial_val,
                        REGRESSION_METRICS if regression else METRICS)
    arrays |= {f"state_{j}": v for j, v in enumerate(checkpoint.state)}
    if configs is not None:
        arrays |= _hp_arrays(configs)
    return write_npz(path, arrays | {"done": np.asarray(checkpoint.done)})


def read_checkpoint(path) -> dict[str, Any]:
    """The fields of a checkpoint written by :func:`write_checkpoint`, as a dict."""
    z = _read_npz(path)
    metrics, weights, initial = _read_run_arrays(path, z)
    state = [z[f"state_{j}"] for j in range(sum(1 for k in z if k.startswith("state_")))]
    return {"state": state, "done": int(_need(path, z, "done")), "metrics": list(metrics.values()),
            "weights": weights, "initial_val": initial}


def resume_config(folder) -> Path:
    """The config.toml of an interrupted run folder for ``--resume``; refuses anything else.

    Example:
        >>> resume_config("/nonexistent")
        Traceback (most recent call last):
        ...
        ValueError: --resume must name an interrupted run folder (with checkpoint.npz). Got '/nonexistent' (no such folder) instead.
    """
    d = Path(folder)
    why = ("no such folder" if not d.exists() else "a file, not a folder" if not d.is_dir()
           else f"no {CHECKPOINT}" if not (d / CHECKPOINT).is_file()
           else "no config.toml" if not (d / "config.toml").is_file() else None)
    if why:
        raise ValueError(f"--resume must name an interrupted run folder (with {CHECKPOINT}). Got {str(d)!r} ({why}) "
                         "instead.")
    return d / "config.toml"


def _configs_of(hp: dict[str, Any], custom: str | None = None) -> list[dict[str, Any]]:
    grid = make_grid(hp)
    return (with_dataset(grid, custom) if custom is not None else grid).configs


def _first_difference(stored: str, configs: list[dict[str, Any]], name: str) -> str:
    """Where the hp table saved with results differs from ``configs`` (from ``name``), in words."""
    try:
        old = json.loads(stored)
    except ValueError:
        return "the saved hp table is unreadable"
    if len(old) != len(configs):
        return f"{name} describes {len(configs)} models; the results hold {len(old)}"
    for i, (a, b) in enumerate(zip(old, configs)):
        for key in sorted(set(a) | set(b)):
            if a.get(key) != b.get(key):
                return f"model {i} has {key}={b.get(key)!r} in {name} but was trained with {key}={a.get(key)!r}"
    return "the hp tables differ"


def _same_table(z: dict, configs) -> bool:
    """Whether ``z``'s hp table is ``configs``'; an older one (before ``task``, ...) on its own keys."""
    if str(z["hp_hash"]) == hp_hash(configs):
        return True
    try:
        keys = set(json.loads(str(z["hp_table"]))[0])
    except (KeyError, ValueError, IndexError, TypeError):
        return False
    return str(z["hp_hash"]) == hp_hash([{k: c[k] for k in keys if k in c} for c in configs])


def check_resumable(folder, hp: dict[str, Any], custom: bool = False) -> None:
    """Refuse to resume a checkpoint whose run was configured otherwise than ``hp`` (the folder's
    config.toml, edited since?) or whose arrays do not fit it."""
    path = Path(folder) / CHECKPOINT
    configs = _configs_of(hp, "custom" if custom else None)
    z = _read_npz(path)
    epochs = max(c["epochs"] for c in configs)
    if "hp_hash" in z and not _same_table(z, configs):
        raise ValueError(f"--resume must continue the run as it was configured: {path.parent / 'config.toml'} "
                         f"changed since {CHECKPOINT} was written "
                         f"({_first_difference(str(z.get('hp_table', '')), configs, 'config.toml')}). "
                         "Restore it, or start a new run with --config.")
    loss = z.get("metric_loss")
    done = int(z["done"]) if "done" in z and not any(k not in z for k in ("state_0", "weight_0")) else -1
    if loss is None or loss.ndim != 2 or loss.shape[0] != len(configs) or not 0 <= done <= epochs \
            or loss.shape[1] != done:
        raise ValueError(f"--resume must continue the run as it was configured: {path} does not fit "
                         f"config.toml ({len(configs)} models x {epochs} epochs). Got metrics of shape "
                         f"{None if loss is None else loss.shape} after {done} epochs instead.")


def save_run(run, directory, overwrite: bool = False) -> Path:
    """Write ``run.npz`` (arrays), ``config.toml`` (re-runs it) and ``metrics.csv`` into ``directory``.

    A folder that holds anything but this same run is refused unless ``overwrite``; overwriting
    removes the outputs of the run it replaces (its animation, ``final.png``, frames, checkpoint).

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> sorted(p.name for p in save_run(run, tempfile.mkdtemp()).iterdir())
        ['config.toml', 'metrics.csv', 'run.npz']
    """
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise ValueError(f"directory must be a folder. Got {str(d)!r} (an existing file) instead.")
    if d.is_dir() and any(d.iterdir()) and not _holds_run(d, run.configs):
        if not overwrite:
            raise ValueError(f"directory must be empty or hold this same run (or pass overwrite=True). "
                             f"Got {str(d)!r}, which holds other files, instead.")
        clear_run(d)
    d.mkdir(parents=True, exist_ok=True)
    return write_run_files(run, d)


def _holds_run(d: Path, configs) -> bool:
    """Whether folder ``d`` holds a saved run of exactly these configs (and nothing else of note)."""
    try:
        with np.load(d / "run.npz", allow_pickle=False) as z:
            return "hp_hash" in z.files and str(z["hp_hash"]) == hp_hash(configs)
    except Exception:  # noqa: BLE001 - absent, damaged or foreign: not this run
        return False


def clear_run(d) -> None:
    """Remove the outputs of a run from folder ``d`` (what :data:`RUN_FILES` names, and a
    checkpoint); anything else in it stays."""
    for name in (*RUN_FILES, CHECKPOINT):
        path = Path(d) / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def write_run_files(run, d: Path) -> Path:
    """``run.npz``, ``config.toml`` and ``metrics.csv`` in ``d`` (no checks: see :func:`save_run`)."""
    arrays = run_arrays(run.metrics, run._weights, run.initial_val)  # a dict: keyed by the task's names
    arrays |= {"surfaces": run.surfaces, "frame_epochs": run.frame_epochs, "data_index": run.data_index}
    arrays |= _hp_arrays(run.configs)
    if run.completed_epochs is not None:
        arrays["completed_epochs"] = np.asarray(run.completed_epochs)
    for j, ds in enumerate(run.datasets):
        arrays |= {f"data_{j}_{k}": getattr(ds, k) for k in ("x_train", "y_train", "x_test", "y_test")}
        arrays[f"data_{j}_extent"] = np.asarray(ds.extent)
        arrays[f"data_{j}_name"] = np.asarray(ds.name)
    write_npz(d / "run.npz", arrays)
    write_config(d / "config.toml", run.hp, run.options)
    write_metrics_csv(d / "metrics.csv", run)
    return d


def _read_npz(path) -> dict[str, np.ndarray]:
    """Every array of an ``.npz`` written by jaxviz; a damaged or foreign file is one ValueError."""
    import zipfile

    try:
        with open(path, "rb") as f:
            if f.read(4) not in (b"PK\x03\x04", b"PK\x05\x06"):  # NumPy would try it as a pickle
                raise ValueError("not an .npz archive at all")
        with np.load(path, allow_pickle=False) as z:
            return {k: z[k] for k in z.files}
    except FileNotFoundError:
        raise ValueError(f"{path} must exist. Got no such file instead.") from None
    except (zipfile.BadZipFile, EOFError) as e:
        why = f"not a complete .npz archive: cut short or not written by jaxviz ({e})"
    except ValueError as e:
        why = "Python objects (pickles), which jaxviz never writes" if "pickle" in str(e) else str(e)
    except Exception as e:  # noqa: BLE001 - zlib, OSError, ...: the file cannot be read as arrays
        why = f"unreadable ({type(e).__name__}: {e})"
    raise ValueError(f"{path} must be a jaxviz .npz of plain arrays. Got a damaged or foreign file instead: {why}.")


def _need(path, z: dict, key: str) -> np.ndarray:
    if key not in z:
        raise ValueError(f"{path} must hold the array {key!r}. Got a file without it instead "
                         "(incomplete, or not written by jaxviz).")
    return z[key]


def _read_run_arrays(path, z: dict) -> tuple[dict[str, np.ndarray], list[np.ndarray], tuple]:
    names = REGRESSION_METRICS if "metric_mae" in z else METRICS  # in the task's History order
    metrics = {k: _need(path, z, f"metric_{k}") for k in names}
    weights = [_need(path, z, f"weight_{j}") for j in range(sum(1 for k in z if k.startswith("weight_")))]
    if not weights:
        _need(path, z, "weight_0")
    return metrics, weights, (_need(path, z, "initial_val_loss"), _need(path, z, f"initial_{names[3]}"))


def _check_shape(path, what: str, array: np.ndarray, shape: tuple, described: str) -> None:
    if tuple(array.shape[:len(shape)]) != shape or array.ndim < len(shape):
        raise ValueError(f"{path} must match config.toml ({described}): {what} must have shape {shape}. "
                         f"Got {tuple(array.shape)} instead.")


def _check_arrays(npz, z: dict, configs, metrics, weights, initial):
    """The shapes in ``run.npz`` against the models and epochs of config.toml; returns
    ``(frame_epochs, surfaces, data_index, number of datasets)``."""
    n, epochs = len(configs), max(c["epochs"] for c in configs)
    described = f"{n} models x {epochs} epochs"
    for k, v in metrics.items():
        _check_shape(npz, f"metric_{k}", v, (n, epochs), described)
    shown = _need(npz, z, "frame_epochs")
    final = shown.ndim == 1 and not len(shown)  # record="final": initial and final weights, no surfaces
    for j, w in enumerate(weights):
        _check_shape(npz, f"weight_{j}", w, (n, 2 if final else epochs + 1), described)
    for k, v in zip(("initial_val_loss", "initial_val_accuracy or _mae"), initial):
        _check_shape(npz, k, v, (n,), described)
    surfaces, data_index = _need(npz, z, "surfaces"), _need(npz, z, "data_index")
    if shown.ndim != 1 or (len(shown) and (shown.min() < 0 or shown.max() > epochs)):
        raise ValueError(f"{npz} must match config.toml ({described}): frame_epochs must lie in [0, {epochs}]. "
                         f"Got {shown.tolist()[:8]} instead.")
    _check_shape(npz, "surfaces", surfaces, (n, len(shown)), described)
    if surfaces.ndim not in (4, 5) or surfaces.shape[2] != surfaces.shape[3]:
        raise ValueError(f"{npz} must hold surfaces (models, frames, resolution, resolution[, classes]). "
                         f"Got shape {surfaces.shape} instead.")
    _check_shape(npz, "data_index", data_index, (n,), described)
    n_data = sum(1 for k in z if k.startswith("data_") and k.endswith("_extent"))
    if not n_data or data_index.min() < 0 or data_index.max() >= n_data:
        raise ValueError(f"{npz} must hold the data of every model. Got {n_data} datasets for data_index "
                         f"{sorted(set(data_index.tolist()))[:8]} instead.")
    return shown, surfaces, data_index, n_data


def load_run(directory):
    """Restore the :class:`~jaxviz.results.Run` in a run folder (``run.npz`` and ``config.toml``),
    checking that they belong together: the hp table's hash, the model count, epochs, frames and
    datasets. A damaged, edited or foreign folder is one ``ValueError`` naming the file.

    A folder saved before the hash existed loads with the structural checks only.

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> load_run(save_run(run, tempfile.mkdtemp())).metrics["loss"].shape
        (2, 2)
    """
    from jaxviz.data import Dataset
    from jaxviz.results import Run

    d = Path(directory)
    npz, toml = d / "run.npz", d / "config.toml"
    if not d.is_dir() or not npz.is_file() or not toml.is_file():
        why = ("no such folder" if not d.exists() else "a file, not a folder" if not d.is_dir()
               else "no run.npz" if not npz.is_file() else "no config.toml")
        raise ValueError(f"directory must hold a saved run (run.npz and config.toml). Got {str(d)!r} ({why}) instead.")
    config = read_config(toml, str(toml))
    hp = dict(config["hp"])
    custom = hp.pop("dataset") if isinstance(hp.get("dataset"), str) and hp["dataset"] not in DATASETS else None
    try:
        configs = _configs_of(hp, custom)
    except ValueError as e:
        raise ValueError(f"{toml}: {e}") from None
    z = _read_npz(npz)
    if "hp_hash" in z and not _same_table(z, configs):
        raise ValueError(f"{toml} must describe the run saved in {npz.name}. Got an edited config instead: "
                         f"{_first_difference(str(z.get('hp_table', '')), configs, 'config.toml')}.")
    metrics, weights, initial = _read_run_arrays(npz, z)
    shown, surfaces, data_index, n_data = _check_arrays(npz, z, configs, metrics, weights, initial)
    datasets = [Dataset(str(_need(npz, z, f"data_{j}_name")),
                        *(_need(npz, z, f"data_{j}_{k}") for k in ("x_train", "y_train", "x_test", "y_test")),
                        tuple(float(v) for v in _need(npz, z, f"data_{j}_extent"))) for j in range(n_data)]
    for i, c in enumerate(configs):
        if custom is None and datasets[int(data_index[i])].name != c["dataset"]:
            raise ValueError(f"{toml} must describe the run saved in {npz.name}. Got dataset {c['dataset']!r} for "
                             f"model {i}, which trained on {datasets[int(data_index[i])].name!r}, instead.")
    grid = make_grid(hp)
    completed = int(z["completed_epochs"]) if "completed_epochs" in z else None
    return Run(
        hp={**grid.axes, **grid.fixed, **({"dataset": custom} if custom else {})}, options=config["options"],
        configs=configs, axes=grid.axes, metrics=metrics, surfaces=surfaces, frame_epochs=shown, datasets=datasets,
        data_index=data_index, initial_val=initial, _weights=weights, completed_epochs=completed,
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
    for name in {animation_name(f) for f in FORMATS}:  # no stale animation of a run it replaces
        if (out / name).is_dir():
            shutil.rmtree(out / name)
        else:
            (out / name).unlink(missing_ok=True)
    write_run_files(run, out)  # first: the results stay even if a picture fails
    animation = run.animate(out / animation_name(fmt), fps=fps, hold=hold, size=size, decision_line=decision_line)
    run.figure(-1, size=size, decision_line=decision_line).savefig(out / "final.png", dpi=100)
    if getattr(run, "record", "history") == "history":
        run.explore(out / "explorer.html")
    if run.completed_epochs < run.epochs:
        write_checkpoint(out / CHECKPOINT, run.checkpoint, run.configs)
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
            folder.mkdir(parents=True)
            write_run_files(run, folder)
            if run.completed_epochs < run.epochs:
                write_checkpoint(folder / CHECKPOINT, run.checkpoint, run.configs)
            return folder
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
    return None
