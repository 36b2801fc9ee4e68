"""Compiled programs: compiled ahead of their first call, side by side, and kept between processes.

A :class:`Program` is a jitted function whose compiled executables it keeps itself, one per
argument signature (shapes, dtypes, shardings):

- :meth:`Program.prepare` traces and lowers it for given (possibly abstract) arguments and hands
  the XLA compile to a background thread (XLA's compiler releases the GIL), so a run's programs
  (initial state, batch orders, epochs) compile while the next one is traced. It returns the
  output shapes, so the next program can be lowered from them.
- With an executable store (:func:`set_store`; :func:`jaxviz.sweep` plugs in the one of
  :mod:`jaxviz.io.cache`), a compiled executable is saved under a key computed *without* tracing
  (the program's name and static settings, the argument signature, the jaxviz source, the
  library versions and the machine), so a later process loads it and skips tracing, lowering and
  compiling altogether. The engine writes no files: the store does.

On several devices (a mesh) a Program is a plain ``jax.jit`` (JAX's own caches apply).
"""

from __future__ import annotations

import collections
import concurrent.futures
import functools
import hashlib
import os
import pickle
import platform
import threading
from pathlib import Path

import jax
import numpy as np

from jaxviz.engine.host_orders import HOST_WORDS, draw_orders_host

__all__ = ["Program", "set_store", "draw_program", "BUILT", "LOADED"]

#: How many executables of each program this process has built (compiled, or loaded from the store).
BUILT: collections.Counter = collections.Counter()
#: How many of them were loaded whole from the executable store (no tracing, lowering or compiling).
LOADED: collections.Counter = collections.Counter()
_STORE = None
#: Bump when what a stored entry holds changes.
_FORMAT = 1


def set_store(store) -> None:
    """Use ``store`` (an object with ``load(key) -> bytes | None`` and ``save(key, data)``) to keep
    compiled executables between processes; ``None`` stops it.

    Example:
        >>> set_store(None)
    """
    global _STORE
    _STORE = store


_THREAD = threading.local()  # per compiling thread: did JAX's persistent cache answer its last compile?


def _on_event(event: str, **_) -> None:
    if event == "/jax/compilation_cache/cache_hits":
        _THREAD.cache_hit = True


jax.monitoring.register_event_listener(_on_event)


@functools.lru_cache(maxsize=1)
def _pool() -> concurrent.futures.ThreadPoolExecutor:
    # one compile at a time: XLA already compiles a program's kernels on every core, and two compiles at
    # once were slower on 2 cores (14.4-20.1 s against 10.7-14.2 s); the compile still overlaps the
    # tracing of the next program
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="jaxviz-compile")


def _sharding(leaf):
    s = getattr(leaf, "sharding", None)
    return getattr(s, "sharding", s)  # a Format (an output's info) holds its sharding


def _signature(args):
    """What an executable is compiled for: the pytree and every leaf's shape, dtype and sharding."""
    leaves, tree = jax.tree.flatten(args)
    # x64 mode too: an executable built inside jax.enable_x64 takes other argument types
    return (tree, jax.config.jax_enable_x64), tuple(
        (tuple(x.shape), x.dtype, bool(getattr(x, "weak_type", False)), _sharding(x)) for x in leaves)


def _abstract(info, sig):
    """Output info -> argument shapes for the next program's lowering, on the inputs' device
    (an output's sharding is left unspecified until compiled)."""
    default = next((s for *_, s in sig[1] if s is not None), None)
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=_sharding(x) or default), info)


@functools.lru_cache(maxsize=1)
def _environment() -> str:
    """Everything besides the program that decides its executable: the source of the jaxviz layers
    traced into it, the versions of the libraries, XLA's flags and this machine's processor."""
    import importlib.metadata as md

    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent
    for path in sorted(p for folder in ("engine", "spec", "data") for p in (root / folder).rglob("*.py")):  # traced
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    for name in ("jax", "jaxlib", "flax", "optax", "numpy"):
        try:
            digest.update(f"{name}={md.version(name)}".encode())
        except md.PackageNotFoundError:
            pass
    digest.update(f"{os.environ.get('XLA_FLAGS', '')}|{platform.machine()}|"
                  f"{jax.config.jax_default_matmul_precision}".encode())
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():  # an executable compiled for one instruction set must not run on another
        digest.update(next((line for line in cpuinfo.read_text().splitlines() if line.startswith("flags")), "").encode())
    return digest.hexdigest()


class Program:
    """``fn`` jitted, with its executables compiled ahead (:meth:`prepare`) and kept on disk by the
    store, if any. Call it like the jitted function (positional array arguments only).

    ``name`` and ``key`` (hashable, with a stable ``repr``: the static settings ``fn`` closes over)
    identify it in the store; ``options`` are XLA compiler options; ``aot=False`` (several devices)
    makes it a plain ``jax.jit``.

    Example:
        >>> import jax.numpy as jnp
        >>> double = Program(lambda x: 2 * x, "double", key=())
        >>> double.prepare(jax.ShapeDtypeStruct((3,), jnp.float32)).shape
        (3,)
        >>> double(jnp.ones(3)).tolist()
        [2.0, 2.0, 2.0]
    """

    def __init__(self, fn, name: str, key, options=None, aot: bool = True):
        self.name, self.aot, self._key, self._options = name, aot, key, options
        self._jit = jax.jit(fn, compiler_options=options)
        self._ready: dict = {}  # signature -> compiled executable, or the future of one
        self._unchecked: set = set()  # signatures whose executable came from the store and has not run yet
        self._lock = threading.Lock()

    def status(self, *args) -> str:
        """``"built"`` (compiled in this process, or kept in the store), ``"building"`` (its compile
        has not finished) or ``"none"``, for these arguments; starts nothing."""
        if not self.aot:
            return "none"
        sig = _signature(args)
        entry = self._ready.get(sig)
        if entry is not None:
            pending = isinstance(entry[0], concurrent.futures.Future) and not entry[0].done()
            return "building" if pending else "built"
        store = _STORE
        has = getattr(store, "has", None)
        return "built" if has is not None and has(self._store_key(sig)) else "none"

    def eval_shape(self, *args):
        """The output shapes for these arguments (traces; compiles nothing)."""
        return self._jit.eval_shape(*args)

    def prepare(self, *args):
        """Start building the executable for ``args`` (arrays or ``jax.ShapeDtypeStruct``); returns
        the output shapes (``ShapeDtypeStruct`` with shardings) without waiting for the compile."""
        if not self.aot:
            return self._jit.eval_shape(*args)
        sig = _signature(args)
        with self._lock:
            entry = self._ready.get(sig)
            if entry is None:
                entry = self._ready[sig] = self._start(sig, args)
        return entry[1]

    def _start(self, sig, args):
        """(executable or its future, output shapes) for a new signature: loaded from the store, or
        traced and lowered here and compiled in the pool (and then saved to the store)."""
        key = self._store_key(sig)
        loaded = self._load(key, sig)
        if loaded is not None:
            BUILT[self.name] += 1
            LOADED[self.name] += 1
            self._unchecked.add(sig)
            return loaded, _abstract(loaded.out_info, sig)
        lowered = self._jit.trace(*args).lower()
        BUILT[self.name] += 1
        return _pool().submit(self._compile, lowered, key), _abstract(lowered.out_info, sig)

    def _store_key(self, sig) -> str:
        (tree, x64), leaves = sig
        # x64 is part of the signature, not of the cached environment: float64 grids switch it on for their scope
        text = repr((_FORMAT, self.name, self._key, self._options, str(tree), leaves, _environment(), x64))
        return f"{self.name}-{hashlib.sha256(text.encode()).hexdigest()[:40]}"

    def _load(self, key: str, sig):
        store = _STORE
        if store is None:
            return None
        data = store.load(key)
        if data is None:
            return None
        try:
            from jax.experimental.serialize_executable import deserialize_and_load

            blob, in_tree, out_tree = pickle.loads(data)
            shardings = [s for *_, s in sig[1] if s is not None]
            # the arguments' devices, in the sharding's order: left out, XLA would run the executable on
            # every device of the process (a 1-device program on 4 devices expects 4 shards per argument)
            devices = list(shardings[0]._device_assignment) if shardings else jax.devices()[:1]
            return deserialize_and_load(blob, in_tree, out_tree, backend=devices[0].platform,
                                        execution_devices=devices)
        except Exception:  # noqa: BLE001 (an entry of another version or a damaged file: compile again)
            return None

    def _compile(self, lowered, key: str):
        _THREAD.cache_hit = False
        compiled = lowered.compile()
        store = _STORE
        # an executable JAX loaded from its own cache serialises incompletely (its kernels' code is
        # not kept): only a fresh compile is saved
        if store is not None and not _THREAD.cache_hit:
            try:
                from jax.experimental.serialize_executable import serialize

                store.save(key, pickle.dumps(serialize(compiled)))
            except Exception:  # noqa: BLE001 (a program that cannot be serialised is compiled each process)
                pass
        return compiled

    def __call__(self, *args):
        if not self.aot:
            return self._jit(*args)
        sig = _signature(args)
        entry = self._ready.get(sig)
        if entry is None:
            self.prepare(*args)
            entry = self._ready[sig]
        compiled = entry[0]
        if isinstance(compiled, concurrent.futures.Future):
            compiled = compiled.result()
            self._ready[sig] = (compiled, entry[1])
        if sig in self._unchecked:
            return self._first_call(compiled, sig, args)
        return compiled(*args)

    def _first_call(self, compiled, sig, args):
        """The first call of an executable loaded from the store, run to the end: an entry that
        cannot run here (saved without some kernel's code, XLA's ``NOT_FOUND: Function ... not
        found``, or for other devices, ``INVALID_ARGUMENT``) is replaced by a fresh compile, and
        the call made again. Running out of memory is the call's own failure, not the entry's."""
        self._unchecked.discard(sig)
        try:
            return jax.block_until_ready(compiled(*args))
        except jax.errors.JaxRuntimeError as err:
            if "RESOURCE_EXHAUSTED" in str(err):
                raise
        compiled = self._compile(self._jit.trace(*args).lower(), self._store_key(sig))
        self._ready[sig] = (compiled, self._ready[sig][1])
        return compiled(*args)


@functools.lru_cache(maxsize=None)
def _draw_orders(n_max: int, length: int, shuffle: bool, quick: bool, aot: bool) -> Program:
    from jaxviz.engine.steps import QUICK_COMPILE, draw_orders

    fn = functools.partial(draw_orders.__wrapped__, n_max=n_max, length=length, shuffle=shuffle)
    return Program(fn, "draw_orders", (n_max, length, shuffle), QUICK_COMPILE if quick else None, aot)


def draw_program(orders_table, first, n_max: int, length: int, shuffle: bool, quick: bool = False, aot: bool = True,
                 prepare: bool = False):
    """:func:`jaxviz.engine.steps.draw_orders` through its Program (``quick``: with
    ``QUICK_COMPILE``); ``prepare``: only start building it, and return the orders' shapes. A
    table of at most :data:`~jaxviz.engine.host_orders.HOST_WORDS` words is drawn in NumPy
    instead (:func:`~jaxviz.engine.host_orders.draw_orders_host`, the same integers), placed
    where the table is.

    Example:
        >>> import numpy as np, jax.numpy as jnp
        >>> table = (np.array([0], np.uint32), np.array([3], np.int32))
        >>> draw_program(table, jnp.int32(0), n_max=4, length=2, shuffle=False).tolist()
        [[[0, 1, 2, 3]], [[0, 1, 2, 3]]]
    """
    seeds, sizes = orders_table
    if len(seeds) * length * n_max <= HOST_WORDS:  # a small table: the same integers from NumPy, no program
        orders = draw_orders_host(np.asarray(seeds), np.asarray(sizes), int(first), n_max, length, shuffle)
        return jax.device_put(orders, getattr(seeds, "sharding", None))
    program = _draw_orders(n_max, length, shuffle, quick, aot)
    return program.prepare(orders_table, first) if prepare else program(orders_table, first)
