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

``momentum`` is used by ``sgd`` only.

Each is an optax ``GradientTransformation`` (:func:`keras_sgd`, :func:`keras_adam`,
:func:`keras_rmsprop`, :func:`keras_adagrad`): its updates ``u`` give Keras' step as
``optax.apply_updates(w, u) = w + u``, so they compose with any optax transformation (clipping,
masking, ``optax.inject_hyperparams`` for a varying rate). Inside a grid, every model keeps the
union of their buffers, two arrays shaped like the parameters (:class:`OptState`), and
:func:`update` runs the grid's optimisers and keeps each model's own.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

__all__ = ["OptState", "init_opt_state", "update", "sgd_step", "KERAS_DEFAULTS", "keras_sgd", "keras_adam",
           "keras_rmsprop", "keras_adagrad", "KERAS_OPTIMIZERS"]

KERAS_DEFAULTS = {"beta_1": 0.9, "beta_2": 0.999, "rho": 0.9, "epsilon": 1e-7, "adagrad_initial": 0.1}


class KerasSgdState(NamedTuple):
    velocity: Any  # like params: m, the velocity (starts at 0)


class KerasAdamState(NamedTuple):
    count: jax.Array  # () int32: updates so far
    mu: Any  # like params: first moment
    nu: Any  # like params: second moment


class KerasAccumulatorState(NamedTuple):
    nu: Any  # like params: RMSprop's running mean of g^2, or Adagrad's sum of g^2


def keras_sgd(learning_rate, momentum=0.0) -> optax.GradientTransformation:
    """Keras SGD (non-Nesterov): ``m <- momentum * m - lr * g``; the update is ``m``.

    Example:
        >>> tx = keras_sgd(0.1, momentum=0.9)
        >>> w = jnp.ones(2); s = tx.init(w)
        >>> u, s = tx.update(jnp.ones(2), s); u, s = tx.update(jnp.ones(2), s)
        >>> [round(float(x), 6) for x in optax.apply_updates(w, u)]  # -0.1, then -0.19
        [0.81, 0.81]
    """
    def init_fn(params):
        return KerasSgdState(jax.tree.map(jnp.zeros_like, params))

    def update_fn(grads, state, params=None):
        velocity = jax.tree.map(lambda m, g: momentum * m - learning_rate * g, state.velocity, grads)
        return velocity, KerasSgdState(velocity)

    return optax.GradientTransformation(init_fn, update_fn)


def keras_adam(learning_rate, beta_1=KERAS_DEFAULTS["beta_1"], beta_2=KERAS_DEFAULTS["beta_2"],
               epsilon=KERAS_DEFAULTS["epsilon"]) -> optax.GradientTransformation:
    """Keras Adam: its bias correction folded into the step size, ``epsilon`` outside the root.

    Example:
        >>> tx = keras_adam(0.1)
        >>> u, _ = tx.update(jnp.ones(2), tx.init(jnp.zeros(2)))
        >>> round(float(u[0]), 4)  # the first step moves by about lr
        -0.1
    """
    def init_fn(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return KerasAdamState(jnp.zeros((), jnp.int32), zeros, zeros)

    def update_fn(grads, state, params=None):
        t = (state.count + 1).astype(jnp.float32)
        alpha = learning_rate * jnp.sqrt(1 - jnp.power(jnp.float32(beta_2), t)) / (1 - jnp.power(jnp.float32(beta_1), t))
        mu = jax.tree.map(lambda m, g: m + (g - m) * (1 - beta_1), state.mu, grads)
        nu = jax.tree.map(lambda v, g: v + (jnp.square(g) - v) * (1 - beta_2), state.nu, grads)
        updates = jax.tree.map(lambda m, v: -((m * alpha) / (jnp.sqrt(v) + epsilon)), mu, nu)
        return updates, KerasAdamState(state.count + 1, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


def _accumulating(learning_rate, epsilon, initial, accumulate) -> optax.GradientTransformation:
    """``v <- accumulate(v, g)``; the update is ``-lr g / sqrt(v + eps)`` (RMSprop, Adagrad)."""
    def init_fn(params):
        return KerasAccumulatorState(jax.tree.map(lambda p: jnp.full_like(p, initial), params))

    def update_fn(grads, state, params=None):
        nu = jax.tree.map(accumulate, state.nu, grads)
        updates = jax.tree.map(lambda g, v: -((learning_rate * g) / jnp.sqrt(v + epsilon)), grads, nu)
        return updates, KerasAccumulatorState(nu)

    return optax.GradientTransformation(init_fn, update_fn)


def keras_rmsprop(learning_rate, rho=KERAS_DEFAULTS["rho"], epsilon=KERAS_DEFAULTS["epsilon"]):
    """Keras RMSprop without momentum: ``v <- rho v + (1 - rho) g^2``, ``epsilon`` inside the root.

    Example:
        >>> tx = keras_rmsprop(0.01)
        >>> u, _ = tx.update(jnp.ones(1), tx.init(jnp.zeros(1)))
        >>> round(float(u[0]), 4)  # -0.01 / sqrt(0.1)
        -0.0316
    """
    return _accumulating(learning_rate, epsilon, 0.0, lambda v, g: rho * v + (1 - rho) * jnp.square(g))


def keras_adagrad(learning_rate, initial_accumulator_value=KERAS_DEFAULTS["adagrad_initial"],
                  epsilon=KERAS_DEFAULTS["epsilon"]):
    """Keras Adagrad: ``v <- v + g^2`` from ``initial_accumulator_value``, ``epsilon`` inside the root.

    Example:
        >>> tx = keras_adagrad(0.1)
        >>> u, _ = tx.update(jnp.ones(1), tx.init(jnp.zeros(1)))
        >>> round(float(u[0]), 4)  # -0.1 / sqrt(1.1)
        -0.0953
    """
    return _accumulating(learning_rate, epsilon, initial_accumulator_value, lambda v, g: v + jnp.square(g))


#: The Keras optimisers a grid can mix, by name.
KERAS_OPTIMIZERS = {"sgd": keras_sgd, "adam": keras_adam, "rmsprop": keras_rmsprop, "adagrad": keras_adagrad}


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
    u, state = keras_sgd(lr_t, momentum).update(g, KerasSgdState(m))
    return optax.apply_updates(w, u), state.velocity


def _step(name: str, params, state: OptState, grads, lr_t, momentum, step):
    """One update of optimiser ``name`` on the union buffers: ``(params, m, v)``."""
    if name == "sgd":
        u, s = keras_sgd(lr_t, momentum).update(grads, KerasSgdState(state.m))
        return optax.apply_updates(params, u), s.velocity, state.v
    if name == "adam":
        u, s = keras_adam(lr_t).update(grads, KerasAdamState(step, state.m, state.v))
        return optax.apply_updates(params, u), s.mu, s.nu
    if name in ("rmsprop", "adagrad"):
        u, s = KERAS_OPTIMIZERS[name](lr_t).update(grads, KerasAccumulatorState(state.v))
        return optax.apply_updates(params, u), state.m, s.nu
    raise ValueError(f"optimizer must be one of {list(KERAS_OPTIMIZERS)}. Got {name!r} instead.")


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
    outs = [_step(n, params, state, grads, lr_t, momentum, step) for n in names]
    if len(outs) > 1:
        pick = [optimizer == i for i in range(len(names))]
        outs = [jax.tree.map(lambda *leaves: jnp.select(pick, leaves), *(o[j] for o in outs)) for j in range(3)]
    else:
        outs = outs[0]
    return outs[0], OptState(outs[1], outs[2])
