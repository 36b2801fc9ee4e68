"""From a hp dict with lists to the grid: one full config per model, and the arrays that vary.

Any hyperparameter given as a list or tuple is a grid axis; the grid is the Cartesian product of
the axes in the order given (the first axis varies slowest). Every model of the grid trains in
ONE compiled program: what varies across models travels as arrays (:class:`HParams`, vmapped),
including the structure (widths, activation, dataset, batch size, epochs, optimizer), which the
program reads as masks; what fixes shapes is :class:`Static` (hashed into the compiled program):
the largest width, the number of layer slots, the largest batch, the most epochs. A new grid of
the same shape with other values reuses the compiled program.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import numpy as np

from jaxviz.spec.config import GRID_WIDE, HP_DEFAULTS, PLAYGROUND_DATASETS, validate_hp

__all__ = ["Grid", "HParams", "Static", "make_grid", "with_dataset", "MIN_MODELS", "dataset_key"]

#: Programs always train at least this many models (see :meth:`Grid.hparams`).
MIN_MODELS = 2


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


class Static(NamedTuple):
    """What fixes the program's shapes and code paths (hashable); the same for every model."""

    hidden: int  # width every hidden layer is padded to
    slots: int  # hidden layer slots (1-3); a model without that layer passes its input through
    activations: tuple[str, ...]  # the activations used in the grid
    optimizers: tuple[str, ...]  # the optimizers used in the grid
    batch: int  # the largest batch size
    steps: int  # the most batches per epoch of any model
    epochs: int  # the most epochs of any model
    shuffle: bool
    task: str = "binary"  # what the output means (jaxviz.engine.task.TASKS)


def dataset_key(config: dict[str, Any]) -> tuple[str, float, int]:
    """What determines a model's data: Playground sets depend on ``noise`` and ``seed``.

    Example:
        >>> dataset_key({"dataset": "moons", "noise": 0.3, "seed": 4})
        ('moons', 0.0, 0)
        >>> dataset_key({"dataset": "xor", "noise": 0.3, "seed": 4})
        ('xor', 0.3, 4)
    """
    if config["dataset"] in PLAYGROUND_DATASETS:
        return config["dataset"], float(config["noise"]), int(config["seed"])
    return config["dataset"], 0.0, 0


class Grid(NamedTuple):
    """A validated grid.

    Example:
        >>> g = make_grid({"lr": [0.1, 0.5], "momentum": [0.0, 0.9]}, epochs=5)
        >>> len(g.configs), g.axes
        (4, {'lr': [0.1, 0.5], 'momentum': [0.0, 0.9]})
        >>> g.configs[1]["lr"], g.configs[1]["momentum"], g.configs[1]["epochs"]
        (0.1, 0.9, 5)
    """

    configs: list[dict[str, Any]]  # the full hp dict of each model, in HP_DEFAULTS order
    axes: dict[str, list[Any]]  # the varied keys and their values, in the order given
    fixed: dict[str, Any]  # every hp that is not an axis

    def dataset_keys(self) -> list[tuple[str, float, int]]:
        """The distinct datasets of the grid, in order of first use."""
        return list(dict.fromkeys(dataset_key(c) for c in self.configs))

    def static(self, n_train: list[int]) -> Static:
        """Shapes of the program, given the training-set size of each of :meth:`dataset_keys`."""
        c = self.configs
        widths = [(m["n1"], m["n2"], m["n3"]) for m in c]
        sizes = dict(zip(self.dataset_keys(), n_train))
        steps = max(-(-sizes[dataset_key(m)] // min(m["batch_size"], sizes[dataset_key(m)])) for m in c)
        return Static(
            # a model without hidden layers (n1 = 0) passes its 2 inputs through the first slot
            hidden=max(max(max(w) for w in widths), 2 if any(w[0] == 0 for w in widths) else 1),
            slots=max(3 if w[2] else 2 if w[1] else 1 for w in widths),
            activations=tuple(dict.fromkeys(m["activation"] for m in c)),
            optimizers=tuple(dict.fromkeys(m["optimizer"] for m in c)),
            batch=max(m["batch_size"] for m in c),
            steps=steps,
            epochs=max(m["epochs"] for m in c),
            shuffle=c[0]["shuffle"],
        )

    def order_table(self, n_train: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Distinct (seed, training-set size) pairs: batch orders are drawn once per pair."""
        sizes = dict(zip(self.dataset_keys(), n_train))
        pairs = sorted({(m["seed"], sizes[dataset_key(m)]) for m in self.configs})
        return np.array([p[0] for p in pairs], np.uint32), np.array([p[1] for p in pairs], np.int32)

    def hparams(self, n_train: list[int], min_models: int = MIN_MODELS) -> HParams:
        """The per-model settings as NumPy arrays, one row per model (the engine places them on devices).

        Padded to at least ``min_models`` rows by repeating the last model: XLA compiles a
        program over a single model differently (its size-1 axes are simplified away and sums
        run in another order), so a lone model would round differently from the same model
        inside a grid. From two models on, results do not depend on the grid. Callers drop
        the padded rows.
        """
        configs = self.configs + [self.configs[-1]] * max(0, min_models - len(self.configs))
        static = self.static(n_train)
        keys = self.dataset_keys()
        sizes = dict(zip(keys, n_train))
        seeds, ns = self.order_table(n_train)
        pairs = {(int(s), int(n)): i for i, (s, n) in enumerate(zip(seeds, ns))}
        col = lambda f, dt: np.array([f(c) for c in configs], dtype=dt)  # noqa: E731
        return HParams(
            lr=col(lambda c: c["lr"], np.float32),
            decay=col(lambda c: c["decay"], np.float32),
            momentum=col(lambda c: c["momentum"], np.float32),
            kr=col(lambda c: c["kr"], np.float32),
            patience=col(lambda c: c["patience"], np.int32),
            seed=col(lambda c: c["seed"], np.uint32),
            widths=col(lambda c: (c["n1"], c["n2"], c["n3"]), np.int32),
            activation=col(lambda c: static.activations.index(c["activation"]), np.int32),
            optimizer=col(lambda c: static.optimizers.index(c["optimizer"]), np.int32),
            batch_size=col(lambda c: c["batch_size"], np.int32),
            epochs=col(lambda c: c["epochs"], np.int32),
            data_index=col(lambda c: keys.index(dataset_key(c)), np.int32),
            order_index=col(lambda c: pairs[(c["seed"], sizes[dataset_key(c)])], np.int32),
        )


def make_grid(hp: dict[str, Any] | None = None, /, **overrides: Any) -> Grid:
    """Validate ``hp`` (then ``overrides`` on top) and expand its lists into a grid.

    Example:
        >>> make_grid(lr=[0.01, 0.1], n1=[2, 10]).axes
        {'lr': [0.01, 0.1], 'n1': [2, 10]}
    """
    merged = dict(hp or {})
    for key, value in overrides.items():
        merged.pop(key, None)  # an override moves the key to the end of the axis order
        merged[key] = value
    given = validate_hp(merged)
    axes = {k: v for k, v in given.items() if isinstance(v, list)}
    for key in GRID_WIDE:
        if len(axes.get(key, ())) > 1:
            raise ValueError(f"{key} must be one value within a grid. Got {axes[key]!r} instead.")
    fixed = {**HP_DEFAULTS, **given}
    fixed = {k: v for k, v in fixed.items() if k not in axes}
    configs = [
        {k: dict(zip(axes, combo)).get(k, fixed.get(k)) for k in HP_DEFAULTS} for combo in itertools.product(*axes.values())
    ]
    return Grid(configs=configs, axes=axes, fixed=fixed)


def with_dataset(grid: Grid, name: str) -> Grid:
    """The grid with every model's dataset set to the user's data ``name``.

    Example:
        >>> with_dataset(make_grid(lr=[0.1, 0.5]), "custom").configs[1]["dataset"]
        'custom'
    """
    if "dataset" in grid.axes:
        raise ValueError(f"dataset must not be a grid axis when data= is given. Got {grid.axes['dataset']!r} instead.")
    configs = [{**c, "dataset": name} for c in grid.configs]
    return Grid(configs, grid.axes, {**grid.fixed, "dataset": name})
