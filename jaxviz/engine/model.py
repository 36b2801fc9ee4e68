"""The seed's model as a Flax NNX module, padded so that one program holds many architectures.

Every model of a grid shares one padded shape: ``inputs`` input columns, ``slots`` hidden layers
of ``hidden`` units. A model's own widths (``n1``, ``n2``, ``n3``; 0 = no layer) and options
become a :class:`Structure` of masks: units beyond a layer's width are held at zero, a missing
layer passes its input through, input columns beyond the model's features are zero. Padded
weights start at zero and get zero gradients, so they stay zero: the padding is invisible.

The model options are values, not shapes (each model of one program has its own):

- ``features``: Playground's engineered inputs (x1, x2, x1^2, x2^2, x1x2, sin x1, sin x2),
  computed from the 2-D points inside the program; a model's features fill its first input
  columns in :data:`~jaxviz.spec.config.FEATURES` order.
- ``bias``: off holds every bias at zero (they start at zero and are multiplied by 0 in the
  forward pass, so their gradient is 0 and no optimiser moves them).
- ``init``: Glorot-uniform (the seed's) or N(0, 1) kernels, from the same random bits.
- ``parametrization``: ``meanfield`` is the fractal paper's (Sohl-Dickstein 2024): each layer
  computes ``(x @ W) / sqrt(fan_in)`` with the model's real fan-in, the output layer is divided
  by ``sqrt(fan_in)`` once more, and the nonlinearities carry gains: ``tanh(sqrt(2) z)``,
  ``relu(z) * sqrt(2)``; ``linear`` is the identity. A bias, when on, is added after the scaling.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.extend.random import threefry2x32_p

from jaxviz.engine.inputs import N_FEATURES, expand_inputs, feature_table, input_columns
from jaxviz.engine.task import BINARY, Task

__all__ = [
    "MLP",
    "Structure",
    "structure",
    "ACTIVATION_FNS",
    "MEANFIELD_GAINS",
    "N_FEATURES",
    "apply_activation",
    "feature_table",
    "input_columns",
    "expand_inputs",
    "fan_ins",
    "gains",
    "init_params",
    "predict",
    "l1_penalty",
    "l2_penalty",
    "params_to_arrays",
    "params_from_arrays",
    "as_arrays",
    "keras_weights",
]

#: Leaky ReLU negative slope of the seed (Keras ``LeakyReLU(alpha=0.3)``).
LRELU_SLOPE = 0.3

ACTIVATION_FNS = {
    "relu": jax.nn.relu,
    "lrelu": lambda x: jax.nn.leaky_relu(x, negative_slope=LRELU_SLOPE),
    "sigmoid": jax.nn.sigmoid,
    "tanh": jnp.tanh,
    "linear": lambda x: x,
}

#: Mean-field gains ``(inside, outside)``: ``phi(inside * z) * outside``. tanh, relu and linear are
#: the fractal notebook's; lrelu takes He's gain for its slope, sigmoid none.
MEANFIELD_GAINS = {
    "relu": (1.0, math.sqrt(2.0)),
    "lrelu": (1.0, math.sqrt(2.0 / (1.0 + LRELU_SLOPE ** 2))),
    "sigmoid": (1.0, 1.0),
    "tanh": (math.sqrt(2.0), 1.0),
    "linear": (1.0, 1.0),
}



def apply_activation(z: jax.Array, index, names: tuple[str, ...]) -> jax.Array:
    """Activation ``names[index]`` of ``z``; ``index`` may be traced (one per model under vmap). A
    ``None`` in ``names`` is an activation left out of the program (no model uses it).

    Example:
        >>> apply_activation(jnp.array([-1.0, 2.0]), 1, ("relu", "lrelu")).tolist()
        [-0.30000001192092896, 2.0]
    """
    live = [(i, n) for i, n in enumerate(names) if n]  # None: an activation no model of this program uses
    if len(live) == 1:
        return ACTIVATION_FNS[live[0][1]](z)
    return jnp.select([index == i for i, _ in live], [ACTIVATION_FNS[n](z) for _, n in live])


def gains(index, names: tuple[str, ...], meanfield, dtype=jnp.float32) -> tuple[jax.Array, jax.Array]:
    """A model's ``(inside, outside)`` activation gains: :data:`MEANFIELD_GAINS` of activation
    ``names[index]`` when ``meanfield``, else ``(1, 1)`` (multiplying by 1 changes no bit), in ``dtype``.

    Example:
        >>> [round(float(g), 4) for g in gains(0, ("tanh",), True)], [float(g) for g in gains(0, ("tanh",), False)]
        ([1.4142, 1.0], [1.0, 1.0])
    """
    live = [(i, n) for i, n in enumerate(names) if n]
    pick = lambda j: jnp.asarray(MEANFIELD_GAINS[live[0][1]][j], dtype) if len(live) == 1 else jnp.select(  # noqa: E731
        [index == i for i, _ in live], [jnp.asarray(MEANFIELD_GAINS[n][j], dtype) for _, n in live])
    return tuple(jnp.where(meanfield, pick(j), jnp.asarray(1.0, dtype)) for j in (0, 1))


def fan_ins(widths, n_inputs) -> jax.Array:
    """The real fan-in of each hidden slot's layer and of the output layer ``(slots + 1,)``
    (a missing slot's entry is unused).

    Example:
        >>> fan_ins(jnp.array([3, 0, 5]), 2).tolist()
        [2, 3, 3, 5]
    """
    widths = jnp.asarray(widths, jnp.int32)
    fans, fan = [], jnp.asarray(n_inputs, jnp.int32)
    for k in range(widths.shape[0]):
        fans.append(fan)
        fan = jnp.where(widths[k] > 0, widths[k], fan)
    return jnp.stack(fans + [fan])


class Structure(NamedTuple):
    """One model's architecture and options inside the padded shape (arrays, so it vmaps)."""

    units: jax.Array  # (slots, hidden) float32: 1 for a real unit, 0 for padding
    present: jax.Array  # (slots,) bool: the layer exists (else it passes its input through)
    activation: jax.Array  # () int32: index into the grid's activations
    columns: jax.Array = None  # (inputs,) int32: feature_table columns of the model's inputs
    input_mask: jax.Array = None  # (inputs,) float32: 1 for a used input column
    bias: jax.Array = None  # () float32: 1 = biases on, 0 = held at zero
    divisors: jax.Array = None  # (slots + 1,) float32: sqrt(fan-in) under mean-field scaling, else 1
    meanfield: jax.Array = None  # () bool


def structure(widths, activation, slots: int, hidden: int, *, features=3, inputs: int = 2, bias=1.0,
              meanfield=False, raw_inputs: int = 0, dtype=jnp.float32) -> Structure:
    """The masks of a model with hidden ``widths`` (n1, n2, n3) in a padded shape.

    ``features``: the model's feature bit mask (default 3 = x1, x2); ``inputs``: the padded input
    width; ``raw_inputs``: data with that many columns taken as they are (no features); ``dtype``: the
    float type of the masks and divisors (the grid's, see :mod:`jaxviz.engine.precision`).

    Example:
        >>> s = structure(jnp.array([3, 0, 2]), 0, slots=3, hidden=4)
        >>> s.units.tolist(), s.present.tolist()
        ([[1.0, 1.0, 1.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 0.0, 0.0]], [True, False, True])
        >>> structure(jnp.array([4, 0, 0]), 0, 1, 4, meanfield=True).divisors.tolist()
        [1.4142135381698608, 2.0]
    """
    widths = jnp.asarray(widths)[:slots]
    units = (jnp.arange(hidden)[None, :] < widths[:, None]).astype(dtype)
    if raw_inputs:
        columns, count = jnp.arange(inputs), jnp.int32(raw_inputs)
        mask = (columns < raw_inputs).astype(dtype)
    else:
        columns, mask, count = input_columns(features, inputs)
    meanfield = jnp.asarray(meanfield, bool)
    divisors = jnp.where(meanfield, jnp.sqrt(fan_ins(widths, count).astype(dtype)), jnp.asarray(1.0, dtype))
    return Structure(units, widths > 0, jnp.asarray(activation, jnp.int32), columns, mask.astype(dtype),
                     jnp.asarray(bias, dtype), divisors, meanfield)


def forward(arrays, x: jax.Array, s: Structure, activations: tuple[str, ...]) -> jax.Array:
    """The output layer's pre-activations ``(..., units)`` of the padded model ``arrays``
    (``[k1, b1, ..., k_out, b_out]``) at the points ``x``; see :class:`MLP`.

    Example:
        >>> p = params_to_arrays(init_params(jax.random.key(0), jnp.array([4, 0, 0]), 4, 1, ("tanh",)))
        >>> forward(p, jnp.zeros((3, 2)), structure(jnp.array([4, 0, 0]), 0, 1, 4), ("tanh",)).shape
        (3, 1)
    """
    kernels, biases = arrays[0::2], arrays[1::2]
    gain_in, gain_out = gains(s.activation, activations, s.meanfield, s.divisors.dtype)
    x = expand_inputs(x, s.columns, s.input_mask)
    h = x
    for k in range(len(kernels) - 1):
        z = jnp.dot(h, kernels[k]) / s.divisors[k] + biases[k] * s.bias
        a = apply_activation(z * gain_in, s.activation, activations) * gain_out * s.units[k]
        # a missing layer passes its input on; without a first layer (n1 = 0) the inputs, padded to
        # the hidden width (a grid with n1 = 0 makes it at least the input width; else no model needs them)
        below = h if k else pad_inputs(x, a.shape[-1]) if a.shape[-1] >= x.shape[-1] else a
        h = jnp.where(s.present[k], a, below)
    return jnp.dot(h, kernels[-1]) / s.divisors[-1] / s.divisors[-1] + biases[-1] * s.bias


class MLP(nnx.Module):
    """Dense inputs -> [hidden] x slots -> units: the seed's model, padded; the task applies the output.

    Called with a model's :class:`Structure`, it computes exactly that model: its input features,
    hidden layers with its activation (relu, lrelu with slope 0.3, sigmoid, tanh or linear),
    padded units masked, a missing layer passing its input through, and its bias and
    parametrization options. Returns the output layer's pre-activations ``(..., units)``; the
    :class:`~jaxviz.engine.task.Task` turns them into predictions.

    Example:
        >>> model = MLP(hidden=10, slots=2, activations=("lrelu",), rngs=nnx.Rngs(0))
        >>> s = structure(jnp.array([10, 10, 0]), 0, slots=2, hidden=10)
        >>> model(jnp.zeros((5, 2)), s).shape
        (5, 1)
    """

    def __init__(self, hidden: int, slots: int, activations: tuple[str, ...], *, rngs: nnx.Rngs, units: int = 1,
                 inputs: int = 2):
        sizes = [(inputs, hidden)] + [(hidden, hidden)] * (slots - 1)
        self.activations = activations
        self.hidden = nnx.List([nnx.Linear(i, o, rngs=rngs) for i, o in sizes])
        self.out = nnx.Linear(hidden, units, rngs=rngs)

    def __call__(self, x: jax.Array, s: Structure) -> jax.Array:
        return forward(params_to_arrays(nnx.state(self, nnx.Param)), x, s, self.activations)


def pad_inputs(x: jax.Array, width: int) -> jax.Array:
    """The points ``(..., d)`` padded with zero columns to ``(..., width)`` (``width >= d``).

    Example:
        >>> pad_inputs(jnp.ones((1, 2)), 3).tolist()
        [[1.0, 1.0, 0.0]]
    """
    return jnp.pad(x, [(0, 0)] * (x.ndim - 1) + [(0, width - x.shape[-1])])


@functools.lru_cache(maxsize=64)
def _abstract(hidden: int, slots: int, activations: tuple[str, ...], inputs: int = 2, units: int = 1):
    return nnx.split(nnx.eval_shape(lambda: MLP(hidden, slots, activations, rngs=nnx.Rngs(0), units=units,
                                                inputs=inputs)))


def params_from_arrays(arrays, hidden: int, slots: int, activations: tuple[str, ...]) -> nnx.State:
    """A ``State`` of :class:`MLP` from the flat list ``[k1, b1, ..., k_out, b_out]``."""
    inputs, units = np.shape(arrays[0])[-2], np.shape(arrays[-1])[-1]
    state = jax.tree.map(lambda x: x, _abstract(hidden, slots, activations, inputs, units)[1])
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


def as_arrays(params) -> list:
    """The list ``[k1, b1, ..., k_out, b_out]`` of ``params``: an :class:`MLP` state, or such a list.

    Example:
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 0]), 4, 1, ("relu",))
        >>> len(as_arrays(p)), as_arrays(as_arrays(p))[0].shape
        (4, (2, 4))
    """
    return list(params) if isinstance(params, (list, tuple)) else params_to_arrays(params)


def _unit_floats(bits: jax.Array) -> jax.Array:
    """Floats in [0, 1) from random 32-bit words, exactly as ``jax.random.uniform`` makes them."""
    return jax.lax.bitcast_convert_type((bits >> 9) | np.uint32(0x3F800000), jnp.float32) - jnp.float32(1.0)


def _uniform(floats: jax.Array, lo, hi) -> jax.Array:
    """``jax.random.uniform``'s scaling of :func:`_unit_floats` to [lo, hi), bit for bit."""
    return jnp.maximum(lo, floats * (hi - lo) + lo)


def _hash(k1, k2, data):
    """Threefry-2x32 of the counter ``(0, data)`` under the key words ``(k1, k2)``: what
    ``jax.random.fold_in(key, data)`` computes for a new key, and ``jax.random.bits`` for word
    ``data`` of a draw (those XOR the two halves)."""
    return threefry2x32_p.bind(k1, k2, jnp.zeros_like(data), data)


def _row_bits(key, layers, n_rows: int, n_cols: int) -> jax.Array:
    """Random words ``(len(layers), n_rows, n_cols)``: row ``r`` of layer ``l`` holds
    ``jax.random.bits(fold_in(fold_in(key, layers[l]), r), (n_cols,))``, so its values do not
    depend on how many columns or rows the padded kernel has (a shorter draw from the same key
    is a prefix of a longer one).

    The same numbers as those calls, computed as three flat threefry hashes (layer keys, row
    keys, words) instead of batched ``fold_in`` / ``bits`` calls: the draws were most of what
    compiling ``start`` cost, and nested vmaps of them compile about four times slower.
    """
    k1, k2 = jax.random.key_data(key)
    n_layers = layers.shape[0]
    l1, l2 = _hash(jnp.broadcast_to(k1, (n_layers,)), jnp.broadcast_to(k2, (n_layers,)), layers.astype(jnp.uint32))
    rows = jnp.tile(jnp.arange(n_rows, dtype=jnp.uint32), n_layers)
    r1, r2 = _hash(jnp.repeat(l1, n_rows), jnp.repeat(l2, n_rows), rows)
    cols = jnp.tile(jnp.arange(n_cols, dtype=jnp.uint32), n_layers * n_rows)
    b1, b2 = _hash(jnp.repeat(r1, n_cols), jnp.repeat(r2, n_cols), cols)
    return (b1 ^ b2).reshape(n_layers, n_rows, n_cols)


def init_params(key: jax.Array, widths, hidden: int, slots: int, activations: tuple[str, ...], *, inputs: int = 2,
                n_inputs=2, init=0, units: int = 1, dtype=jnp.float32, paper: bool = False) -> nnx.State:
    """Initial weights of one model (zero biases), padded; traceable.

    Kernels are Glorot-uniform with the real fan-in and fan-out (``init=0``, the seed's) or N(0, 1)
    (``init=1``), from the same random words. Layer ``r`` of the model's real layers draws from
    ``fold_in(key, r)``, row by row (see :func:`_row_bits`), so the model starts the same whatever
    the grid it is padded into. ``inputs`` is the padded input width and ``n_inputs`` the
    model's own (its first kernel's real rows). With ``paper`` (the grid has ``init="fractal"``)
    a model of ``init=2`` starts from the fractal paper notebook's weights
    (:func:`jaxviz.data.fractal.fractal_weights`, a 16-16-1 net). Weights are ``dtype``.

    Example:
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 0]), 4, 1, ("relu",))
        >>> k = params_to_arrays(p)[0]
        >>> k.shape, int((k != 0).sum())
        ((2, 4), 6)
    """
    widths = jnp.asarray(widths, jnp.int32)[:slots]
    present = widths > 0
    real_index = jnp.concatenate([jnp.zeros(1, jnp.int32), jnp.cumsum(present.astype(jnp.int32))])
    fan_in = fan_ins(widths, n_inputs)
    fan_out = jnp.concatenate([widths, jnp.full(1, units, jnp.int32)])
    n_rows, n_cols = max(inputs, hidden), max(hidden, units)
    floats = _unit_floats(_row_bits(key, real_index, n_rows, n_cols))
    limit = jnp.sqrt(6.0 / (fan_in + fan_out).astype(jnp.float32))[:, None, None]
    glorot = _uniform(floats, -limit, limit)
    lo = jnp.float32(np.nextafter(np.float32(-1.0), np.float32(0.0)))
    normal = jnp.float32(np.sqrt(2)) * jax.scipy.special.erfinv(_uniform(floats, lo, jnp.float32(1.0)))
    kernels = jnp.where(jnp.asarray(init) == 1, normal, glorot).astype(dtype)
    if paper:
        kernels = jnp.where(jnp.asarray(init) == 2, _paper_kernels(slots, n_rows, n_cols, dtype), kernels)
    mask = (jnp.arange(n_rows)[None, :, None] < fan_in[:, None, None]) & (
        jnp.arange(n_cols)[None, None, :] < fan_out[:, None, None])
    kernels = jnp.where(mask & jnp.concatenate([present, jnp.ones(1, bool)])[:, None, None], kernels, 0.0)
    arrays = []
    for k in range(slots):
        arrays += [kernels[k, :inputs if k == 0 else hidden, :hidden], jnp.zeros(hidden, dtype)]
    arrays += [kernels[slots, :hidden, :units], jnp.zeros(units, dtype)]
    return params_from_arrays(arrays, hidden, slots, activations)


def _paper_kernels(slots: int, n_rows: int, n_cols: int, dtype) -> jax.Array:
    """The fractal paper's ``W0`` and ``W1`` in the padded kernel stack ``(slots + 1, n_rows, n_cols)``
    (``W0`` in the first slot, ``W1`` in the output's); a host constant, drawn outside any program."""
    from jaxviz.data.fractal import fractal_weights

    w0, w1 = fractal_weights()
    stack = np.zeros((slots + 1, n_rows, n_cols), np.float64)
    stack[0, :w0.shape[0], :w0.shape[1]] = w0
    stack[slots, :w1.shape[0], :w1.shape[1]] = w1
    return jnp.asarray(stack.astype(np.dtype(dtype)))


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
    return task.output(forward(as_arrays(params), x, s, activations))


def _hidden_kernels(params) -> list[jax.Array]:
    return as_arrays(params)[0:-2:2]


def l2_penalty(params: nnx.State, kr: jax.Array) -> jax.Array:
    """``kr * sum(W**2)`` over the hidden kernels (the seed does not regularise the output layer).

    Padded and missing layers hold zeros, so they add nothing.

    Example:
        >>> p = params_from_arrays([jnp.ones((2, 2)), jnp.zeros(2), jnp.ones((2, 1)), jnp.zeros(1)], 2, 1, ("relu",))
        >>> float(l2_penalty(p, 0.5))
        2.0
    """
    return kr * sum(jnp.sum(jnp.square(w)) for w in _hidden_kernels(params))


def l1_penalty(params: nnx.State, l1: jax.Array) -> jax.Array:
    """``l1 * sum(|W|)`` over the hidden kernels, as Keras' ``L1L2(l1=...)`` on the layers ``kr`` covers.

    ``|W|`` is written ``sign(W) * W``: the same value, and a zero gradient at ``W = 0`` (``abs``
    has gradient 1 there), so padded weights stay zero.

    Example:
        >>> p = params_from_arrays([-jnp.ones((2, 2)), jnp.zeros(2), jnp.ones((2, 1)), jnp.zeros(1)], 2, 1, ("relu",))
        >>> float(l1_penalty(p, 0.5))
        2.0
    """
    return l1 * sum(jnp.sum(jnp.sign(w) * w) for w in _hidden_kernels(params))


def keras_weights(arrays, widths, inputs: int = 2, bias: bool = True) -> list[np.ndarray]:
    """A model's padded arrays cut to its real layers, as Keras' ``get_weights()`` lists them
    (``inputs``: the model's own input columns; ``bias=False``: layers without biases, so kernels only).

    Example:
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 2]), 4, 3, ("relu",))
        >>> [w.shape for w in keras_weights(params_to_arrays(p), (3, 0, 2))]
        [(2, 3), (3,), (3, 2), (2,), (2, 1), (1,)]
        >>> [w.shape for w in keras_weights(params_to_arrays(p), (3, 0, 2), bias=False)]
        [(2, 3), (3, 2), (2, 1)]
    """
    out, fan_in = [], inputs
    kernels, biases = arrays[0:-2:2], arrays[1:-2:2]
    for k, width in enumerate(widths[: len(kernels)]):
        if width:
            out += [np.asarray(kernels[k])[:fan_in, :width]] + ([np.asarray(biases[k])[:width]] if bias else [])
            fan_in = width
    return out + [np.asarray(arrays[-2])[:fan_in]] + ([np.asarray(arrays[-1])] if bias else [])
