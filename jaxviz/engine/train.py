"""The seed's Keras training, as pure functions, vmapped over a grid and scanned over epochs.

Rules (SEMANTICS.md): clipped binary cross-entropy, Keras optimisers with the legacy decay
``lr_t = lr_base / (1 + decay t)`` (see :mod:`jaxviz.optim`), batches reshuffled every epoch, L2
on hidden kernels, ReduceLROnPlateau on ``val_loss``, Keras History metrics.

Models of different shapes share one program (see :mod:`jaxviz.model`): data are padded with
zero-weight samples, and a model's batches beyond its own count, or epochs beyond its own
``epochs``, are masked steps that change nothing (no update, no momentum decay, no step count,
no plateau tick). Each model's initial weights and batch order come from its ``seed`` alone, so
models that differ only in other settings start from the same weights and see the same batches.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jax.sharding import NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P

from jaxviz.spec.grid import MIN_MODELS, HParams, Static
from jaxviz.engine.model import (
    Structure,
    init_params,
    l2_penalty,
    params_to_arrays,
    predict,
    structure,
)
from jaxviz.engine.task import EPSILON, bce, task_of
from jaxviz.engine.optim import OptState, init_opt_state, update
from jaxviz.engine.devices import MODEL_AXIS, model_block, model_mesh, pad_rows, place, to_host

__all__ = [
    "EPSILON",
    "PLATEAU",
    "METRICS",
    "PlateauState",
    "TrainState",
    "bce",
    "plateau_update",
    "batch_order",
    "init_state",
    "start",
    "run_epochs",
    "chunk_length",
    "train_grid",
    "Checkpoint",
]

#: The seed's ReduceLROnPlateau constants (``patience`` is a hyperparameter).
PLATEAU = {"factor": 0.5, "min_delta": 1e-4, "cooldown": 0, "min_lr": 4e-5}
#: History keys, in Keras' order.
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


class PlateauState(NamedTuple):
    best: jax.Array  # () float32, +inf at start
    wait: jax.Array  # () int32
    cooldown: jax.Array  # () int32


class TrainState(NamedTuple):
    params: nnx.State  # the model's parameters (padded)
    opt: OptState  # the optimiser's buffers, shaped like params
    step: jax.Array  # () int32, batch updates so far (the decay's t)
    lr_base: jax.Array  # () float32, the plateau-adjusted base learning rate
    plateau: PlateauState
    diverged: jax.Array  # () bool: loss or val_loss went NaN/inf; the model is frozen from then on


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


def batch_order(seed, epoch, n_real, size: int, shuffle: bool):
    """The order of the training samples in ``epoch`` (0-based) for ``seed``, padded to ``size``.

    Samples are sorted by random 32-bit keys; a padded dataset's extra rows get the largest key
    and the sort is stable, so the real samples come first in the order the unpadded dataset
    would give (a shorter draw of random bits is a prefix of a longer one).

    Example:
        >>> batch_order(0, 0, 4, 4, shuffle=False).tolist()
        [0, 1, 2, 3]
        >>> sorted(batch_order(0, 0, 3, 5, shuffle=True).tolist()[:3])
        [0, 1, 2]
    """
    if not shuffle:
        return jnp.arange(size)
    key = jax.random.fold_in(jax.random.fold_in(jax.random.key(seed), 1), epoch)
    bits = jax.random.bits(key, (size,), jnp.uint32)
    bits = jnp.where(jnp.arange(size) < n_real, bits, jnp.uint32(0xFFFFFFFF))
    return jnp.argsort(bits, stable=True)


def _loss_fn(params, s: Structure, x, y, weight, kr, static: Static):
    task = task_of(static.task)
    p = predict(params, x, s, static.hidden, static.slots, static.activations, task)
    count = jnp.sum(weight)
    loss = jnp.sum(weight * task.loss(p, y)) / count + l2_penalty(params, kr)
    correct = jnp.sum(weight * task.correct(p, y))
    return loss, correct


def _keep(valid, new, old):
    """``new`` where ``valid``, else ``old``: a masked step changes nothing."""
    return jax.tree.map(lambda a, b: jnp.where(valid, a, b), new, old)


def _train_epoch(state: TrainState, order, hp: HParams, data, static: Static):
    """One epoch of one model over its samples in ``order``; returns (state, metrics)."""
    x_train, y_train, n_train, x_test, y_test, n_test = data
    s = structure(hp.widths, hp.activation, static.slots, static.hidden)
    bs = jnp.minimum(hp.batch_size, n_train)
    n_batches = (n_train + bs - 1) // bs
    lanes = jnp.arange(static.batch)

    def step(carry, b):
        state, loss_sum, correct_sum = carry
        pos = b * bs + lanes
        weight = ((lanes < bs) & (pos < n_train)).astype(jnp.float32)
        idx = order[jnp.minimum(pos, order.shape[0] - 1)]
        (loss, correct), grads = jax.value_and_grad(_loss_fn, has_aux=True)(
            state.params, s, x_train[idx], y_train[idx], weight, hp.kr, static
        )
        lr_t = state.lr_base / (1.0 + hp.decay * state.step.astype(jnp.float32))
        params, opt = update(state.params, state.opt, grads, lr_t, hp.momentum, state.step, hp.optimizer,
                             static.optimizers)
        new = state._replace(params=params, opt=opt, step=state.step + 1)
        valid = b < n_batches
        count = jnp.sum(weight)
        return (_keep(valid, new, state), loss_sum + jnp.where(valid, loss * count, 0.0),
                correct_sum + jnp.where(valid, correct, 0.0)), None

    zero = jnp.float32(0.0)
    (state, loss_sum, correct_sum), _ = jax.lax.scan(step, (state, zero, zero), jnp.arange(static.steps))
    test_weight = (jnp.arange(y_test.shape[0]) < n_test).astype(jnp.float32)
    val_loss, val_correct = _loss_fn(state.params, s, x_test, y_test, test_weight, hp.kr, static)
    lr_in_force = state.lr_base
    plateau, lr_base = plateau_update(state.plateau, state.lr_base, val_loss, hp.patience)
    state = state._replace(plateau=plateau, lr_base=lr_base)
    n_train_f = n_train.astype(jnp.float32)
    metrics = (loss_sum / n_train_f, correct_sum / n_train_f, val_loss, val_correct / n_test.astype(jnp.float32),
               lr_in_force)
    return state, metrics


def init_state(hp: HParams, static: Static) -> TrainState:
    """A model's state before training: weights from its seed alone, fresh optimiser, lr = hp.lr."""
    key = jax.random.fold_in(jax.random.key(hp.seed), 0)
    params = init_params(key, hp.widths, static.hidden, static.slots, static.activations)
    return TrainState(
        params=params,
        opt=init_opt_state(params, hp.optimizer, static.optimizers),
        step=jnp.int32(0),
        lr_base=hp.lr.astype(jnp.float32),
        plateau=PlateauState(jnp.float32(jnp.inf), jnp.int32(0), jnp.int32(0)),
        diverged=jnp.bool_(False),
    )


class Checkpoint(NamedTuple):
    """Where a stopped training run stands: enough to continue it exactly."""

    state: list  # the leaves of every model's TrainState (NumPy arrays)
    done: int  # epochs trained
    metrics: list  # History metrics so far, each (n_models, done), in METRICS order
    weights: list  # weight arrays so far, each (n_models, done + 1, ...)
    initial_val: tuple  # test loss and accuracy before training, each (n_models,)


def _model_data(table, i):
    return (table.x_train[i], table.y_train[i], table.n_train[i], table.x_test[i], table.y_test[i], table.n_test[i])


def _blocks(tree, block: int):
    """Leading axis ``n`` -> ``(n // block, block)``."""
    return jax.tree.map(lambda a: a.reshape(a.shape[0] // block, block, *a.shape[1:]), tree)


def _unblock(tree, axis: int = 0):
    """Block axes ``(k, block)`` at ``axis`` -> one axis of ``k * block``."""
    return jax.tree.map(lambda a: a.reshape(*a.shape[:axis], -1, *a.shape[axis + 2:]), tree)


@functools.partial(jax.jit, static_argnames=("static", "block"))
def start(hp: HParams, table, static: Static, block: int = MIN_MODELS):
    """Every model's state before training, its weight arrays, and its test loss and accuracy.

    Models are handled in blocks of ``block`` (the model count is a multiple of it), one block
    after another, so every model goes through the same compiled arithmetic whatever the grid.
    """
    def one_block(hp):
        state = jax.vmap(init_state, in_axes=(0, None))(hp, static)
        data = jax.vmap(_model_data, in_axes=(None, 0))(table, hp.data_index)

        def initial_val(params, hp_i, d):
            s = structure(hp_i.widths, hp_i.activation, static.slots, static.hidden)
            weight = (jnp.arange(d[4].shape[0]) < d[5]).astype(jnp.float32)
            loss, correct = _loss_fn(params, s, d[3], d[4], weight, hp_i.kr, static)
            return loss, correct / d[5].astype(jnp.float32)

        return state, jax.vmap(params_to_arrays)(state.params), jax.vmap(initial_val)(state.params, hp, data)

    return _unblock(jax.lax.map(one_block, _blocks(hp, block)))


@functools.partial(jax.jit, static_argnames=("static", "length", "block"))
def run_epochs(state, hp: HParams, orders_table, table, first, static: Static, length: int, block: int = MIN_MODELS):
    """Epochs ``first .. first + length - 1`` of every model: ONE program.

    Models run in blocks of ``block`` (vmapped inside a block, one block after another), so a
    model's arithmetic is the same compiled code whatever the number of models, devices or
    chunks: XLA vectorises a vmapped axis differently for different sizes, which changes
    float rounding, and a chaotic model (high lr and momentum) would amplify that.

    Epochs at or beyond a model's own ``epochs``, and every epoch after the model diverged (its
    loss or val_loss became NaN or inf), are masked: its state does not change, its metrics are
    NaN (the diverging epoch's own metrics are kept, so the divergence shows). Returns the new
    state, metrics ``(length, n_models)`` in History order and the weight arrays after each
    epoch ``(length, n_models, ...)``.
    """
    seeds, sizes = orders_table
    n_max = table.x_train.shape[1]
    epochs = first + jnp.arange(length)
    draw = lambda e: jax.vmap(batch_order, in_axes=(0, None, 0, None, None))(seeds, e, sizes, n_max, static.shuffle)  # noqa: E731
    orders = jax.vmap(draw)(epochs)  # (length, distinct seeds, n_max): drawn once, shared by every block

    def one_block(args):
        state, hp = args
        data = jax.vmap(_model_data, in_axes=(None, 0))(table, hp.data_index)

        def epoch(state, xs):
            e, order = xs
            new, metrics = jax.vmap(_train_epoch, in_axes=(0, 0, 0, 0, None))(
                state, order[hp.order_index], hp, data, static
            )
            valid = (e < hp.epochs) & ~state.diverged
            # an epoch whose loss is NaN or inf marks the model diverged and is not kept: the model
            # stays frozen at its last finite state, and no other model of the grid is touched
            finite = jnp.isfinite(metrics[0]) & jnp.isfinite(metrics[2])
            state = jax.vmap(_keep)(valid & finite, new, state)
            state = state._replace(diverged=state.diverged | (valid & ~finite))
            metrics = tuple(jnp.where(valid, m, jnp.nan) for m in metrics)
            return state, (metrics, jax.vmap(params_to_arrays)(state.params))

        return jax.lax.scan(epoch, state, (epochs, orders))

    state, (metrics, history) = jax.lax.map(one_block, (_blocks(state, block), _blocks(hp, block)))
    # (blocks, length, block, ...) -> (length, n_models, ...)
    metrics, history = jax.tree.map(lambda a: _unblock(jnp.moveaxis(a, 0, 1), 1), (metrics, history))
    return _unblock(state), (metrics, history)


def chunk_length(epochs: int, chunks: int = 20) -> int:
    """Epochs per compiled call: about ``chunks`` calls per run, for progress between them.

    Example:
        >>> chunk_length(100), chunk_length(7), chunk_length(1000)
        (5, 1, 50)
    """
    return max(1, -(-epochs // chunks))


@functools.lru_cache(maxsize=None)
def _programs(static: Static, length: int, block: int, mesh):
    """``start`` and ``run_epochs`` for one chunk of models; with a mesh, each device runs the
    same program on its own blocks of models (``shard_map``), so results do not depend on the
    device count."""
    start_one = lambda hp, table: start(hp, table, static, block)  # noqa: E731
    epochs_one = lambda state, hp, orders, table, first: run_epochs(state, hp, orders, table, first, static, length, block)  # noqa: E731
    if mesh is None:
        return start_one, epochs_one
    models, everywhere = P(MODEL_AXIS), P()
    spmd = functools.partial(jax.shard_map, mesh=mesh, check_vma=False)
    return (jax.jit(spmd(start_one, in_specs=(models, everywhere), out_specs=models)),
            jax.jit(spmd(epochs_one, in_specs=(models, models, everywhere, everywhere, everywhere),
                         out_specs=(models, P(None, MODEL_AXIS)))))


def train_grid(hp: HParams, orders_table, table, static: Static, on_epochs=None, should_stop=None, resume=None,
               chunk: int | None = None, devices=None, on_weights=None):
    """Train every model of a grid: one compiled program, called on chunks of epochs (and of models).

    ``hp`` holds one row per model; ``orders_table`` the distinct ``(seeds, n_train)`` pairs whose
    batch orders are drawn once per epoch and shared (they depend on the seed alone); ``table``
    a :class:`~jaxviz.data.DataTable`. The same compiled program runs each chunk of epochs (the
    last chunk's surplus epochs are masked), so results do not depend on the chunking, and
    ``on_epochs(done, model_epochs)`` reports progress after every call. No host callback sits
    inside the program, so it can be kept in JAX's persistent compilation cache.

    ``chunk`` models (whole blocks on every device; default all) go into each call, one chunk
    after another, with every chunk padded to the same shape, so they share one program; see
    :func:`jaxviz.plan.make_plan`. With several ``devices`` (default: all JAX sees) the model
    axis of each chunk is sharded over a 1-D mesh of them and the data replicated.

    Returns metrics as NumPy arrays ``(n_models, epochs)`` under the Keras History names (NaN
    after a model's own last epoch), plus ``initial_val_loss`` / ``initial_val_accuracy``, and
    the padded weight arrays ``(n_models, epochs + 1, ...)`` (epoch 0 = initial; frozen after
    a model's last epoch). The programs depend only on ``static`` and the array shapes, so new
    values reuse them. ``on_weights(done, weights)`` gets the host weights at epoch ``done`` after each chunk.

    ``should_stop()`` is asked after each chunk of epochs; if it says yes, training stops there
    and the results so far come back (NaN metrics and frozen weights for the epochs not trained).
    The third value returned is a :class:`Checkpoint` from which ``resume=`` continues exactly
    where it stopped: the same programs on the same chunks, so the end result is bit for bit
    that of an uninterrupted run.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> from jaxviz.data import load_dataset, pack
        >>> g = make_grid(lr=[0.1, 0.5], epochs=2)
        >>> n = [60]
        >>> m, w, _ = train_grid(g.hparams(n), g.order_table(n), pack([load_dataset("moons")]), g.static(n))
        >>> m["val_loss"].shape, w[0].shape
        ((2, 2), (2, 3, 2, 10))
    """
    e = static.epochs
    length = chunk_length(e)
    n = len(np.asarray(hp.lr))
    devices = list(jax.devices() if devices is None else devices)
    d, block = len(devices), model_block(devices[0].platform)
    unit = d * block  # every device gets whole blocks, at least two (see run_epochs)
    chunk = chunk or unit * max(2, -(-n // unit))
    if chunk % unit or chunk < 2 * unit:
        raise ValueError(f"chunk must be a multiple of {unit} ({d} devices x blocks of {block}), at least "
                         f"{2 * unit}. Got {chunk} instead.")
    n_chunks = -(-n // chunk)
    mesh = model_mesh(devices)
    start_fn, epochs_fn = _programs(static, length, block, mesh)
    if mesh is None:
        sharded = everywhere = SingleDeviceSharding(devices[0])
    else:
        sharded, everywhere = NamedSharding(mesh, P(MODEL_AXIS)), NamedSharding(mesh, P())
    padded = jax.tree.map(lambda a: pad_rows(a, chunk * n_chunks), hp)
    hp_chunks = [jax.tree.map(lambda a, k=k: place(a[k * chunk:(k + 1) * chunk], sharded), padded)
                 for k in range(n_chunks)]
    table_d = jax.tree.map(lambda a: place(a, everywhere), table)
    orders_d = jax.tree.map(lambda a: place(a, everywhere), orders_table)
    rows = [slice(k * chunk, min((k + 1) * chunk, n)) for k in range(n_chunks)]
    metrics = np.full((len(METRICS), n, e), np.nan, np.float32)
    if resume is None:
        states, weights, val0 = [], None, (np.empty(n, np.float32), np.empty(n, np.float32))
        for k, h in enumerate(hp_chunks):
            state, initial, v = start_fn(h, table_d)
            m = rows[k].stop - rows[k].start
            if weights is None:
                weights = [np.empty((n, e + 1, *w.shape[1:]), w.dtype) for w in initial]
            for store, w in zip(weights, initial):
                store[rows[k], 0] = to_host(w)[:m]
            for store, x in zip(val0, v):
                store[rows[k]] = to_host(x)[:m]
            states.append(state)
        done = 0
    else:
        done, val0 = resume.done, resume.initial_val
        structure = jax.tree.structure(jax.eval_shape(start_fn, hp_chunks[0], table_d)[0])
        leaves = [pad_rows(v, chunk * n_chunks) for v in resume.state]
        states = [jax.tree.unflatten(structure, [place(v[k * chunk:(k + 1) * chunk], sharded) for v in leaves])
                  for k in range(n_chunks)]
        metrics[:, :, :done] = np.stack([m[:, :done] for m in resume.metrics])
        weights = [np.empty((n, e + 1, *w.shape[2:]), w.dtype) for w in resume.weights]
        for store, w in zip(weights, resume.weights):
            store[:, : done + 1] = w[:, : done + 1]
    for first in range(done, e, length):
        count = min(length, e - first)
        for k in range(n_chunks):
            states[k], (ms, history) = epochs_fn(states[k], hp_chunks[k], orders_d, table_d, jnp.int32(first))
            m = rows[k].stop - rows[k].start
            for j, x in enumerate(ms):
                metrics[j, rows[k], first:first + count] = to_host(x)[:count, :m].T
            for store, w in zip(weights, history):
                store[rows[k], first + 1:first + 1 + count] = np.swapaxes(to_host(w)[:count, :m], 0, 1)
            if on_epochs is not None:
                on_epochs(first + count, first * n + rows[k].stop * count)
        done = first + count
        if on_weights is not None:
            on_weights(done, [w[:, done] for w in weights])
        if should_stop is not None and done < e and should_stop():
            break
    for store in weights:  # epochs not trained yet: weights frozen at the last trained epoch
        store[:, done + 1:] = store[:, done:done + 1]
    state = [np.concatenate([to_host(leaf) for leaf in parts])[:n] for parts in zip(*(jax.tree.leaves(s) for s in states))]
    trained = [metrics[j, :, :done] for j in range(len(METRICS))]
    checkpoint = Checkpoint(state, done, trained, [w[:, : done + 1] for w in weights], val0)
    out = dict(zip(METRICS, metrics))
    # the seed's status line at epoch 0 shows the test loss and accuracy before training
    out["initial_val_loss"], out["initial_val_accuracy"] = val0
    return out, weights, checkpoint
