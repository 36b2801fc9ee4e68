"""Where a stopped training run stands (:class:`Checkpoint`), and how a run continues from it."""

from __future__ import annotations

from typing import NamedTuple

import jax
import numpy as np

from jaxviz.engine.devices import pad_rows

__all__ = ["Checkpoint"]


class Checkpoint(NamedTuple):
    """Where a stopped training run stands: enough to continue it exactly (``resume=`` of
    :func:`jaxviz.engine.train.train_grid` and :func:`jaxviz.sweep`).

    Example:
        >>> Checkpoint(state=[], done=3, metrics=[], weights=[], initial_val=()).done
        3
    """

    state: list  # the leaves of every model's TrainState (NumPy arrays)
    done: int  # epochs trained
    metrics: list  # History metrics so far, each (n_models, done), in the task's History order (METRICS)
    weights: list  # weight arrays so far, each (n_models, done + 1, ...); record="final": the initial only
    initial_val: tuple  # test loss and accuracy before training, each (n_models,)


def _continue_from(lay, resume: Checkpoint, hp_chunks, table_d, e: int, metrics, record: str):
    """States, weight store and initial test figures of a checkpoint, to train on from it."""
    done = resume.done
    kept = resume.weights[0].shape[1]
    if record == "history" and kept != done + 1:
        raise ValueError(f"resume must be a checkpoint of a record='history' run (weights of epochs 0-{done}). "
                         f"Got one with {kept} epochs of weights instead.")
    shapes = lay.start.eval_shape(hp_chunks[0])
    structure, want, got = jax.tree.structure(shapes), [x.shape[1:] for x in jax.tree.leaves(shapes)], [
        np.shape(v)[1:] for v in resume.state]
    if got != want:  # e.g. a checkpoint of an older jaxviz (which kept weights array by array)
        raise ValueError(f"resume must be a checkpoint of this grid by this jaxviz version (state arrays shaped {want} "
                         f"per model). Got {got} instead.")
    leaves = [pad_rows(v, lay.chunk * lay.n_chunks) for v in resume.state]
    states = [jax.tree.unflatten(structure, [lay.split(v, k) for v in leaves]) for k in range(lay.n_chunks)]
    metrics[:, :, :done] = np.stack([m[:, :done] for m in resume.metrics])
    size = e + 1 if record == "history" else 2
    weights = [np.empty((lay.n, size, *w.shape[2:]), w.dtype) for w in resume.weights]
    for store, w in zip(weights, resume.weights):
        if record == "history":
            store[:, : done + 1] = w[:, : done + 1]
        else:
            store[:, 0] = w[:, 0]
    return states, weights, resume.initial_val
