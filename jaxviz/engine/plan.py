"""How a run sits on the machine: the memory it needs, the devices it spreads over, and the
chunks of the model axis it runs in when the whole grid does not fit at once.

The estimate counts what grows with the grid: per model, the training state and the epochs'
outputs of one compiled call, its data, the activations of a batch and of the test set, and
its surfaces; per run, the results the :class:`~jaxviz.run.Run` keeps (surfaces, weights after
every epoch, metrics) and the mesh work of the surface prediction. It errs on the high side.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from jaxviz.engine.devices import smallest_everywhere
from jaxviz.spec.config import format_bytes
from jaxviz.spec.grid import Static

__all__ = ["HEADROOM", "CHUNK_LENGTHS", "Plan", "epoch_chunk", "free_memory", "make_plan", "surface_chunk"]

#: Share of the free memory a run plans to fill; the rest absorbs what the estimate misses.
HEADROOM = 0.7
#: Bytes of one model-frame's mesh intermediates (hidden x points float32) predicted together.
SURFACE_WORK = 1 << 26
#: Bytes of surfaces one call predicts at most (its output sits on the device, then the host).
SURFACE_OUTPUT = 1 << 28
#: Model-frames predicted together at most (keeps each intermediate in cache at 64 x 64).
MAX_SURFACE_CHUNK = 16


#: Epochs per compiled training call come from this set, so that runs of nearby lengths (100 and
#: 150 epochs) share one compiled program; a run's last call masks the epochs past its end.
CHUNK_LENGTHS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)


def epoch_chunk(epochs: int, calls: int = 20) -> int:
    """Epochs per compiled call: the largest of :data:`CHUNK_LENGTHS` that gives at least
    ``calls`` calls (progress between them), so a program's length is one of a few.

    Example:
        >>> epoch_chunk(100), epoch_chunk(150), epoch_chunk(7), epoch_chunk(1000), epoch_chunk(10**6)
        (5, 5, 1, 50, 1000)
    """
    if not isinstance(epochs, (int, np.integer)) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a whole number of at least 1. Got {epochs!r} instead.")
    most = max(1, -(-int(epochs) // calls))
    return max(n for n in CHUNK_LENGTHS if n <= most)


def surface_chunk(hidden: int, resolution: int) -> int:
    """Model-frames whose surfaces are predicted together: 16 for small meshes, 1 for huge ones.

    Example:
        >>> surface_chunk(10, 64), surface_chunk(10, 2048)
        (16, 1)
    """
    one = 4 * hidden * resolution * resolution
    return int(max(1, min(MAX_SURFACE_CHUNK, SURFACE_WORK // one)))


def free_memory(device=None) -> tuple[int, int, bool]:
    """``(device bytes free, host bytes free, shared)``; ``shared`` when the device is the host.

    Accelerators report their own memory; a CPU device uses host memory, which counts once. With
    several processes, the smallest figures of any process, so every process makes the same plan.

    Example:
        >>> device, host, shared = free_memory(jax.devices("cpu")[0])
        >>> shared and device == host > 0
        True
    """
    import psutil

    host = int(psutil.virtual_memory().available)
    device = device or jax.local_devices()[0]
    stats = device.memory_stats() if device.platform != "cpu" else None
    shared = not stats or "bytes_limit" not in stats
    free = host if shared else int(stats["bytes_limit"] - stats.get("bytes_in_use", 0))
    free, host = smallest_everywhere([free, host])
    return free, host, shared


class Plan(NamedTuple):
    """The layout of a run: model rows per compiled call, and the memory figures behind it.

    Example:
        >>> p = Plan(n_models=10, chunk=4, n_chunks=3, surface_models=2, devices=1, block=2, per_model=1000,
        ...          per_surface=100, results=200, fixed=0, budget=5000, frames=3, resolution=8)
        >>> p.split, p.padded
        (True, 12)
    """

    n_models: int  # models of the grid
    chunk: int  # model rows per training call (whole blocks on every device)
    n_chunks: int  # training calls per chunk of epochs
    surface_models: int  # models per surface-prediction call
    devices: int  # devices the model axis is sharded over
    block: int  # models vmapped together (see model_block)
    per_model: int  # bytes one model needs while its chunk trains
    per_surface: int  # bytes one model needs while its surfaces are predicted
    results: int  # bytes of results kept for the whole grid
    fixed: int  # bytes independent of the model count (data, mesh work)
    budget: int  # bytes the run may use
    frames: int  # surfaces kept per model
    resolution: int  # mesh points per side of a surface

    @property
    def split(self) -> bool:
        """Whether the model axis trains in more than one chunk."""
        return self.n_chunks > 1

    @property
    def padded(self) -> int:
        """Model rows after padding to whole chunks."""
        return self.chunk * self.n_chunks

    def describe(self) -> str:
        """One line for the user: what the grid needs and how it runs."""
        need = self.results + self.fixed + self.per_model * self.n_models
        line = f"{self.n_models:,} models need about {format_bytes(need)} ({format_bytes(self.budget)} usable)"
        if self.split:
            line += f"; running them in {self.n_chunks} chunks of {self.chunk:,}"
        if self.devices > 1:
            line += f", sharded over {self.devices} devices"
        return line


def _n_params(static: Static) -> int:
    h, k = static.hidden, static.classes if static.task == "multiclass" else 1  # tasks: k output units
    inputs = static.raw_inputs or static.inputs  # features or raw data columns, then the bias
    return (inputs + 1) * h + (static.slots - 1) * (h * h + h) + k * (h + 1)


class _Need(NamedTuple):
    """Bytes, with margins, of the parts of a run (see :func:`_estimate`)."""

    per_model: int  # per model of a training call: its state in and out, its outputs
    per_surface: int  # per model of a surface call (0 without surfaces)
    results: int  # per model, kept for the whole grid
    data: int  # the datasets, on the host and the devices, once
    orders: int  # the batch orders of one call (every distinct seed, every epoch of the call)
    work: int  # the activations of the blocks being trained at once (test set in pieces)
    mesh: int  # the mesh points and work of the surface prediction (0 without surfaces)

    @property
    def fixed(self) -> int:
        return self.data + self.orders + self.work + self.mesh


def _estimate(static: Static, n_data: tuple[int, int, int], frames: int, resolution: int, length: int,
              record: str = "history", orders: int = 1, blocks: int = 1) -> _Need:
    """The memory of a run, by part. ``orders``: distinct (seed, size) batch orders; ``blocks``:
    model blocks trained at once (one per device)."""
    from jaxviz.engine.optim import buffers_per_weight
    from jaxviz.engine.steps import TEST_CHUNK

    n_train, n_test, n_sets = n_data
    p = _n_params(static)
    points = resolution * resolution * (static.classes if static.task == "multiclass" else 1)  # tasks: k maps
    width = static.hidden * static.slots
    history = record == "history"
    buffers = buffers_per_weight(static.optimizers)  # optax optimisers add their own
    train = 4 * (
        2 * (1 + buffers) * p  # state (params, optimiser buffers), in and out
        + length * ((p if history else 0) + 8)  # weights (history only) and metrics of each epoch of the call
    )
    # activations, forward and backward, of a batch and of a piece of the test set, gathered per step
    work = 4 * (3 * p + 8 * (static.batch + min(n_test, TEST_CHUNK)) * width + 3 * (static.batch + TEST_CHUNK))
    surfaces = 2 * 2 * frames * points + 4 * frames * p if history else 0  # float16 out (device, host), weights in
    kept = 2 * frames * points + 4 * (static.epochs + 1) * p if history else 4 * 2 * p  # surfaces and weights
    results = kept + 4 * ((1 + buffers) * p + 2 * 5 * static.epochs)  # + the checkpoint's state, metrics (and a copy)
    mesh = 4 * 4 * surface_chunk(static.hidden, resolution) * static.hidden * points + 4 * n_sets * 2 * points
    return _Need(
        per_model=int(1.5 * train),
        per_surface=int(1.5 * surfaces),
        results=int(results),
        data=2 * 4 * n_sets * 3 * (n_train + n_test),  # host table and its device copy
        orders=4 * 4 * length * orders * n_train,  # random bits, sort keys and the orders, per epoch of a call
        work=int(1.5 * work) * blocks,
        mesh=mesh if history else 0,
    )


def _smallest(need: _Need, unit: int, devices: int) -> int:
    """Bytes of the smallest step: one model's results and one call of one block per device."""
    return need.fixed + need.results + max(unit * need.per_model, devices * need.per_surface)


def _refuse_smallest(need: _Need, usable: int, memory, unit: int, devices: int, frames: int, resolution: int,
                     at_least: _Need) -> ValueError:
    """The refusal when not even the smallest step fits: blame resolution only where lowering it
    (and frames) would help; otherwise memory, naming the part that needs it."""
    one = _smallest(need, unit, devices)
    if _smallest(at_least, unit, devices) <= usable:
        return ValueError(
            f"resolution must leave room for the smallest step in memory: at {resolution}x{resolution} with {frames} "
            f"frames, one model's surfaces or one call of {unit} models need {format_bytes(one)} and "
            f"{format_bytes(usable)} are usable; lower resolution or frames. Got {resolution} instead.")
    parts = {"the data (stored once)": (need.data, "use fewer data rows"),
             "the batch orders of a call": (need.orders, "use fewer seeds or epochs"),
             f"one call of {unit} models": (need.work + unit * need.per_model, "lower batch_size"),
             "the surface prediction": (need.mesh + devices * need.per_surface, "lower resolution")}
    part, (size, knob) = max(parts.items(), key=lambda kv: kv[1][0])
    given = "the default (70% of free memory)" if memory is None else format_bytes(memory)
    return ValueError(
        f"memory must hold the smallest step of the run: it needs {format_bytes(one)}, {format_bytes(size)} of them "
        f"for {part}, and {format_bytes(usable)} are usable; give more memory or {knob}. Got {given} instead.")


def _budget(memory: int | None) -> tuple[int, int, bool]:
    """``(device budget, host budget, shared)``: ``memory`` for both, or ``HEADROOM`` of what is free."""
    if memory is not None:
        return int(memory), int(memory), True
    device_free, host_free, shared = free_memory()
    return int(HEADROOM * device_free), int(HEADROOM * host_free), shared


def make_plan(n_models: int, static: Static, n_data: tuple[int, int, int], frames: int, resolution: int,
              length: int, devices: int = 1, memory: int | None = None, block: int = 1, record: str = "history",
              orders: int = 1, kept: int | None = None) -> Plan:
    """Estimate the memory of a run and choose how many models each compiled call takes.

    ``n_data`` is ``(padded train size, padded test size, number of datasets)``; ``length`` the
    epochs per call; ``memory`` the bytes the run may use (default: ``HEADROOM`` of what is
    free now); ``record`` what the run keeps (``"final"``: no surfaces and no weights per epoch);
    ``orders`` the distinct batch orders (seeds) drawn per epoch; ``kept`` the bytes per model
    kept for the whole run when the caller keeps less than a run's results (a trainability map:
    a score and the last metrics). The data count once; what
    grows with the models is each model's state and outputs, and the activations of the blocks
    being trained. Raises ``ValueError`` naming the figure and what to lower when the results of
    the grid, or a single step, do not fit. Training chunks hold whole ``block`` s of models on
    every device (see :func:`model_block`); surfaces are predicted in calls of at
    most ``SURFACE_OUTPUT`` bytes.

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> s = make_grid(epochs=100, seed=list(range(4096))).static([60])  # big: its own activation only
        >>> p = make_plan(4096, s, (60, 40, 1), 20, 64, 5, block=8)
        >>> p.split, p.chunk, p.surface_models
        (False, 4096, 1024)
        >>> p = make_plan(4096, s, (60, 40, 1), 20, 64, 5, memory=1_300_000_000, block=8)
        >>> p.split, p.chunk * p.n_chunks >= 4096, p.chunk % 8
        (True, True, 0)
        >>> make_plan(4096, s, (60, 40, 1), 20, 64, 5, memory=1000, block=8)
        Traceback (most recent call last):
        ...
        ValueError: memory must hold the smallest step of the run: it needs ...
    """
    history = record == "history"
    need = _estimate(static, n_data, frames, resolution, length, record, orders, devices)
    if kept is not None:  # trainability maps (jaxviz.maps)
        need = need._replace(results=int(kept))
    budget, host_budget, shared = _budget(memory)
    unit = devices * block  # whole blocks on every device (see jaxviz.train.run_epochs)
    results = need.results * n_models
    usable = min(budget, host_budget)
    if _smallest(need, unit, devices) > usable:
        least = _estimate(static, n_data, 2, 2, length, record, orders, devices)
        raise _refuse_smallest(need, usable, memory, unit, devices, frames, resolution, least)
    if results + need.fixed > host_budget:
        what = (f"{frames} frames of {resolution}x{resolution} surfaces, weights and metrics" if history
                else "final weights and every epoch's metrics")
        knob = "the number of models, frames or resolution, or use record='final'" if history else \
            "the number of models or epochs"
        raise ValueError(
            f"the grid must fit in memory: its results need {format_bytes(results + need.fixed)} "
            f"({n_models:,} models x {what}) and {format_bytes(host_budget)} are usable; lower {knob}. "
            f"Got {n_models} models instead.")
    return _layout_plan(n_models, need, results, budget, shared, unit, devices, block, frames, resolution, history)


def _layout_plan(n_models, need: _Need, results, budget, shared, unit, devices, block, frames, resolution,
                 history) -> Plan:
    """Equal chunks of whole blocks that fit the room left; surface calls of a power of two of models."""
    room = budget - need.fixed - (results if shared else 0)
    blocks = -(-max(1, n_models) // unit)
    fits = max(1, room // (need.per_model * unit))
    n_chunks = -(-blocks // fits)
    chunk = unit * -(-blocks // n_chunks)  # equal chunks: every call has the same shape
    # surfaces: a power of two of models per call, whole per device, within the output cap and the room
    cap = min(SURFACE_OUTPUT // max(1, 2 * frames * resolution**2), max(1, room // max(1, need.per_surface)))
    count = 1 << max(0, int(cap).bit_length() - 1)
    surface_models = min(chunk, devices * max(1, count // devices)) if history else 0
    return Plan(n_models, chunk, n_chunks, surface_models, devices, block, need.per_model, need.per_surface,
                results, need.fixed, budget, frames if history else 0, resolution)
