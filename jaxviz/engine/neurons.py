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

from jaxviz.engine.inputs import feature_table
from jaxviz.engine.model import ACTIVATION_FNS, MEANFIELD_GAINS, expand_inputs, fan_ins, input_columns
from jaxviz.engine.surfaces import mesh
from jaxviz.engine.task import BINARY
from jaxviz.spec.config import PARAMETRIZATIONS, feature_code
from jaxviz.spec.features import FEATURES

__all__ = ["input_maps", "unit_maps"]


def _frame(arrays, points, widths, activation: str, features: int, meanfield: bool):
    """One frame: hidden maps ``(slots, hidden, P)`` (zero for padded units and missing layers) and
    the output map ``(P,)``. The model's input features, missing layers passed on and mean-field
    scaling as :class:`~jaxviz.engine.model.MLP` has them."""
    act = ACTIVATION_FNS[activation]
    gain_in, gain_out = MEANFIELD_GAINS[activation] if meanfield else (1.0, 1.0)
    kernels, biases = arrays[0::2], arrays[1::2]
    inputs, hidden = kernels[0].shape
    columns, mask, count = input_columns(features, inputs)
    x = expand_inputs(points, columns, mask, axis=0)  # (inputs, P)
    fans = fan_ins(widths, count).astype(jnp.float32)
    div = jnp.sqrt(fans) if meanfield else jnp.ones_like(fans)
    h, maps = x, []
    for k in range(len(kernels) - 1):
        # each unit's map: its weights against the layer below, vmapped over units
        unit = jax.vmap(lambda below, w, b, d=div[k]: act((w @ below / d + b) * gain_in) * gain_out,
                        in_axes=(None, 1, 0))
        a = unit(h, kernels[k], biases[k]) * (jnp.arange(hidden) < widths[k])[:, None]
        present = widths[k] > 0
        maps.append(jnp.where(present, a, 0.0))
        # n1 = 0 (no hidden layer): the inputs pass on in the first units (the grid pads hidden to >= inputs)
        below = h if k else jnp.pad(x, [(0, max(0, hidden - inputs)), (0, 0)])[:hidden]
        h = jnp.where(present, a, below)
    z = kernels[-1][:, 0] @ h / div[-1] / div[-1] + biases[-1][0]
    return jnp.stack(maps), BINARY.output(z[:, None])


@functools.lru_cache(maxsize=None)
def _program(activation: str, features: int, meanfield: bool):
    return jax.jit(jax.vmap(functools.partial(_frame, activation=activation, features=features, meanfield=meanfield),
                            in_axes=(0, None, None)))


def unit_maps(weights, widths, activation: str, extent, resolution: int, features: str = "x",
              parametrization: str = "standard") -> tuple[np.ndarray, np.ndarray]:
    """Hidden-unit and output maps of one model at several frames.

    ``weights``: the model's padded arrays with a leading frame axis (``run._weights`` rows);
    ``widths``: its ``(n1, n2, n3)``; ``activation``: its activation's name; ``features`` and
    ``parametrization``: its options. Returns ``hidden``
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
    if parametrization not in PARAMETRIZATIONS:
        raise ValueError(f"parametrization must be one of {list(PARAMETRIZATIONS)}. Got {parametrization!r} instead.")
    code = feature_code(features)
    slots = len(weights) // 2 - 1
    padded = np.zeros(3, np.int32)
    padded[:len(widths)] = widths
    points = jnp.asarray(mesh(tuple(extent), resolution).T)  # (2, P)
    program = _program(activation, code, parametrization == "meanfield")
    hidden, out = program([jnp.asarray(w, jnp.float32) for w in weights], points, jnp.asarray(padded[:slots]))
    frames = weights[0].shape[0]
    return (np.asarray(hidden).reshape(frames, slots, -1, resolution, resolution),
            np.asarray(out).reshape(frames, resolution, resolution))


def input_maps(extent, resolution: int, features: str = "x") -> tuple[tuple[str, ...], np.ndarray]:
    """A model's input features over the surfaces' mesh, in the order of its input columns (the
    kernel rows of its first layer): their names (:data:`jaxviz.spec.features.FEATURES`) and maps
    ``(count, resolution, resolution)``, row 0 at the bottom.

    Example:
        >>> names, maps = input_maps((-1.0, 1.0, -1.0, 1.0), 4, "x+x1x2")
        >>> names, maps.shape, float(maps[2].max())
        (('x1', 'x2', 'x1x2'), (3, 4, 4), 1.0)
    """
    code = feature_code(features)
    used = [i for i in range(len(FEATURES)) if code >> i & 1]
    table = feature_table(jnp.asarray(mesh(tuple(extent), resolution)), axis=1)  # (P, 7), as the model computes them
    maps = np.asarray(table)[:, used].T.reshape(len(used), resolution, resolution)
    return tuple(FEATURES[i] for i in used), maps
