"""The seed's Keras training, vmapped over a grid of models and scanned over epochs: ONE program.

The rules of one model's training live in :mod:`jaxviz.engine.steps` (clipped binary
cross-entropy, Keras optimisers and decay, reshuffled batches, L2, ReduceLROnPlateau, History).

Models of different shapes share one program (see :mod:`jaxviz.engine.model`): data are padded with
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
from jax.sharding import NamedSharding, SingleDeviceSharding
from jax.sharding import PartitionSpec as P

from jaxviz.spec.settings import RECORDS, check_record
from jaxviz.spec.grid import MIN_MODELS, HParams, Static
from jaxviz.engine.flat import weight_arrays
from jaxviz.engine.checkpoint import Checkpoint, _continue_from
from jaxviz.engine.exact import build_later, choose, exact_static
from jaxviz.engine.host_init import host_start_ok, host_state
from jaxviz.engine.task import EPSILON, bce, task_of
from jaxviz.engine.steps import (PLATEAU, QUICK_COMPILE, TEST_CHUNK, TRAIN_COMPILE, PlateauState, TrainState, per_sample,
                                 batch_order, draw_orders, init_state, keep, param_layout,
                                 plateau_update, epoch_end, epoch_start, micro_grads, micro_steps, micro_update)
from jaxviz.engine.plan import epoch_chunk as chunk_length  # epochs per compiled call
from jaxviz.engine.programs import Program, draw_program
from jaxviz.engine.devices import (MODEL_AXIS, block_map, from_blocks, layout_devices, model_block, model_mesh, pad_rows,
                                   place, to_blocks, to_host)
from jaxviz.engine.score import convergence_update
from jaxviz.engine.precision import as_real, precision_scope

__all__ = ["EPSILON", "PLATEAU", "METRICS", "RECORDS", "TEST_CHUNK", "PlateauState", "TrainState", "bce",
           "plateau_update", "batch_order", "init_state", "start", "run_epochs", "draw_orders", "chunk_length",
           "check_record", "train_grid", "Checkpoint"]

#: History keys of a classification, in Keras' order (a regression has ``mae`` for ``accuracy``:
#: see :attr:`jaxviz.engine.task.Task.metrics`).
METRICS = ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")


@functools.partial(jax.jit, static_argnames=("static", "block"))
def start(hp: HParams, static: Static, block: int = MIN_MODELS):
    """Every model's state before training (its weights flat: :func:`weight_arrays` splits them).
    Small grids of Glorot models on a CPU start in NumPy instead, with the same bits
    (:mod:`jaxviz.engine.host_init`); the first call of :func:`run_epochs` gives the test figures
    before training, either way.

    Models are handled in blocks of ``block`` (the model count is a multiple of it), one block
    after another, so every model goes through the same compiled arithmetic whatever the grid.
    """
    return from_blocks(block_map(lambda hp: jax.vmap(init_state, in_axes=(0, None))(hp, static), to_blocks(hp, block),
                                 hp))


@functools.partial(jax.jit, static_argnames=("static", "length", "block", "record"))
def run_epochs(state, hp: HParams, orders, table, first, static: Static, length: int, block: int = MIN_MODELS,
               record: str = "history", score=None):
    """Epochs ``first .. first + length - 1`` of every model: ONE program.

    Models run in blocks of ``block`` (vmapped inside a block, one block after another), so a
    model's arithmetic is the same compiled code whatever the number of models, devices or
    chunks: XLA vectorises a vmapped axis differently for different sizes, which changes
    float rounding, and a chaotic model (high lr and momentum) would amplify that.

    Epochs at or beyond a model's own ``epochs``, and every epoch after the model diverged (its
    loss or val_loss became NaN or inf), are masked: its state does not change, its metrics are
    NaN (the diverging epoch's own metrics are kept, so the divergence shows). Returns the new
    state, metrics ``(length, n_models)`` in History order (sums where ``RATIOS`` names a count:
    :func:`per_sample` divides them) and, with ``record="history"``, the
    weights after each epoch ``(length, n_models, size)``, flat (see
    :func:`~jaxviz.engine.steps.param_layout`; ``record="final"``: none, so the outputs do not
    grow with the epochs). Both have a first row more, a look step that trains nothing: in the
    call from epoch 0 its ``val_loss`` and ``val_accuracy`` sums are the figures before training,
    its weights the initial ones; later calls skip it (that row stays zero).

    ``score`` (``record="final"`` only): every model's running trainability measure (a
    :class:`~jaxviz.engine.score.Convergence`), updated with each epoch's training loss inside the
    program; it is then returned as a third value (and there is no look step), so a map keeps no
    loss history.
    """
    look = score is None  # a first step that trains nothing: the test figures of the state the call starts from

    def one_block(args):
        state, hp, acc = args
        trips = jnp.max(micro_steps(hp, table, static))  # a value: batch sizes do not shape the program
        grads = jax.vmap(lambda j, c, hp, order: micro_grads(j, c, hp, order, table, static), in_axes=(None, 0, 0, None))
        updates = jax.vmap(lambda c, hp: micro_update(c, hp, table, static))

        def train(state, hp, order, trips):  # train_epoch of every model, the loop outside their vmap (traced once)
            def micro(j, c):
                c = grads(j, c, hp, order)
                # a block of one batch size updates after each batch's last micro-batch only
                return jax.lax.cond(jnp.any(c.due), lambda c: updates(c, hp), lambda c: c, c)

            carry = jax.vmap(lambda st: epoch_start(st, static))(state)
            carry = jax.lax.fori_loop(0, trips, micro, carry)
            return jax.vmap(lambda c, hp: epoch_end(c, hp, table, static))(carry, hp)

        def epoch(carry, i):
            state, acc = carry
            j = i - 1 if look else i  # the call's epoch; -1: the look step
            e, training = first + j, j >= 0
            new, metrics = train(state, hp, orders[jnp.maximum(j, 0)], jnp.where(training, trips, 0))
            valid = (e < hp.epochs) & ~state.diverged & training
            # an epoch whose loss is NaN or inf marks the model diverged and is not kept: the model
            # stays frozen at its last finite state, and no other model of the grid is touched
            finite = jnp.isfinite(metrics[0]) & jnp.isfinite(metrics[2])
            state = jax.vmap(keep)(valid & finite, new, state)
            state = state._replace(diverged=state.diverged | (valid & ~finite))
            metrics = tuple(jnp.where(valid | ~training, m, jnp.nan) for m in metrics)
            if acc is not None:  # a diverged model's NaN epochs count (as the notebook's inf losses do)
                loss = metrics[0] / table.n_train[hp.data_index].astype(metrics[0].dtype)  # the epoch's mean
                acc = jax.vmap(convergence_update)(acc, loss, e < hp.epochs)
            return (state, acc), (metrics, state.params if record == "history" else [])

        # the look step is the same loop body (no kernels of its own), run by the first call only: a loop
        # from a value, not a scan, so later calls skip it (its output row stays zero; the host ignores it)
        real = state.params.dtype
        rows = ((jnp.zeros((length + look, block), real),) * 5, jnp.zeros((length + look, *state.params.shape), real)
                if record == "history" else [])

        def step(i, c):
            carry, out = c
            carry, y = epoch(carry, i)
            return carry, jax.tree.map(lambda o, v: jax.lax.dynamic_update_index_in_dim(o, v, i, 0), out, y)

        return jax.lax.fori_loop(jnp.where(first > 0, look, 0), length + look, step, ((state, acc), rows))

    if score is not None and record != "final":
        raise ValueError(f"record must be 'final' when a score is kept. Got {record!r} instead.")
    (state, score), (metrics, history) = block_map(
        one_block, (to_blocks(state, block), to_blocks(hp, block), to_blocks(score, block)), hp)
    # (blocks, steps, block, ...) -> (steps, n_models, ...)
    metrics, history = jax.tree.map(lambda a: from_blocks(jnp.moveaxis(a, 0, 1), 1), (metrics, history))
    if score is not None:
        return from_blocks(state), (metrics, history), from_blocks(score)
    return from_blocks(state), (metrics, history)


@functools.lru_cache(maxsize=None)
def _programs(static: Static, length: int, block: int, mesh, record: str, scored: bool = False, quick: bool = False):
    """``start`` and ``run_epochs`` for one chunk of models, as :class:`~jaxviz.engine.programs.Program`
    (compiled ahead, side by side, kept between processes); with a mesh, each device runs the
    same program on its own blocks of models (``shard_map``), so results do not depend on the
    device count. ``scored``: run_epochs takes and returns every model's trainability measure too.
    ``start`` is keyed by the fields it reads only (batches, epochs and schedules do not shape a
    model's first state), so runs that differ in them share it."""
    def run_epochs_program(state, hp, orders, table, first, *score):
        return run_epochs(state, hp, orders, table, first, static, length, block, record, *score)

    start_static = static._replace(batch=0, steps=0, epochs=0, shuffle=False, schedules=("constant",), layer_lr=False)
    m, score, options = P(MODEL_AXIS), (P(MODEL_AXIS),) if scored else (), TRAIN_COMPILE if quick else None
    epochs_fn = _on_mesh(run_epochs_program, mesh, (m, m, P(), P(), P()) + score, (m, P(None, MODEL_AXIS)) + score)
    key = (static, length, block, record, scored)
    return _start_program(start_static, block, mesh, quick), Program(epochs_fn, "run_epochs", key, options, mesh is None)


@functools.lru_cache(maxsize=None)
def _start_program(static: Static, block: int, mesh, quick: bool):
    """``start`` as a Program (see :func:`_programs`); ``quick``: compiled with :data:`QUICK_COMPILE`
    (XLA takes compiler options on the outermost jit only, hence the jit around ``start`` here)."""
    def start_program(hp):
        return start(hp, static, block)

    fn = _on_mesh(start_program, mesh, (P(MODEL_AXIS),), P(MODEL_AXIS))
    return Program(fn, "start", (static, block), QUICK_COMPILE if quick else None, aot=mesh is None)


def _on_mesh(fn, mesh, ins, outs):
    """``fn`` run by every device of ``mesh`` on its own rows (``shard_map``); ``fn`` itself without one."""
    return fn if mesh is None else jax.shard_map(fn, mesh=mesh, in_specs=ins, out_specs=outs, check_vma=False)


class _Layout(NamedTuple):
    """How one training run sits on the devices: chunks of model rows, their shardings, the programs."""

    n: int  # model rows (real ones; the chunks pad them)
    chunk: int  # rows per call
    n_chunks: int
    sharded: object  # sharding of a chunk's per-model arrays
    everywhere: object  # sharding of what every device holds (data, batch orders)
    start: object  # compiled start(hp)
    epochs: object  # compiled run_epochs(state, hp, orders, table, first)
    shuffle: bool  # whether batch orders are reshuffled every epoch (see draw_orders)
    draw: object  # draw_orders, compiled for this platform
    shapes: tuple  # a model's weight arrays (see weight_arrays)
    host: bool  # the models start in NumPy, not by the start program (host_init.host_start_ok)
    static: Static
    exact: object = None  # the exact epoch program, for a cold first run (see jaxviz.engine.exact)

    def fresh(self, k: int, hp_host, hp_chunk):
        """Chunk ``k``'s states before training (``hp_host``: every model's settings, padded, in NumPy)."""
        if not self.host:
            return self.start(hp_chunk)
        rows = jax.tree.map(lambda a: np.asarray(a)[k * self.chunk:(k + 1) * self.chunk], hp_host)
        return jax.tree.map(lambda a: place(a, self.sharded), host_state(rows, self.static))

    def rows(self, k: int) -> slice:
        """The real model rows of chunk ``k``."""
        return slice(k * self.chunk, min((k + 1) * self.chunk, self.n))

    def split(self, a, k: int):
        """Rows of chunk ``k`` of a host array padded to whole chunks, on the devices."""
        return place(a[k * self.chunk:(k + 1) * self.chunk], self.sharded)


def _layout(n: int, static: Static, length: int, chunk: int | None, devices, record: str, scored: bool = False,
            hp=None) -> _Layout:
    devices = layout_devices(devices)
    # float64 blocks are a quarter as large: a float64 block's activations stay in cache (measured 1.2-2x faster)
    d, block = len(devices), model_block(devices[0].platform) // (4 if static.precision == "float64" else 1)
    unit = d * block  # every device gets whole blocks (see run_epochs)
    chunk = chunk or unit * -(-n // unit)
    if chunk % unit or chunk < unit:
        raise ValueError(f"chunk must be a positive multiple of {unit} ({d} devices x blocks of {block}). "
                         f"Got {chunk} instead.")
    mesh = model_mesh(devices)
    # the programs do not read the epoch count (each model's own epochs travel in hp, the calls
    # cover them): runs that differ only in epochs share them
    quick = devices[0].platform == "cpu"
    start_fn, epochs_fn = _programs(static._replace(epochs=0, steps=0), length, block, mesh, record, scored, quick)
    if mesh is None:
        sharded = everywhere = SingleDeviceSharding(devices[0])
    else:
        sharded, everywhere = NamedSharding(mesh, P(MODEL_AXIS)), NamedSharding(mesh, P())
    # a float64 grid would build its shared program outside its x64 scope (a thread of its own): none
    exact = exact_static(static, hp) if quick and mesh is None and hp is not None and static.precision == "float32" \
        else None
    exact = exact and _programs(exact._replace(epochs=0, steps=0), length, block, mesh, record, scored, quick)[1]
    return _Layout(n, chunk, -(-n // chunk), sharded, everywhere, start_fn, epochs_fn, static.shuffle,
                   functools.partial(draw_program, quick=quick, aot=mesh is None), param_layout(static).shapes,
                   hp is not None and host_start_ok(hp, static, devices[0].platform), static, exact)


def _prepare_programs(lay: _Layout, hp_host, hp, table_d, orders_d, length: int, on_weights=None):
    """Trace and lower the run's programs now, each from the shapes the one before it returns, and
    compile them side by side (see :class:`~jaxviz.engine.programs.Program`); ``on_weights(None,
    zeros)`` gets the weights' shapes before the epoch program is traced, so the hook's programs
    (surfaces) compile while it is traced, not after it has compiled. Returns the layout with the
    epoch program chosen (:func:`jaxviz.engine.exact.choose`) and what to build after the run."""
    if not lay.start.aot:
        return lay, None, None
    state = lay.fresh(0, hp_host, hp) if lay.host else lay.start.prepare(hp)  # a host start: chunk 0's, kept
    if on_weights is not None:
        on_weights(None, [np.zeros((lay.n, *shape), state.params.dtype) for shape in lay.shapes])
    first = jnp.int32(0)
    n_max = table_d.x_train.shape[1]
    args = (state, hp, lay.draw(orders_d, first, n_max, length, lay.shuffle, prepare=True), table_d, first)
    epochs, later = choose(lay.epochs, lay.exact, args)
    epochs.prepare(*args)
    return lay._replace(epochs=epochs), later and (later, args), state if lay.host else None


def _begin(lay: _Layout, hp_host, hp_chunks, e: int, record: str, first=None):
    """Fresh states of every chunk (``first``: chunk 0's, if already made); the weight store with
    epoch 0 filled; room for the test figures before training (the first call of the epoch
    program gives them)."""
    n = lay.n
    states, weights, val0 = [], None, (np.full(n, np.nan, np.float32), np.full(n, np.nan, np.float32))
    for k, h in enumerate(hp_chunks):
        state = first if k == 0 and first is not None else lay.fresh(k, hp_host, h)
        initial = weight_arrays(state.params, lay.shapes)
        rows = lay.rows(k)
        m = rows.stop - rows.start
        if weights is None:
            kept = e + 1 if record == "history" else 2
            weights = [np.empty((n, kept, *w.shape[1:]), w.dtype) for w in initial]
        for store, w in zip(weights, initial):
            store[rows, 0] = w[:m]
        states.append(state)
    return states, weights, val0


def _epochs(lay: _Layout, states, hp_chunks, orders_d, table_d, done: int, e: int, length: int, metrics, counts,
            weights, val0, record: str, on_epochs, should_stop, on_weights=None) -> int:
    """Train chunk after chunk of epochs from ``done``; fills ``metrics`` (and, for a history,
    ``weights``; from epoch 0, ``val0``: the test loss and accuracy before training)."""
    n, n_max = lay.n, table_d.x_train.shape[1]
    if on_weights is not None and record == "history" and done < e:
        # before the first call too: the hook's programs (surfaces) compile while the epochs' do
        on_weights(done, [w[:, done] for w in weights])
    for first in range(done, e, length):
        count = min(length, e - first)
        orders = lay.draw(orders_d, jnp.int32(first), n_max=n_max, length=length, shuffle=lay.shuffle)
        for k in range(lay.n_chunks):
            states[k], (ms, history) = lay.epochs(states[k], hp_chunks[k], orders, table_d, jnp.int32(first))
            rows = lay.rows(k)
            m = rows.stop - rows.start
            ms = [to_host(x)[:count + 1, :m] / counts[j, rows].astype(x.dtype) for j, x in enumerate(ms)]
            if first == 0:  # the look step (row 0): the test figures before training
                val0[0][rows], val0[1][rows] = ms[2][0], ms[3][0]
            for j, x in enumerate(ms):
                metrics[j, rows, first:first + count] = x[1:].T
            for store, w in zip(weights, weight_arrays(history, lay.shapes) if record == "history" else []):
                store[rows, first + 1:first + 1 + count] = np.swapaxes(w[1:count + 1, :m], 0, 1)
            if on_epochs is not None:
                on_epochs(first + count, first * n + rows.stop * count)
        done = first + count
        if on_weights is not None and record == "history":
            on_weights(done, [w[:, done] for w in weights])
        if should_stop is not None and done < e and should_stop():
            break
    return done


def train_grid(hp: HParams, orders_table, table, static: Static, on_epochs=None, should_stop=None, resume=None,
               chunk: int | None = None, devices=None, record: str = "history", on_weights=None):
    """Train every model of a grid: one compiled program, called on chunks of epochs (and of models).

    ``hp`` holds one row per model; ``orders_table`` the distinct ``(seeds, n_train)`` pairs whose
    batch orders are drawn once per epoch and shared (they depend on the seed alone); ``table``
    a :class:`~jaxviz.data.DataTable`, shared by every model (batches are gathered from it step
    by step). The same compiled program runs each chunk of epochs (the last chunk's surplus
    epochs are masked), so results do not depend on the chunking, and
    ``on_epochs(done, model_epochs)`` reports progress after every call. No host callback sits
    inside the program, so it can be kept in JAX's persistent compilation cache.

    ``chunk`` models (whole blocks on every device; default all) go into each call, one chunk
    after another, with every chunk padded to the same shape, so they share one program; see
    :func:`jaxviz.plan.make_plan`. With several ``devices`` (default: all JAX sees) the model
    axis of each chunk is sharded over a 1-D mesh of them and the data replicated.

    Returns metrics as NumPy arrays ``(n_models, epochs)`` under the Keras History names of the
    task (``static.task``: ``accuracy`` or, for a regression, ``mae``; NaN after a model's own
    last epoch), plus ``initial_val_loss`` / ``initial_val_accuracy`` (``initial_val_mae``), and
    the padded weight arrays: with ``record="history"`` ``(n_models, epochs + 1, ...)`` (epoch 0
    = initial; frozen after a model's last epoch); with ``record="final"`` ``(n_models, 2, ...)``
    (initial, final), the program then returning no weights per epoch, so memory does not grow
    with the epochs. The metrics are the same bit for bit in both modes. The programs depend only
    on ``static``, ``record`` and the array shapes, so new values reuse them. ``on_weights(done, weights)`` (history only) gets the host
    weights at epoch ``done`` before the first chunk of epochs and after each (the live view uses it),
    and first ``on_weights(None, zeros)``, their shapes only, while the programs are prepared.

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
        >>> args = g.hparams(n), g.order_table(n), pack([load_dataset("moons")]), g.static(n)
        >>> m, w, _ = train_grid(*args)
        >>> m["val_loss"].shape, w[0].shape
        ((2, 2), (2, 3, 2, 16))
        >>> m2, w2, _ = train_grid(*args, record="final")
        >>> bool((m2["val_loss"] == m["val_loss"]).all()), w2[0].shape, bool((w2[0][:, 1] == w[0][:, 2]).all())
        (True, (2, 2, 2, 16), True)
    """
    record = check_record(record)
    if static.precision == "float64" and not jax.config.jax_enable_x64:  # a float64 grid runs in JAX's x64 mode
        with precision_scope(static):
            return train_grid(hp, orders_table, as_real(table, static), static, on_epochs, should_stop, resume, chunk,
                              devices, record, on_weights)
    e = static.epochs
    length = chunk_length(e)
    lay = _layout(len(np.asarray(hp.lr)), static, length, chunk, devices, record, hp=hp)
    n = lay.n
    padded = jax.tree.map(lambda a: pad_rows(a, lay.chunk * lay.n_chunks), hp)
    hp_chunks = [jax.tree.map(lambda a, k=k: lay.split(a, k), padded) for k in range(lay.n_chunks)]
    table_d = jax.tree.map(lambda a: place(a, lay.everywhere), table)
    orders_d = jax.tree.map(lambda a: place(a, lay.everywhere), orders_table)
    lay, later, ready = _prepare_programs(lay, padded, hp_chunks[0], table_d, orders_d, length,
                                          on_weights if record == "history" else None)
    metrics = np.full((len(METRICS), n, e), np.nan, np.float32)
    if resume is None:
        states, weights, val0 = _begin(lay, padded, hp_chunks, e, record, ready)
        done = 0
    else:
        states, weights, val0 = _continue_from(lay, resume, hp_chunks, table_d, e, metrics, record)
        done = resume.done
    counts = per_sample(table, hp, slice(0, n), np.float32)
    done = _epochs(lay, states, hp_chunks, orders_d, table_d, done, e, length, metrics, counts, weights, val0, record,
                   on_epochs, should_stop, on_weights)
    if later is not None:  # the shared program, for the runs that follow (see jaxviz.engine.exact)
        build_later(*later)
    if record == "history":
        for store in weights:  # epochs not trained yet: weights frozen at the last trained epoch
            store[:, done + 1:] = store[:, done:done + 1]
    else:
        for k, s in enumerate(states):
            rows = lay.rows(k)
            for store, w in zip(weights, weight_arrays(s.params, lay.shapes)):
                store[rows, 1] = w[: rows.stop - rows.start]
    state = [np.concatenate([to_host(leaf) for leaf in parts])[:n] for parts in zip(*(jax.tree.leaves(s) for s in states))]
    trained = [metrics[j, :, :done] for j in range(len(METRICS))]
    kept = [w[:, : done + 1] for w in weights] if record == "history" else [w[:, :1] for w in weights]
    checkpoint = Checkpoint(state, done, trained, kept, val0)
    names = task_of(static.task, static.classes).metrics
    out = dict(zip(names, metrics))
    # the seed's status line at epoch 0 shows the test loss and accuracy before training
    out["initial_val_loss"], out[f"initial_{names[3]}"] = val0
    return out, weights, checkpoint
