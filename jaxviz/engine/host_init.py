"""The models' first state, in NumPy, for the grids whose ``start`` is all Glorot draws.

:func:`jaxviz.engine.steps.init_state` draws each kernel from Threefry words (integers) scaled to
Glorot's range with a handful of float32 operations, each correctly rounded; NumPy repeats them
word for word and operation for operation, so on the CPU it gives the ``start`` program's bits
(a test checks many seeds and shapes). A small grid of Glorot models with Keras optimisers then
needs no ``start`` program at all, which is what its first picture waited for besides the epoch
program. Other grids (N(0, 1) or the fractal paper's weights, optax states, a GPU, many models)
go through the program.
"""

from __future__ import annotations

import numpy as np

from jaxviz.engine.host_orders import fold_in, threefry2x32
from jaxviz.engine.inputs import N_FEATURES

__all__ = ["HOST_START_WORDS", "host_start_ok", "init_state_host", "host_state"]

#: A grid whose first state takes at most this many random words (models x (slots + 1) x padded
#: rows x columns) starts in NumPy: about 0.3 s on a 2-core machine (4,096 models of width 16),
#: what the start program takes to compile; a larger grid goes through the program.
HOST_START_WORDS = 1 << 22


def _n_inputs(features, inputs: int, raw_inputs: int) -> np.ndarray:
    """Each model's real input count: ``raw_inputs``, or the features its bit mask picks."""
    if raw_inputs:
        return np.full(len(features), raw_inputs, np.int64)
    return ((np.asarray(features, np.int64)[:, None] >> np.arange(N_FEATURES)) & 1).sum(1)


def host_start_ok(hp, static, platform: str) -> bool:
    """Whether these models start in NumPy (:func:`init_state_host`): on a CPU, Glorot draws only,
    Keras optimisers only, and few enough models.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> g = make_grid(lr=[0.1, 0.5])
        >>> host_start_ok(g.hparams([60]), g.static([60]), "cpu"), host_start_ok(g.hparams([60]), g.static([60]), "gpu")
        (True, False)
    """
    words = max(static.inputs, static.hidden) * max(static.hidden, 1) * (static.slots + 1)
    return (platform == "cpu" and not static.paper_init and not (np.asarray(hp.init) != 0).any()
            and not any(name and name.startswith("optax:") for name in static.optimizers)
            and len(np.asarray(hp.lr)) * words <= HOST_START_WORDS)


def init_state_host(hp, static) -> dict[str, np.ndarray]:
    """Every model's flat weights and Keras optimiser buffers before training, as the ``start``
    program computes them (Glorot-uniform kernels from the model's seed, zero biases, Adagrad's
    accumulator at 0.1; see :func:`jaxviz.engine.model.init_params`), in the grid's float type:
    ``{"params", "m", "v"}``, each ``(n_models, size)``.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> g = make_grid(n1=3, n2=0, seed=[0, 1])
        >>> s = init_state_host(g.hparams([60]), g.static([60]))
        >>> s["params"].shape, bool((s["params"][0] != s["params"][1]).any())
        ((2, 57), True)
    """
    from jaxviz.engine.precision import real_dtype
    from jaxviz.engine.task import task_of

    slots, hidden, inputs = static.slots, static.hidden, static.inputs
    units, dtype = task_of(static.task, static.classes).units, np.dtype(real_dtype(static))
    adagrad = static.optimizers.index("adagrad") if "adagrad" in static.optimizers else None
    widths = np.asarray(hp.widths, np.int64)[:, :slots]
    n = len(widths)
    present = widths > 0
    real_index = np.concatenate([np.zeros((n, 1), np.int64), np.cumsum(present, 1)], 1)  # (n, slots + 1)
    fan, fans = _n_inputs(hp.features, inputs, static.raw_inputs), []
    for k in range(slots):
        fans.append(fan)
        fan = np.where(widths[:, k] > 0, widths[:, k], fan)
    fan_in = np.stack(fans + [fan], 1)
    fan_out = np.concatenate([widths, np.full((n, 1), units)], 1)
    n_rows, n_cols = max(inputs, hidden), max(hidden, units)
    # the words of steps.init_state: key(seed) -> fold_in(., 0) -> fold_in(., layer) -> fold_in(., row) -> bits(cols)
    k1, k2 = fold_in(np.uint32(0), np.asarray(hp.seed, np.uint32), np.uint32(0))
    l1, l2 = fold_in(k1[:, None], k2[:, None], real_index.astype(np.uint32))
    r1, r2 = fold_in(l1[..., None], l2[..., None], np.arange(n_rows, dtype=np.uint32))
    b1, b2 = threefry2x32(r1[..., None], r2[..., None], np.uint32(0), np.arange(n_cols, dtype=np.uint32))
    floats = (((b1 ^ b2) >> np.uint32(9)) | np.uint32(0x3F800000)).view(np.float32) - np.float32(1.0)
    limit = np.sqrt(np.float32(6.0) / (fan_in + fan_out).astype(np.float32))[..., None, None]
    # XLA contracts jax.random.uniform's floats * (hi - lo) + lo into one fused multiply-add (one
    # rounding): in float64 the product and the sum of these float32 numbers are exact (the sum
    # spans fewer than 53 bits), so rounding it once to float32 is that FMA
    span, lo = (limit - -limit).astype(np.float64), (-limit).astype(np.float64)
    kernels = np.maximum(-limit, (floats.astype(np.float64) * span + lo).astype(np.float32)).astype(dtype)
    mask = ((np.arange(n_rows)[None, None, :, None] < fan_in[..., None, None])
            & (np.arange(n_cols)[None, None, None, :] < fan_out[..., None, None])
            & np.concatenate([present, np.ones((n, 1), bool)], 1)[..., None, None])
    kernels = np.where(mask, kernels, np.zeros((), dtype))
    arrays = []
    for k in range(slots):
        arrays += [kernels[:, k, :inputs if k == 0 else hidden, :hidden], np.zeros((n, hidden), dtype)]
    arrays += [kernels[:, slots, :hidden, :units], np.zeros((n, units), dtype)]
    params = np.concatenate([a.reshape(n, -1) for a in arrays], 1)
    # Keras' Adagrad accumulator starts at 0.1 (optim.init_opt_state)
    v0 = np.zeros((n, 1)) if adagrad is None else np.where(np.asarray(hp.optimizer) == adagrad, 0.1, 0.0)[:, None]
    return {"params": params, "m": np.zeros_like(params), "v": np.broadcast_to(v0.astype(dtype), params.shape).copy()}


def host_state(hp, static):
    """Every model's :class:`~jaxviz.engine.steps.TrainState` before training, in NumPy: what the
    ``start`` program returns for these models (see :func:`host_start_ok`), leaf for leaf.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> g = make_grid(lr=[0.1, 0.5])
        >>> s = host_state(g.hparams([60]), g.static([60]))
        >>> s.params.shape[0], s.lr_base.tolist(), s.step.dtype.name
        (2, [0.10000000149011612, 0.5], 'int32')
    """
    from jaxviz.engine.optim import OptState
    from jaxviz.engine.steps import PlateauState, TrainState

    s = init_state_host(hp, static)
    real, n = s["params"].dtype, len(s["params"])
    zeros = np.zeros(n, np.int32)
    return TrainState(s["params"], OptState(s["m"], s["v"], ()), zeros, np.asarray(hp.lr).astype(real),
                      PlateauState(np.full(n, np.inf, real), zeros, zeros), np.zeros(n, bool))
