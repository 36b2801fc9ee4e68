"""The trainability score of Sohl-Dickstein (2024), "The boundary of neural network trainability is
fractal": the notebook's ``convergence_measure`` of a model's loss curve, negative when it converged.

For a loss curve ``v`` (one value per epoch here, one per step in the notebook): non-finite
values become ``MAX_VALUE``; ``v`` is divided by its first value and clipped at ``MAX_VALUE``; the
model converged when the mean of the last ``WINDOW`` normalised values is below 1; the score is
``-sum(v)`` if it converged, else ``sum(1 / v)``.

The normaliser ``v[0]`` is the History ``loss`` of the first epoch: the mean of the batch losses
of epoch 1, each taken before its update. With full-batch training (one step per epoch) that is
exactly the loss before any training, the notebook's ``losses[0]``; with smaller batches it
already includes the first epoch's progress.

:class:`Convergence` computes it on the fly, epoch by epoch, from running sums and a ring of the
last ``WINDOW`` values (no loss history is kept); :func:`convergence_measure` is the notebook's
whole-history form, for reference.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["MAX_VALUE", "WINDOW", "Convergence", "convergence_init", "convergence_update", "convergence_score",
           "convergence_measure"]

#: What a non-finite loss counts as, and where normalised losses are clipped (the notebook's max_val).
MAX_VALUE = 1e6
#: The last epochs whose mean decides convergence (the notebook's ``v[-20:]``).
WINDOW = 20


class Convergence(NamedTuple):
    """One model's running convergence measure (vmapped: a leading model axis on every field)."""

    first: jax.Array  # () float32: the first counted loss (non-finite -> MAX_VALUE), the normaliser
    total: jax.Array  # () float32: sum of the normalised losses so far
    inverse: jax.Array  # () float32: sum of 1 / the normalised losses so far
    last: jax.Array  # (WINDOW,) float32: ring of the last normalised losses (slot = count % WINDOW)
    count: jax.Array  # () int32: losses counted


def convergence_init(n: int | None = None, dtype=jnp.float32) -> Convergence:
    """An empty measure: of one model, or of ``n`` models (a leading axis); its sums are ``dtype``
    (float64 for a float64 grid).

    Example:
        >>> convergence_init(3).last.shape
        (3, 20)
    """
    lead = () if n is None else (n,)
    zero = jnp.zeros(lead, dtype)
    return Convergence(zero, zero, zero, jnp.zeros((*lead, WINDOW), dtype), jnp.zeros(lead, jnp.int32))


def convergence_update(acc: Convergence, loss, valid) -> Convergence:
    """``acc`` after one more epoch's training ``loss``; unchanged where not ``valid`` (epochs beyond
    the model's own count). A NaN loss after divergence counts as ``MAX_VALUE``, as in the notebook.

    Example:
        >>> acc = convergence_init()
        >>> for loss in (2.0, 1.0, 0.5):
        ...     acc = convergence_update(acc, jnp.float32(loss), True)
        >>> float(acc.total), float(acc.inverse), int(acc.count)
        (1.75, 7.0, 3)
    """
    raw = jnp.where(jnp.isfinite(loss), loss, MAX_VALUE).astype(acc.first.dtype)  # the measure's float type
    first = jnp.where(acc.count == 0, raw, acc.first)
    v = raw / first
    v = jnp.where(v > MAX_VALUE, jnp.asarray(MAX_VALUE, v.dtype), v)
    new = Convergence(first, acc.total + v, acc.inverse + 1.0 / v, acc.last.at[acc.count % WINDOW].set(v),
                      acc.count + 1)
    return jax.tree.map(lambda a, b: jnp.where(valid, a, b), new, acc)


def convergence_score(acc: Convergence):
    """``(score, converged)`` of a measure: converged when the mean of the last ``min(WINDOW,
    count)`` normalised losses is below 1; score ``-total`` if so, else ``inverse``.

    Example:
        >>> acc = convergence_init()
        >>> for loss in (2.0, 1.0, 0.5):
        ...     acc = convergence_update(acc, jnp.float32(loss), True)
        >>> score, converged = convergence_score(acc)
        >>> float(score), bool(converged)
        (-1.75, True)
    """
    n = jnp.minimum(acc.count, WINDOW)
    recent = jnp.sum(jnp.where(jnp.arange(WINDOW) < n, acc.last, 0.0), axis=-1) / n
    converged = recent < 1
    return jnp.where(converged, -acc.total, acc.inverse), converged


def convergence_measure(v, max_val: float = MAX_VALUE):
    """The notebook's ``convergence_measure`` of a whole loss curve ``v`` (last axis), for reference:
    :func:`convergence_update` then :func:`convergence_score` give the same without keeping ``v``.

    Example:
        >>> float(convergence_measure(jnp.array([2.0, 1.0, 0.5]))), float(convergence_measure(jnp.array([1.0, 4.0])))
        (-1.75, 1.25)
    """
    v = jnp.where(jnp.isfinite(v), v, max_val)
    v = v / v[..., :1]
    v = jnp.where(v > max_val, max_val, v)
    converged = jnp.mean(v[..., -WINDOW:], axis=-1) < 1
    return jnp.where(converged, -jnp.sum(v, axis=-1), jnp.sum(1 / v, axis=-1))
