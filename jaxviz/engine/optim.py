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

A grid value ``"optax:NAME"`` is ``optax.NAME`` with optax's defaults under
``optax.inject_hyperparams`` (:func:`optax_transform`): each step injects the model's rate
``lr_t`` (and its ``momentum`` where the function has a parameter of that name). Every model
holds one such state per ``optax:`` optimiser of the grid (``OptState.optax``), so shapes are
static and one program trains the mix; a model advances only its own optimiser's state.

:func:`learning_rate` multiplies ``lr_t`` by the model's schedule (:func:`schedule_multiplier`)
and :func:`update` can scale each layer's update by its multiplier (:func:`layer_scales`):
both are left out entirely when the grid has only ``constant`` and multipliers of 1, so such
grids train bit for bit as before.
"""

from __future__ import annotations

import inspect
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from jaxviz.spec.config import OPTAX_OPTIMIZERS, OPTAX_PREFIX

__all__ = ["OptState", "init_opt_state", "update", "sgd_step", "KERAS_DEFAULTS", "keras_sgd", "keras_adam",
           "keras_rmsprop", "keras_adagrad", "KERAS_OPTIMIZERS", "optax_factory", "has_momentum", "optax_transform",
           "layer_scales", "scale_layers", "schedule_multiplier", "learning_rate", "WARMUP", "buffers_per_weight"]

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


# XLA's CPU backend lets LLVM fuse a product into the sum or difference that uses it (an FMA,
# one rounding instead of two) only when the product has that one use. A program holding several
# optimisers shares ``g * g`` among them, and selects between their updates: without care, Adam
# would round ``g * g - v`` once in its own program and twice in a shared one (1 ulp after a few
# steps). Both helpers put a no-op between the product and its use, so no program fuses it and a
# small grid's shared program computes each optimiser's bits (SHARED_MODELS in jaxviz.spec.grid).


def _square(g):
    """``g * g``, never fused into the sum that uses it (``max(x, 0)`` is ``x`` for a square)."""
    return jnp.maximum(jnp.square(g), 0.0)


def _root(x):
    """``sqrt(x)`` kept a divisor: XLA rewrites ``a / sqrt(x)`` as ``a * rsqrt(x)``, an
    approximate root whose product LLVM then fuses into the parameter update or not, depending
    on the program (``max(r, 0)`` is ``r`` for a root)."""
    return jnp.maximum(jnp.sqrt(x), 0.0)


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
        nu = jax.tree.map(lambda v, g: v + (_square(g) - v) * (1 - beta_2), state.nu, grads)
        updates = jax.tree.map(lambda m, v: -((m * alpha) / (jnp.sqrt(v) + epsilon)), mu, nu)
        return updates, KerasAdamState(state.count + 1, mu, nu)

    return optax.GradientTransformation(init_fn, update_fn)


def _accumulating(learning_rate, epsilon, initial, accumulate) -> optax.GradientTransformation:
    """``v <- accumulate(v, g)``; the update is ``-lr g / sqrt(v + eps)`` (RMSprop, Adagrad)."""
    def init_fn(params):
        return KerasAccumulatorState(jax.tree.map(lambda p: jnp.full_like(p, initial), params))

    def update_fn(grads, state, params=None):
        nu = jax.tree.map(accumulate, state.nu, grads)
        updates = jax.tree.map(lambda g, v: -((learning_rate * g) / _root(v + epsilon)), grads, nu)
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
    return _accumulating(learning_rate, epsilon, 0.0, lambda v, g: rho * v + (1 - rho) * _square(g))


def keras_adagrad(learning_rate, initial_accumulator_value=KERAS_DEFAULTS["adagrad_initial"],
                  epsilon=KERAS_DEFAULTS["epsilon"]):
    """Keras Adagrad: ``v <- v + g^2`` from ``initial_accumulator_value``, ``epsilon`` inside the root.

    Example:
        >>> tx = keras_adagrad(0.1)
        >>> u, _ = tx.update(jnp.ones(1), tx.init(jnp.zeros(1)))
        >>> round(float(u[0]), 4)  # -0.1 / sqrt(1.1)
        -0.0953
    """
    return _accumulating(learning_rate, epsilon, initial_accumulator_value, lambda v, g: v + _square(g))


#: The Keras optimisers a grid can mix, by name.
KERAS_OPTIMIZERS = {"sgd": keras_sgd, "adam": keras_adam, "rmsprop": keras_rmsprop, "adagrad": keras_adagrad}


class OptState(NamedTuple):
    m: object  # like params: sgd velocity / adam first moment
    v: object  # like params: adam second moment / rmsprop average / adagrad accumulator
    optax: tuple = ()  # one optax state per "optax:" optimiser of the grid (see optax_transform)


def optax_factory(name: str):
    """optax's optimiser function for the grid value ``"optax:NAME"`` (one of ``OPTAX_OPTIMIZERS``).

    Example:
        >>> optax_factory("optax:lion") is optax.lion
        True
    """
    base = name[len(OPTAX_PREFIX):] if name.startswith(OPTAX_PREFIX) else None
    if base not in OPTAX_OPTIMIZERS:
        raise ValueError(f"optimizer must be 'optax:NAME' with NAME one of {list(OPTAX_OPTIMIZERS)}. "
                         f"Got {name!r} instead.")
    return getattr(optax, base)


def has_momentum(name: str) -> bool:
    """Whether optax's optimiser ``name`` has a parameter literally named ``momentum`` (the model's
    ``momentum`` is then passed to it; other optimisers ignore it).

    Example:
        >>> has_momentum("optax:sgd"), has_momentum("optax:lion")
        (True, False)
    """
    return "momentum" in inspect.signature(optax_factory(name)).parameters


def optax_transform(name: str, learning_rate, momentum=None) -> optax.GradientTransformation:
    """``optax.inject_hyperparams`` of optimiser ``"optax:NAME"`` with optax's defaults, so its
    ``learning_rate`` (and ``momentum`` where it has one) live in the state and can be set per
    model, per step.

    Example:
        >>> tx = optax_transform("optax:sgd", 0.1, 0.9)
        >>> s = tx.init(jnp.zeros(2))
        >>> sorted(s.hyperparams), float(s.hyperparams["momentum"])
        (['learning_rate', 'momentum'], 0.8999999761581421)
    """
    kwargs = {"learning_rate": learning_rate}
    if has_momentum(name):
        kwargs["momentum"] = momentum
    return optax.inject_hyperparams(optax_factory(name))(**kwargs)


def _optax_names(names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n and n.startswith(OPTAX_PREFIX)]


def init_opt_state(params, optimizer, names: tuple[str, ...], lr=0.0, momentum=0.0) -> OptState:
    """Zero buffers, except Adagrad's accumulator which starts at 0.1 (Keras); a fresh optax state
    for each ``"optax:"`` optimiser of the grid (every model holds them all: shapes are static).

    Example:
        >>> s = init_opt_state({"w": jnp.ones(2)}, 1, ("sgd", "optax:adamw"))
        >>> len(s.optax), int(s.optax[0].count)
        (1, 0)
    """
    v0 = jnp.where(optimizer == names.index("adagrad"), KERAS_DEFAULTS["adagrad_initial"], 0.0) \
        if "adagrad" in names else 0.0
    states = tuple(optax_transform(n, lr, momentum).init(params) for n in _optax_names(names))
    return OptState(jax.tree.map(jnp.zeros_like, params), jax.tree.map(lambda p: jnp.full_like(p, v0), params),
                    states)


def sgd_step(w, m, g, lr_t, momentum):
    """Keras SGD (non-Nesterov) on one array: returns ``(w, m)``.

    Example:
        >>> w, m = sgd_step(jnp.ones(2), jnp.zeros(2), jnp.ones(2), 0.1, 0.9)
        >>> [round(float(x), 6) for x in w]
        [0.9, 0.9]
    """
    u, state = keras_sgd(lr_t, momentum).update(g, KerasSgdState(m))
    return optax.apply_updates(w, u), state.velocity


def _keras_updates(name: str, state: OptState, grads, lr_t, momentum, step):
    """One update of Keras optimiser ``name`` on the union buffers: ``(updates, m, v)``."""
    if name == "sgd":
        u, s = keras_sgd(lr_t, momentum).update(grads, KerasSgdState(state.m))
        return u, s.velocity, state.v
    if name == "adam":
        u, s = keras_adam(lr_t).update(grads, KerasAdamState(step, state.m, state.v))
        return u, s.mu, s.nu
    if name in ("rmsprop", "adagrad"):
        u, s = KERAS_OPTIMIZERS[name](lr_t).update(grads, KerasAccumulatorState(state.v))
        return u, state.m, s.nu
    raise ValueError(f"optimizer must be one of {list(KERAS_OPTIMIZERS)}. Got {name!r} instead.")


def _optax_updates(name: str, state, params, grads, lr_t, momentum):
    """One update of ``"optax:NAME"`` with this step's rate (and the model's momentum) injected."""
    hyper = dict(state.hyperparams, learning_rate=jnp.asarray(lr_t, state.hyperparams["learning_rate"].dtype))
    if "momentum" in hyper:
        hyper["momentum"] = jnp.asarray(momentum, hyper["momentum"].dtype)
    return optax_transform(name, 0.0, 0.0).update(grads, state._replace(hyperparams=hyper), params)


def scale_layers(updates, scales):
    """Each layer's updates times its multiplier: ``scales`` ``(slots + 1,)`` holds the hidden slots'
    then the output layer's (see :func:`layer_scales`); ``updates`` is shaped like MLP's state.

    Example:
        >>> from jaxviz.engine.model import init_params
        >>> p = init_params(jax.random.key(0), jnp.array([3, 0, 0]), 4, 1, ("relu",))
        >>> u = scale_layers(jax.tree.map(jnp.ones_like, p), jnp.array([2.0, 0.5]))
        >>> float(u["hidden"][0]["kernel"][0, 0]), float(u["out"]["bias"][0])
        (2.0, 0.5)
    """
    def scaled(path, u):
        keys = [getattr(k, "key", None) for k in path]
        layer = keys[1] if keys[0] == "hidden" else scales.shape[0] - 1
        return u * scales[layer]

    return jax.tree_util.tree_map_with_path(scaled, updates)


def layer_scales(widths, layer_lr, slots: int):
    """Per layer slot (the hidden slots, then the output layer) the multiplier of the model's
    real layer there: ``layer_lr[r]`` for its ``r``-th real layer (lr1 = the first hidden layer;
    the output layer is the last real one, so with one hidden layer it takes lr2). A missing
    layer's slot gets its neighbour's (its weights and updates are zero anyway).

    Example:
        >>> layer_scales(jnp.array([4, 0, 3]), jnp.array([1.0, 2.0, 3.0, 4.0]), 3).tolist()
        [1.0, 2.0, 2.0, 3.0]
    """
    present = (jnp.asarray(widths)[:slots] > 0).astype(jnp.int32)
    real = jnp.cumsum(present) - present  # real layers before each slot
    return jnp.concatenate([layer_lr[jnp.minimum(real, 3)], layer_lr[jnp.sum(present)][None]])


def update(params, state: OptState, grads, lr_t, momentum, step, optimizer, names: tuple[str, ...], scales=None,
           layout=None):
    """One update of the model's optimiser ``names[optimizer]`` (traced index; only the grid's
    optimisers are computed; an optax state advances only for the models that use it), its
    layers' updates times ``scales`` (see :func:`layer_scales`; None: not scaled). Returns
    ``(params, state)``.

    With a ``layout`` (:class:`~jaxviz.engine.flat.ParamLayout`), ``params``, ``grads`` and the
    Keras buffers ``m`` and ``v`` are flat vectors (the engine's form): Keras' element-wise
    rules run on them as they are, while optax transformations and layer multipliers, which can
    treat each array on its own, see the model's tree (``layout.tree``).

    Example:
        >>> p = {"w": jnp.ones(2)}
        >>> s = init_opt_state(p, 0, ("adam",))
        >>> p, s = update(p, s, {"w": jnp.ones(2)}, 0.1, 0.9, jnp.int32(0), 0, ("adam",))
        >>> round(float(p["w"][0]), 4)  # Adam's first step moves by about lr
        0.9
    """
    same = lambda x: x  # noqa: E731
    tree, flat = (same, same) if layout is None else (layout.tree, layout.flat)
    optax_names = _optax_names(names)
    outs, new_optax = [], list(state.optax)
    live = [(i, name) for i, name in enumerate(names) if name]  # None: a Keras optimiser no model here uses
    for _, name in live:
        if name in optax_names:
            j = optax_names.index(name)
            u, new_optax[j] = _optax_updates(name, state.optax[j], tree(params), tree(grads), lr_t, momentum)
            outs.append((flat(u), state.m, state.v))
        else:
            outs.append(_keras_updates(name, state, grads, lr_t, momentum, step))
    if len(outs) > 1:
        pick = [optimizer == i for i, _ in live]
        outs = [jax.tree.map(lambda *leaves: jnp.select(pick, leaves), *(o[j] for o in outs)) for j in range(3)]
        mine = [optimizer == names.index(n) for n in optax_names]  # the models this optimiser updates
        new_optax = [jax.tree.map(lambda a, b, m=m: jnp.where(m, a, b), new, old)
                     for m, new, old in zip(mine, new_optax, state.optax)]
    else:
        outs = outs[0]
    updates = outs[0] if scales is None else flat(scale_layers(tree(outs[0]), scales))
    return optax.apply_updates(params, updates), OptState(outs[1], outs[2], tuple(new_optax))


#: ``warmup_cosine`` warms up linearly from 0 over this fraction of a model's training steps.
WARMUP = 0.1
#: Each schedule as optax builds it, over a horizon of 1: called with a model's progress
#: ``step / total_steps`` it gives the multiplier of the rate (1 at the start, except warmup).
_SCHEDULE_FNS = {
    "cosine": optax.cosine_decay_schedule(1.0, 1),  # to 0 at the end
    "warmup_cosine": optax.warmup_cosine_decay_schedule(0.0, 1.0, WARMUP, 1.0),  # 0 -> 1 -> 0
    "exponential": optax.exponential_decay(1.0, 1, 0.01),  # to 1% of the rate at the end
    "linear": optax.linear_schedule(1.0, 0.0, 1),  # to 0 at the end
}


def schedule_multiplier(schedule, progress, names: tuple[str, ...]):
    """The rate multiplier of schedule ``names[schedule]`` (traced index) at ``progress`` (the
    fraction of the model's training steps done: ``step / (epochs * batches per epoch)``).
    ``constant`` is 1.

    Example:
        >>> names = ("constant", "cosine", "warmup_cosine")
        >>> [round(float(schedule_multiplier(i, 0.5, names)), 4) for i in range(3)]
        [1.0, 0.5, 0.5868]
    """
    values = [jnp.float32(1.0) if n == "constant" else _SCHEDULE_FNS[n](jnp.float32(progress)) for n in names]
    if len(values) == 1:
        return values[0]
    return jnp.select([schedule == i for i in range(len(names))], values)


def learning_rate(lr_base, decay, step, schedule=0, total_steps=1, schedules: tuple[str, ...] = ("constant",)):
    """This step's rate: ``lr_base / (1 + decay * step)`` (Keras' legacy decay of the
    plateau-adjusted rate) times the schedule's multiplier at ``step / total_steps``. With
    ``constant`` schedules only, exactly the seed's rate (no multiplication).

    Example:
        >>> round(float(learning_rate(jnp.float32(0.1), 0.0, jnp.int32(5), 0, 10, ("cosine",))), 6)
        0.05
    """
    lr_t = lr_base / (1.0 + decay * step.astype(jnp.float32))
    if all(n == "constant" for n in schedules):
        return lr_t
    progress = step.astype(jnp.float32) / jnp.asarray(total_steps, jnp.float32)
    return lr_t * schedule_multiplier(schedule, progress, schedules)


def buffers_per_weight(names: tuple[str, ...]) -> int:
    """How many arrays shaped like the parameters a model's :class:`OptState` holds for a grid
    of optimisers ``names`` (for a memory estimate): the two Keras union buffers, plus each
    ``optax:`` optimiser's own.

    Example:
        >>> buffers_per_weight(("sgd", "adam")), buffers_per_weight(("sgd", "optax:adamw", "optax:lion"))
        (2, 5)
    """
    probe = jax.ShapeDtypeStruct((3,), jnp.float32)
    count = 2
    for name in _optax_names(names):
        state = jax.eval_shape(optax_transform(name, 0.1, 0.9).init, probe)
        count += sum(leaf.shape == probe.shape for leaf in jax.tree.leaves(state))
    return count
