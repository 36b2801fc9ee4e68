"""Animations on disk: MP4 (H.264 through ffmpeg), looping GIF, or a folder of PNG frames.

Formats come from one registry, :data:`FORMATS`: validation, ``Run.animate``'s suffixes and the
CLI's ``--format`` choices are all derived from it, so a new format is one entry.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Callable, Iterable, NamedTuple

import numpy as np

from jaxviz.io.files import atomic_path
from jaxviz.spec.config import check_fps

__all__ = ["FORMATS", "Format", "ENCODER_PRESETS", "animation_format", "animation_destination", "write_animation"]

class Format(NamedTuple):
    """One animation format: how a path names it and how frames are written to it."""

    suffix: str  # the path's suffix ("" = a folder)
    description: str  # for help texts
    write: Callable  # (path, frames, fps, repeats, encoder_preset) -> the last frame written (None if none)


def animation_format(path: str | os.PathLike) -> str:
    """The animation format named by a path: ``.mp4``, ``.gif``, or a folder (no suffix) of PNGs.

    Example:
        >>> animation_format("out/grid.GIF"), animation_format("out/frames")
        ('gif', 'png')
    """
    suffix = Path(path).suffix.lower()
    for name, fmt in FORMATS.items():
        if fmt.suffix == suffix:
            return name
    allowed = " or ".join(f.suffix for f in FORMATS.values() if f.suffix)
    raise ValueError(f"animation path must end in {allowed}, or be a folder for PNG frames. "
                     f"Got {str(path)!r} instead.")


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
    path = animation_destination(Path(path), bool(FORMATS[fmt].suffix))
    writer = FORMATS[fmt].write
    if not FORMATS[fmt].suffix:  # a folder of frames: each frame is written atomically instead
        writer(path, frames, fps, round(hold * fps), encoder_preset)
        return path
    with atomic_path(path) as tmp:
        if writer(tmp, frames, fps, round(hold * fps), encoder_preset) is None:
            raise ValueError("an animation needs at least one frame. Got none instead.")
    return path


def animation_destination(path: Path, is_file: bool) -> Path:
    """``path`` checked and its missing parent folders made: a file path must not be a folder,
    a frames folder must not be a file, and no parent may be a file.

    Example:
        >>> import tempfile
        >>> animation_destination(Path(tempfile.mkdtemp()) / "new" / "a.gif", True).parent.is_dir()
        True
    """
    kind = "file" if is_file else "folder of PNG frames"
    if is_file and path.is_dir():
        raise ValueError(f"animation path must be a file path. Got {str(path)!r} (an existing folder) instead.")
    if not is_file and path.exists() and not path.is_dir():
        raise ValueError(f"animation path must be a folder for PNG frames. Got {str(path)!r} (an existing file) instead.")
    for parent in path.parents:
        if parent.exists() and not parent.is_dir():
            raise ValueError(f"animation path must be under a folder. Got {str(path)!r}, under the file "
                             f"{str(parent)!r}, instead.")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ValueError(f"animation path must be in a folder that can be made for the {kind}. "
                         f"Got {str(path)!r} ({e.strerror or e}) instead.") from None
    return path


def _write_gif(path: Path, frames, fps: float, repeats: int, preset: str):
    """A looping GIF through imageio (Pillow keeps its palette frames until the file closes)."""
    import imageio.v2 as imageio

    last = None
    with imageio.get_writer(path, format="GIF", mode="I", duration=1000 / fps, loop=0) as writer:
        for last in frames:
            writer.append_data(last)
        for _ in range(repeats if last is not None else 0):
            writer.append_data(last)
    return last


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


def _write_png_frames(folder: Path, frames: Iterable[np.ndarray], fps: float = 0, repeats: int = 0,
                      preset: str = "") -> Path:
    """Each frame as ``frame_00000.png``, ``frame_00001.png``, ... in ``folder`` (atomically each)."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for k, frame in enumerate(frames):
        with atomic_path(folder / f"frame_{k:05d}.png") as tmp:
            Image.fromarray(frame).save(tmp, format="PNG")
    return folder


#: Every animation format, by the name ``--format`` takes.
FORMATS: dict[str, Format] = {
    "mp4": Format(".mp4", "H.264 video (yuv420p)", _write_mp4),
    "gif": Format(".gif", "looping GIF", _write_gif),
    "png": Format("", "a folder of PNG frames", _write_png_frames),
}
