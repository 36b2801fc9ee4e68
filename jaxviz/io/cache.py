"""The persistent compilation cache: compiled programs kept on disk and shared by processes."""

from __future__ import annotations

import functools
import os
import threading
from pathlib import Path

__all__ = ["CACHE_BYTES", "EXECUTABLE_BYTES", "cache_folder", "enable_compilation_cache", "ExecutableStore",
           "DatasetStore"]

#: Most bytes the persistent compilation cache keeps; the least recently used programs go first.
CACHE_BYTES = 2 << 30
#: Most bytes the executables saved whole (:class:`ExecutableStore`) keep, besides ``CACHE_BYTES``.
EXECUTABLE_BYTES = 512 << 20


def cache_folder() -> str | None:
    """The cache folder: ``$JAXVIZ_CACHE_DIR`` or ``~/.cache/jaxviz/programs``; None when
    ``JAXVIZ_CACHE_DIR=off``.

    Example:
        >>> cache_folder() is None or isinstance(cache_folder(), str)
        True
    """
    folder = os.environ.get("JAXVIZ_CACHE_DIR", str(Path.home() / ".cache" / "jaxviz" / "programs"))
    return None if folder.lower() == "off" else folder


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

    folder = cache_folder()
    if folder is None:
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

    def has(self, key: str) -> bool:
        """Whether an entry is stored under ``key`` (without reading it)."""
        return (self.folder / f"{key}.bin").is_file()

    def save(self, key: str, data: bytes) -> None:
        try:
            _write_whole(self.folder / f"{key}.bin", lambda part: part.write_bytes(data))
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


class DatasetStore:
    """Prepared datasets saved in ``folder/datasets`` (one ``.npz`` each; ``folder=None``: none), so
    that a later process gets a named dataset without drawing and preparing it, and without importing scikit-learn
    (1-3 s of a cached run's few seconds on a 2-core machine). The key holds the recipe (name,
    noise, seed, classes), the source of :mod:`jaxviz.data` and the versions of scikit-learn and
    NumPy, so a change of any of them draws the set again. Entries are written whole (a temporary
    file renamed into place), so processes can share the folder.

    Example:
        >>> import tempfile
        >>> from jaxviz.data import load_dataset
        >>> store = DatasetStore(tempfile.mkdtemp())
        >>> a = store.get(("moons", 0.0, 0, None), lambda: load_dataset("moons"))
        >>> b = store.get(("moons", 0.0, 0, None), lambda: None)  # read back: not drawn again
        >>> b.name, bool((a.x_train == b.x_train).all()), b.extent == a.extent
        ('moons', True, True)
    """

    def __init__(self, folder):
        self.folder = None if folder is None else Path(folder) / "datasets"

    def get(self, recipe: tuple, make):
        """The dataset of ``recipe``: read from the folder, else ``make()`` (then saved); with no
        folder (the cache is off), ``make()``."""
        if self.folder is None:
            return make()
        import numpy as np

        from jaxviz.data import Dataset

        path = self.folder / f"{_digest(recipe)}.npz"
        try:
            with np.load(path) as f:
                return Dataset(str(f["name"]), *(f[k] for k in ("x_train", "y_train", "x_test", "y_test")),
                               tuple(float(v) for v in f["extent"]))
        except (OSError, KeyError, ValueError):  # not there yet, or unreadable: draw it
            pass
        ds = make()
        try:
            _write_whole(path, lambda part: _save_dataset(part, ds))
        except OSError:  # a full or read-only disk: drawn again next time
            pass
        return ds


def _write_whole(path: Path, write) -> None:
    """``write(part)`` to a temporary file beside ``path``, then renamed onto it: a reader (another
    process too) sees the whole entry or none."""
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.part")  # not *.bin: no entry yet
    write(part)
    os.replace(part, path)


def _save_dataset(path: Path, ds) -> None:
    import numpy as np

    with open(path, "wb") as f:  # a file, so that NumPy adds no ".npz" to the temporary name
        np.savez(f, name=ds.name, x_train=ds.x_train, y_train=ds.y_train, x_test=ds.x_test, y_test=ds.y_test,
                 extent=np.asarray(ds.extent, np.float64))


def _digest(recipe: tuple) -> str:
    import hashlib

    return hashlib.sha256(repr(recipe).encode() + _data_environment()).hexdigest()[:32]


@functools.lru_cache(maxsize=1)
def _data_environment() -> bytes:
    """What else decides a prepared dataset: the source of :mod:`jaxviz.data` and the versions of
    scikit-learn and NumPy (read once per process)."""
    import hashlib
    import importlib.metadata as md

    digest = hashlib.sha256()
    for name in ("scikit-learn", "numpy"):
        try:
            digest.update(f"{name}={md.version(name)}".encode())
        except md.PackageNotFoundError:
            pass
    data = Path(__file__).resolve().parent.parent / "data"
    for path in sorted(data.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.digest()
