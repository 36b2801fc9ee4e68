"""The fractal paper's data and initial weights, exactly as its notebook draws them.

Sohl-Dickstein (2024), "The boundary of neural network trainability is fractal" (its notebook's
``gen_img``, see ``docs/design/fractal-paper.md`` section 3): from ``PRNGKey(0)``, in float64 with
``jax_threefry_partitionable=False`` (JAX's default when the notebook ran), ``split`` once for the
weights (``W0`` 16 x 16, ``W1`` 16 x 1, N(0, 1)), once for the inputs ``X`` (B x 16) and once for
the targets ``Y`` (B x 1), B = 272 (as many points as weights), 16 (the linear variant) or 1 (the
single-datapoint variant). Each B is its own draw (a shorter one is not a prefix of a longer one).

The draws are stored in ``fractal_paper.npz`` beside this module, written by the notebook's own
code (``python benchmarks/fractal_notebook.py --write-draws jaxviz/data/fractal_paper.npz``), so
they do not depend on a JAX flag that may go away; ``tests/test_fractal_preset.py`` draws them
again and compares every bit.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

__all__ = ["DRAWS", "fractal_draws", "fractal_points", "fractal_weights"]

#: The stored draws.
DRAWS = Path(__file__).with_name("fractal_paper.npz")
#: Each of the paper's datasets and the suffix of its draw in :data:`DRAWS`.
_SUFFIX = {"fractal": "", "fractal-linear": "16", "fractal-single": "1"}


@functools.lru_cache(maxsize=1)
def fractal_draws() -> dict[str, np.ndarray]:
    """Every stored draw (float64, read-only): ``W0``, ``W1``, ``X``/``Y`` (272 points),
    ``X16``/``Y16``, ``X1``/``Y1``.

    Example:
        >>> d = fractal_draws()
        >>> d["W0"].shape, d["X"].shape, d["Y1"].shape, round(float(d["W0"][0, 0]), 4)
        ((16, 16), (272, 16), (1, 1), 1.802)
    """
    with np.load(DRAWS) as f:
        out = {k: f[k] for k in f.files}
    for a in out.values():
        a.flags.writeable = False
    return out


def fractal_points(name: str) -> tuple[np.ndarray, np.ndarray]:
    """The inputs ``(B, 16)`` and targets ``(B,)`` (float64) of the paper's dataset ``name``.

    Example:
        >>> [a.shape for a in fractal_points("fractal-linear")]
        [(16, 16), (16,)]
    """
    if name not in _SUFFIX:
        raise ValueError(f"dataset must be one of {list(_SUFFIX)}. Got {name!r} instead.")
    d = fractal_draws()
    return d["X" + _SUFFIX[name]], d["Y" + _SUFFIX[name]][:, 0]


def fractal_weights() -> tuple[np.ndarray, np.ndarray]:
    """The notebook's initial weights ``W0`` (16, 16) and ``W1`` (16, 1), float64 (rows are inputs).

    Example:
        >>> [w.shape for w in fractal_weights()]
        [(16, 16), (16, 1)]
    """
    d = fractal_draws()
    return d["W0"], d["W1"]
