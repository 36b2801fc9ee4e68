"""jaxviz's History equals Keras 3's (JAX backend) from the same initial weights, shuffle=False."""

import os

os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported anywhere in this process

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jaxviz  # noqa: E402
from keras_fit import keras_history  # noqa: E402


@pytest.mark.parametrize(
    "hp",
    [
        # the seed's defaults with L2 and a short patience, so that the plateau rule fires
        dict(dataset="moons", kr=1e-3, patience=3, epochs=40),
        # circles, tanh, a third layer, no momentum, batch 16 (last batch of 12)
        dict(dataset="circles", activation="tanh", n3=5, momentum=0.0, lr=0.3, batch_size=16,
             patience=2, epochs=25),
        # Keras' other optimisers with their default constants, n2 = 0 with a third layer
        dict(dataset="tricky", optimizer="adam", lr=0.05, n2=0, n3=4, patience=1, epochs=20),
        dict(dataset="moons", optimizer="rmsprop", lr=0.005, activation="relu", patience=2, epochs=20),
        dict(dataset="circles", optimizer="adagrad", lr=0.5, kr=1e-3, patience=1, epochs=20),
    ],
)
def test_history_matches_keras(hp):
    run = jaxviz.sweep({**hp, "shuffle": False}, resolution=2, progress=False)
    ref = keras_history(run, 0)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        np.testing.assert_allclose(run.metrics[key][0], ref[key], atol=1e-4, rtol=0, err_msg=key)
    assert len(np.unique(ref["learning_rate"])) >= 2, "the case must include a plateau reduction"
