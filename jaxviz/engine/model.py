"""The seed's model as a Flax NNX module, padded so that one program holds many architectures.

Every model of a grid shares one padded shape: ``slots`` hidden layers of ``hidden`` units.
A model's own widths (``n1``, ``n2``, ``n3``; 0 = no layer) become a :class:`Structure` of masks:
units beyond a layer's width are held at zero, and a missing layer passes its input through.
Padded weights start at zero and get zero gradients, so they stay zero: the padding is invisible.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from jaxviz.engine.task import BINARY, Task

__all__ = [
    "MLP",
    "Structure",
    "structure",
    "ACTIVATION_FNS",
    "apply_activation",
    "init_params",
    "predict",
    "l2_penalty",
    "params_to_arrays",
    "params_from_arrays",
    "keras_weights",
]

#: Leaky ReLU negative slope of the seed (Keras ``LeakyReLU(alpha=0.3)``).
LRELU_SLOPE = 0.3

ACTIVATION_FNS = {
    "relu": jax.nn.relu,
    "lrelu": lambda x: jax.nn.leaky_relu(x, negative_slope=LRELU_SLOPE),
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
}


def apply_activation(z: jax.Array, index, names: tuple[str, ...]) -> jax.Array:
    """Activation ``names[index]`` of ``z``; ``index`` may be traced (one per model under vmap).

    Example:
        >>> apply_activation(jnp.array([-1.0, 2.0]), 1, ("relu", "lrelu")).tolist()
        [-0.30000001192092896, 2.0]
    """
    if len(names) == 1:
        return ACTIVATION_FNS[names[0]](z)
    return jnp.select([index == i for i in range(len(names))], [ACTIVATION_FNS[n](z) for n in names])


class Structure(NamedTuple):
    """One model's architecture inside the padded shape (arrays, so it vmaps)."""

    units: jax.Array  # (slots, hidden) float32: 1 for a real unit, 0 for padding
    present: jax.Array  # (slots,) bool: the layer exists (else it passes its input through)
    activation: jax.Array  # () int32: index into the grid's activations


def structure(widths, activation, slots: int, hidden: int) -> Structure:
    """The masks of a model with hidden ``widths`` (n1, n2, n3) in a padded shape.

    Example:
        >>> s = structure(jnp.array([3, 0, 2]), 0, slots=3, hidden=4)
        >>> s.units.tolist(), s.present.tolist()
        ([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], [True, False, True])
    """
    widths = jnp.asarray(widths)[:slots]
    units = (jnp.arange(hidden)[None, :] < widths[:, None]).astype(jnp.float32)
    return Structure(units, widths > 0, jnp.asarray(activation, jnp.int32))


class MLP(nnx.Module):
    """Dense 2 -> [hidden] x slots -> units: the seed's model, padded; the task applies the output.

    Called with a model's :class:`Structure`, it computes exactly that model: hidden layers use
    its activation (relu, lrelu with slope 0.3, sigmoid or tanh), padded units are masked and a
    missing layer passes its input through. Returns the output layer's pre-activations
    ``(..., units)``; the :class:`~jaxviz.engine.task.Task` turns them into predictions.

    Example:
        >>> model = MLP(hidden=10, slots=2, activations=("lrelu",), rngs=nnx.Rngs(0))
        >>> s = structure(jnp.array([10, 10, 0]), 0, slots=2, hidden=10)
        >>> model(jnp.zeros((5, 2)), s).shape
        (5, 1)
    """

    def __init__(self, hidden: int, slots: int, activations: tuple[str, ...], *, rngs: nnx.Rngs, units: int = 1):
        sizes = [(2, hidden)] + [(hidden, hidden)] * (slots - 1)
        self.activations = activations
        self.hidden = nnx.List([nnx.Linear(i, o, rngs=rngs) for i, o in sizes])
        self.out = nnx.Linear(hidden, units, rngs=rngs)

    def __call__(self, x: jax.Array, s: Structure) -> jax.Array:
        h = x
        for k, layer in enumerate(self.hidden):
            a = apply_activation(layer(h), s.activation, self.activations) * s.units[k]
            # a missing layer passes its input on; without a first layer (n1 = 0) the 2 inputs,
            # padded to the hidden width (the grid makes it at least 2)
            h = jnp.where(s.present[k], a, h if k else pad_inputs(x, a.shape[-1]))
        return self.out(h)


def pad_inputs(x: jax.Array, width: int) -> jax.Array:
    """The points ``(..., 2)`` padded with zero columns to ``(..., width)`` (``width >= 2``).

    Example:
        >>> pad_inputs(jnp.ones((1, 2)), 3).tolist()
        [[1.0, 1.0, 0.0]]
    """
    return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, width - x.shape[-1])])


@functools.lru_cache(maxsize=64)
def _abstract(hidden: int, slots: int, activations: tuple[str, ...], units: int = 1):
    return nnx.split(nnx.eval_shape(lambda: MLP(hidden, slots, activations, rngs=nnx.Rngs(0), units=units)))


def params_from_arrays(arrays, hidden: int, slots: int, activations: tuple[str, ...]) -> nnx.State:
    """A ``State`` of :class:`MLP` from the flat list ``[k1, b1, ..., k_out, b_out]``."""
    state = jax.tree.map(lambda x: x, _abstract(hidden, slots, activations, arrays[-1].shape[-1])[1])
    pairs = list(zip(arrays[0::2], arrays[1::2]))
    pure = {"hidden": {k: {"kernel": w, "bias": b} for k, (w, b) in enumerate(pairs[:-1])},
            "out": {"kernel": pairs[-1][0], "bias": pairs[-1][1]}}
    nnx.replace_by_pure_dict(state, pure)
    return state


def params_to_arrays(params: nnx.State) -> list[jax.Array]:
    """The flat list ``[k1, b1, ..., k_out, b_out]`` (padded shapes) of an :class:`MLP` state."""
    hidden = params["hidden"]
    out: list[jax.Array] = []
    for k in range(len(hidden)):
        out += [hidden[k]["kernel"][...], hidden[k]["bias"][...]]
    return out + [params["out"]["kernel"][...], params["out"]["bias"][...]]


def _glorot_rows(key, n_rows: int, n_cols: int, fan_in, fan_out):
    """Glorot-uniform rows drawn one by one from ``fold_in(key, row)`` with the real fans.

    A row's values do not depend on how many columns or rows the padded kernel has (a shorter
    draw from the same key is a prefix of a longer one), so a padded kernel starts with exactly
    the numbers of the unpadded model in its real block.
    """
    limit = jnp.sqrt(6.0 / (fan_in + fan_out).astype(jnp.float32))
    draw = lambda i: jax.random.uniform(jax.random.fold_in(key, i), (n_cols,), jnp.float32, -limit, limit)  # noqa: E731
    rows = jax.vmap(draw)(jnp.arange(n_rows))
    mask = (jnp.arange(n_rows)[:, None] < fan_in) & (jnp.arange(n_cols)[None, :] < fan_out)
    return jnp.where(mask, rows, 0.0)


def init_params(key: jax.Array, widths, hidden: int, slots: int, activations: tuple[str, ...],
                units: int = 1) -> nnx.State:
    """Initial weights of one model (Glorot-uniform kernels, zero biases), padded; traceable.

    Layer ``r`` of the model's real layers draws from ``fold_in(key, r)`` with its real fan-in
    and fan-out, so the model starts the same whatever the grid it is padded into.

    Example:
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 0]), 4, 1, ("relu",))
        >>> k = params_to_arrays(p)[0]
        >>> k.shape, int((k != 0).sum())
        ((2, 4), 6)
    """
    widths = jnp.asarray(widths, jnp.int32)
    arrays, fan_in, real_index = [], jnp.int32(2), jnp.int32(0)
    for k in range(slots):
        present = widths[k] > 0
        n_rows = 2 if k == 0 else hidden
        kernel = _glorot_rows(jax.random.fold_in(key, real_index), n_rows, hidden, fan_in, widths[k])
        arrays += [jnp.where(present, kernel, 0.0), jnp.zeros(hidden, jnp.float32)]
        fan_in = jnp.where(present, widths[k], fan_in)
        real_index = real_index + present.astype(jnp.int32)
    # the output layer has the task's width (1, or k classes)
    arrays += [_glorot_rows(jax.random.fold_in(key, real_index), hidden, units, fan_in, jnp.int32(units)),
               jnp.zeros(units, jnp.float32)]
    return params_from_arrays(arrays, hidden, slots, activations)


def predict(params: nnx.State, x: jax.Array, s: Structure, hidden: int, slots: int,
            activations: tuple[str, ...], task: Task = BINARY) -> jax.Array:
    """One model's predictions for the points ``x`` (shape ``(n, 2)``): for the binary task,
    class-1 probabilities ``(n,)``.

    Example:
        >>> p = init_params(jax.random.key(0), jnp.array([4, 0, 0]), 4, 1, ("tanh",))
        >>> s = structure(jnp.array([4, 0, 0]), 0, 1, 4)
        >>> predict(p, jnp.zeros((3, 2)), s, 4, 1, ("tanh",)).shape
        (3,)
    """
    graphdef = _abstract(hidden, slots, activations, task.units)[0]
    return task.output(nnx.merge(graphdef, params)(x, s))


def l2_penalty(params: nnx.State, kr: jax.Array) -> jax.Array:
    """``kr * sum(W**2)`` over the hidden kernels (the seed does not regularise the output layer).

    Padded and missing layers hold zeros, so they add nothing.
    """
    return kr * sum(jnp.sum(jnp.square(layer["kernel"][...])) for layer in params["hidden"].values())


def keras_weights(arrays, widths) -> list[np.ndarray]:
    """A model's padded arrays cut to its real layers, as Keras' ``get_weights()`` lists them.

    Example:
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 2]), 4, 3, ("relu",))
        >>> [w.shape for w in keras_weights(params_to_arrays(p), (3, 0, 2))]
        [(2, 3), (3,), (3, 2), (2,), (2, 1), (1,)]
    """
    out, fan_in = [], 2
    kernels, biases = arrays[0:-2:2], arrays[1:-2:2]
    for k, width in enumerate(widths[: len(kernels)]):
        if width:
            out += [np.asarray(kernels[k])[:fan_in, :width], np.asarray(biases[k])[:width]]
            fan_in = width
    return out + [np.asarray(arrays[-2])[:fan_in], np.asarray(arrays[-1])]
