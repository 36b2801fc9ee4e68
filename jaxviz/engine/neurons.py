"""Every hidden unit's activation over the input plane: the numbers behind Playground's neuron view.

One jit-compiled program computes, for one model at many frames (epochs), the activation of every
unit of every hidden layer at every mesh point, and the output map. Units are a vmapped axis
(each unit's map is its own dot product over the layer below) and so are frames. Nothing is drawn
here: :mod:`jaxviz.views.neurons` draws it.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxviz.engine.model import ACTIVATION_FNS
from jaxviz.engine.surfaces import mesh
from jaxviz.engine.task import BINARY

__all__ = ["unit_maps"]


def _frame(arrays, points, widths, activation: str):
    """One frame: hidden maps ``(slots, hidden, P)`` (zero for padded units and missing layers) and
    the output map ``(P,)``. A missing layer passes its input on, as :class:`~jaxviz.model.MLP` does."""
    act = ACTIVATION_FNS[activation]
    kernels, biases = arrays[0::2], arrays[1::2]
    hidden = kernels[0].shape[-1]
    # each unit's map: its weights against the layer below, vmapped over units
    unit = jax.vmap(lambda below, w, b: act(w @ below + b), in_axes=(None, 1, 0))
    h, maps = points, []
    for k in range(len(kernels) - 1):
        a = unit(h, kernels[k], biases[k]) * (jnp.arange(hidden) < widths[k])[:, None]
        present = widths[k] > 0
        maps.append(jnp.where(present, a, 0.0))
        # n1 = 0 (no hidden layer): the inputs pass on in the first units (the grid pads hidden to >= 2)
        below = h if k else jnp.pad(points, [(0, max(0, hidden - 2)), (0, 0)])[:hidden]
        h = jnp.where(present, a, below)
    z = kernels[-1][:, 0] @ h + biases[-1][0]
    return jnp.stack(maps), BINARY.output(z[:, None])


@functools.lru_cache(maxsize=None)
def _program(activation: str):
    return jax.jit(jax.vmap(functools.partial(_frame, activation=activation), in_axes=(0, None, None)))


def unit_maps(weights, widths, activation: str, extent, resolution: int) -> tuple[np.ndarray, np.ndarray]:
    """Hidden-unit and output maps of one model at several frames.

    ``weights``: the model's padded arrays with a leading frame axis (``run._weights`` rows);
    ``widths``: its ``(n1, n2, n3)``; ``activation``: its activation's name. Returns ``hidden``
    ``(frames, slots, hidden, resolution, resolution)`` (each unit's activation; zero for padding
    and missing layers) and ``output`` ``(frames, resolution, resolution)`` (class-1 probability),
    on the surfaces' mesh (row 0 at the bottom).

    Example:
        >>> from jaxviz.engine.model import init_params, params_to_arrays
        >>> w = [a[None] for a in params_to_arrays(init_params(jax.random.key(0), jnp.array([3, 0, 0]), 4, 1,
        ...                                                    ("relu",)))]
        >>> hidden, out = unit_maps(w, (3, 0, 0), "relu", (-1.0, 1.0, -1.0, 1.0), 8)
        >>> hidden.shape, out.shape
        ((1, 1, 4, 8, 8), (1, 8, 8))
    """
    if activation not in ACTIVATION_FNS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATION_FNS)}. Got {activation!r} instead.")
    slots = len(weights) // 2 - 1
    padded = np.zeros(3, np.int32)
    padded[:len(widths)] = widths
    points = jnp.asarray(mesh(tuple(extent), resolution).T)  # (2, P)
    hidden, out = _program(activation)([jnp.asarray(w, jnp.float32) for w in weights], points,
                                       jnp.asarray(padded[:slots]))
    frames = weights[0].shape[0]
    return (np.asarray(hidden).reshape(frames, slots, -1, resolution, resolution),
            np.asarray(out).reshape(frames, resolution, resolution))
