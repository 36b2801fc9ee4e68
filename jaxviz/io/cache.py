"""The persistent compilation cache: compiled programs kept on disk and shared by processes."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["CACHE_BYTES", "enable_compilation_cache"]

#: Most bytes the persistent compilation cache keeps; the least recently used programs go first.
CACHE_BYTES = 2 << 30


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
