"""From a hp dict with lists to the grid: one column per hyperparameter, and the arrays that vary.

Any hyperparameter given as a list or tuple is a grid axis; the grid is the Cartesian product of
the axes in the order given (the first axis varies slowest). Every model of the grid trains in
ONE compiled program: what varies across models travels as arrays (:class:`HParams`, vmapped),
including the structure (widths, activation, dataset, batch size, epochs, optimizer), which the
program reads as masks; what fixes shapes is :class:`Static` (hashed into the compiled program):
the largest width, the number of layer slots, the largest batch, the most epochs. A new grid of
the same shape with other values reuses the compiled program.

A :class:`Grid` keeps the axes and the fixed values only: the model count is their product, a
model's settings are computed from its index, and a column (one value per model) is built with
NumPy when asked for. A grid of a million models costs nothing until it is trained.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from jaxviz.spec.config import (ACTIVATIONS, GRID_WIDE, HP_DEFAULTS, INITS, LAYER_LR, NOISY_DATASETS, OPTIMIZERS,
                                PARAMETRIZATIONS, feature_code, feature_count)
from jaxviz.spec.paper import fractal_static
from jaxviz.spec.settings import _validate, merge_settings
from jaxviz.spec.shapes import bucket, lanes
from jaxviz.spec.tasks import resolve_task, with_task

__all__ = ["Grid", "HParams", "Static", "Configs", "make_grid", "merge_settings", "with_dataset", "MIN_MODELS",
           "dataset_key", "bucket", "resolve_task", "with_task"]

#: Programs always train at least this many models (see :meth:`Grid.hparams`).
MIN_MODELS = 2
#: A grid of at most this many models is compiled with every activation, three hidden slots and
#: every Keras optimiser (see :meth:`Grid.static`), so that changing its activation, its depth or
#: its optimiser reuses its program; each model's bits are those of a program with its own
#: activation, depth and optimiser (a test checks each; the optimisers' formulas are written so
#: that LLVM fuses the same products into FMAs whatever else the program holds: see
#: :mod:`jaxviz.engine.optim`).
SHARED_MODELS = 64


class HParams(NamedTuple):
    """Per-model settings, each an array with a leading model axis ``(n_models, ...)``."""

    lr: Any  # float32
    decay: Any  # float32
    momentum: Any  # float32
    kr: Any  # float32
    patience: Any  # int32
    seed: Any  # uint32
    widths: Any  # int32 (n_models, 3): n1, n2, n3 (0 = no layer)
    activation: Any  # int32, index into Static.activations
    optimizer: Any  # int32, index into Static.optimizers
    batch_size: Any  # int32
    epochs: Any  # int32
    data_index: Any  # int32, row of the model's dataset in the DataTable
    order_index: Any  # int32, row of the model's (seed, n_train) in the batch-order table
    # model options (issue 14): values, not shapes
    features: Any = None  # int32 bit mask over config.FEATURES (the model's input columns)
    bias: Any = None  # float32: 1 = biases train, 0 = held at zero
    init: Any = None  # int32, index into config.INITS
    parametrization: Any = None  # int32, index into config.PARAMETRIZATIONS
    l1: Any = None  # float32
    # optimisers and schedules (issue 14)
    schedule: Any = None  # int32, index into Static.schedules
    layer_lr: Any = None  # float32 (n_models, 4): lr1..lr4, multipliers of the real layers' rates


class Static(NamedTuple):
    """What fixes the program's shapes and code paths (hashable); the same for every model."""

    hidden: int  # width every hidden layer is padded to
    slots: int  # hidden layer slots (1-3); a model without that layer passes its input through
    activations: tuple[str, ...]  # the activations used in the grid (all of them in a small grid: SHARED_MODELS)
    optimizers: tuple[str, ...]  # the optimizers used in the grid
    batch: int  # lanes of a training step (spec.shapes.lanes of the largest batch)
    steps: int  # the most batches per epoch of any model
    epochs: int  # the most epochs of any model
    shuffle: bool
    task: str = "binary"  # what the output means (jaxviz.engine.task.TASKS)
    # model options (issue 14)
    inputs: int = 2  # input columns every model is padded to: the most features any model uses
    # optimisers and schedules (issue 14)
    schedules: tuple[str, ...] = ("constant",)  # the lr schedules used in the grid
    layer_lr: bool = False  # some lr1..lr4 is not 1 (else the updates are not scaled at all)
    # model options (issue 14): data of raw_inputs columns taken as they are (no features; 0 = 2-D points)
    raw_inputs: int = 0
    # tasks (issue 14)
    classes: int = 2  # output units of a multiclass task (k)
    # the fractal paper (issue 13)
    precision: str = "float32"  # the float type the program trains in (config.PRECISIONS)
    paper_init: bool = False  # some model starts from the paper's weights (init="fractal")
    # a program that computes the first live_slots hidden slots only (0: all), for models without
    # the others (the exact program: engine.exact.exact_static and live_arrays)
    live_slots: int = 0


def dataset_key(config: dict[str, Any]) -> tuple[str, float, int]:
    """What determines a model's data: Playground sets depend on ``noise`` and ``seed``.

    Example:
        >>> dataset_key({"dataset": "moons", "noise": 0.3, "seed": 4})
        ('moons', 0.0, 0)
        >>> dataset_key({"dataset": "xor", "noise": 0.3, "seed": 4})
        ('xor', 0.3, 4)
    """
    if config["dataset"] in NOISY_DATASETS:
        return config["dataset"], float(config["noise"]), int(config["seed"])
    return config["dataset"], 0.0, 0


class Configs(Sequence):
    """The full hp dict of every model, in grid order, each built when asked for.

    Behaves like a list of dicts (``len``, indexing, slicing, iteration, ``==``) without holding one.

    Example:
        >>> c = make_grid(lr=[0.1, 0.5], momentum=[0.0, 0.9]).configs
        >>> len(c), c[-1]["lr"], c[1]["momentum"], [d["lr"] for d in c[:2]]
        (4, 0.5, 0.9, [0.1, 0.1])
    """

    def __init__(self, axes: dict[str, list[Any]], fixed: dict[str, Any]):
        self._axes, self._fixed = axes, fixed
        self._n = math.prod(len(v) for v in axes.values())

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self._n))]
        if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
            raise TypeError(f"model index must be an integer. Got {i!r} instead.")
        if not -self._n <= i < self._n:
            raise IndexError(f"model index {i} out of range for {self._n} models")
        i = int(i) % self._n
        picked = {}
        for key in reversed(list(self._axes)):  # the last axis varies fastest
            i, j = divmod(i, len(self._axes[key]))
            picked[key] = self._axes[key][j]
        return {k: picked[k] if k in picked else self._fixed.get(k) for k in HP_DEFAULTS}

    def __eq__(self, other) -> bool:
        if isinstance(other, Configs):
            return self._axes == other._axes and self._fixed == other._fixed
        return isinstance(other, (list, tuple)) and len(other) == self._n and all(a == b for a, b in zip(self, other))

    __hash__ = None  # mutable-looking like a list

    def column(self, key: str) -> np.ndarray:
        """Every model's ``key`` value as one NumPy array, without building the dicts.

        Example:
            >>> make_grid(lr=[0.1, 0.5], epochs=[3, 4]).configs.column("epochs").tolist()
            [3, 4, 3, 4]
        """
        if key not in self._axes:
            return np.full(self._n, self._fixed[key])
        names = list(self._axes)
        inner = math.prod(len(self._axes[k]) for k in names[names.index(key) + 1:])
        index = (np.arange(self._n, dtype=np.int64) // inner) % len(self._axes[key])
        return np.asarray(self._axes[key])[index]

    def __repr__(self) -> str:
        return f"Configs({self._n} models, axes {list(self._axes)})"


class Grid:
    """A validated grid: its axes (varied keys and their values) and fixed values.

    Example:
        >>> g = make_grid({"lr": [0.1, 0.5], "momentum": [0.0, 0.9]}, epochs=5)
        >>> g.n_models, g.axes
        (4, {'lr': [0.1, 0.5], 'momentum': [0.0, 0.9]})
        >>> g.configs[1]["lr"], g.configs[1]["momentum"], g.configs[1]["epochs"]
        (0.1, 0.9, 5)
        >>> g.column("momentum").tolist()
        [0.0, 0.9, 0.0, 0.9]
    """

    def __init__(self, axes: dict[str, list[Any]], fixed: dict[str, Any], notes: tuple[str, ...] = ()):
        self.axes = axes  # the varied keys and their values, in the order given
        self.fixed = fixed  # every hp that is not an axis
        self.notes = notes  # one line per setting a later one overrode (see merge_settings)
        self.n_models = math.prod(len(v) for v in axes.values())

    def __repr__(self) -> str:
        return f"Grid({self.n_models} models, axes={self.axes!r})"

    @functools.cached_property
    def configs(self) -> Configs:
        """The full hp dict of each model, in HP_DEFAULTS order, built lazily (see :class:`Configs`)."""
        return Configs(self.axes, self.fixed)

    def values(self, key: str) -> list[Any]:
        """The distinct values ``key`` takes, in order of first use.

        Example:
            >>> make_grid(n1=[4, 2]).values("n1"), make_grid(n1=[4, 2]).values("n2")
            ([4, 2], [10])
        """
        return list(self.axes[key]) if key in self.axes else [self.fixed[key]]

    def index(self, key: str) -> np.ndarray:
        """Per model, the index of its ``key`` value in :meth:`values` (int64, read-only).

        Example:
            >>> make_grid(lr=[0.1, 0.5], n1=[4, 2, 3]).index("n1").tolist()
            [0, 1, 2, 0, 1, 2]
        """
        if key not in self.axes:
            return np.broadcast_to(np.int64(0), (self.n_models,))
        names = list(self.axes)
        inner = math.prod(len(self.axes[k]) for k in names[names.index(key) + 1:])
        return (np.arange(self.n_models, dtype=np.int64) // inner) % len(self.axes[key])

    def column(self, key: str) -> np.ndarray:
        """Every model's ``key`` value as one NumPy array (read-only; a fixed value is broadcast).

        Example:
            >>> make_grid(lr=[0.1, 0.5], n1=[4, 2]).column("n1").tolist()
            [4, 2, 4, 2]
        """
        return np.asarray(self.values(key))[self.index(key)]

    def dataset_keys(self) -> list[tuple[str, float, int]]:
        """The distinct datasets of the grid, in order of first use."""
        return self._datasets[0]

    @functools.cached_property
    def _datasets(self) -> tuple[list[tuple[str, float, int]], np.ndarray]:
        """The distinct dataset keys (first use) and, per model, the index of its key."""
        names = self.values("dataset")
        varying = [k for k in ("dataset", "noise", "seed") if k in self.axes]
        if not any(name in NOISY_DATASETS for name in names):
            varying = [k for k in varying if k == "dataset"]  # noise and seed do not change these sets
        # the first use of each combination of the axes that matter follows their own product order
        sub = {k: self.axes[k] for k in varying}
        combos = Configs(sub, self.fixed)
        keys = [dataset_key(c) for c in combos]
        distinct = list(dict.fromkeys(keys))
        position = {k: j for j, k in enumerate(distinct)}
        code = np.array([position[k] for k in keys], np.int64)
        flat = np.zeros(self.n_models, np.int64)
        for k in varying:  # the model's index into the sub-product
            flat = flat * len(self.axes[k]) + self.index(k)
        return distinct, code[flat]

    def data_index(self) -> np.ndarray:
        """Per model, its dataset's row in :meth:`dataset_keys`."""
        return self._datasets[1]

    def static(self, n_train: list[int]) -> Static:
        """Shapes of the program, given the training-set size of each of :meth:`dataset_keys`."""
        sizes = np.asarray(n_train, np.int64)
        # the most batches of any (dataset, batch size) pair the grid holds
        bs = np.asarray(self.values("batch_size"), np.int64)
        n = sizes[:, None]  # every dataset key is some model's (and every batch size meets every dataset)
        taken = np.minimum(bs[None, :], n)  # the samples of a batch (a training set smaller than the batch: all)
        steps, widest = int((-(-n // taken)).max()), int(taken.max())
        widths = [max(self.values(k)) for k in ("n1", "n2", "n3")]
        inputs = self.inputs()
        task, classes = resolve_task(self.values("task")[0], self.values("classes")[0], self.values("dataset"))
        paper = fractal_static(self.values)
        inputs = paper.pop("inputs", inputs)
        # a small grid's program holds every activation, slot and Keras optimiser (SHARED_MODELS)
        shared = self.n_models <= SHARED_MODELS
        return Static(
            # the width of the program is a bucket (see :func:`bucket`), so nearby grids share it
            hidden=bucket(self.width()),
            slots=3 if widths[2] or shared else 2 if widths[1] else 1,
            activations=ACTIVATIONS if shared else tuple(self.values("activation")),
            # optax optimisers keep states of their own: only the grid's are compiled
            optimizers=(tuple(dict.fromkeys(OPTIMIZERS + tuple(self.values("optimizer")))) if shared
                        else tuple(self.values("optimizer"))),
            batch=lanes(widest),  # a batch's micro-batches share the lanes
            steps=steps,
            epochs=max(self.values("epochs")),
            shuffle=self.values("shuffle")[0],
            inputs=inputs,
            schedules=tuple(self.values("schedule")),
            layer_lr=any(v != 1.0 for k in LAYER_LR for v in self.values(k)),
            task=task,
            classes=classes if task == "multiclass" else 2,
            **paper,
        )

    def width(self) -> int:
        """The widest hidden layer (2 at least with ``n1 = 0``: the inputs pass through), before :func:`bucket`.

        Example:
            >>> make_grid(n1=[4, 10], n2=3).width(), make_grid(n1=0, n2=0).width()
            (10, 2)
        """
        widths = [max(self.values(k)) for k in ("n1", "n2", "n3")]
        # a model without hidden layers (n1 = 0) passes its inputs through the first slot
        return max(max(widths), self.inputs() if 0 in self.values("n1") else 1)

    def inputs(self) -> int:
        """Input columns every model is padded to: the most features any model uses.

        Example:
            >>> make_grid(features=["x", "x+sq"]).inputs()
            4
        """
        return max(feature_count(f) for f in self.values("features"))

    def _orders(self, n_train: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Distinct (seed, size) pairs, sorted, and each model's row among them."""
        seed = self.column("seed").astype(np.int64)
        size = np.asarray(n_train, np.int64)[self.data_index()]
        pairs, inverse = np.unique(seed * (1 << 32) + size, return_inverse=True)  # sorted by seed, then size
        return (pairs >> 32).astype(np.uint32), (pairs & 0xFFFFFFFF).astype(np.int32), inverse.reshape(-1)

    def order_table(self, n_train: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (seed, training-set size) pairs: batch orders are drawn once per pair."""
        return self._orders(n_train)[:2]

    def hparams(self, n_train: list[int], min_models: int = MIN_MODELS) -> HParams:
        """The per-model settings as NumPy arrays, one row per model (the engine places them on devices).

        Padded to at least ``min_models`` rows by repeating the last model: XLA compiles a
        program over a single model differently (its size-1 axes are simplified away and sums
        run in another order), so a lone model would round differently from the same model
        inside a grid. From two models on, results do not depend on the grid. Callers drop
        the padded rows.

        Example:
            >>> h = make_grid(lr=[0.1, 0.5], n2=[0, 4]).hparams([60])
            >>> h.lr.tolist(), h.widths[:, 1].tolist()
            ([0.10000000149011612, 0.10000000149011612, 0.5, 0.5], [0, 4, 0, 4])
        """
        rows = np.minimum(np.arange(max(self.n_models, min_models)), self.n_models - 1)
        static = self.static(n_train)
        real = np.float64 if static.precision == "float64" else np.float32  # the grid's float type
        col = lambda key, dt: self.column(key).astype(real if dt is np.float32 else dt)[rows]  # noqa: E731

        def coded(key, names):  # each model's value as its index in ``names``
            return np.asarray([names.index(v) for v in self.values(key)], np.int32)[self.index(key)][rows]

        return HParams(
            lr=col("lr", np.float32),
            decay=col("decay", np.float32),
            momentum=col("momentum", np.float32),
            kr=col("kr", np.float32),
            patience=col("patience", np.int32),
            seed=col("seed", np.uint32),
            widths=np.stack([col(k, np.int32) for k in ("n1", "n2", "n3")], axis=1),
            activation=coded("activation", static.activations),
            optimizer=coded("optimizer", static.optimizers),
            batch_size=col("batch_size", np.int32),
            epochs=col("epochs", np.int32),
            data_index=self.data_index().astype(np.int32)[rows],
            order_index=self._orders(n_train)[2].astype(np.int32)[rows],
            features=np.asarray([feature_code(f) for f in self.values("features")], np.int32)[self.index("features")][rows],
            bias=col("bias", np.float32),
            init=coded("init", INITS),
            parametrization=coded("parametrization", PARAMETRIZATIONS),
            l1=col("l1", np.float32),
            schedule=coded("schedule", static.schedules),
            layer_lr=np.stack([col(k, np.float32) for k in LAYER_LR], axis=1),
        )


def make_grid(hp: dict[str, Any] | None = None, /, **overrides: Any) -> Grid:
    """Validate ``hp`` (then ``overrides`` on top, later wins: see :func:`merge_settings`) into a grid.

    Each axis's values are checked once; the model count is the product of the axis lengths and
    nothing per model is built here.

    Example:
        >>> make_grid(lr=[0.01, 0.1], n1=[2, 10]).axes
        {'lr': [0.01, 0.1], 'n1': [2, 10]}
        >>> g = make_grid({"lr": [0.1, 0.5]}, lr=0.3)
        >>> g.fixed["lr"], g.axes, g.notes
        (0.3, {}, ('jaxviz: note: lr=0.3 overrides lr=[0.1, 0.5] (overrides over hp)',))
    """
    if hp is not None and not isinstance(hp, dict):
        raise ValueError(f"hp must be a dict of hyperparameters. Got {type(hp).__name__} instead.")
    merged, notes = merge_settings([("hp", hp or {}), ("overrides", overrides)])
    given = _validate(merged)
    axes = {k: v for k, v in given.items() if isinstance(v, list)}
    for key in GRID_WIDE:
        if len(axes.get(key, ())) > 1:
            raise ValueError(f"{key} must be one value within a grid. Got {axes[key]!r} instead.")
    fixed = {**HP_DEFAULTS, **given}
    fixed = {k: v for k, v in fixed.items() if k not in axes}
    return Grid(axes=axes, fixed=fixed, notes=tuple(notes))


def with_dataset(grid: Grid, name: str) -> Grid:
    """The grid with every model's dataset set to the user's data ``name``.

    Example:
        >>> with_dataset(make_grid(lr=[0.1, 0.5]), "custom").configs[1]["dataset"]
        'custom'
    """
    if "dataset" in grid.axes:
        raise ValueError(f"dataset must not be a grid axis when data= is given. Got {grid.axes['dataset']!r} instead.")
    return Grid(grid.axes, {**grid.fixed, "dataset": name}, grid.notes)

