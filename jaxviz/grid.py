"""From a hp dict with lists to the grid: one full config per model, and the arrays that vary.

Any hyperparameter given as a list or tuple is a grid axis; the grid is the Cartesian product of
the axes in the order given (the first axis varies slowest). What varies across models travels as
arrays (:class:`HParams`, vmapped); what fixes shapes is :class:`Static` (hashed into the compiled
program), so a new grid of the same shape with other values reuses the compiled program.
"""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

import jax.numpy as jnp
import numpy as np

from jaxviz.config import HP_DEFAULTS, NUMERIC_AXES, validate_hp

__all__ = ["Grid", "HParams", "Static", "make_grid", "MIN_MODELS"]

#: Programs always train at least this many models (see :meth:`Grid.hparams`).
MIN_MODELS = 2


class HParams(NamedTuple):
    """Per-model hyperparameters, each an array with a leading model axis ``(n_models,)``."""

    lr: Any  # float32
    decay: Any  # float32
    momentum: Any  # float32
    kr: Any  # float32
    patience: Any  # int32
    seed: Any  # uint32
    seed_index: Any  # int32, row of this model's seed in ``Grid.unique_seeds()``


class Static(NamedTuple):
    """Settings shared by the whole grid that fix shapes or code paths (hashable)."""

    widths: tuple[int, ...]  # hidden widths actually present, e.g. (10, 10)
    activation: str
    dataset: str
    batch_size: int
    epochs: int
    shuffle: bool


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

    @property
    def static(self) -> Static:
        c = self.configs[0]  # structural keys are equal across the grid
        return Static(
            widths=tuple(w for w in (c["n1"], c["n2"], c["n3"]) if w > 0),
            activation=c["activation"],
            dataset=c["dataset"],
            batch_size=c["batch_size"],
            epochs=c["epochs"],
            shuffle=c["shuffle"],
        )

    def hparams(self, min_models: int = MIN_MODELS) -> HParams:
        """The varying hyperparameters as device arrays, one entry per model.

        Padded to at least ``min_models`` entries by repeating the last model: XLA compiles a
        program over a single model differently (its size-1 axes are simplified away and sums
        run in another order), so a lone model would round differently from the same model
        inside a grid. From two models on, the results are bitwise independent of the grid
        size. Callers drop the padded rows.
        """
        configs = self.configs + [self.configs[-1]] * max(0, min_models - len(self.configs))
        col = lambda k, dt: jnp.asarray(np.array([c[k] for c in configs], dtype=dt))  # noqa: E731
        return HParams(
            lr=col("lr", np.float32),
            decay=col("decay", np.float32),
            momentum=col("momentum", np.float32),
            kr=col("kr", np.float32),
            patience=col("patience", np.int32),
            seed=col("seed", np.uint32),
            seed_index=jnp.asarray(
                np.searchsorted(self.unique_seeds(), [c["seed"] for c in configs]).astype(np.int32)
            ),
        )

    def unique_seeds(self) -> np.ndarray:
        """The distinct seeds of the grid, sorted (uint32): batch orders are drawn once per seed."""
        return np.unique(np.array([c["seed"] for c in self.configs], dtype=np.uint32))


def make_grid(hp: dict[str, Any] | None = None, /, **overrides: Any) -> Grid:
    """Validate ``hp`` (then ``overrides`` on top) and expand its lists into a grid.

    Example:
        >>> make_grid(lr=[0.01, 0.1]).axes
        {'lr': [0.01, 0.1]}
    """
    merged = dict(hp or {})
    for key, value in overrides.items():
        merged.pop(key, None)  # an override moves the key to the end of the axis order
        merged[key] = value
    given = validate_hp(merged)
    axes = {k: v for k, v in given.items() if isinstance(v, list)}
    for key, values in axes.items():
        if key not in NUMERIC_AXES and len(values) > 1:
            raise ValueError(
                f"{key} must be one value within a grid (only {list(NUMERIC_AXES)} can vary "
                f"in one program for now). Got {values!r} instead."
            )
    fixed = {**HP_DEFAULTS, **given}
    fixed = {k: v for k, v in fixed.items() if k not in axes}
    configs = [
        {k: dict(zip(axes, combo)).get(k, fixed.get(k)) for k in HP_DEFAULTS} for combo in itertools.product(*axes.values())
    ]
    return Grid(configs=configs, axes=axes, fixed=fixed)
