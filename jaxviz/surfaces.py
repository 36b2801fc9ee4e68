"""Decision surfaces: the class-1 probability of every mesh point, for every model and frame."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from jaxviz.model import ACTIVATION_FNS

__all__ = ["frame_epochs", "mesh", "mesh_forward", "predict_surfaces"]


def frame_epochs(epochs: int, frames: int) -> np.ndarray:
    """``frames`` epochs evenly spaced from 0 (before training) to ``epochs``, both included.

    Example:
        >>> frame_epochs(10, 3).tolist()
        [0, 5, 10]
    """
    return np.round(np.linspace(0, epochs, frames)).astype(np.int64)


def mesh(extent: tuple[float, float, float, float], resolution: int) -> np.ndarray:
    """Mesh points ``(resolution * resolution, 2)`` over ``extent = (x0, x1, y0, y1)``.

    Row-major with y as the row: point ``r * resolution + c`` is ``(xs[c], ys[r])``, so a
    surface reshaped to ``(resolution, resolution)`` is an image with origin at the lower left.

    Example:
        >>> mesh((0.0, 1.0, 0.0, 2.0), 2).tolist()
        [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 2.0]]
    """
    x0, x1, y0, y1 = extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


#: Model-frames predicted together: keeps each intermediate (chunk, width, points) in cache.
CHUNK = 16


def mesh_forward(weights, points_t, activation: str):
    """Class-1 probabilities ``(chunk, n_points)`` of a chunk of models on shared points.

    Laid out as (model, unit, point) with the points last, so that every layer is a batched
    (width x width) @ (width x points) product and every activation a long contiguous loop;
    this is several times faster on CPU than the per-model (points, width) layout that
    :class:`~jaxviz.model.MLP` uses for training batches. It computes the same function.

    ``weights``: Keras-style list with a leading chunk axis; ``points_t``: ``(2, n_points)``.
    """
    act = ACTIVATION_FNS[activation]
    kernels, biases = weights[0::2], weights[1::2]
    k0 = kernels[0]
    h = k0[:, 0, :, None] * points_t[0] + k0[:, 1, :, None] * points_t[1] + biases[0][:, :, None]
    for k, b in zip(kernels[1:], biases[1:]):
        h = jnp.einsum("cio,cip->cop", k, act(h)) + b[:, :, None]
    return jax.nn.sigmoid(h[:, 0, :])


@functools.partial(jax.jit, static_argnames="activation")
def _predict_flat(weights, points_t, activation):
    n = weights[0].shape[0]
    pad = -n % CHUNK
    chunks = [jnp.pad(w, [(0, pad)] + [(0, 0)] * (w.ndim - 1)) for w in weights]
    chunks = [w.reshape(-1, CHUNK, *w.shape[1:]) for w in chunks]
    out = jax.lax.map(lambda w: mesh_forward(w, points_t, activation).astype(jnp.float16), chunks)
    return out.reshape(-1, points_t.shape[1])[:n]


def predict_surfaces(weights, activation: str, extent, resolution: int) -> np.ndarray:
    """Class-1 probability maps ``(n_models, n_frames, resolution, resolution)`` as float16.

    ``weights`` is a Keras-style weight list whose arrays have leading axes
    ``(n_models, n_frames)``. One jit-compiled program predicts every model at every frame.

    Example:
        >>> from jaxviz.model import init_params, weight_list
        >>> w = weight_list(init_params((4,), "relu", jax.random.key(0)))
        >>> w = [a[None, None] for a in w]  # one model, one frame
        >>> predict_surfaces(w, "relu", (-1.0, 1.0, -1.0, 1.0), 8).shape
        (1, 1, 8, 8)
    """
    n_models, n_frames = weights[0].shape[:2]
    flat = [jnp.reshape(w, (n_models * n_frames, *w.shape[2:])) for w in weights]
    points_t = jnp.asarray(mesh(extent, resolution).T)
    out = _predict_flat(flat, points_t, activation)
    return np.asarray(out).reshape(n_models, n_frames, resolution, resolution)
