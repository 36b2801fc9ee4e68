"""The optimisers and learning-rate schedules a grid can use, as optax objects.

- ``optimizer="sgd" | "adam" | "rmsprop" | "adagrad"``: Keras' optimisers, exactly (Keras'
  constants and update order): :func:`keras_sgd`, :func:`keras_adam`, :func:`keras_rmsprop`,
  :func:`keras_adagrad`, each an optax ``GradientTransformation`` that composes with any other.
- ``optimizer="optax:NAME"``: ``optax.NAME`` with optax's defaults, for NAME in
  :data:`OPTAX_OPTIMIZERS`. The model's ``lr`` is injected every step through
  ``optax.inject_hyperparams`` (after the legacy ``decay``, ReduceLROnPlateau and the
  schedule), and its ``momentum`` where optax's function has a parameter literally named
  ``momentum`` (``sgd``, ``rmsprop``, ``lars``: see :func:`has_momentum`), the grid's default
  0.9 included (``momentum=0`` gives optax's momentum-free ``sgd`` and ``rmsprop``); others
  ignore it.
- ``schedule``: one of :data:`SCHEDULES`, a multiplier of every optimiser's rate over the
  model's own training steps (``epochs * batches per epoch``): ``constant`` (the seed),
  ``cosine`` (to 0), ``warmup_cosine`` (linear from 0 over the first :data:`WARMUP` = 10% of
  the steps, then cosine to 0), ``exponential`` (to 1% of the rate), ``linear`` (to 0).
- ``lr1 .. lr4``: multipliers of the rate of the model's real layers in order (lr1 the first
  hidden layer; the output layer is the last real one, so with one hidden layer it takes lr2).
  Each layer's update is scaled, which is a per-layer rate for every optimiser here (their
  updates are linear in the rate). Multipliers of exactly 1 leave training bit for bit as it is.

Example:
    >>> import jax.numpy as jnp, optax
    >>> tx = optax.chain(optax.clip_by_global_norm(1.0), keras_sgd(0.1, momentum=0.9))
    >>> u, _ = tx.update(jnp.array([3.0, 4.0]), tx.init(jnp.zeros(2)))
    >>> [round(float(x), 4) for x in u]  # clipped to norm 1, then Keras' first SGD step
    [-0.06, -0.08]
    >>> "lion" in OPTAX_OPTIMIZERS, SCHEDULES[:3]
    (True, ('constant', 'cosine', 'warmup_cosine'))
"""

from jaxviz.engine.optim import (KERAS_DEFAULTS, KERAS_OPTIMIZERS, WARMUP, has_momentum, keras_adagrad, keras_adam,
                                 keras_rmsprop, keras_sgd, optax_factory, optax_transform, schedule_multiplier)
from jaxviz.spec.config import OPTAX_OPTIMIZERS, OPTAX_PREFIX, OPTIMIZERS, SCHEDULES

__all__ = ["KERAS_DEFAULTS", "KERAS_OPTIMIZERS", "OPTIMIZERS", "OPTAX_OPTIMIZERS", "OPTAX_PREFIX", "SCHEDULES",
           "WARMUP", "keras_sgd", "keras_adam", "keras_rmsprop", "keras_adagrad", "optax_factory", "has_momentum",
           "optax_transform", "schedule_multiplier"]
