"""The seed's Keras training, as pure functions, vmapped over a grid and scanned over epochs.

Rules (SEMANTICS.md): clipped binary cross-entropy, Keras SGD momentum ``v <- m v - lr_t g;
w <- w + v`` with the legacy decay ``lr_t = lr_base / (1 + decay t)``, reshuffled batches,
L2 on hidden kernels, ReduceLROnPlateau on ``val_loss``, Keras History metrics.

Each model's initial weights and batch order come from its ``seed`` alone, so models that differ
only in other settings start from the same weights and see the same batches.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx

from jaxviz.grid import HParams, Static
from jaxviz.model import init_params, l2_penalty, predict, weight_list

__all__ = [
    "EPSILON",
    "PLATEAU",
    "PlateauState",
    "TrainState",
    "bce",
    "sgd_step",
    "plateau_update",
    "init_state",
    "batch_order",
    "train_grid",
    "METRICS",
]

#: Keras' fuzz factor: probabilities are clipped to [EPSILON, 1 - EPSILON] before the log.
EPSILON = 1e-7
#: The seed's ReduceLROnPlateau constants (``patience`` is a hyperparameter).
PLATEAU = {"factor": 0.5, "min_delta": 1e-4, "cooldown": 0, "min_lr": 4e-5}
#: History keys, in Keras' order.
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class PlateauState(NamedTuple):
    best: jax.Array  # () float32, +inf at start
    wait: jax.Array  # () int32
    cooldown: jax.Array  # () int32


class TrainState(NamedTuple):
    params: nnx.State  # the model's parameters
    velocity: nnx.State  # Keras SGD momentum buffer, same tree as params, zeros at start
    step: jax.Array  # () int32, batch updates so far (the decay's t)
    lr_base: jax.Array  # () float32, the plateau-adjusted base learning rate
    plateau: PlateauState


def bce(p: jax.Array, y: jax.Array) -> jax.Array:
    """Per-sample binary cross-entropy with Keras' clip of ``p`` to [1e-7, 1 - 1e-7].

    The clip also stops the gradient of saturated outputs, as in Keras.

    Example:
        >>> round(float(bce(jnp.float32(1.0), jnp.float32(0.0))), 2)  # bounded by the clip
        15.94
    """
    p = jnp.clip(p, EPSILON, 1.0 - EPSILON)
    return -(y * jnp.log(p) + (1.0 - y) * jnp.log(1.0 - p))


def sgd_step(params, velocity, grads, lr_t, momentum):
    """Keras SGD (non-Nesterov): ``v <- momentum * v - lr_t * g``; ``w <- w + v``.

    Unlike ``optax.sgd`` (which keeps ``g + m v`` and scales it by the current rate), a change of
    rate does not rescale the past velocity.

    Example:
        >>> p, v = sgd_step(jnp.ones(2), jnp.zeros(2), jnp.ones(2), 0.1, 0.9)
        >>> [round(float(x), 6) for x in p]
        [0.9, 0.9]
    """
    velocity = jax.tree.map(lambda v, g: momentum * v - lr_t * g, velocity, grads)
    params = jax.tree.map(lambda w, v: w + v, params, velocity)
    return params, velocity


def plateau_update(state: PlateauState, lr_base, val_loss, patience):
    """Keras ``ReduceLROnPlateau`` (mode min) at the end of an epoch; returns (state, lr_base).

    A NaN ``val_loss`` is never an improvement.

    Example:
        >>> s = PlateauState(jnp.float32(1.0), jnp.int32(0), jnp.int32(0))
        >>> s, lr = plateau_update(s, jnp.float32(0.1), jnp.float32(1.0), 1)
        >>> round(float(lr), 6)
        0.05
    """
    factor, min_delta = PLATEAU["factor"], PLATEAU["min_delta"]
    cooldown, min_lr = PLATEAU["cooldown"], jnp.float32(PLATEAU["min_lr"])
    in_cooldown = state.cooldown > 0
    counter = jnp.where(in_cooldown, state.cooldown - 1, state.cooldown)
    wait = jnp.where(in_cooldown, 0, state.wait)
    improved = val_loss < state.best - min_delta
    best = jnp.where(improved, val_loss, state.best)
    waits = ~improved & (counter == 0)
    wait = jnp.where(improved, 0, jnp.where(waits, wait + 1, wait))
    reduce = waits & (wait >= patience) & (lr_base > min_lr)
    lr_base = jnp.where(reduce, jnp.maximum(lr_base * factor, min_lr), lr_base)
    counter = jnp.where(reduce, cooldown, counter)
    wait = jnp.where(reduce, 0, wait)
    return PlateauState(best, wait.astype(jnp.int32), counter.astype(jnp.int32)), lr_base


def _loss_fn(params, static: Static, x, y, mask, kr):
    p = predict(static.widths, static.activation, params, x)
    count = jnp.sum(mask)
    loss = jnp.sum(mask * bce(p, y)) / count + l2_penalty(params, kr)
    correct = jnp.sum(mask * ((p > 0.5) == (y > 0.5)))
    return loss, correct


def _batches(order, batch_size: int):
    """Sample indices ``(n_batches, batch_size)`` and a 0/1 mask for the last, smaller batch."""
    n_train = order.shape[0]
    bs = min(batch_size, n_train)
    n_batches = -(-n_train // bs)
    pad = n_batches * bs - n_train
    idx = jnp.concatenate([order, jnp.zeros(pad, order.dtype)]).reshape(n_batches, bs)
    mask = (jnp.arange(n_batches * bs) < n_train).astype(jnp.float32).reshape(n_batches, bs)
    return idx, mask


def _train_epoch(state: TrainState, order, hp: HParams, data, static: Static):
    """One epoch of one model over the training samples in ``order``; returns (state, metrics)."""
    x_train, y_train, x_test, y_test = data
    idx, mask = _batches(order, static.batch_size)

    def step(carry, batch):
        state, loss_sum, correct_sum = carry
        b_idx, b_mask = batch
        (loss, correct), grads = jax.value_and_grad(_loss_fn, has_aux=True)(
            state.params, static, x_train[b_idx], y_train[b_idx], b_mask, hp.kr
        )
        lr_t = state.lr_base / (1.0 + hp.decay * state.step.astype(jnp.float32))
        params, velocity = sgd_step(state.params, state.velocity, grads, lr_t, hp.momentum)
        state = state._replace(params=params, velocity=velocity, step=state.step + 1)
        return (state, loss_sum + loss * jnp.sum(b_mask), correct_sum + correct), None

    zero = jnp.float32(0.0)
    (state, loss_sum, correct_sum), _ = jax.lax.scan(step, (state, zero, zero), (idx, mask))
    n = x_train.shape[0]
    ones = jnp.ones_like(y_test)
    val_loss, val_correct = _loss_fn(state.params, static, x_test, y_test, ones, hp.kr)
    lr_in_force = state.lr_base
    plateau, lr_base = plateau_update(state.plateau, state.lr_base, val_loss, hp.patience)
    state = state._replace(plateau=plateau, lr_base=lr_base)
    metrics = (loss_sum / n, correct_sum / n, val_loss, val_correct / y_test.shape[0], lr_in_force)
    return state, metrics


def init_state(hp: HParams, static: Static) -> TrainState:
    """A model's state before training: weights from its seed alone, zero velocity, lr = hp.lr."""
    params = init_params(static.widths, static.activation, jax.random.fold_in(jax.random.key(hp.seed), 0))
    return TrainState(
        params=params,
        velocity=jax.tree.map(jnp.zeros_like, params),
        step=jnp.int32(0),
        lr_base=hp.lr.astype(jnp.float32),
        plateau=PlateauState(jnp.float32(jnp.inf), jnp.int32(0), jnp.int32(0)),
    )


def batch_order(seed, epoch, n_train: int, shuffle: bool):
    """The order of the training samples in ``epoch`` (0-based) for ``seed``.

    Example:
        >>> batch_order(0, 0, 4, shuffle=False).tolist()
        [0, 1, 2, 3]
    """
    if not shuffle:
        return jnp.arange(n_train)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 1), epoch)
    return jax.random.permutation(key, n_train)


#: Called with the number of finished epochs while a program runs (set by ``sweep``'s progress bar).
_epoch_listeners: list = []


def _report_epoch(e) -> None:
    for listener in _epoch_listeners:
        listener(int(e) + 1)


@functools.partial(jax.jit, static_argnames="static")
def train_grid(hp: HParams, seeds, data, static: Static) -> tuple[dict[str, Any], list[jax.Array]]:
    """Train every model of a grid in one compiled program (scan over epochs, vmap over models).

    ``hp`` holds ``(n_models,)`` arrays; ``seeds`` the grid's distinct seeds (each model's batch
    order is drawn once per distinct seed and shared: it depends on the seed alone); ``data`` is
    ``(x_train, y_train, x_test, y_test)``. Returns metrics ``(n_models, epochs)`` under the
    Keras History names and the Keras weight list with axes ``(n_models, epochs + 1, ...)``
    (epoch 0 = initial weights), plus ``initial_val_loss`` / ``initial_val_accuracy``
    ``(n_models,)`` before training. The program depends only on ``static`` and the array shapes,
    so new values reuse it.

    Example:
        >>> from jaxviz.grid import make_grid
        >>> from jaxviz.data import load_dataset
        >>> g = make_grid(lr=[0.1, 0.5], epochs=2)
        >>> ds = load_dataset("moons")
        >>> m, w = train_grid(g.hparams(), g.unique_seeds(), ds[1:5], g.static)
        >>> m["val_loss"].shape, w[0].shape
        ((2, 2), (2, 3, 2, 10))
    """
    n_train = data[0].shape[0]
    state = jax.vmap(init_state, in_axes=(0, None))(hp, static)

    def epoch(state, e):
        orders = jax.vmap(batch_order, in_axes=(0, None, None, None))(seeds, e, n_train, static.shuffle)
        state, metrics = jax.vmap(_train_epoch, in_axes=(0, 0, 0, None, None))(
            state, orders[hp.seed_index], hp, data, static
        )
        jax.debug.callback(_report_epoch, e)
        return state, (metrics, jax.vmap(weight_list)(state.params))

    initial = jax.vmap(weight_list)(state.params)
    ones = jnp.ones_like(data[3])
    val0 = jax.vmap(lambda p, kr: _loss_fn(p, static, data[2], data[3], ones, kr))(state.params, hp.kr)
    _, (metrics, history) = jax.lax.scan(epoch, state, jnp.arange(static.epochs))
    weights = [jnp.concatenate([w0[:, None], jnp.swapaxes(w, 0, 1)], axis=1) for w0, w in zip(initial, history)]
    metrics = {k: jnp.swapaxes(m, 0, 1) for k, m in zip(METRICS, metrics)}
    # the seed's status line at epoch 0 shows the test loss and accuracy before training
    metrics["initial_val_loss"], metrics["initial_val_accuracy"] = val0[0], val0[1] / data[3].shape[0]
    return metrics, weights
