"""Model options as grid axes (issue 14): features, bias, init, parametrization, l1.

Each option varies inside one program and every model equals its solo run; the forward passes
(training and surfaces) are checked against NumPy written from the formulas, not from our code.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
from jaxviz.engine import steps
from jaxviz.engine.model import init_params, params_from_arrays, params_to_arrays, predict
from jaxviz.engine.neurons import unit_maps
from jaxviz.engine.surfaces import mesh
from jaxviz.spec.config import canonical_features, feature_code
from jaxviz.spec.grid import make_grid

TINY = {"epochs": 3, "n1": 4, "n2": 3, "lr": 0.1, "resolution": 8, "progress": False}
FEATURES = ["x", "x+sq", "x+sq+x1x2+sin"]


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def numpy_features(points, features):
    """Playground's features of ``points`` (n, 2) in canonical order, float64."""
    x1, x2 = points[:, 0].astype(np.float64), points[:, 1].astype(np.float64)
    table = {"x1": x1, "x2": x2, "x1sq": x1 ** 2, "x2sq": x2 ** 2, "x1x2": x1 * x2, "sinx1": np.sin(x1),
             "sinx2": np.sin(x2)}
    names = [n for n in table if feature_code(features) >> list(table).index(n) & 1]
    return np.stack([table[n] for n in names], axis=1)


def numpy_mlp(weights, x, act=lambda z: np.where(z > 0, z, 0.3 * z)):
    """The seed's MLP (Keras Dense layers with biases) in float64 from ``run.weights``."""
    w = [np.asarray(a, np.float64) for a in weights]
    for k in range(0, len(w) - 2, 2):
        x = act(x @ w[k] + w[k + 1])
    return (x @ w[-2] + w[-1])[:, 0]


def notebook_net(theta, x, nonlinearity):
    """The fractal notebook's ``net`` (mean-field parametrization, no biases), in float64 NumPy."""
    for w in theta:
        z = x @ w / np.sqrt(w.shape[0])
        x = {"tanh": lambda z: np.tanh(z * np.sqrt(2)), "relu": lambda z: np.maximum(z, 0) * np.sqrt(2),
             "linear": lambda z: z}[nonlinearity](z)
    return z / np.sqrt(w.shape[0])


def assert_equals_solo(grid, i, solo):
    e = grid.configs[i]["epochs"]
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(grid.metrics[key][i, :e], solo.metrics[key][0], atol=1e-5, rtol=0, err_msg=key)
    for epoch in range(e + 1):
        ours, alone = grid.weights(i, epoch), solo.weights(0, epoch)
        assert [a.shape for a in ours] == [b.shape for b in alone]
        for a, b in zip(ours, alone):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)


# --- features --------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def features_run():
    return jaxviz.sweep(features=FEATURES, **TINY)


@pytest.mark.parametrize("i", range(len(FEATURES)))
def test_features_grid_model_equals_its_solo_run(features_run, i):
    solo = jaxviz.sweep(features=FEATURES[i], **TINY)
    assert_equals_solo(features_run, i, solo)


def test_features_set_the_input_width(features_run):
    assert [features_run.weights(i, 0)[0].shape for i in range(3)] == [(2, 4), (4, 4), (7, 4)]
    padded = features_run._weights[0]  # (models, epochs + 1, inputs, hidden): unused inputs stay zero
    assert padded.shape[2] == 7
    assert (padded[0, :, 2:] == 0).all() and (padded[1, :, 4:] == 0).all()


def test_features_surfaces_and_unit_maps_equal_a_numpy_forward(features_run):
    run, res = features_run, features_run.surfaces.shape[-1]
    for i, features in enumerate(FEATURES):
        points = mesh(run.data_of(i).extent, res)
        for epoch in (0, 3):
            want = sigmoid(numpy_mlp(run.weights(i, epoch), numpy_features(points, features)))
            got = run.surfaces[i, epoch].astype(np.float64).ravel()
            np.testing.assert_allclose(got, want, atol=2e-3)  # surfaces are float16
        weights = [w[i, [0, 3]] for w in run._weights]
        _, out = unit_maps(weights, (4, 3, 0), "lrelu", run.data_of(i).extent, res, features)
        np.testing.assert_allclose(out[1].ravel(), want, atol=1e-5)


def test_features_training_forward_equals_numpy(features_run):
    run = features_run
    g = make_grid(features=FEATURES, epochs=3, n1=4, n2=3)
    hp, static = g.hparams([60]), g.static([60])
    x = run.data_of(2).x_test[:20]
    params = params_from_arrays([jnp.asarray(w[2, 3]) for w in run._weights], static.hidden, static.slots,
                                static.activations)
    s = steps.structure_of(jax.tree.map(lambda a: a[2], hp), static)
    got = predict(params, jnp.asarray(x), s, static.hidden, static.slots, static.activations)
    want = sigmoid(numpy_mlp(run.weights(2, 3), numpy_features(x, FEATURES[2])))
    np.testing.assert_allclose(np.asarray(got), want, atol=1e-5)


def test_features_values_are_canonical_and_checked():
    assert canonical_features("sin+x2+x1") == "x+sin"
    assert make_grid(features=["x2+x1", "x1x2"]).axes["features"] == ["x", "x1x2"]
    for bad in ["", "x+cos", "x+x1", 3, "sq++x"]:
        with pytest.raises(ValueError, match=r"^features must be .* Got .* instead\.$"):
            make_grid(features=bad)
    with pytest.raises(ValueError, match="distinct"):
        make_grid(features=["x", "x1+x2"])


# --- bias, init, parametrization, l1 as axes -------------------------------------------------------

OPTIONS = {"bias": [True, False], "init": ["glorot", "normal"], "parametrization": ["standard", "meanfield"],
           "l1": [0.0, 0.01]}
BASE = {**TINY, "activation": "tanh"}


@pytest.fixture(scope="module")
def options_run():
    return jaxviz.sweep(**OPTIONS, **BASE)


@pytest.mark.parametrize("i", range(16))
def test_option_grid_model_equals_its_solo_run(options_run, i):
    config = {k: options_run.configs[i][k] for k in OPTIONS}
    solo = jaxviz.sweep(**config, **BASE)
    assert_equals_solo(options_run, i, solo)


def test_options_change_training(options_run):
    run = options_run
    distinct = {run.metrics["loss"][i, -1].round(6) for i in range(16)}
    assert len(distinct) == 16  # every option changes the numbers


@pytest.fixture(scope="module")
def no_bias_run():
    return jaxviz.sweep(bias=False, optimizer=["sgd", "adam", "rmsprop", "adagrad"], **TINY)


def test_bias_off_keeps_every_bias_exactly_zero(no_bias_run):
    run = no_bias_run
    for b in run._weights[1::2]:
        assert (b == 0).all()
    for i in range(4):
        assert [w.shape for w in run.weights(i, 3)] == [(2, 4), (4, 3), (3, 1)]  # Keras: no bias arrays
        assert not np.array_equal(run.weights(i, 0)[0], run.weights(i, 3)[0])  # the kernels do train


def test_normal_init_is_unit_normal_and_prefix_stable():
    draw = jax.jit(lambda key: params_to_arrays(init_params(key, jnp.array([64, 64, 0]), 64, 2, ("relu",), init=1)))
    kernels = np.concatenate([a.ravel() for a in draw(jax.random.key(3))[0::2]])
    assert kernels.size == 2 * 64 + 64 * 64 + 64
    assert abs(kernels.mean()) < 0.05 and abs(kernels.std() - 1) < 0.05
    small = params_to_arrays(init_params(jax.random.key(5), jnp.array([3, 2, 0]), 3, 2, ("relu",), init=1))
    big = params_to_arrays(init_params(jax.random.key(5), jnp.array([3, 2, 0]), 8, 3, ("relu",), inputs=7, init=1))
    np.testing.assert_array_equal(big[0][:2, :3], small[0][:, :3])
    assert (big[0][2:] == 0).all() and (big[0][:, 3:] == 0).all()
    np.testing.assert_array_equal(big[2][:3, :2], small[2][:3, :2])
    np.testing.assert_array_equal(big[-2][:2], small[-2][:2])


def test_glorot_and_normal_come_from_the_same_words():
    """Both inits map the same uniform draw: a model's normal weights have the signs of its Glorot ones
    (both are monotone maps of one word), so switching the init changes nothing else."""
    key, widths = jax.random.key(1), jnp.array([6, 5, 0])
    glorot = params_to_arrays(init_params(key, widths, 6, 2, ("relu",)))
    normal = params_to_arrays(init_params(key, widths, 6, 2, ("relu",), init=1))
    for g, n in zip(glorot[0::2], normal[0::2]):
        assert (np.sign(g) == np.sign(n)).mean() > 0.95


def test_l1_adds_exactly_l1_times_sum_abs_hidden_kernels(options_run):
    run = options_run
    # models 0 and 1 differ only in l1 (0 and 0.01): same initial weights, same data
    assert run.configs[0]["l1"] == 0.0 and run.configs[1]["l1"] == 0.01
    assert {k: v for k, v in run.configs[0].items() if k != "l1"} == {k: v for k, v in run.configs[1].items()
                                                                     if k != "l1"}
    w = run.weights(1, 0)
    l1 = 0.01 * sum(np.abs(np.asarray(k, np.float64)).sum() for k in w[0:-2:2])
    assert l1 > 0.01
    np.testing.assert_allclose(run.initial_val[0][1] - run.initial_val[0][0], l1, rtol=1e-5)


# --- mean-field parametrization against the fractal notebook's net -------------------------------------

PAPER = {"parametrization": "meanfield", "bias": False, "init": "normal", "n1": 16, "n2": 0, "epochs": 1,
         "resolution": 8, "progress": False}
NONLINEARITIES = ["tanh", "relu", "linear"]


@pytest.fixture(scope="module")
def paper_run():
    return jaxviz.sweep(activation=NONLINEARITIES, **PAPER)


def test_meanfield_forward_equals_the_notebook_net(paper_run):
    run = paper_run
    g = make_grid({k: v for k, v in PAPER.items() if k not in ("resolution", "progress")}, activation=NONLINEARITIES)
    hp, static = g.hparams([60]), g.static([60])
    x = run.data_of(0).x_test[:40]
    for i, name in enumerate(NONLINEARITIES):
        theta = run.weights(i, 0)
        assert [w.shape for w in theta] == [(2, 16), (16, 1)]  # no biases
        want = notebook_net([np.asarray(w, np.float64) for w in theta], x.astype(np.float64), name)[:, 0]
        params = params_from_arrays([jnp.asarray(w[i, 0]) for w in run._weights], static.hidden, static.slots,
                                    static.activations)
        s = steps.structure_of(jax.tree.map(lambda a, i=i: a[i], hp), static)
        got = predict(params, jnp.asarray(x), s, static.hidden, static.slots, static.activations)
        np.testing.assert_allclose(np.asarray(got), sigmoid(want), atol=1e-6)
        surface = sigmoid(notebook_net([np.asarray(w, np.float64) for w in theta],
                                       mesh(run.data_of(i).extent, 8).astype(np.float64), name)[:, 0])
        np.testing.assert_allclose(run.surfaces[i, 0].astype(np.float64).ravel(), surface, atol=2e-3)
        _, out = unit_maps([w[i, :1] for w in run._weights], (16, 0, 0), name, run.data_of(i).extent, 8,
                           parametrization="meanfield")
        np.testing.assert_allclose(out[0].ravel(), surface, atol=1e-5)


def test_meanfield_with_features_uses_the_real_fan_in():
    """The first layer divides by sqrt(number of features), not by the padded input width."""
    g = make_grid(features=["x", "x+sq+sin"], parametrization="meanfield", n1=4, n2=0)
    hp, static = g.hparams([60]), g.static([60])
    s = steps.structure_of(jax.tree.map(lambda a: a[0], hp), static)
    assert static.inputs == 6 and np.allclose(s.divisors[np.array([0, -1])], [np.sqrt(2), 2.0])
