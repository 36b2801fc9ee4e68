"""Where the models run: the devices, the 1-D mesh of the model axis, fixed blocks of models,
and moving arrays between the host and (possibly several hosts') devices.
"""

from __future__ import annotations

import jax
import numpy as np

__all__ = ["MODEL_AXIS", "MODEL_BLOCK", "model_block", "model_mesh", "pad_rows", "place", "to_host",
           "layout_devices"]

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
