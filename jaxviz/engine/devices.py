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
    """The devices the model axis is sharded over: all that JAX sees, unless given.

    Example:
        >>> len(layout_devices(jax.devices()[:1]))
        1
    """
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("devices must name at least one JAX device. Got [] instead.")
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
