"""The trainer against the independent NumPy reference, rule by rule."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
from jaxviz.data import load_dataset
from jaxviz.engine.optim import sgd_step
from jaxviz.engine.train import EPSILON, PlateauState, batch_order, bce, plateau_update

from reference import train as reference_train


def _orders(seed, epochs, n, shuffle):
    return [np.asarray(batch_order(seed, e, n, n, shuffle)) for e in range(epochs)]


CASES = {
    # momentum, legacy decay, a last partial batch (60 = 8 x 7 + 4), L2 on hidden kernels
    "momentum-decay-l2-partial-batch": dict(lr=0.1, momentum=0.9, decay=0.01, kr=1e-3, batch_size=7,
                                            epochs=6, patience=50, activation="tanh", shuffle=True),
    # a rate so small that val_loss moves less than min_delta: with patience 2 the plateau rule
    # halves lr after every two epochs without improvement (the first always improves on +inf)
    # until it reaches min_lr
    "plateau-reductions": dict(lr=1e-4, momentum=0.0, decay=0.0, kr=0.0, batch_size=10, epochs=8,
                               patience=2, activation="lrelu", shuffle=False),
    "three-layers-sigmoid": dict(lr=0.3, momentum=0.5, decay=0.0, kr=0.0, batch_size=16, epochs=5,
                                 patience=50, activation="sigmoid", n3=4, shuffle=True),
}


@pytest.mark.parametrize("name", list(CASES))
def test_history_matches_numpy_reference(name):
    hp = {"dataset": "circles", **CASES[name]}
    run = jaxviz.sweep(hp, resolution=2, progress=False)
    config = run.configs[0]
    ds = load_dataset("circles")
    orders = _orders(config["seed"], config["epochs"], len(ds.y_train), config["shuffle"])
    hist, final = reference_train(run.weights(0, 0), ds[1:5], config, orders)
    for key, ref in hist.items():
        np.testing.assert_allclose(run.metrics[key][0], ref, atol=2e-5, rtol=1e-4, err_msg=key)
    for ours, ref in zip(run.weights(0, config["epochs"]), final):
        np.testing.assert_allclose(ours, ref, atol=2e-5, rtol=1e-4)
    if name == "plateau-reductions":
        np.testing.assert_allclose(run.metrics["learning_rate"][0], [1e-4] * 3 + [5e-5] * 2 + [4e-5] * 3)


def test_clip_bounds_loss_and_stops_gradient():
    # float32, as Keras computes it: 1 - 1e-7 rounds to 1 - 2**-23
    bound = -np.log(np.float32(1.0) - (np.float32(1.0) - np.float32(EPSILON)))
    assert float(bce(jnp.float32(1.0), jnp.float32(0.0))) == pytest.approx(bound, rel=1e-5)
    g = jax.grad(lambda p: bce(p, jnp.float32(0.0)))(jnp.float32(1.0))
    assert float(g) == 0.0
    g_inside = jax.grad(lambda p: bce(p, jnp.float32(0.0)))(jnp.float32(0.5))
    assert float(g_inside) == pytest.approx(2.0)


def test_keras_momentum_is_not_optax_momentum():
    # after a rate change, Keras keeps the old velocity as it is (optax would rescale it)
    p, v = sgd_step(jnp.float32(0.0), jnp.float32(0.0), jnp.float32(1.0), 1.0, 0.9)
    p, v = sgd_step(p, v, jnp.float32(1.0), 0.1, 0.9)
    assert float(v) == pytest.approx(0.9 * -1.0 - 0.1 * 1.0)
    assert float(p) == pytest.approx(-1.0 + 0.9 * -1.0 - 0.1)


def test_plateau_nan_is_never_an_improvement_and_min_lr_holds():
    state = PlateauState(jnp.float32(1.0), jnp.int32(0), jnp.int32(0))
    state, lr = plateau_update(state, jnp.float32(1e-4), jnp.float32(jnp.nan), 1)
    assert float(state.best) == 1.0 and float(lr) == pytest.approx(5e-5)
    state, lr = plateau_update(state, lr, jnp.float32(jnp.nan), 1)
    assert float(lr) == pytest.approx(4e-5)  # floored at min_lr
    state, lr = plateau_update(state, lr, jnp.float32(2.0), 1)
    assert float(lr) == pytest.approx(4e-5)  # never below min_lr


def test_shuffle_false_keeps_order_and_shuffle_depends_on_seed_only():
    assert np.asarray(batch_order(3, 5, 10, 10, False)).tolist() == list(range(10))
    a = np.asarray(batch_order(3, 0, 60, 60, True))
    assert sorted(a.tolist()) == list(range(60)) and a.tolist() != list(range(60))
    assert (a == np.asarray(batch_order(3, 0, 60, 60, True))).all()
    assert (a != np.asarray(batch_order(3, 1, 60, 60, True))).any()  # reshuffled every epoch
    assert (a != np.asarray(batch_order(4, 0, 60, 60, True))).any()
    # padded to a larger dataset, the real samples keep their order and come first
    padded = np.asarray(batch_order(3, 0, 60, 120, True))
    assert (padded[:60] == a).all() and sorted(padded[60:].tolist()) == list(range(60, 120))
