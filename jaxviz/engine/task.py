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

__all__ = ["Task", "TASKS", "BINARY", "REGRESSION", "EPSILON", "bce", "cce", "multiclass", "task_of"]

#: Keras' fuzz factor: probabilities are clipped to [EPSILON, 1 - EPSILON] before the log.
EPSILON = 1e-7


class Task(NamedTuple):
    """One kind of problem (hashable: it is part of the static config of a compiled program)."""

    name: str
    units: int  # width of the output layer
    output: Callable  # (..., units) pre-activations -> the prediction (what a surface holds, per point)
    loss: Callable  # (prediction, target) -> per-sample loss
    correct: Callable  # (prediction, target) -> per-sample score: 1.0 / 0.0 for accuracy, |error| for mae
    surface: str  # what a surface holds, for labels
    cmap: str  # the colour map that shows a surface (a matplotlib name; views look it up)
    metric: str = "accuracy"  # the History name of ``correct``'s mean ("accuracy" or "mae")

    @property
    def metrics(self) -> tuple[str, ...]:
        """The History keys, in Keras' order.

        Example:
            >>> REGRESSION.metrics
            ('loss', 'mae', 'val_loss', 'val_mae', 'learning_rate')
        """
        return ("loss", self.metric, "val_loss", f"val_{self.metric}", "learning_rate")

    @property
    def maps(self) -> tuple[int, ...]:
        """The trailing axes of a surface: one map per class for a multi-class task, else none.

        Example:
            >>> multiclass(3).maps, BINARY.maps
            ((3,), ())
        """
        return (self.units,) if self.name == "multiclass" else ()


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

def cce(p: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample categorical cross-entropy of softmax probabilities ``p`` ``(..., k)`` against the
    class index ``y``, as Keras computes it from probabilities: renormalised, clipped to
    [1e-7, 1 - 1e-7], then the log.

    Example:
        >>> round(float(cce(jnp.array([0.7, 0.2, 0.1]), jnp.float32(0))), 4)
        0.3567
    """
    p = p / jnp.sum(p, axis=-1, keepdims=True)
    p = jnp.clip(p, EPSILON, 1.0 - EPSILON)
    target = jnp.arange(p.shape[-1]) == jnp.asarray(y, jnp.int32)[..., None]
    return -jnp.sum(jnp.where(target, jnp.log(p), 0.0), axis=-1)


def _softmax(z: jax.Array) -> jax.Array:
    return jax.nn.softmax(z, axis=-1)


def _argmax_correct(p: jax.Array, y: jax.Array) -> jax.Array:
    return (jnp.argmax(p, axis=-1) == jnp.asarray(y, jnp.int32)).astype(jnp.float32)


def multiclass(classes: int) -> Task:
    """Softmax over ``classes`` units, Keras' categorical cross-entropy, argmax accuracy; a surface
    holds every class's probability.

    Example:
        >>> multiclass(3).units, multiclass(3).metrics[1]
        (3, 'accuracy')
    """
    return Task(name="multiclass", units=int(classes), output=_softmax, loss=cce, correct=_argmax_correct,
                surface="class probabilities", cmap="tab10")


def _linear_unit(z: jax.Array) -> jax.Array:
    return z[..., 0]


def _squared_error(p: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.square(p - y)


def _absolute_error(p: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.abs(p - y)


#: One linear unit, mean squared error; the second History metric is the mean absolute error.
REGRESSION = Task(name="regression", units=1, output=_linear_unit, loss=_squared_error, correct=_absolute_error,
                  surface="predicted value", cmap="RdBu_r", metric="mae")

#: Every task, by name.
TASKS = ("binary", "multiclass", "regression")


def task_of(name: str, classes: int = 2) -> Task:
    """The :class:`Task` called ``name`` (``classes`` sets the multi-class output width).

    Example:
        >>> task_of("binary").units, task_of("multiclass", 4).units, task_of("regression").metric
        (1, 4, 'mae')
    """
    if name == "binary":
        return BINARY
    if name == "regression":
        return REGRESSION
    if name == "multiclass":
        return multiclass(classes)
    raise ValueError(f"task must be one of {list(TASKS)}. Got {name!r} instead.")
