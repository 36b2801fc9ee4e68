"""Where the models run: the devices, the 1-D mesh of the model axis, fixed blocks of models,
and moving arrays between the host and (possibly several hosts') devices.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["MODEL_AXIS", "MODEL_BLOCK", "model_block", "to_blocks", "from_blocks", "block_map", "model_mesh", "pad_rows",
           "place", "to_host",
           "layout_devices", "is_main_process", "smallest_everywhere", "decided_by_main"]

#: The mesh axis the models are sharded over when JAX sees several devices.
MODEL_AXIS = "models"
def layout_devices(devices=None) -> list:
    """The devices the model axis is sharded over: all that JAX sees, unless given as a list of
    JAX devices or a platform name (``"cpu"``, ``"gpu"``, ``"tpu"``: all devices of that platform).

    Example:
        >>> len(layout_devices(jax.devices()[:1])), layout_devices("cpu")[0].platform
        (1, 'cpu')
        >>> layout_devices([0])
        Traceback (most recent call last):
        ...
        ValueError: devices must be a list of JAX devices (or a platform name such as 'cpu'). Got [0] instead.
    """
    if devices is None:
        return list(jax.devices())
    if isinstance(devices, str):
        try:
            found = list(jax.devices(devices.lower()))
        except RuntimeError:  # JAX's answer for a platform it does not have
            found = []
        if not found:
            raise ValueError(f"devices must name a platform JAX has (such as "
                             f"{sorted({d.platform for d in jax.devices()})[0]!r}) or be a list of JAX devices. "
                             f"Got {devices!r} instead.")
        return found
    rule = "devices must be a list of JAX devices (or a platform name such as 'cpu')."
    if isinstance(devices, jax.Device):
        raise ValueError(f"{rule} Got {devices!r} (one device; wrap it in a list) instead.")
    try:
        devices = list(devices)
    except TypeError:
        raise ValueError(f"{rule} Got {devices!r} instead.") from None
    if not devices:
        raise ValueError("devices must name at least one JAX device. Got [] instead.")
    if not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(f"{rule} Got {devices!r} instead.")
    if len(set(devices)) != len(devices):
        raise ValueError(f"devices must be distinct JAX devices. Got {devices!r} instead.")
    if len({d.platform for d in devices}) > 1:
        raise ValueError(f"devices must all be of one platform. Got {devices!r} instead.")
    return devices


#: Models vmapped together in the training program, by platform (see jaxviz.train.run_epochs):
#: fixed, so that a model's arithmetic does not depend on the size of its grid.
MODEL_BLOCK = {"cpu": 32}
MODEL_BLOCK_DEFAULT = 4096


def model_block(platform: str) -> int:
    """Models trained together as one vmapped block on ``platform``; grids are padded to whole blocks.

    Example:
        >>> model_block("cpu"), model_block("gpu")
        (32, 4096)
    """
    return MODEL_BLOCK.get(platform, MODEL_BLOCK_DEFAULT)


def to_blocks(tree, block: int):
    """Every leaf's leading axis ``n`` -> ``(n // block, block)``.

    Example:
        >>> to_blocks(np.zeros((6, 2)), 3).shape
        (2, 3, 2)
    """
    return jax.tree.map(lambda a: a.reshape(a.shape[0] // block, block, *a.shape[1:]), tree)


def from_blocks(tree, axis: int = 0):
    """Every leaf's block axes ``(k, block)`` at ``axis`` -> one axis of ``k * block``.

    Example:
        >>> from_blocks(np.zeros((5, 2, 3, 4)), axis=1).shape
        (5, 6, 4)
    """
    return jax.tree.map(lambda a: a.reshape(*a.shape[:axis], -1, *a.shape[axis + 2:]), tree)


def block_map(fn, xs, hp):
    """``jax.lax.map(fn, xs)`` over the leading (block) axis; a single block runs in a loop whose trip
    count XLA cannot read: it comes from ``hp`` (a model's ``data_index`` is never negative, but only
    the data say so).

    XLA inlines a loop it counts to one trip, and the inlined body then compiles to other arithmetic
    (fusions across the loop's edge) than the body of a longer loop, so a grid of one block would
    not compute the bits of a bigger grid. With the count hidden, one block is a loop like any other,
    and a small grid trains one block instead of two (tests/test_compile.py checks the bits).

    Example:
        >>> from types import SimpleNamespace
        >>> hp = SimpleNamespace(data_index=jnp.zeros((1, 3), jnp.int32))
        >>> block_map(lambda x: x.sum(), jnp.arange(3.0).reshape(1, 3), hp).tolist()
        [3.0]
    """
    count = jax.tree.leaves(xs)[0].shape[0]
    if count > 1:
        return jax.lax.map(fn, xs)
    trips = jnp.where(hp.data_index.ravel()[0] < 0, 0, count)
    body = jax.jit(fn)  # traced once: for the output shapes here, then from its cache in the loop
    shapes = jax.eval_shape(body, jax.tree.map(lambda a: jax.ShapeDtypeStruct(a.shape[1:], a.dtype), xs))
    out = jax.tree.map(lambda s: jnp.zeros((count, *s.shape), s.dtype), shapes)

    def one(i, out):
        y = body(jax.tree.map(lambda a: jax.lax.dynamic_index_in_dim(a, i, keepdims=False), xs))
        return jax.tree.map(lambda o, v: jax.lax.dynamic_update_index_in_dim(o, v, i, 0), out, y)

    return jax.lax.fori_loop(0, trips, one, out)


def model_mesh(devices):
    """A 1-D mesh over ``devices`` along :data:`MODEL_AXIS`, or None for a single device.

    Example:
        >>> model_mesh(jax.devices()[:1]) is None
        True
    """
    devices = list(devices)
    return jax.make_mesh((len(devices),), (MODEL_AXIS,), devices=devices) if len(devices) > 1 else None


def pad_rows(a, total: int) -> np.ndarray:
    """``a`` with its last row repeated up to ``total`` rows: a copy of a model computes like it,
    so padding a grid to whole blocks, devices or calls changes no real row.

    Example:
        >>> pad_rows(np.array([1, 2]), 4).tolist()
        [1, 2, 2, 2]
    """
    a = np.asarray(a)
    return np.concatenate([a, np.repeat(a[-1:], total - len(a), axis=0)]) if total > len(a) else a


def place(x, sharding):
    """A host array as a global array with ``sharding``; every process passes the same data, so
    the same call works on one host and, after ``jax.distributed.initialize()``, on several.

    Example:
        >>> from jax.sharding import SingleDeviceSharding
        >>> place(np.arange(3), SingleDeviceSharding(jax.devices()[0])).tolist()
        [0, 1, 2]
    """
    x = np.asarray(x)
    return jax.make_array_from_callback(x.shape, sharding, lambda index: x[index])


def to_host(x) -> np.ndarray:
    """A global array as a NumPy array on this host, gathered from other processes if it spans several.

    Example:
        >>> to_host(jax.numpy.arange(3)).tolist()
        [0, 1, 2]
    """
    if getattr(x, "is_fully_addressable", True):
        return np.asarray(x)
    from jax.experimental import multihost_utils

    return np.asarray(multihost_utils.process_allgather(x, tiled=True))


# Several processes (``jax.distributed.initialize()``): every process runs the same call and the
# same compiled programs, so whatever decides how many programs run (the memory plan's chunks,
# a stop between chunks of epochs) must be the same number everywhere, or collectives would wait
# forever. Only process 0 talks to the user (progress bars, notes, live pictures, movies).


def is_main_process() -> bool:
    """Whether this is process 0: the one process that shows progress and writes files when
    several processes train together (always True in a single process).

    Example:
        >>> is_main_process()
        True
    """
    return jax.process_index() == 0


def smallest_everywhere(values) -> list[int]:
    """Each of ``values`` (integers, e.g. free bytes) as its smallest over every process, so that
    a plan made from them is the same in all; in a single process, the values as they are.

    Example:
        >>> smallest_everywhere([3, 2**40])
        [3, 1099511627776]
    """
    values = np.asarray(values, np.int64)
    if jax.process_count() == 1:
        return values.tolist()
    from jax.experimental import multihost_utils

    # as int32 pairs: without jax_enable_x64 an int64 would travel as int32 and overflow
    words = multihost_utils.process_allgather(values.view(np.int32))
    return np.ascontiguousarray(words).view(np.int64).min(axis=0).tolist()


def decided_by_main(ask):
    """``ask`` (a function of no arguments returning a bool) answered by process 0 for every
    process, so that all stop at the same point; None stays None, and one process asks directly.

    Example:
        >>> decided_by_main(lambda: True)()
        True
    """
    if ask is None or jax.process_count() == 1:
        return ask
    from jax.experimental import multihost_utils

    def agreed() -> bool:
        mine = bool(ask()) if is_main_process() else False
        return bool(multihost_utils.broadcast_one_to_all(np.int32(mine)))

    return agreed
