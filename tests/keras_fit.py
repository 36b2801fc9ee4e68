"""The seed notebook's Keras training of one grid model, from that model's initial weights: the
reference the Keras parity tests compare jaxviz's History with. Import it after setting
``KERAS_BACKEND`` (the test modules do, first thing)."""

import os

os.environ.setdefault("KERAS_BACKEND", "jax")  # pytest's --doctest-modules may import this module first

import keras  # noqa: E402
import numpy as np  # noqa: E402

ACTIVATIONS = {"lrelu": lambda: keras.layers.LeakyReLU(negative_slope=0.3),
               "relu": lambda: keras.layers.Activation("relu"),
               "tanh": lambda: keras.layers.Activation("tanh"),
               "sigmoid": lambda: keras.layers.Activation("sigmoid")}


def keras_history(run, i, units=1, output="sigmoid", loss="binary_crossentropy", metric="accuracy"):
    """Model ``i`` of ``run`` built and fitted by Keras as the seed does (L2 on hidden kernels, the
    seed's ReduceLROnPlateau, ``shuffle=False``) on its own data; its History as arrays."""
    config, ds = run.configs[i], run.data_of(i)
    layers = [keras.Input((2,))]
    for width in (config["n1"], config["n2"], config["n3"]):
        if width:
            layers += [keras.layers.Dense(width, kernel_regularizer=keras.regularizers.l2(config["kr"])),
                       ACTIVATIONS[config["activation"]]()]
    layers.append(keras.layers.Dense(units, activation=output))
    model = keras.Sequential(layers)
    optimizer = {
        "sgd": lambda lr: keras.optimizers.SGD(learning_rate=lr, momentum=config["momentum"], nesterov=False),
        "adam": lambda lr: keras.optimizers.Adam(learning_rate=lr),
        "rmsprop": lambda lr: keras.optimizers.RMSprop(learning_rate=lr),
        "adagrad": lambda lr: keras.optimizers.Adagrad(learning_rate=lr),
    }[config["optimizer"]](config["lr"])
    model.compile(loss=loss, optimizer=optimizer, metrics=[metric])
    model.set_weights(run.weights(i, 0))
    plateau = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=0.5, patience=config["patience"],
                                                min_delta=1e-4, cooldown=0, min_lr=4e-5)
    history = model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_test, ds.y_test),
                        batch_size=config["batch_size"], epochs=config["epochs"], shuffle=False,
                        verbose=0, callbacks=[plateau])
    return {k: np.asarray(v) for k, v in history.history.items()}
