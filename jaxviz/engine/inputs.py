"""A model's input columns: Playground's features of the 2-D points, computed inside the program.

:func:`feature_table` holds every feature of :data:`~jaxviz.spec.features.FEATURES`; a model's
bit mask picks its columns (:func:`input_columns`), in that order, and the columns it does not
use are zero (:func:`expand_inputs`), so a model padded to a wider input equals its solo run.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

__all__ = ["N_FEATURES", "feature_table", "input_columns", "expand_inputs"]

#: Input features computed from the 2-D points (see :func:`feature_table`).
N_FEATURES = 7


def feature_table(x: jax.Array, axis: int = -1) -> jax.Array:
    """Every feature of the 2-D points ``x`` along ``axis``: x1, x2, x1^2, x2^2, x1x2, sin x1, sin x2.

    Example:
        >>> [round(float(v), 3) for v in feature_table(jnp.array([2.0, 3.0]))]
        [2.0, 3.0, 4.0, 9.0, 6.0, 0.909, 0.141]
    """
    x1, x2 = jnp.take(x, 0, axis=axis), jnp.take(x, 1, axis=axis)
    return jnp.stack([x1, x2, x1 * x1, x2 * x2, x1 * x2, jnp.sin(x1), jnp.sin(x2)], axis=axis)


def input_columns(code, inputs: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """The model's input columns from its feature bit mask ``code``: indices into
    :func:`feature_table` ``(inputs,)``, their 0/1 mask and the number used.

    Example:
        >>> [a.tolist() for a in input_columns(1 + 4 + 16, 4)]
        [[0, 2, 4, 0], [1.0, 1.0, 1.0, 0.0], 3]
    """
    bits = (jnp.asarray(code, jnp.int32) >> jnp.arange(N_FEATURES)) & 1
    rank = jnp.cumsum(bits) - 1  # a used feature's column (no sort: sorts are slow to compile)
    slot = (rank[None, :] == jnp.arange(inputs)[:, None]) & (bits[None, :] == 1)  # (inputs, N_FEATURES)
    columns = jnp.sum(jnp.where(slot, jnp.arange(N_FEATURES)[None, :], 0), axis=1).astype(jnp.int32)
    count = jnp.sum(bits).astype(jnp.int32)
    return columns, (jnp.arange(inputs) < count).astype(jnp.float32), count


def expand_inputs(x: jax.Array, columns: jax.Array, mask: jax.Array, axis: int = -1) -> jax.Array:
    """The model's inputs from the points ``x`` (2 coordinates along ``axis``): the features in
    ``columns``, masked columns zero. Data of another width (raw inputs, no features) are only
    padded with zero columns to ``len(columns)``.

    Example:
        >>> columns, mask, _ = input_columns(3 + 4, 4)
        >>> expand_inputs(jnp.array([[2.0, 3.0]]), columns, mask).tolist()
        [[2.0, 3.0, 4.0, 0.0]]
    """
    axis = axis % x.ndim
    if x.shape[axis] != 2:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (0, columns.shape[-1] - x.shape[axis])
        return jnp.pad(x, pad)
    shape = [1] * x.ndim
    shape[axis] = -1
    return jnp.take(feature_table(x, axis), columns, axis=axis) * mask.reshape(shape)
