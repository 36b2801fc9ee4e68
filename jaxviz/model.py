"""The seed's model as a Flax NNX module, and the pure functions the trainer uses around it."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

__all__ = [
    "MLP",
    "glorot_rows",
    "init_params",
    "predict",
    "l2_penalty",
    "weight_list",
    "params_from_weights",
]

#: Leaky ReLU negative slope of the seed (Keras ``LeakyReLU(alpha=0.3)``).
LRELU_SLOPE = 0.3

ACTIVATION_FNS = {
    "relu": jax.nn.relu,
    "lrelu": lambda x: jax.nn.leaky_relu(x, negative_slope=LRELU_SLOPE),
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
}


def glorot_rows(key: jax.Array, shape: tuple[int, int], dtype=jnp.float32) -> jax.Array:
    """Glorot-uniform kernel, limit ``sqrt(6 / (fan_in + fan_out))``, drawn row by row.

    Row ``i`` is drawn from ``fold_in(key, i)``, so the values of a kernel do not depend on how
    many other rows or columns it has: a kernel padded to a larger shape starts with the same
    numbers in its real block. That keeps a model's start independent of the grid it is in.

    Example:
        >>> k = glorot_rows(jax.random.key(0), (2, 10))
        >>> bool(abs(k).max() <= (6 / 12) ** 0.5)
        True
    """
    fan_in, fan_out = shape
    limit = jnp.sqrt(6.0 / (fan_in + fan_out)).astype(dtype)
    row = lambda i: jax.random.uniform(jax.random.fold_in(key, i), (fan_out,), dtype, -limit, limit)  # noqa: E731
    return jax.vmap(row)(jnp.arange(fan_in))


class MLP(nnx.Module):
    """Dense 2 -> widths... -> 1 with a sigmoid output, as the seed builds it in Keras.

    Hidden layers use ``activation`` (relu, lrelu with slope 0.3, sigmoid or tanh); kernels start
    Glorot-uniform, biases at zero. Calling the module gives the class-1 probability.

    Example:
        >>> model = MLP((10, 10), "lrelu", rngs=nnx.Rngs(0))
        >>> model(jnp.zeros((5, 2))).shape
        (5,)
    """

    def __init__(self, widths: tuple[int, ...], activation: str, *, rngs: nnx.Rngs):
        sizes = (2, *widths, 1)
        self.activation = activation
        self.layers = nnx.List(
            [
                nnx.Linear(
                    i, o, kernel_init=glorot_rows, bias_init=nnx.initializers.zeros,
                    rngs=rngs,
                )
                for i, o in zip(sizes[:-1], sizes[1:])
            ]
        )

    def __call__(self, x: jax.Array) -> jax.Array:
        act = ACTIVATION_FNS[self.activation]
        for layer in self.layers[:-1]:
            x = act(layer(x))
        return jax.nn.sigmoid(self.layers[-1](x))[..., 0]


@functools.lru_cache(maxsize=64)
def _graphdef(widths: tuple[int, ...], activation: str):
    abstract = nnx.eval_shape(lambda: MLP(widths, activation, rngs=nnx.Rngs(0)))
    return nnx.graphdef(abstract)


def init_params(widths: tuple[int, ...], activation: str, key: jax.Array) -> nnx.State:
    """Initial parameters (an NNX ``State`` pytree) of one model; traceable, so it vmaps.

    Example:
        >>> p = init_params((10,), "relu", jax.random.key(0))
        >>> p["layers"][0]["kernel"].shape
        (2, 10)
    """
    return nnx.state(MLP(widths, activation, rngs=nnx.Rngs(params=key)))


def predict(widths: tuple[int, ...], activation: str, params: nnx.State, x: jax.Array) -> jax.Array:
    """Class-1 probabilities of the points ``x`` (shape ``(n, 2)``) under ``params``.

    Example:
        >>> p = init_params((4,), "tanh", jax.random.key(0))
        >>> predict((4,), "tanh", p, jnp.zeros((3, 2))).shape
        (3,)
    """
    return nnx.merge(_graphdef(widths, activation), params)(x)


def weight_list(params: nnx.State) -> list[jax.Array]:
    """The parameters as Keras' ``get_weights()`` lists them: kernel ``(in, out)``, bias ``(out,)``.

    Example:
        >>> [w.shape for w in weight_list(init_params((3,), "relu", jax.random.key(0)))]
        [(2, 3), (3,), (3, 1), (1,)]
    """
    layers = params["layers"]
    out: list[Any] = []
    for i in range(len(layers)):
        out += [layers[i]["kernel"][...], layers[i]["bias"][...]]
    return out


def l2_penalty(params: nnx.State, kr: jax.Array) -> jax.Array:
    """``kr * sum(W**2)`` over the hidden kernels (the seed does not regularise the output layer).

    Example:
        >>> p = init_params((3,), "relu", jax.random.key(0))
        >>> float(l2_penalty(p, 0.0))
        0.0
    """
    kernels = weight_list(params)[0:-2:2]
    return kr * sum(jnp.sum(jnp.square(k)) for k in kernels)


def params_from_weights(widths: tuple[int, ...], activation: str, weights) -> nnx.State:
    """Inverse of :func:`weight_list`: a Keras-style weight list back into a ``State``.

    Example:
        >>> p = init_params((3,), "relu", jax.random.key(0))
        >>> q = params_from_weights((3,), "relu", weight_list(p))
        >>> bool((q["layers"][1]["kernel"][...] == p["layers"][1]["kernel"][...]).all())
        True
    """
    state = nnx.state(nnx.eval_shape(lambda: MLP(widths, activation, rngs=nnx.Rngs(0))))
    layers = {i: {"kernel": k, "bias": b} for i, (k, b) in enumerate(zip(weights[0::2], weights[1::2]))}
    nnx.replace_by_pure_dict(state, {"layers": layers})
    return state
