"""One model's training, as pure functions of its state (the engine vmaps and scans them).

Rules (SEMANTICS.md): clipped binary cross-entropy, Keras optimisers with the legacy decay
``lr_t = lr_base / (1 + decay t)`` (see :mod:`jaxviz.engine.optim`), batches reshuffled every
epoch, L2 on hidden kernels, ReduceLROnPlateau on ``val_loss``, Keras History metrics. Batches
are gathered from the shared data table step by step, and the test set is evaluated in pieces,
so no model holds a copy of its data.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np  # noqa: F401  (doctests)

from jaxviz.spec.grid import HParams, Static
from jaxviz.engine.exact import live_arrays
from jaxviz.engine.flat import ParamLayout, array_shapes, flatten_arrays, unflatten
from jaxviz.engine.model import (Structure, init_params, input_columns,
                                 l1_penalty, l2_penalty, predict, structure)
from jaxviz.engine.task import task_of
from jaxviz.engine.optim import OptState, init_opt_state, layer_scales, learning_rate, update
from jaxviz.engine.precision import real_dtype

__all__ = ["PLATEAU", "RATIOS", "per_sample", "TEST_CHUNK", "PlateauState", "TrainState", "plateau_update",
           "batch_order", "init_state", "train_epoch", "micro_steps", "EpochCarry", "epoch_start", "micro_grads",
           "micro_update", "epoch_end", "evaluate", "loss_fn", "data_loss", "penalty", "structure_of", "keep",
           "draw_orders", "QUICK_COMPILE", "TRAIN_COMPILE", "param_layout"]

#: The seed's ReduceLROnPlateau constants (``patience`` is a hyperparameter).
PLATEAU = {"factor": 0.5, "min_delta": 1e-4, "cooldown": 0, "min_lr": 4e-5}
#: Test rows evaluated together (see :func:`evaluate`): the seed's test sets fit in one piece.
TEST_CHUNK = 4096


class PlateauState(NamedTuple):
    best: jax.Array  # () float32, +inf at start
    wait: jax.Array  # () int32
    cooldown: jax.Array  # () int32


class TrainState(NamedTuple):
    params: jax.Array  # the model's parameters (padded), one flat vector (see param_layout)
    opt: OptState  # the optimiser's buffers: m and v flat like params, optax states on the tree
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


def structure_of(hp: HParams, static: Static) -> Structure:
    """One model's :class:`~jaxviz.engine.model.Structure` (widths, activation, features, bias,
    parametrization) in the grid's padded shape. With ``static.raw_inputs`` (data of that many
    columns, ``static.inputs`` wide) the columns are the data's own and ``features`` is unused.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> g = make_grid(features=["x", "x+sq+sin"], parametrization="meanfield", n1=4, n2=0)
        >>> hp, static = g.hparams([60]), g.static([60])
        >>> s = structure_of(jax.tree.map(lambda a: a[1], hp), static)
        >>> s.input_mask.tolist(), s.divisors[jnp.array([0, -1])].tolist()  # the first layer's, the output's
        ([1.0, 1.0, 1.0, 1.0, 1.0, 1.0], [2.4494898319244385, 2.0])
    """
    return structure(hp.widths, hp.activation, static.slots, static.hidden, features=hp.features,
                     inputs=static.inputs, bias=hp.bias, meanfield=hp.parametrization == 1,
                     raw_inputs=static.raw_inputs, dtype=real_dtype(static))


def param_layout(static: Static) -> ParamLayout:
    """How a model's flat parameter vector (:attr:`TrainState.params`) splits into its padded
    arrays ``[k1, b1, ..., k_out, b_out]`` and its :class:`~jaxviz.engine.model.MLP` state.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> param_layout(make_grid(n1=4, n2=0).static([60])).shapes  # a small grid's program has 3 slots
        ((2, 4), (4,), (4, 4), (4,), (4, 4), (4,), (4, 1), (1,))
    """
    units = task_of(static.task, static.classes).units
    return ParamLayout(array_shapes(static.inputs, static.hidden, static.slots, units), static.hidden, static.slots,
                       static.activations)


def penalty(params, kr, l1=0.0):
    """The regularisation added to the loss: L2 ``kr`` and L1 ``l1`` on the hidden kernels.

    Example:
        >>> from jaxviz.engine.model import params_from_arrays
        >>> p = params_from_arrays([-jnp.ones((2, 2)), jnp.zeros(2), jnp.ones((2, 1)), jnp.zeros(1)], 2, 1, ("relu",))
        >>> float(penalty(p, 0.5, 0.25))
        3.0
    """
    return l2_penalty(params, kr) + l1_penalty(params, l1)


def loss_fn(params, s: Structure, x, y, weight, kr, static: Static, l1=0.0):
    """One model's mean loss (with the penalty) and its summed ``correct`` score (hits for
    accuracy, absolute errors for mae) over the samples of non-zero ``weight``; the task
    (``static.task``, ``static.classes``) says what the output means."""
    data, correct = data_loss(params, s, x, y, weight, jnp.sum(weight), static)
    return data + penalty(params, kr, l1), correct


def data_loss(params, s: Structure, x, y, weight, count, static: Static):
    """The data part of a batch's mean loss from some of its samples (``weight`` marks them):
    their summed loss divided by ``count``, the batch's sample count, and their summed
    ``correct`` score. The parts of a batch's micro-batches add up to the batch's mean loss."""
    task = task_of(static.task, static.classes)
    p = predict(params, x, s, static.hidden, static.slots, static.activations, task)
    return jnp.sum(weight * task.loss(p, y)) / count, jnp.sum(weight * task.correct(p, y))


def evaluate(params, s: Structure, table, d, kr, static: Static, l1=0.0):
    """One model's test loss and correct count on its dataset's (row ``d`` of ``table``) test set.

    A test set of up to ``TEST_CHUNK`` rows is evaluated in one piece; a larger one in pieces of
    ``TEST_CHUNK`` rows whose sums add up in order, so memory does not grow with the test set.
    """
    m, n_test = table.x_test.shape[1], table.n_test[d]
    if m <= TEST_CHUNK:
        weight = (jnp.arange(m) < n_test).astype(real_dtype(static))
        return loss_fn(params, s, table.x_test[d], table.y_test[d], weight, kr, static, l1)
    task = task_of(static.task, static.classes)

    def piece(sums, first):
        rows = first + jnp.arange(TEST_CHUNK)
        weight = (rows < n_test).astype(real_dtype(static))
        rows = jnp.minimum(rows, m - 1)
        y = table.y_test[d, rows]
        p = predict(params, table.x_test[d, rows], s, static.hidden, static.slots, static.activations, task)
        return (sums[0] + jnp.sum(weight * task.loss(p, y)), sums[1] + jnp.sum(weight * task.correct(p, y))), None

    zero = jnp.zeros((), real_dtype(static))
    (loss_sum, correct), _ = jax.lax.scan(piece, (zero, zero), jnp.arange(0, m, TEST_CHUNK))
    return loss_sum / n_test.astype(real_dtype(static)) + penalty(params, kr, l1), correct


def keep(valid, new, old):
    """``new`` where ``valid``, else ``old``: a masked step changes nothing."""
    return jax.tree.map(lambda a, b: jnp.where(valid, a, b), new, old)


#: Per History metric of :func:`train_epoch`, the sample count its sum is divided by (``None``: it
#: is the value itself): the training loss and accuracy (or mae) by ``n_train``, the test
#: accuracy by ``n_test``.
RATIOS = ("n_train", "n_train", None, "n_test", None)


def per_sample(table, hp, rows, dtype) -> np.ndarray:
    """The counts ``(len(RATIOS), len(rows))`` that turn :func:`train_epoch`'s metric sums into History
    means (1 for the metrics that are values), for the models ``rows`` of ``hp``, in NumPy: one
    IEEE division per metric, the same whatever program computed the sums.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> from jaxviz.data import load_dataset, pack
        >>> per_sample(pack([load_dataset("moons")]), make_grid(lr=[0.1, 0.5]).hparams([60]), slice(0, 2),
        ...            np.float32)[:, 0].tolist()
        [60.0, 60.0, 1.0, 40.0, 1.0]
    """
    d = np.asarray(hp.data_index)[rows]
    counts = {"n_train": np.asarray(table.n_train)[d], "n_test": np.asarray(table.n_test)[d], None: np.ones(len(d))}
    return np.stack([counts[r] for r in RATIOS]).astype(dtype)


def micro_steps(hp: HParams, table, static: Static):
    """A model's micro-batches per epoch: its batches times the micro-batches of
    ``static.batch`` lanes each takes (see :func:`train_epoch`); vectorised over models.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> from jaxviz.data import load_dataset, pack
        >>> g = make_grid(batch_size=[10, 20, 30])
        >>> table = pack([load_dataset("moons")])
        >>> micro_steps(g.hparams([60]), table, g.static([60])).tolist()  # 6 x 1, 3 x 2, 2 x 2
        [6, 6, 4]
    """
    _, _, n_batches, micros = _batching(hp, table, static)
    return n_batches * micros


def _batching(hp: HParams, table, static: Static):
    """A model's training-set size, batch size (at most that), batches per epoch and
    micro-batches of ``static.batch`` lanes per batch."""
    n_train = table.n_train[hp.data_index]
    bs = jnp.minimum(hp.batch_size, n_train)
    return n_train, bs, (n_train + bs - 1) // bs, (bs + static.batch - 1) // static.batch


class EpochCarry(NamedTuple):
    """A model's state inside an epoch's loop over micro-batches (see :func:`train_epoch`)."""

    state: TrainState
    grads: jax.Array  # the gradients of the batch's micro-batches so far, flat like the parameters
    data: jax.Array  # () their part of the batch's mean loss
    loss_sum: jax.Array  # () the epoch's batch losses times their sample counts
    correct_sum: jax.Array  # () the epoch's correct score
    due: jax.Array  # () bool: the last micro-batch closed a batch of the model's own (the update is due)
    pen: jax.Array  # () the penalty of the weights that batch saw
    count: jax.Array  # () that batch's samples


def epoch_start(state: TrainState, static: Static) -> EpochCarry:
    """A model's :class:`EpochCarry` before an epoch's first micro-batch."""
    zero = jnp.zeros((), real_dtype(static))
    return EpochCarry(state, jax.tree.map(jnp.zeros_like, state.params), zero, zero, zero, jnp.bool_(False), zero,
                      zero)


def micro_grads(j, carry: EpochCarry, hp: HParams, orders, table, static: Static) -> EpochCarry:
    """A model's ``j``-th micro-batch of an epoch (see :func:`train_epoch`): its gradients join the
    batch's; ``due`` says whether it closed one of the model's batches (then :func:`micro_update`
    updates the model)."""
    state = carry.state
    d = hp.data_index
    s = structure_of(hp, static)
    n_train, bs, n_batches, micros = _batching(hp, table, static)
    lanes = jnp.arange(static.batch)
    b, k = j // micros, j % micros  # batch, and micro-batch within it
    count = jnp.minimum(bs, n_train - b * bs).astype(real_dtype(static))  # the batch's samples
    pos = b * bs + k * static.batch + lanes
    weight = ((k * static.batch + lanes < bs) & (pos < n_train)).astype(real_dtype(static))
    idx = orders[hp.order_index, jnp.minimum(pos, orders.shape[1] - 1)]
    closing = k == micros - 1  # the batch's last micro-batch: the penalty joins it, and the update follows

    def loss(params):
        part, correct = data_loss(params, s, table.x_train[d, idx], table.y_train[d, idx], weight, count, static)
        pen = penalty(params, hp.kr, hp.l1)
        return part + jnp.where(closing, pen, 0.0), (part, correct, pen)

    arrays = unflatten(state.params, param_layout(static).shapes)
    live = live_arrays(arrays, static)
    (_, (part, correct, pen)), g = jax.value_and_grad(loss, has_aux=True)(live)
    if len(live) < len(arrays):  # the slots left out: zero gradients
        g = g[:-2] + [jnp.zeros_like(a) for a in arrays[len(live) - 2:-2]] + g[-2:]
    g = flatten_arrays(g)
    first = k == 0
    valid = j < micros * n_batches
    return carry._replace(grads=jax.tree.map(lambda a, b: jnp.where(first, b, a + b), carry.grads, g),
                          data=jnp.where(first, part, carry.data + part),
                          correct_sum=carry.correct_sum + jnp.where(valid, correct, 0.0),
                          due=valid & closing, pen=pen, count=count)


def micro_update(carry: EpochCarry, hp: HParams, table, static: Static) -> EpochCarry:
    """The update after a micro-batch that closed a batch (``carry.due``); else nothing changes."""
    state = carry.state
    total_steps = hp.epochs * _batching(hp, table, static)[2]  # the schedule's horizon: all of this model's updates
    lr_t = learning_rate(state.lr_base, hp.decay, state.step, hp.schedule, total_steps, static.schedules)
    scales = layer_scales(hp.widths, hp.layer_lr, static.slots) if static.layer_lr else None
    params, opt = update(state.params, state.opt, carry.grads, lr_t, hp.momentum, state.step, hp.optimizer,
                         static.optimizers, scales, param_layout(static))
    new = state._replace(params=params, opt=opt, step=state.step + 1)
    # Keras' batch loss: the data's mean and the penalty of the weights before the update
    return carry._replace(state=keep(carry.due, new, state),
                          loss_sum=carry.loss_sum + jnp.where(carry.due, (carry.data + carry.pen) * carry.count, 0.0))


def epoch_end(carry: EpochCarry, hp: HParams, table, static: Static):
    """A model's epoch after its micro-batches: the test set, ReduceLROnPlateau, and the metrics
    of :func:`train_epoch`."""
    state = carry.state
    s = structure_of(hp, static)
    arrays = live_arrays(unflatten(state.params, param_layout(static).shapes), static)
    val_loss, val_correct = evaluate(arrays, s, table, hp.data_index, hp.kr, static, hp.l1)
    lr_in_force = state.lr_base
    plateau, lr_base = plateau_update(state.plateau, state.lr_base, val_loss, hp.patience)
    state = state._replace(plateau=plateau, lr_base=lr_base)
    # sums, not means: the caller divides by the sample counts (see RATIOS) outside any program, where
    # a division is IEEE's; XLA rewrites some divisions into products with the reciprocal, which
    # rounds differently in programs of different shapes
    return state, (carry.loss_sum, carry.correct_sum, val_loss, val_correct, lr_in_force)


def train_epoch(state: TrainState, hp: HParams, orders, table, static: Static, trips):
    """One epoch of one model over its samples in its row of ``orders``; returns (state, metrics):
    the History metrics as sums over the samples where :data:`RATIOS` names a count.

    Batches are gathered from the shared ``table`` (the model's dataset is row ``hp.data_index``)
    step by step: no model holds a copy of its data. A batch is taken in micro-batches of
    ``static.batch`` lanes whose gradients add up before the update (one micro-batch when the
    batch fits), so the program does not depend on the batch size: grids of other batch sizes
    share it, and a model's arithmetic depends on its own batch size only. The loop runs
    ``trips`` micro-batches (a value, the most :func:`micro_steps` of the models trained
    together); a model's later ones are masked. The update runs only after a micro-batch that
    closes a batch. The engine runs the same parts (:func:`epoch_start`, :func:`micro_grads`,
    :func:`micro_update`, :func:`epoch_end`) for a block of models, with the loop outside the
    models' vmap, and skips the update when no model of the block closes a batch.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> from jaxviz.data import load_dataset, pack
        >>> g = make_grid(batch_size=20, lr=0.5)
        >>> table, static = jax.tree.map(jnp.asarray, pack([load_dataset("moons")])), g.static([60])
        >>> hp = jax.tree.map(lambda a: a[0], g.hparams([60]))
        >>> orders = batch_order(0, 0, 60, 60, False)[None]
        >>> state, (loss_sum, correct, *_) = train_epoch(init_state(hp, static), hp, orders, table, static, 6)
        >>> int(state.step), 0 < float(loss_sum) / 60 < 1  # 3 batches of 20, 2 micro-batches each
        (3, True)
    """
    def micro(j, c):
        c = micro_grads(j, c, hp, orders, table, static)
        return jax.lax.cond(c.due, lambda c: micro_update(c, hp, table, static), lambda c: c, c)

    carry = jax.lax.fori_loop(0, trips, micro, epoch_start(state, static))
    return epoch_end(carry, hp, table, static)


def init_state(hp: HParams, static: Static) -> TrainState:
    """A model's state before training: weights from its seed alone (flat: see :func:`param_layout`),
    fresh optimiser, lr = hp.lr."""
    key = jax.random.fold_in(jax.random.key(hp.seed), 0)
    real = real_dtype(static)
    n_inputs = static.raw_inputs or input_columns(hp.features, static.inputs)[2]
    tree = init_params(key, hp.widths, static.hidden, static.slots, static.activations, inputs=static.inputs,
                       n_inputs=n_inputs, init=hp.init,
                       units=task_of(static.task, static.classes).units, dtype=real, paper=static.paper_init)
    opt = init_opt_state(tree, hp.optimizer, static.optimizers, hp.lr.astype(real), hp.momentum)
    flat = param_layout(static).flat
    return TrainState(
        params=flat(tree),
        opt=opt._replace(m=flat(opt.m), v=flat(opt.v)),
        step=jnp.int32(0),
        lr_base=hp.lr.astype(real),
        plateau=PlateauState(jnp.asarray(jnp.inf, real), jnp.int32(0), jnp.int32(0)),
        diverged=jnp.bool_(False),
    )


@functools.partial(jax.jit, static_argnames=("n_max", "length", "shuffle"))
def draw_orders(orders_table, first, n_max: int, length: int, shuffle: bool):
    """The batch orders of epochs ``first .. first + length - 1`` of every distinct ``(seed, n_train)``
    pair of ``orders_table``: ``(length, pairs, n_max)`` int32.

    A small program of its own (integer arithmetic only, so its orders are the same bits wherever
    they are drawn): the epoch program takes them as an input instead of compiling the draws
    and the sort into itself, and it is shared by every chunk of models.

    Example:
        >>> o = draw_orders((np.array([0, 1], np.uint32), np.array([3, 4], np.int32)), 0, n_max=5, length=2,
        ...                 shuffle=True)
        >>> o.shape, sorted(o[0, 0, :3].tolist()), bool((o[1, 1] == batch_order(1, 1, 4, 5, True)).all())
        ((2, 2, 5), [0, 1, 2], True)
    """
    seeds, sizes = orders_table
    draw = lambda e: jax.vmap(batch_order, in_axes=(0, None, 0, None, None))(seeds, e, sizes, n_max, shuffle)  # noqa: E731
    return jax.vmap(draw)(first + jnp.arange(length)).astype(jnp.int32)


#: XLA options, on CPU, of the program a run calls once (``start``) and of the integer-only
#: ``draw_orders``: without LLVM's optimisation passes they compile about 3x faster (``start`` of
#: the demo: 24 s instead of 67 s on a loaded 2-core machine) and their run time hardly counts.
#: Every run compiles them the same way, so grids and solo runs still start bit for bit alike.
QUICK_COMPILE = {"xla_backend_optimization_level": 0}
#: XLA options, on CPU, of the epoch program: LLVM's level 1 instead of 2 compiles the demo's
#: ``run_epochs`` in 3.8 s instead of 4.4 s and runs it as fast (52 against 57 ms per call at 256
#: models; ``benchmarks/compile_profile.py``). Every epoch program on CPU is compiled this way, so
#: a model's arithmetic is still the same whatever the grid, the devices or the chunks.
TRAIN_COMPILE = {"xla_backend_optimization_level": 1}
