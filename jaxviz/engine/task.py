"""What a task is: the one place that knows what the network's output means.

A :class:`Task` holds everything specific to a kind of problem: the output layer's width and
activation, the per-sample loss (with its clipping), what counts as correct, what a surface
holds and which colour map shows it. The model, the training step and the surface program ask
the task instead of assuming binary classification, so a new kind of problem (multi-class,
regression) is a new entry in :data:`TASKS`, not an edit across modules.

The engine draws nothing: ``cmap`` is a colour map *name* for the views to look up.
"""

from __future__ import annotations

from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Task", "TASKS", "BINARY", "EPSILON", "bce", "task_of"]

#: Keras' fuzz factor: probabilities are clipped to [EPSILON, 1 - EPSILON] before the log.
EPSILON = 1e-7


class Task(NamedTuple):
    """One kind of problem (hashable: it is part of the static config of a compiled program)."""

    name: str
    units: int  # width of the output layer
    output: Callable  # (..., units) pre-activations -> the prediction (what a surface holds, per point)
    loss: Callable  # (prediction, target) -> per-sample loss
    correct: Callable  # (prediction, target) -> per-sample 1.0 / 0.0 (the accuracy's numerator)
    surface: str  # what a surface holds, for labels
    cmap: str  # the colour map that shows a surface (a matplotlib name; views look it up)


def bce(p: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample binary cross-entropy with Keras' clip of ``p`` to [1e-7, 1 - 1e-7].

    The clip also stops the gradient of saturated outputs, as in Keras; it is what the seed's
    "make your gradient explode" lesson shows.

    Example:
        >>> round(float(bce(jnp.float32(1.0), jnp.float32(0.0))), 2)  # bounded by the clip
        15.94
    """
    p = jnp.clip(p, EPSILON, 1.0 - EPSILON)
    return -(y * jnp.log(p) + (1.0 - y) * jnp.log(1.0 - p))


def _sigmoid_unit(z: jax.Array) -> jax.Array:
    return jax.nn.sigmoid(z)[..., 0]


def _binary_correct(p: jax.Array, y: jax.Array) -> jax.Array:
    return ((p > 0.5) == (y > 0.5)).astype(jnp.float32)


#: The seed's task: one sigmoid unit, clipped binary cross-entropy, accuracy of ``p > 0.5``.
BINARY = Task(name="binary", units=1, output=_sigmoid_unit, loss=bce, correct=_binary_correct,
              surface="class-1 probability", cmap="RdBu")

#: Every task, by name.
TASKS = {"binary": BINARY}


def task_of(name: str) -> Task:
    """The :class:`Task` called ``name``.

    Example:
        >>> task_of("binary").units
        1
    """
    if name not in TASKS:
        raise ValueError(f"task must be one of {list(TASKS)}. Got {name!r} instead.")
    return TASKS[name]
