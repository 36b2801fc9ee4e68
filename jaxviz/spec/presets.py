"""The seed notebook's named settings, and lesson grids that put each lesson side by side."""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS", "PRESET_INFO", "preset"]

_SEED = {"lr": 0.1, "decay": 0.0, "momentum": 0.9, "patience": 50, "epochs": 100, "n1": 10,
         "n2": 10, "n3": 0, "kr": 0.0, "activation": "lrelu", "dataset": "moons"}

#: The fractal paper notebook's setup (docs/design/fractal-paper.md): every setting its preset fixes.
#: One step per epoch (full batch, no shuffle), so the History loss of epoch t is the loss before
#: step t, the notebook's tracked value; plateau off (patience 10**9), plain GD (momentum 0).
FRACTAL = {"dataset": "fractal", "task": "regression", "activation": "tanh", "n1": 16, "n2": 0, "n3": 0,
           "bias": False, "init": "fractal", "parametrization": "meanfield", "optimizer": "sgd", "momentum": 0.0,
           "decay": 0.0, "patience": 10**9, "batch_size": 272, "shuffle": False, "lr": 1.0, "lr1": 1.0, "lr2": 1.0,
           "kr": 0.0, "l1": 0.0, "epochs": 200, "precision": "float64"}

#: name -> (one-line description, hp dict for :func:`jaxviz.sweep`).
_TABLE: dict[str, tuple[str, dict[str, Any]]] = {
    "default": ("the seed's default settings (moons, lr 0.1, momentum 0.9, 100 epochs)", {}),
    "change": ("the seed's 'change hyperparameters here' cell: circles, lr 0.07, momentum 0.99, "
               "400 epochs", {"lr": 0.07, "momentum": 0.99, "epochs": 400, "dataset": "circles"}),
    "explode": ("'make your gradient explode': lr 0.5 with momentum 0.9",
                {"lr": 0.5, "momentum": 0.9, "epochs": 150}),
    "momentum-off": ("lr 0.07 without momentum, 150 epochs", {"lr": 0.07, "momentum": 0.0, "epochs": 150}),
    "momentum-on": ("lr 0.07 with momentum 0.9, 150 epochs", {"lr": 0.07, "momentum": 0.9, "epochs": 150}),
    "momentum-off-long": ("no momentum but 500 epochs and patience 500",
                          {"lr": 0.07, "momentum": 0.0, "patience": 500, "epochs": 500}),
    "overfitting": ("50-50-50 net, lr 0.002, momentum 0.999, 500 epochs on circles",
                    {"lr": 0.002, "momentum": 0.999, "epochs": 500, "n1": 50, "n2": 50, "n3": 50,
                     "dataset": "circles"}),
    "demo": ("a small lr x momentum grid on moons (what `jaxviz demo` runs)",
             {"lr": [0.01, 0.07, 0.5], "momentum": [0.0, 0.9], "epochs": 100}),
    "lesson-explode": ("learning rate too high: lr 0.07 / 0.5 / 1.0 side by side",
                       {"lr": [0.07, 0.5, 1.0], "momentum": 0.9, "epochs": 150}),
    "lesson-momentum": ("momentum off vs on at lr 0.07", {"lr": 0.07, "momentum": [0.0, 0.9], "epochs": 150}),
    "lesson-patience": ("no momentum: patience 50 vs 500 over 500 epochs",
                        {"lr": 0.07, "momentum": 0.0, "patience": [50, 500], "epochs": 500}),
    "lesson-overfitting": ("the seed's overfitting settings over widths: 10-10 up to 50-50-50 on circles",
                           {"lr": 0.002, "momentum": 0.999, "epochs": 500, "n1": [10, 50], "n2": [10, 50],
                            "n3": [0, 50], "dataset": "circles"}),
    "lesson-regularisation": ("a 50-50-50 net on circles overfits; L2 (kr) 0 / 1e-3 / 1e-2 reins it in",
                              {"lr": 0.002, "momentum": 0.999, "epochs": 500, "n1": 50, "n2": 50, "n3": 50,
                               "dataset": "circles", "kr": [0.0, 1e-3, 1e-2]}),
    "lesson-optimizers": ("SGD with momentum vs Adam, RMSprop and Adagrad on the tricky set",
                          {"optimizer": ["sgd", "adam", "rmsprop", "adagrad"], "lr": [0.01, 0.1],
                           "dataset": "tricky", "epochs": 150}),
    "playground": ("TensorFlow Playground's four sets (xor, gauss, spiral, ring) at noise 0 and 0.25",
                   {"dataset": ["xor", "gauss", "spiral", "ring"], "noise": [0.0, 0.25], "n1": 8, "n2": 8,
                    "activation": "tanh", "lr": 0.03, "epochs": 200}),
    # tasks (issue 14)
    "playground-multiclass": ("three classes: blobs, Playground's gauss (3 centres) and spiral (3 arms), two widths",
                              {"task": "multiclass", "classes": 3, "dataset": ["blobs", "gauss", "spiral"],
                               "n1": [4, 16], "n2": 8, "activation": "tanh", "lr": 0.03, "epochs": 200}),
    "playground-regression": ("Playground's regression sets (plane, multigauss) at noise 0 and 0.25",
                              {"task": "regression", "dataset": ["plane", "multigauss"], "noise": [0.0, 0.25],
                               "n1": 8, "n2": 8, "activation": "tanh", "lr": 0.01, "epochs": 100}),
    # the fractal paper (issue 13): map lr1 (x, input layer) x lr2 (y, output layer) with jaxviz.trainability
    **{name: (info, {**FRACTAL, **hp}) for name, (info, hp) in {
        "fractal": ("the fractal paper's net (Sohl-Dickstein 2024): 16-16-1 tanh, mean-field, no biases, its N(0,1) "
                    "weights and 272 points, full-batch GD in float64, 200 steps; map lr1 x lr2", {}),
        "fractal-relu": ("the fractal paper's ReLU variant (272 points)", {"activation": "relu"}),
        "fractal-linear": ("the fractal paper's linear variant (its own 16 points)",
                           {"activation": "linear", "dataset": "fractal-linear", "batch_size": 16}),
        "fractal-minibatch": ("the fractal paper's tanh net with batches of 16, Keras-style: reshuffled each epoch, "
                              "17 steps per epoch, History loss = mean batch loss (the notebook samples 16 with "
                              "replacement per step and scores the full-batch loss)",
                              {"batch_size": 16, "shuffle": True}),
        "fractal-single": ("the fractal paper's single-datapoint variant (one point)",
                           {"dataset": "fractal-single", "batch_size": 1}),
    }.items()},
}

#: name -> hp dict, ready for ``jaxviz.sweep(jaxviz.PRESETS[name])``; the seed's values in full.
PRESETS: dict[str, dict[str, Any]] = {name: {**_SEED, **hp} for name, (_, hp) in _TABLE.items()}
#: name -> one-line description.
PRESET_INFO: dict[str, str] = {name: info for name, (info, _) in _TABLE.items()}


def preset(name: str) -> dict[str, Any]:
    """A copy of preset ``name``'s hp dict.

    Example:
        >>> preset("explode")["lr"]
        0.5
    """
    from jaxviz.spec.config import unknown_key

    if name not in PRESETS:
        raise unknown_key("preset", name, PRESETS)
    return {k: list(v) if isinstance(v, list) else v for k, v in PRESETS[name].items()}
