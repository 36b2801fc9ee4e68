"""Multi-class and regression History equal Keras 3's (JAX backend), from the same initial weights,
shuffle=False, with the seed's ReduceLROnPlateau (issue 14)."""

import os

os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported anywhere in this process

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jaxviz  # noqa: E402
from keras_fit import keras_history  # noqa: E402


def three_classes(n=90, seed=0):
    """Three overlapping Gaussian blobs, integer labels 0..2 (the user's own points)."""
    rng = np.random.default_rng(seed)
    centres = np.array([[0.0, 2.0], [-1.7, -1.0], [1.7, -1.0]])
    y = np.arange(n) % 3
    return centres[y] + rng.normal(scale=1.1, size=(n, 2)), y


def real_targets(n=80, seed=1):
    """A smooth real target over the plane (the user's own points, task='regression')."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    return X, np.sin(X[:, 0]) + 0.3 * X[:, 1] + 0.05 * rng.normal(size=n)


@pytest.mark.parametrize("hp", [
    # SGD with momentum, L2 on the hidden kernels, a short patience so that the plateau rule fires
    dict(lr=0.1, momentum=0.9, kr=1e-3, patience=2, epochs=25),
    # Adam, tanh, a third layer, batch 16 (a last, smaller batch)
    dict(optimizer="adam", lr=0.05, activation="tanh", n3=4, batch_size=16, patience=1, epochs=20),
])
def test_multiclass_history_matches_keras(hp):
    run = jaxviz.sweep({**hp, "shuffle": False}, data=three_classes(), resolution=2, progress=False)
    assert run.configs[0]["task"] == "multiclass" and run.configs[0]["classes"] == 3  # inferred from the labels
    assert run.weights(0, 0)[-2].shape[-1] == 3
    ref = keras_history(run, 0, 3, "softmax", keras.losses.SparseCategoricalCrossentropy(),
                        keras.metrics.SparseCategoricalAccuracy(name="accuracy"))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        np.testing.assert_allclose(run.metrics[key][0], ref[key], atol=1e-4, rtol=0, err_msg=key)
    assert len(np.unique(ref["learning_rate"])) >= 2, "the case must include a plateau reduction"


def test_regression_history_matches_keras():
    hp = dict(task="regression", lr=0.02, momentum=0.9, kr=1e-3, patience=1, epochs=30, shuffle=False)
    run = jaxviz.sweep(hp, data=real_targets(), resolution=2, progress=False)
    assert sorted(run.metrics) == ["learning_rate", "loss", "mae", "val_loss", "val_mae"]
    ref = keras_history(run, 0, 1, None, "mse", keras.metrics.MeanAbsoluteError(name="mae"))
    for key in ("loss", "mae", "val_loss", "val_mae", "learning_rate"):
        np.testing.assert_allclose(run.metrics[key][0], ref[key], atol=1e-4, rtol=0, err_msg=key)
    assert len(np.unique(ref["learning_rate"])) >= 2, "the case must include a plateau reduction"
