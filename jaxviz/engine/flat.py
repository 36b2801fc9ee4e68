"""A model's weights as one flat vector: how the engine carries them through training.

Each model's weights, gradients and Keras optimiser buffers are one vector (its arrays
``[k1, b1, ..., k_out, b_out]`` one after another): an update, a masked step or an epoch's
record is then one element-wise kernel instead of one per array, and XLA compiles far fewer
kernels (the demo's epoch program: 175 instead of 244). The forward pass cuts the vector into
its arrays (:func:`unflatten`); the host cuts the programs' outputs the same way.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np  # noqa: F401  (doctests)
from flax import nnx

from jaxviz.engine.devices import to_host
from jaxviz.engine.model import init_params, params_from_arrays, params_to_arrays  # noqa: F401  (doctests)

__all__ = ["array_shapes", "flatten_arrays", "unflatten", "ParamLayout", "weight_arrays"]


def array_shapes(inputs: int, hidden: int, slots: int, units: int = 1) -> tuple[tuple[int, ...], ...]:
    """The shapes of a padded model's ``[k1, b1, ..., k_out, b_out]``.

    Example:
        >>> array_shapes(2, 16, 2)
        ((2, 16), (16,), (16, 16), (16,), (16, 1), (1,))
    """
    shapes: list[tuple[int, ...]] = []
    for k in range(slots):
        shapes += [(inputs if k == 0 else hidden, hidden), (hidden,)]
    return tuple(shapes + [(hidden, units), (units,)])


def flatten_arrays(arrays) -> jax.Array:
    """A model's arrays ``[k1, b1, ..., k_out, b_out]`` as one vector, in that order (traceable).

    Example:
        >>> flatten_arrays([jnp.ones((2, 3)), jnp.zeros(3)]).tolist()
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
    """
    return jnp.concatenate([jnp.ravel(a) for a in arrays])


def unflatten(flat, shapes) -> list:
    """The arrays of shapes ``shapes`` that :func:`flatten_arrays` put in the last axis of ``flat``
    (leading axes kept); works on NumPy arrays (views) as on traced ones.

    Example:
        >>> [a.shape for a in unflatten(np.zeros((5, 9)), ((2, 3), (3,)))]
        [(5, 2, 3), (5, 3)]
    """
    out, at = [], 0
    for shape in shapes:
        size = math.prod(shape)
        out.append(flat[..., at:at + size].reshape(*flat.shape[:-1], *shape))
        at += size
    return out


class ParamLayout(NamedTuple):
    """How a model's flat weight vector (see :func:`flatten_arrays`) maps to its :class:`MLP` state,
    for the code that wants the tree (optax transformations, layer multipliers).

    Example:
        >>> lay = ParamLayout(array_shapes(2, 4, 1), 4, 1, ("relu",))
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 0]), 4, 1, ("relu",))
        >>> bool((lay.flat(lay.tree(lay.flat(p))) == lay.flat(p)).all())
        True
    """

    shapes: tuple
    hidden: int
    slots: int
    activations: tuple

    def tree(self, flat) -> nnx.State:
        return params_from_arrays(unflatten(flat, self.shapes), self.hidden, self.slots, self.activations)

    def flat(self, tree) -> jax.Array:
        return flatten_arrays(params_to_arrays(tree))


def weight_arrays(flat, shapes) -> list[np.ndarray]:
    """Host weight arrays ``[k1, b1, ..., k_out, b_out]`` from flat weights on the devices
    (:func:`jaxviz.engine.train.start`, :func:`~jaxviz.engine.train.run_epochs`), leading axes
    kept: the programs return one vector per model, and cutting it up here costs no compiled kernels.

    Example:
        >>> [a.shape for a in weight_arrays(jnp.zeros((3, 7)), ((2, 2), (2,), (1,)))]
        [(3, 2, 2), (3, 2), (3, 1)]
    """
    return unflatten(to_host(flat), shapes)
