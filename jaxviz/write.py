"""Writers: animations (MP4 / GIF), metrics CSV, the config TOML, and the run folder.

Every file is written under a temporary name in the same folder and renamed when complete, so
a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import os
import sys
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

    ``frames`` are ``(height, width, 3)`` uint8 arrays. Frames that also offer ``yuv420p()`` and
    ``size`` (as ``FrameCompositor.frames`` do) go to the MP4 encoder as planar YUV 4:2:0, sparing
    it the colour conversion. The last frame can be held for ``hold`` seconds (the seed pauses 2 s
    on its final picture). ``encoder_preset`` trades MP4 encoding speed for file size (see
    ``ENCODER_PRESETS``). Frames are consumed one at a time; an MP4 never holds more than a few.

    Example:
        >>> import tempfile
        >>> frames = (np.full((32, 48, 3), v, np.uint8) for v in (0, 128, 255))
        >>> write_animation(f"{tempfile.mkdtemp()}/a.gif", frames, fps=5, hold=0).suffix
        '.gif'
    """
    fmt = animation_format(path)
    fps = check_fps(fps)
    if not (isinstance(hold, (int, float)) and 0 <= hold <= 60):
        raise ValueError(f"hold must be a number of seconds in [0, 60]. Got {hold!r} instead.")
    if encoder_preset not in ENCODER_PRESETS:
        raise ValueError(f"encoder_preset must be one of {list(ENCODER_PRESETS)}. Got {encoder_preset!r} instead.")
    path = Path(path)
    if fmt == "png":
        return _write_png_frames(path, frames)
    with atomic_path(path) as tmp:
        if fmt == "mp4":
            last = _write_mp4(tmp, frames, fps, round(hold * fps), encoder_preset)
        else:
            import imageio.v2 as imageio

            with imageio.get_writer(tmp, format="GIF", mode="I", duration=1000 / fps, loop=0) as writer:
                last = None
                for last in frames:
                    writer.append_data(last)
                if last is not None:
                    for _ in range(round(hold * fps)):
                        writer.append_data(last)
        if last is None:
            raise ValueError("an animation needs at least one frame. Got none instead.")
    return path


def _write_mp4(path: Path, frames, fps: float, repeats: int, preset: str):
    """Pipe raw frames to ffmpeg's x264, the last one ``repeats`` more times; returns the last
    frame (None if there was none).

    Driving ffmpeg directly (not through imageio) lets it take the planar YUV that frames may offer
    (half the bytes of RGB, and no conversion) through a 1 MiB pipe, so that a frame crosses in
    one or two writes instead of ~40 of the default 64 KiB.
    """
    import subprocess
    import tempfile

    yuv = getattr(frames, "yuv420p", None)
    stream = iter(yuv() if yuv else frames)
    first = next(stream, None)
    if first is None:
        return None
    if yuv:
        size, pix_fmt = frames.size, "yuv420p"
    elif first.dtype == np.uint8 and first.ndim == 3 and first.shape[2] == 3:
        size, pix_fmt = (first.shape[1], first.shape[0]), "rgb24"
    else:
        raise ValueError(f"frames must be (height, width, 3) uint8 RGB arrays. "
                         f"Got {first.dtype} {first.shape} instead.")
    with tempfile.TemporaryFile() as log:
        # a session of its own: Ctrl-C reaches Python only, which stops ffmpeg and removes the file
        proc = subprocess.Popen(_x264_command(path, size, pix_fmt, fps, preset), stdin=subprocess.PIPE,
                                stderr=log, start_new_session=True)
        with contextlib.suppress(ImportError, AttributeError, OSError):  # Linux only; a nicety
            import fcntl

            fcntl.fcntl(proc.stdin.fileno(), fcntl.F_SETPIPE_SZ, 1 << 20)
        try:
            last = _feed(proc.stdin.write, _same_shape(first, stream))
            for _ in range(repeats):
                proc.stdin.write(last)
            proc.stdin.close()
        except BrokenPipeError:
            pass  # ffmpeg stopped early: its log says why
        except BaseException:
            proc.kill()
            raise
        finally:
            code = proc.wait()
        if code:
            log.seek(0)
            raise RuntimeError(f"ffmpeg could not write the MP4 (exit {code}): "
                               f"{log.read().decode(errors='replace').strip()}")
    return last


def _x264_command(path: Path, size: tuple[int, int], pix_fmt: str, fps: float, preset: str) -> list[str]:
    """The ffmpeg command imageio-ffmpeg builds for ``quality=8`` (CRF 10, yuv420p, sizes made
    even), reading raw ``pix_fmt`` frames of ``size`` (width, height) from stdin.

    Example:
        >>> cmd = _x264_command(Path("a.mp4"), (33, 20), "rgb24", 10, "ultrafast")
        >>> " ".join(cmd[cmd.index("-i"):-3])  # the rest: -threads N a.mp4
        '-i - -an -vcodec libx264 -pix_fmt yuv420p -crf 10 -vf scale=34:20 -v error -preset ultrafast'
    """
    from fractions import Fraction

    import imageio_ffmpeg

    width, height = size
    even = [] if width % 2 == 0 and height % 2 == 0 else ["-vf", f"scale={width + width % 2}:{height + height % 2}"]
    return [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-f", "rawvideo", "-vcodec", "rawvideo", "-s", f"{width}x{height}",
            "-pix_fmt", pix_fmt, "-r", str(Fraction(fps).limit_denominator()), "-i", "-", "-an", "-vcodec", "libx264",
            "-pix_fmt", "yuv420p", "-crf", "10", *even, "-v", "error", "-preset", preset,
            # ffmpeg encodes in its own process while the next frame is composed: leave the
            # composer one core (on 2 cores one x264 thread does as well as two, measured again
            # with the YUV compositor)
            "-threads", str(max(1, (os.cpu_count() or 2) - 1)), str(path)]


def _same_shape(first: np.ndarray, rest: Iterable[np.ndarray]):
    """``first``, then every frame of ``rest``, refusing one whose shape differs."""
    yield first
    for frame in rest:
        if frame.shape != first.shape:
            raise ValueError(f"every frame must have the first one's shape {first.shape}. "
                             f"Got {frame.shape} instead.")
        yield frame


def _feed(write, frames: Iterable[np.ndarray]):
    """``write`` every frame from a second thread while the next one is composed (pipe writes
    release the GIL), with at most two frames waiting; returns the last (None if there was none)."""
    import queue
    import threading

    pending: queue.Queue = queue.Queue(maxsize=2)
    failure: list[BaseException] = []

    def drain():
        while (frame := pending.get()) is not None:
            if not failure:
                try:
                    write(frame)
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
    """One row per model and epoch: model, the varied hp, epoch, the History metrics,
    ``diverged`` (1 from the epoch the model's loss became NaN or inf) and ``exploded`` (1 from
    the epoch its loss jumped and stuck at the saturated outputs; see ``Run.exploded_epoch``).

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
        out.writerow(["model", *axes, "epoch", *METRICS, "diverged", "exploded"])
        marks = zip(run.trained_epochs, run.diverged_epoch, run.exploded_epoch)
        for i, (config, (last, k, x)) in enumerate(zip(run.configs, marks)):
            for e in range(last):
                values = [repr(float(run.metrics[m][i, e])) for m in METRICS]
                out.writerow([i, *(config[a] for a in axes), e + 1, *values, int(0 < k <= e + 1), int(0 < x <= e + 1)])
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
