"""Training for trainability maps: every model's score and last-epoch metrics, nothing per epoch.

The same compiled program as a ``record="final"`` sweep (:func:`jaxviz.engine.train.run_epochs`,
models in fixed blocks, so a pixel computes exactly as that model in any other grid), with the
trainability measure (:mod:`jaxviz.engine.score`) carried inside it. Chunks of models run one
after another, each through all its epochs, so only one chunk's training state exists at a time
and the host keeps a few numbers per model: a million-model map fits in a few hundred megabytes.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from jaxviz.engine.devices import place, to_host
from jaxviz.engine.precision import as_real, precision_scope, real_dtype
from jaxviz.engine.score import WINDOW, Convergence, convergence_score
from jaxviz.engine.train import METRICS, _layout, chunk_length
from jaxviz.engine.steps import per_sample
from jaxviz.spec.grid import HParams, Static

__all__ = ["MapResults", "train_map"]


class MapResults(NamedTuple):
    """What a map keeps per model (flat model order, as the grid's)."""

    score: np.ndarray  # (n,) the grid's float type: the trainability measure, negative = converged
    converged: np.ndarray  # (n,) bool
    final: dict  # History name -> (n,) float32, at each model's own last epoch (NaN if it diverged)


_score = jax.jit(jax.vmap(convergence_score))


def _empty(rows: int, sharding, dtype=np.float32) -> Convergence:
    z = np.zeros(rows, dtype)
    return Convergence(*(place(a, sharding) for a in (z, z, z, np.zeros((rows, WINDOW), dtype),
                                                       np.zeros(rows, np.int32))))


def train_map(hp: HParams, orders_table, table, static: Static, chunk: int | None = None, devices=None,
              on_models=None) -> MapResults:
    """Train every model of ``hp`` (rows as in :func:`jaxviz.engine.train.train_grid`) and return its
    trainability score, whether it converged and its metrics at its last epoch. A float64 grid
    (``static.precision``) trains and scores in float64 (:mod:`jaxviz.engine.precision`).

    Chunks of ``chunk`` models (whole blocks on every device; default all at once) train one after
    another through all epochs; the model axis of a chunk is sharded over ``devices``.
    ``on_models(done)`` gets the models trained so far (a float: chunk progress counts by epochs).

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> from jaxviz.data import load_dataset, pack
        >>> g = make_grid(lr=[0.1, 50.0], epochs=3)
        >>> n = [60]
        >>> out = train_map(g.hparams(n), g.order_table(n), pack([load_dataset("moons")]), g.static(n))
        >>> out.converged.tolist(), bool(out.score[1] > 0), out.final["loss"].shape
        ([True, False], True, (2,))
    """
    with precision_scope(static):
        return _train_map(hp, as_real(table, static), static, orders_table, chunk, devices, on_models)


def _train_map(hp, table, static: Static, orders_table, chunk, devices, on_models) -> MapResults:
    e = static.epochs
    length = chunk_length(e)
    n = len(np.asarray(hp.lr))
    lay = _layout(n, static, length, chunk, devices, "final", scored=True, hp=hp)
    table_d = jax.tree.map(lambda a: place(a, lay.everywhere), table)
    orders_d = jax.tree.map(lambda a: place(a, lay.everywhere), orders_table)
    real = np.dtype(real_dtype(static))
    score, converged = np.empty(n, real), np.empty(n, bool)
    final = np.full((len(METRICS), n), np.nan, real)
    own_last = np.asarray(hp.epochs, np.int64) - 1
    n_max = table.x_train.shape[1]
    for k in range(lay.n_chunks):
        rows = lay.rows(k)
        m = rows.stop - rows.start
        index = np.minimum(np.arange(k * lay.chunk, (k + 1) * lay.chunk), n - 1)  # the last chunk padded
        h_host = jax.tree.map(lambda a, index=index: np.asarray(a)[index], hp)
        h = jax.tree.map(lambda a: place(a, lay.sharded), h_host)
        state = lay.fresh(0, h_host, h)
        acc = _empty(lay.chunk, lay.sharded, real)
        last = own_last[rows]
        counts = per_sample(table, hp, rows, real)  # sums -> History means (see RATIOS)
        for first in range(0, e, length):
            count = min(length, e - first)
            orders = lay.draw(orders_d, jnp.int32(first), n_max=n_max, length=length, shuffle=lay.shuffle)
            state, (ms, _), acc = lay.epochs(state, h, orders, table_d, jnp.int32(first), acc)
            hit = (last >= first) & (last < first + count)  # models whose last epoch is in this call
            if hit.any():
                at = (last[hit] - first).astype(np.int64)
                for j, x in enumerate(ms):
                    final[j, rows][hit] = to_host(x)[at, np.flatnonzero(hit)] / counts[j, hit]
            if on_models is not None:  # calls run asynchronously: report the epochs done, not dispatched
                jax.block_until_ready(ms[0])
                on_models(rows.start + m * (first + count) / e)
        s, c = _score(acc)
        score[rows], converged[rows] = to_host(s)[:m], to_host(c)[:m]
        del state, acc
    return MapResults(score, converged, dict(zip(METRICS, final)))
