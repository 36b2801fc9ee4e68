"""optax optimisers by name, lr schedules and per-layer learning rates (issue 14, sections 5-6).

Each ``optax:`` model of a mixed grid equals a plain optax loop written here from optax alone,
from the same initial weights (``run.weights(i, 0)``) and the same batches in the same order
(``batch_order``), with the Keras-style clipped loss; a grid trains as one compiled program.
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import jaxviz
from jaxviz.data import load_dataset
from jaxviz.engine.steps import batch_order
from jaxviz.engine.task import bce
from jaxviz.engine.programs import BUILT
from jaxviz.optim import OPTAX_OPTIMIZERS, has_momentum, optax_transform
from jaxviz.spec.grid import make_grid

EPOCHS, BATCH = 3, 6  # moons: 60 training points, 10 batches per epoch
MIX = dict(optimizer=["sgd", "adam", "optax:adamw", "optax:lion"], lr=[0.01, 0.05], epochs=EPOCHS,
           batch_size=BATCH, n1=6, n2=4)


def _sweep(hp, **kw):
    return jaxviz.sweep({**hp, **kw}, resolution=2, progress=False)


def _forward(weights, x):
    """The seed's MLP on Keras-style weights [k1, b1, ..., k_out, b_out]: lrelu(0.3), sigmoid out."""
    h = x
    for k, b in zip(weights[0:-2:2], weights[1:-2:2]):
        h = jax.nn.leaky_relu(h @ k + b, negative_slope=0.3)
    return jax.nn.sigmoid(h @ weights[-2] + weights[-1])[:, 0]


def optax_reference(run, i, tx):
    """Model ``i`` trained by a plain optax loop: its weights after every epoch."""
    config = run.configs[i]
    ds = load_dataset(config["dataset"])
    x, y = jnp.asarray(ds.x_train, jnp.float32), jnp.asarray(ds.y_train, jnp.float32)
    n, bs = len(y), config["batch_size"]
    params = [jnp.asarray(w) for w in run.weights(i, 0)]
    state = tx.init(params)

    @jax.jit
    def step(params, state, idx):
        grads = jax.grad(lambda p: jnp.mean(bce(_forward(p, x[idx]), y[idx])))(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    out = []
    for epoch in range(config["epochs"]):
        order = np.asarray(batch_order(config["seed"], epoch, n, n, True))
        for first in range(0, n, bs):
            params, state = step(params, state, order[first:first + bs])
        out.append([np.asarray(w) for w in params])
    return out


def _assert_epochs_close(run, i, reference, atol=1e-5):
    for epoch, expected in enumerate(reference, start=1):
        for got, want in zip(run.weights(i, epoch), expected):
            np.testing.assert_allclose(got, want, atol=atol, rtol=0, err_msg=f"model {i} epoch {epoch}")


@pytest.fixture(scope="module")
def mixed():
    before = BUILT["run_epochs"]  # executables built (compiled, or loaded from the cache)
    run = _sweep(MIX)
    return run, BUILT["run_epochs"] - before


def test_a_mixed_keras_and_optax_grid_is_one_program(mixed):
    run, compiled = mixed
    assert compiled == 1  # one compile of run_epochs for all eight models
    assert [c["optimizer"] for c in run.configs[::2]] == ["sgd", "adam", "optax:adamw", "optax:lion"]
    assert np.isfinite(run.metrics["val_loss"]).all()
    finals = [np.concatenate([w.ravel() for w in run.weights(i, EPOCHS)]) for i in range(8)]
    assert all(not np.array_equal(finals[i], finals[j]) for i in range(8) for j in range(i))


@pytest.mark.parametrize("i, make", [(4, lambda lr: optax.adamw(lr)), (5, lambda lr: optax.adamw(lr)),
                                     (6, lambda lr: optax.lion(lr)), (7, lambda lr: optax.lion(lr))])
def test_each_optax_model_equals_a_plain_optax_loop(mixed, i, make):
    run, _ = mixed
    _assert_epochs_close(run, i, optax_reference(run, i, make(run.configs[i]["lr"])))


def test_keras_models_of_the_mixed_grid_equal_their_keras_only_grid(mixed):
    run, _ = mixed
    keras_only = _sweep({**MIX, "optimizer": ["sgd", "adam"]})
    for i in range(4):
        for got, want in zip(run.weights(i, EPOCHS), keras_only.weights(i, EPOCHS)):
            np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)


def test_optax_momentum_is_the_models_momentum():
    hp = dict(optimizer="optax:sgd", momentum=[0.0, 0.9], lr=0.05, epochs=2, batch_size=BATCH, n1=6, n2=0)
    run = _sweep(hp)
    for i, momentum in enumerate((0.0, 0.9)):
        _assert_epochs_close(run, i, optax_reference(run, i, optax.sgd(0.05, momentum=momentum)))


@pytest.fixture(scope="module")
def scheduled():
    hp = dict(optimizer="optax:sgd", schedule=["constant", "cosine", "warmup_cosine"], lr=0.1, epochs=EPOCHS,
              batch_size=BATCH, n1=6, n2=0)
    return _sweep(hp), _sweep({**hp, "schedule": "constant"})


def test_constant_schedule_is_bitwise_the_seeds(scheduled):
    run, plain = scheduled
    for key in ("loss", "val_loss", "learning_rate"):
        assert np.array_equal(run.metrics[key][0], plain.metrics[key][0])
    for got, want in zip(run.weights(0, EPOCHS), plain.weights(0, EPOCHS)):
        assert np.array_equal(got, want)


def test_cosine_schedules_equal_optax_schedules(scheduled):
    run, _ = scheduled
    n = len(load_dataset("moons").y_train)
    total = EPOCHS * -(-n // BATCH)
    assert total % 10 == 0  # so that the 10% warmup is a whole number of steps, as optax's needs
    cosine = optax.cosine_decay_schedule(0.1, total)
    warmup = optax.warmup_cosine_decay_schedule(0.0, 0.1, total // 10, total)
    _assert_epochs_close(run, 1, optax_reference(run, 1, optax.sgd(cosine, momentum=0.9)))
    _assert_epochs_close(run, 2, optax_reference(run, 2, optax.sgd(warmup, momentum=0.9)))


def test_schedules_multiply_decay_and_keras_optimizers():
    hp = dict(optimizer="adam", schedule=["constant", "linear"], lr=0.05, decay=0.01, epochs=2, batch_size=BATCH,
              n1=6, n2=0)
    run = _sweep(hp)
    # History's learning_rate is the plateau's base rate, the same with any schedule
    assert np.array_equal(run.metrics["learning_rate"][0], run.metrics["learning_rate"][1])
    assert not np.array_equal(run.weights(0, 2)[0], run.weights(1, 2)[0])


@pytest.fixture(scope="module")
def layered():
    hp = dict(optimizer="adam", lr=0.02, epochs=2, batch_size=BATCH, n1=6, n2=[0, 4])
    return hp, _sweep({**hp, "lr1": [1.0, 2.0]}), _sweep(hp)


def _model(run, **settings):
    """The index of the model of ``run`` with these settings."""
    return next(i for i, c in enumerate(run.configs) if all(c[k] == v for k, v in settings.items()))


def test_layer_multiplier_one_is_bitwise_unchanged(layered):
    _, run, plain = layered
    for n2 in (0, 4):  # lr1 = 1 in a grid that scales the updates, against a grid that does not
        i, j = _model(run, n2=n2, lr1=1.0), _model(plain, n2=n2)
        assert np.array_equal(run.metrics["val_loss"][i], plain.metrics["val_loss"][j])
        for got, want in zip(run.weights(i, 2), plain.weights(j, 2)):
            assert np.array_equal(got, want)


def test_layer_multiplier_model_equals_its_solo_run_and_differs_from_one(layered):
    hp, run, _ = layered
    for n2 in (0, 4):
        i = _model(run, n2=n2, lr1=2.0)
        solo = _sweep({**hp, "n2": n2, "lr1": 2.0})
        for got, want in zip(run.weights(i, 2), solo.weights(0, 2)):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
        assert not np.allclose(run.weights(i, 2)[0], run.weights(_model(run, n2=n2, lr1=1.0), 2)[0], atol=1e-4)


def test_multipliers_follow_the_real_layers():
    """lr2 is the output layer of a one-hidden-layer model and the second hidden layer of a
    two-hidden-layer one: a multiplier of 0 freezes exactly that layer."""
    hp = dict(optimizer="sgd", lr=0.1, epochs=2, batch_size=BATCH, n1=6, n2=[0, 4], lr2=0.0)
    run = _sweep(hp)

    def frozen(i, layer):
        before, after = run.weights(i, 0)[2 * layer:2 * layer + 2], run.weights(i, 2)[2 * layer:2 * layer + 2]
        return all(np.array_equal(a, b) for a, b in zip(before, after))

    assert [frozen(0, k) for k in range(2)] == [False, True]  # n2 = 0: hidden, output(lr2)
    assert [frozen(1, k) for k in range(3)] == [False, True, False]  # n2 = 4: hidden, hidden(lr2), output(lr3)


def test_multipliers_are_per_layer_learning_rates():
    """All layers at 2x equals the doubled rate (Keras SGD with momentum: linear in the rate)."""
    hp = dict(optimizer="sgd", epochs=2, batch_size=BATCH, n1=6, n2=0)
    doubled = _sweep({**hp, "lr": 0.1, "lr1": 2.0, "lr2": 2.0})
    faster = _sweep({**hp, "lr": 0.2})
    for got, want in zip(doubled.weights(0, 2), faster.weights(0, 2)):
        np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("name", OPTAX_OPTIMIZERS)
def test_every_allowed_optax_optimizer_is_injectable_and_linear_in_the_rate(name):
    """What OPTAX_OPTIMIZERS promises (spec/ cannot import optax to check it): each takes the rate
    injected per step, and its updates scale with it, so lr1..lr4 are per-layer rates."""
    params = {"w": jnp.array([[0.5, -1.0], [0.0, 2.0]]), "b": jnp.array([0.1, 0.0])}
    grads = [jax.tree.map(lambda p, k=k: jnp.sin(p + k), params) for k in range(3)]

    def run(lr):
        tx = optax_transform(f"optax:{name}", 0.0, 0.9)
        state, out = tx.init(params), []
        for g in grads:
            hyper = dict(state.hyperparams, learning_rate=jnp.float32(lr))
            u, state = tx.update(g, state._replace(hyperparams=hyper), params)
            out.append(u)
        return out

    assert ("momentum" in optax_transform(f"optax:{name}", 0.1, 0.9).init(params).hyperparams) == \
        has_momentum(f"optax:{name}")
    for u1, u2 in zip(run(0.1), run(0.2)):
        for a, b in zip(jax.tree.leaves(u1), jax.tree.leaves(u2)):
            assert np.isfinite(a).all()
            np.testing.assert_allclose(2 * np.asarray(a), b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("hp, message", [
    ({"optimizer": "optax:adafactor"}, r"optimizer must be one of \['sgd', 'adam', 'rmsprop', 'adagrad'\] "
                                       r"\(Keras-exact\) or 'optax:NAME' with NAME one of "
                                       r"\['adabelief', .*'lion', .*\]. Got 'optax:adafactor' instead."),
    ({"optimizer": ["sgd", "optax:nope"]}, r"optimizer must be .* Got 'optax:nope' instead."),
    ({"schedule": "step"}, r"schedule must be one of \['constant', 'cosine', 'warmup_cosine', 'exponential', "
                           r"'linear'\]. Got 'step' instead."),
    ({"lr1": -1}, r"lr1 must be a number >= 0 \(a multiplier of the layer's learning rate\). Got -1 instead."),
    ({"lr4": [1.0, "x"]}, r"lr4 must be a number >= 0 .* Got 'x' instead."),
])
def test_bad_optimizer_schedule_and_multipliers_are_refused(hp, message):
    with pytest.raises(ValueError, match=message):
        make_grid(hp)


def test_optax_names_are_canonical_in_the_grid():
    g = make_grid(optimizer=["SGD", "optax:AdamW"], schedule="Cosine")
    assert g.values("optimizer") == ["sgd", "optax:adamw"] and g.fixed["schedule"] == "cosine"
    static = g.static([60])
    # a small grid holds every Keras optimiser (SHARED_MODELS), then its own optax ones
    assert static.optimizers == ("sgd", "adam", "rmsprop", "adagrad", "optax:adamw")
    assert static.schedules == ("cosine",) and not static.layer_lr
    assert make_grid(optimizer=["SGD", "optax:AdamW"], seed=list(range(40))).static([60]).optimizers == (
        "sgd", "optax:adamw")  # a big grid compiles its own only
    assert make_grid(lr3=[1.0, 0.5]).static([60]).layer_lr


def test_norm_based_optax_models_do_not_see_their_padding():
    """lamb, lars and novograd scale by whole-array norms: a narrow model padded into a wider grid
    trains as it does unpadded (zeros add nothing to a norm)."""
    hp = dict(optimizer=["optax:lamb", "optax:lars", "optax:novograd"], lr=0.05, epochs=2, batch_size=BATCH, n2=0)
    padded, unpadded = _sweep({**hp, "n1": [3, 8]}), _sweep({**hp, "n1": 3})
    for name in hp["optimizer"]:
        i, j = _model(padded, optimizer=name, n1=3), _model(unpadded, optimizer=name)
        assert not np.array_equal(padded.weights(i, 0)[0], padded.weights(i, 2)[0])
        for got, want in zip(padded.weights(i, 2), unpadded.weights(j, 2)):
            np.testing.assert_allclose(got, want, atol=1e-5, rtol=0, err_msg=name)


def test_a_stopped_optax_grid_resumes_exactly():
    """The optax states travel in the checkpoint like the Keras buffers."""
    from jaxviz.data import pack
    from jaxviz.engine.train import train_grid

    g = make_grid(optimizer=["sgd", "optax:adamw"], schedule=["constant", "cosine"], lr1=[1.0, 0.5], epochs=EPOCHS,
                  batch_size=BATCH, n1=6, n2=0)
    n = [60]
    args = g.hparams(n), g.order_table(n), pack([load_dataset("moons")]), g.static(n)
    whole, _, _ = train_grid(*args, record="final")
    _, _, checkpoint = train_grid(*args, record="final", should_stop=lambda: True)
    assert checkpoint.done == 1  # one epoch per call (chunk_length(3) == 1)
    resumed, _, _ = train_grid(*args, record="final", resume=checkpoint)
    for key in ("loss", "val_loss"):
        assert np.array_equal(whole[key], resumed[key])
