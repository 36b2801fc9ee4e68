"""Keras' optimisers as pure functions of explicit state, with Keras' default constants.

Every optimiser sees the same learning rate ``lr_t = lr_base / (1 + decay * t)`` (the legacy
time decay, ``t`` = updates so far) where ``lr_base`` is the plateau-adjusted rate. Updates, with
``g`` the gradient (all element-wise):

- ``sgd`` (Keras SGD, not optax's): ``m <- momentum * m - lr_t * g``; ``w <- w + m``.
  A change of rate does not rescale past velocity (optax.sgd's ``g + momentum * m`` would).
- ``adam`` (beta_1 0.9, beta_2 0.999, epsilon 1e-7): ``m <- m + (g - m)(1 - beta_1)``;
  ``v <- v + (g^2 - v)(1 - beta_2)``; ``w <- w - m * alpha / (sqrt(v) + eps)`` with
  ``alpha = lr_t * sqrt(1 - beta_2^(t+1)) / (1 - beta_1^(t+1))``.
- ``rmsprop`` (rho 0.9, no momentum, epsilon 1e-7): ``v <- rho v + (1 - rho) g^2``;
  ``w <- w - lr_t g / sqrt(v + eps)``.
- ``adagrad`` (initial accumulator 0.1, epsilon 1e-7): ``v <- v + g^2``;
  ``w <- w - lr_t g / sqrt(v + eps)``.

``momentum`` is used by ``sgd`` only. All state is two buffers shaped like the parameters.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["OptState", "init_opt_state", "update", "sgd_step", "KERAS_DEFAULTS"]

KERAS_DEFAULTS = {"beta_1": 0.9, "beta_2": 0.999, "rho": 0.9, "epsilon": 1e-7, "adagrad_initial": 0.1}


class OptState(NamedTuple):
    m: object  # like params: sgd velocity / adam first moment
    v: object  # like params: adam second moment / rmsprop average / adagrad accumulator


def init_opt_state(params, optimizer, names: tuple[str, ...]) -> OptState:
    """Zero buffers, except Adagrad's accumulator which starts at 0.1 (Keras)."""
    v0 = jnp.where(optimizer == names.index("adagrad"), KERAS_DEFAULTS["adagrad_initial"], 0.0) \
        if "adagrad" in names else 0.0
    return OptState(jax.tree.map(jnp.zeros_like, params), jax.tree.map(lambda p: jnp.full_like(p, v0), params))


def sgd_step(w, m, g, lr_t, momentum):
    """Keras SGD (non-Nesterov) on one array: returns ``(w, m)``.

    Example:
        >>> w, m = sgd_step(jnp.ones(2), jnp.zeros(2), jnp.ones(2), 0.1, 0.9)
        >>> [round(float(x), 6) for x in w]
        [0.9, 0.9]
    """
    m = momentum * m - lr_t * g
    return w + m, m


def _one(name, w, m, v, g, lr_t, momentum, step):
    d = KERAS_DEFAULTS
    if name == "sgd":
        w, m = sgd_step(w, m, g, lr_t, momentum)
        return w, m, v
    if name == "adam":
        t = (step + 1).astype(jnp.float32)
        alpha = lr_t * jnp.sqrt(1 - jnp.power(jnp.float32(d["beta_2"]), t)) / (1 - jnp.power(jnp.float32(d["beta_1"]), t))
        m = m + (g - m) * (1 - d["beta_1"])
        v = v + (jnp.square(g) - v) * (1 - d["beta_2"])
        return w - (m * alpha) / (jnp.sqrt(v) + d["epsilon"]), m, v
    if name == "rmsprop":
        v = d["rho"] * v + (1 - d["rho"]) * jnp.square(g)
        return w - (lr_t * g) / jnp.sqrt(v + d["epsilon"]), m, v
    if name == "adagrad":
        v = v + jnp.square(g)
        return w - (lr_t * g) / jnp.sqrt(v + d["epsilon"]), m, v
    raise ValueError(f"optimizer must be one of ['sgd', 'adam', 'rmsprop', 'adagrad']. Got {name!r} instead.")


def update(params, state: OptState, grads, lr_t, momentum, step, optimizer, names: tuple[str, ...]):
    """One update of the model's optimiser ``names[optimizer]`` (traced index; only the grid's
    optimisers are computed). Returns ``(params, state)``.

    Example:
        >>> p = {"w": jnp.ones(2)}
        >>> s = init_opt_state(p, 0, ("adam",))
        >>> p, s = update(p, s, {"w": jnp.ones(2)}, 0.1, 0.9, jnp.int32(0), 0, ("adam",))
        >>> round(float(p["w"][0]), 4)  # Adam's first step moves by about lr
        0.9
    """
    def per_leaf(w, m, v, g):
        outs = [_one(n, w, m, v, g, lr_t, momentum, step) for n in names]
        if len(outs) == 1:
            return outs[0]
        pick = [optimizer == i for i in range(len(names))]
        return tuple(jnp.select(pick, [o[j] for o in outs]) for j in range(3))

    flat_p, tree = jax.tree.flatten(params)
    results = [per_leaf(*leaves) for leaves in zip(flat_p, jax.tree.leaves(state.m), jax.tree.leaves(state.v),
                                                   jax.tree.leaves(grads))]
    unflat = lambda j: jax.tree.unflatten(tree, [r[j] for r in results])  # noqa: E731
    return unflat(0), OptState(unflat(1), unflat(2))
