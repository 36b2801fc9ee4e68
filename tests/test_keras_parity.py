"""jaxviz's History equals Keras 3's (JAX backend) from the same initial weights, shuffle=False."""

import os

os.environ["KERAS_BACKEND"] = "jax"  # before keras is imported anywhere in this process

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

import jaxviz  # noqa: E402
from jaxviz.data import load_dataset  # noqa: E402


def keras_history(run, i):
    config = run.configs[i]
    ds = load_dataset(config["dataset"])
    act = {"lrelu": lambda: keras.layers.LeakyReLU(negative_slope=0.3),
           "relu": lambda: keras.layers.Activation("relu"),
           "tanh": lambda: keras.layers.Activation("tanh"),
           "sigmoid": lambda: keras.layers.Activation("sigmoid")}[config["activation"]]
    layers = [keras.Input((2,))]
    for width in (config["n1"], config["n2"], config["n3"]):
        if width:
            layers += [keras.layers.Dense(width, kernel_regularizer=keras.regularizers.l2(config["kr"])), act()]
    layers.append(keras.layers.Dense(1, activation="sigmoid"))
    model = keras.Sequential(layers)
    optimizer = {
        "sgd": lambda lr: keras.optimizers.SGD(learning_rate=lr, momentum=config["momentum"], nesterov=False),
        "adam": lambda lr: keras.optimizers.Adam(learning_rate=lr),
        "rmsprop": lambda lr: keras.optimizers.RMSprop(learning_rate=lr),
        "adagrad": lambda lr: keras.optimizers.Adagrad(learning_rate=lr),
    }[config["optimizer"]](config["lr"])
    model.compile(loss="binary_crossentropy", optimizer=optimizer, metrics=["accuracy"])
    model.set_weights(run.weights(i, 0))
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=config["patience"],
                                                min_delta=1e-4, cooldown=0, min_lr=4e-5)
    history = model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_test, ds.y_test),
                        batch_size=config["batch_size"], epochs=config["epochs"], shuffle=False,
                        verbose=0, callbacks=[plateau])
    return {k: np.asarray(v) for k, v in history.history.items()}


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
