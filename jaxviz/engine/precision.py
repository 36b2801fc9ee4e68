"""The float type a grid trains in: ``precision="float32"`` (the default) or ``"float64"``.

A float64 grid traces and runs its programs inside ``jax.enable_x64(True)`` (:func:`precision_scope`),
and every float the engine makes (weights, optimiser state, data, losses, the trainability score)
takes :func:`real_dtype`; a float32 grid runs exactly as before (no scope, the same programs).
"""

from __future__ import annotations

import contextlib

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["real_dtype", "precision_scope", "as_real"]


def real_dtype(static) -> type:
    """The float type of a grid's program (``static.precision``).

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> real_dtype(make_grid().static([60])).__name__, real_dtype(make_grid(precision="float64").static([60])).__name__
        ('float32', 'float64')
    """
    return jnp.float64 if getattr(static, "precision", "float32") == "float64" else jnp.float32


def precision_scope(static):
    """``jax.enable_x64(True)`` for a float64 grid (JAX keeps float64 arrays only in that mode), else
    a scope that changes nothing.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> with precision_scope(make_grid(precision="float64").static([60])):
        ...     jnp.zeros(1, jnp.float64).dtype.name
        'float64'
    """
    if real_dtype(static) is jnp.float64:
        return jax.enable_x64(True)
    return contextlib.nullcontext()


def as_real(tree, static):
    """The float arrays of a (host) pytree in the grid's float type; other arrays as they are.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> as_real((np.zeros(2), np.arange(2)), make_grid().static([60]))[0].dtype.name
        'float32'
    """
    dtype = np.dtype(real_dtype(static))
    return jax.tree.map(lambda a: np.asarray(a, dtype) if np.issubdtype(np.asarray(a).dtype, np.floating) else a, tree)
