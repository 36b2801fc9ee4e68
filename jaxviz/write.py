"""Writers: animations (MP4 / GIF), metrics CSV, the config TOML, and the run folder.

Every file is written under a temporary name in the same folder and renamed when complete, so
a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
import warnings
from pathlib import Path
from typing import Any, Iterable

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
import tomli_w

from jaxviz.config import check_fps

__all__ = ["write_animation", "write_metrics_csv", "write_config", "read_config", "write_npz", "versions", "FORMATS", "ENCODER_PRESETS"]

FORMATS = ("mp4", "gif", "png")


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> with atomic_path(f"{d}/a.txt") as tmp:
        ...     _ = open(tmp, "w").write("done")
        >>> open(f"{d}/a.txt").read()
        'done'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_npz(path, arrays: dict[str, np.ndarray]) -> Path:
    """Save arrays to ``path`` (``.npz``, no pickle) atomically.

    Example:
        >>> import tempfile
        >>> p = write_npz(f"{tempfile.mkdtemp()}/a.npz", {"x": np.arange(3)})
        >>> np.load(p)["x"].tolist()
        [0, 1, 2]
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return path


def animation_format(path: str | os.PathLike) -> str:
    """The animation format named by a path: ``.mp4``, ``.gif``, or a folder (no suffix) of PNGs.

    Example:
        >>> animation_format("out/grid.GIF"), animation_format("out/frames")
        ('gif', 'png')
    """
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix == "":
        return "png"
    if suffix not in ("mp4", "gif"):
        raise ValueError("animation path must end in .mp4 or .gif, or be a folder for PNG frames. "
                         f"Got {str(path)!r} instead.")
    return suffix


#: x264 speed presets offered, fastest first: "ultrafast" encodes ~2x faster than "veryfast" and
#: ~3.5x faster than "medium" here, for files ~3.5x larger; "medium" gives the smallest files.
ENCODER_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow")


def write_animation(path, frames: Iterable[np.ndarray], fps: float = 10, hold: float = 0.0,
                    encoder_preset: str = "ultrafast") -> Path:
    """Stream RGB frames to an MP4 (H.264, yuv420p), a looping GIF, or PNG frames in a folder.

    The last frame can be held for ``hold`` seconds (the seed pauses 2 s on its final picture).
    ``encoder_preset`` trades MP4 encoding speed for file size (see ``ENCODER_PRESETS``).
    Frames are consumed one at a time; an MP4 never holds more than the current frame.

    Example:
        >>> import tempfile
        >>> frames = (np.full((32, 48, 3), v, np.uint8) for v in (0, 128, 255))
        >>> write_animation(f"{tempfile.mkdtemp()}/a.gif", frames, fps=5, hold=0).suffix
        '.gif'
    """
    import imageio.v2 as imageio

    fmt = animation_format(path)
    fps = check_fps(fps)
    if not (isinstance(hold, (int, float)) and 0 <= hold <= 60):
        raise ValueError(f"hold must be a number of seconds in [0, 60]. Got {hold!r} instead.")
    if encoder_preset not in ENCODER_PRESETS:
        raise ValueError(f"encoder_preset must be one of {list(ENCODER_PRESETS)}. Got {encoder_preset!r} instead.")
    path = Path(path)
    if fmt == "png":
        return _write_png_frames(path, frames)
    with atomic_path(path) as tmp, warnings.catch_warnings():
        # imageio-ffmpeg starts ffmpeg with fork+exec; the child execs at once, so JAX's
        # warning about forking a multithreaded process does not apply.
        warnings.filterwarnings("ignore", message="os.fork", category=RuntimeWarning)
        if fmt == "mp4":
            writer = imageio.get_writer(
                tmp, format="FFMPEG", mode="I", fps=fps, codec="libx264", pixelformat="yuv420p",
                macro_block_size=2, quality=8, ffmpeg_log_level="error",
                # ffmpeg encodes in its own process while the next frame is composed: leave the
                # composer one core (on 2 cores one x264 thread beats two fighting for it)
                output_params=["-preset", encoder_preset, "-threads", str(max(1, (os.cpu_count() or 2) - 1))],
            )
        else:
            writer = imageio.get_writer(tmp, format="GIF", mode="I", duration=1000 / fps, loop=0)
        with writer:
            last = _feed(writer, frames, threaded=fmt == "mp4")
            if last is None:
                raise ValueError("an animation needs at least one frame. Got none instead.")
            for _ in range(round(hold * fps)):
                writer.append_data(last)
    return path


def _feed(writer, frames: Iterable[np.ndarray], threaded: bool):
    """Append every frame; returns the last (None if there was none).

    Threaded, a second thread hands frames to the encoder while the next one is composed (pipe
    writes release the GIL), with at most two frames waiting, so memory stays a few frames.
    """
    if not threaded:
        last = None
        for last in frames:
            writer.append_data(last)
        return last
    import queue
    import threading

    pending: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def drain():
        while (frame := pending.get()) is not None:
            if not failure:
                try:
                    writer.append_data(frame)
                except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                    failure.append(e)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    last = None
    try:
        for last in frames:
            if failure:
                break
            pending.put(last)
    finally:
        pending.put(None)
        thread.join()
    if failure:
        raise failure[0]
    return last


def _write_png_frames(folder: Path, frames: Iterable[np.ndarray]) -> Path:
    """Each frame as ``frame_00000.png``, ``frame_00001.png``, ... in ``folder`` (atomically each)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        with atomic_path(folder / f"frame_{k:05d}.png") as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")
    return folder


def write_metrics_csv(path, run) -> Path:
    """One row per model and epoch: model, the varied hp, epoch, the History metrics, and
    ``diverged`` (1 from the epoch the model's loss became NaN or inf).

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> p = write_metrics_csv(f"{tempfile.mkdtemp()}/m.csv", run)
        >>> len(open(p).read().splitlines())
        5
    """
    from jaxviz.train import METRICS

    path = Path(path)
    axes = list(run.axes)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["model", *axes, "epoch", *METRICS, "diverged"])
        for i, config in enumerate(run.configs):
            k = int(run.diverged_epoch[i])
            for e in range(min(config["epochs"], run.completed_epochs or config["epochs"])):
                values = [repr(float(run.metrics[m][i, e])) for m in METRICS]
                out.writerow([i, *(config[a] for a in axes), e + 1, *values, int(0 < k <= e + 1)])
    return path


def write_config(path, hp: dict[str, Any], options: dict[str, Any]) -> Path:
    """The TOML that re-runs a sweep: ``[hp]`` (lists are axes) and ``[options]``.

    Example:
        >>> import tempfile
        >>> p = write_config(f"{tempfile.mkdtemp()}/c.toml", {"lr": [0.1, 0.5]}, {"resolution": 8})
        >>> read_config(p)
        {'hp': {'lr': [0.1, 0.5]}, 'options': {'resolution': 8}}
    """
    path = Path(path)
    doc = {"hp": hp, "options": {k: v for k, v in options.items() if v is not None}, "versions": versions()}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(b"# jaxviz run config: `jaxviz run --config THIS_FILE` runs it again.\n"
                b"# [versions] records what produced it (read back for information only).\n")
        tomli_w.dump(doc, f)
    return path


def versions() -> dict[str, str]:
    """Versions of the packages that decide a run's numbers.

    Example:
        >>> sorted(versions())
        ['flax', 'jax', 'jaxlib', 'jaxviz', 'numpy', 'optax']
    """
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("jaxviz", "jax", "jaxlib", "flax", "optax", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            out[name] = "unknown"
    return out


def read_config(path) -> dict[str, Any]:
    """Read a config TOML with ``[hp]`` and optional ``[options]``; refuse anything else.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "c.toml"
        >>> _ = p.write_text("[hp]\\nlr = 0.5\\n")
        >>> read_config(p)
        {'hp': {'lr': 0.5}, 'options': {}}
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"config must be an existing TOML file. Got {str(path)!r} instead.") from None
    except tomllib.TOMLDecodeError as e:
        raise ValueError(f"config {str(path)!r} is not valid TOML: {e}.") from None
    from jaxviz.config import unknown_key

    for key in doc:
        if key not in ("hp", "options", "versions"):
            raise unknown_key("config table", key, ["hp", "options", "versions"])
    for key in ("hp", "options"):
        if not isinstance(doc.get(key, {}), dict):
            raise ValueError(f"config [{key}] must be a table. Got {doc[key]!r} instead.")
    return {"hp": doc.get("hp", {}), "options": doc.get("options", {})}
