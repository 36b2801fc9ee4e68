"""The persistent compilation cache: compiled programs kept on disk and shared by processes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

__all__ = ["CACHE_BYTES", "EXECUTABLE_BYTES", "enable_compilation_cache", "ExecutableStore"]

#: Most bytes the persistent compilation cache keeps; the least recently used programs go first.
CACHE_BYTES = 2 << 30
#: Most bytes the executables saved whole (:class:`ExecutableStore`) keep, besides ``CACHE_BYTES``.
EXECUTABLE_BYTES = 512 << 20


def enable_compilation_cache() -> str | None:
    """Keep compiled programs on disk, so that a later process with the same grid shape starts
    without compiling. On by default for every :func:`jaxviz.sweep`.

    The folder is ``$JAXVIZ_CACHE_DIR`` or ``~/.cache/jaxviz/programs``; ``JAXVIZ_CACHE_DIR=off``
    disables it. The folder keeps at most :data:`CACHE_BYTES` (least recently used programs go
    first) and every read and write of it holds a file lock, so several processes can share it
    (without the lock a process could read an entry another one is still writing). Entries an
    unlocked writer left (older jaxviz) get an access time, so the size limit can count them.
    A folder set by the user through ``jax.config`` is left as it is. Returns the folder in use.

    Example:
        >>> enable_compilation_cache() is None or isinstance(enable_compilation_cache(), str)
        True
    """
    import jax

    folder = os.environ.get("JAXVIZ_CACHE_DIR", str(Path.home() / ".cache" / "jaxviz" / "programs"))
    if folder.lower() == "off":
        return None
    current = jax.config.jax_compilation_cache_dir
    if current and current != folder:
        return current
    if current != folder:
        jax.config.update("jax_compilation_cache_dir", folder)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.2)
        if jax.config.jax_compilation_cache_max_size == -1:  # a size the user set is kept
            # a size limit is what makes JAX lock the folder (it needs the filelock package)
            _stamp_entries(Path(folder))
            jax.config.update("jax_compilation_cache_max_size", CACHE_BYTES)
    return folder


def _stamp_entries(folder: Path) -> None:
    """Give every cache entry without an access-time file the oldest time, 0 (JAX's size limit reads
    one per entry; an entry written without the limit has none)."""
    if not folder.is_dir():
        return
    for entry in folder.glob("*-cache"):
        stamp = entry.with_name(entry.name[: -len("-cache")] + "-atime")
        if not stamp.exists():
            try:
                stamp.write_bytes(bytes(8))
            except OSError:  # a read-only folder: JAX reports it when it writes
                pass


class ExecutableStore:
    """Compiled executables saved whole, in ``folder/executables``, under keys that a later process
    computes without tracing its programs (see :class:`jaxviz.engine.programs.Program`): loading
    one skips tracing, lowering and compiling. Each entry is written to a temporary file and
    renamed into place, so a reader (another process too) sees a whole entry or none; the least
    recently used go first beyond ``limit`` bytes.

    Example:
        >>> import tempfile
        >>> store = ExecutableStore(tempfile.mkdtemp())
        >>> store.save("start-1a2b", b"program"); store.load("start-1a2b"), store.load("other")
        (b'program', None)
    """

    def __init__(self, folder, limit: int = EXECUTABLE_BYTES):
        self.folder, self.limit = Path(folder) / "executables", limit

    def load(self, key: str) -> bytes | None:
        path = self.folder / f"{key}.bin"
        try:
            data = path.read_bytes()
            os.utime(path)  # recently used
        except OSError:
            return None
        return data

    def save(self, key: str, data: bytes) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            part = self.folder / f".{key}.{os.getpid()}.{threading.get_ident()}.part"
            part.write_bytes(data)
            os.replace(part, self.folder / f"{key}.bin")
            self._trim()
        except OSError:  # a full or read-only disk: the program is compiled again next time
            pass

    def _trim(self) -> None:
        entries = []
        for path in self.folder.glob("*.bin"):
            try:
                info = path.stat()
            except OSError:  # removed by another process meanwhile
                continue
            entries.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in entries)
        for _, size, path in sorted(entries):
            if total <= self.limit:
                break
            path.unlink(missing_ok=True)
            total -= size
