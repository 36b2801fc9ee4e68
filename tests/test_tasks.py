"""The tasks' rules against Keras 3's own loss and metric functions, and the tasks' datasets."""

import os

import jax.numpy as jnp
import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "jax")

from jaxviz.data.datasets import multiclass_dataset, regression_dataset  # noqa: E402
from jaxviz.engine.task import BINARY, REGRESSION, multiclass, task_of  # noqa: E402

keras = pytest.importorskip("keras")


def test_multiclass_loss_and_accuracy_equal_keras():
    rng = np.random.default_rng(0)
    z = rng.normal(size=(50, 4)).astype(np.float32) * 8  # saturated rows exercise the clip
    y = rng.integers(0, 4, 50)
    task = multiclass(4)
    p = task.output(jnp.asarray(z))
    ours = np.asarray(task.loss(p, jnp.asarray(y, jnp.float32)))
    theirs = np.asarray(keras.losses.categorical_crossentropy(np.eye(4)[y], np.asarray(p)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6)
    acc = keras.metrics.SparseCategoricalAccuracy()
    acc.update_state(y, np.asarray(p))
    assert float(np.mean(task.correct(p, jnp.asarray(y, jnp.float32)))) == pytest.approx(float(acc.result()))


def test_regression_loss_and_mae_equal_keras():
    rng = np.random.default_rng(1)
    z = rng.normal(size=(30, 1)).astype(np.float32)
    y = rng.normal(size=30).astype(np.float32)
    p = REGRESSION.output(jnp.asarray(z))
    np.testing.assert_allclose(np.mean(REGRESSION.loss(p, y)), keras.losses.MeanSquaredError()(y, z[:, 0]), rtol=1e-6)
    np.testing.assert_allclose(np.mean(REGRESSION.correct(p, y)), keras.losses.MeanAbsoluteError()(y, z[:, 0]),
                               rtol=1e-6)
    assert REGRESSION.metrics == ("loss", "mae", "val_loss", "val_mae", "learning_rate")


def test_binary_task_is_the_seed_rule():
    p = BINARY.output(jnp.array([[0.0], [50.0]]))
    np.testing.assert_allclose(np.asarray(BINARY.loss(p, jnp.array([0.0, 0.0]))), [np.log(2), 15.942385], rtol=1e-5)
    assert task_of("binary") is BINARY
    with pytest.raises(ValueError, match=r"task must be one of \['binary', 'multiclass', 'regression'\]"):
        task_of("ranking")


@pytest.mark.parametrize("name", ["blobs", "spiral", "gauss"])
@pytest.mark.parametrize("k", [3, 10])
def test_multiclass_sets_have_k_balanced_classes(name, k):
    X, y = multiclass_dataset(name, k, noise=0.1, seed=3)
    assert X.shape[1] == 2 and sorted(set(y.tolist())) == list(range(k))
    counts = np.bincount(y)
    assert counts.max() - counts.min() <= 1 + (100 % k if name == "blobs" else 0)
    with pytest.raises(ValueError, match=r"classes must be an integer in \[2, 10\]. Got 11 instead."):
        multiclass_dataset(name, 11)


def test_regression_sets_follow_playground():
    X, y = regression_dataset("multigauss", noise=0.0, seed=0)
    assert y.min() >= -1 and y.max() <= 1
    i = int(np.argmin(np.hypot(X[:, 0] + 4, X[:, 1] - 2.5)))  # the point nearest the (-4, 2.5, +1) bump
    assert y[i] > 0.5
    _, noisy = regression_dataset("plane", noise=0.5, seed=0)
    assert not np.allclose(noisy, X.sum(axis=1) / 10)
