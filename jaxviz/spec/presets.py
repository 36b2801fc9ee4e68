"""The seed notebook's named settings, and lesson grids that put each lesson side by side."""

from __future__ import annotations

from typing import Any

__all__ = ["PRESETS", "PRESET_INFO", "preset"]

_SEED = {"lr": 0.1, "decay": 0.0, "momentum": 0.9, "patience": 50, "epochs": 100, "n1": 10,
         "n2": 10, "n3": 0, "kr": 0.0, "activation": "lrelu", "dataset": "moons"}

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
