"""Hyperparameters and options: their names, defaults, and the rules that validate them.

This is the first stage of the pipeline (config -> grid -> train -> surfaces -> render -> write).
Everything a user can type is checked here, before anything is compiled, and every refusal has
one shape: ``"<name> must be <rule>. Got <value> instead."``.
"""

from __future__ import annotations

import difflib
import math
import numbers
import re
from typing import Any

import numpy as np

from jaxviz.spec.features import FEATURES, canonical_features, feature_code, feature_count

__all__ = [
    "HP_DEFAULTS",
    "ACTIVATIONS",
    "DATASETS",
    "REGRESSION_DATASETS",
    "MULTICLASS_DATASETS",
    "NOISY_DATASETS",
    "TASK_NAMES",
    "MAX_CLASSES",
    "OPTIMIZERS",
    "GRID_WIDE",
    "validate_hp",
    "unknown_key",
    "validate_value",
    "check_resolution",
    "check_frames",
    "check_fps",
    "frame_epochs",
    "check_memory",
    "format_bytes",
    "FEATURES",
    "INITS",
    "PARAMETRIZATIONS",
    "canonical_features",
    "feature_code",
    "feature_count",
    # optimisers and schedules (issue 14, section 6)
    "OPTAX_OPTIMIZERS",
    "OPTAX_PREFIX",
    "SCHEDULES",
    "LAYER_LR", "FRACTAL_DATASETS", "PRECISIONS",  # the last two: the fractal paper (issue 13)
]

#: The seed notebook's ``hp`` dict, plus ``batch_size``, ``seed``, ``shuffle``, ``optimizer`` and
#: ``noise`` (of the Playground datasets).
HP_DEFAULTS: dict[str, Any] = {
    "lr": 0.1,
    "decay": 0.0,
    "momentum": 0.9,
    "patience": 50,
    "epochs": 100,
    "n1": 10,
    "n2": 10,
    "n3": 0,
    "kr": 0.0,
    "activation": "lrelu",
    "dataset": "moons",
    "batch_size": 10,
    "seed": 0,
    "shuffle": True,
    "optimizer": "sgd",
    "noise": 0.0,
    # model options (issue 14 section 4-5): engineered inputs, biases, initialisation, parametrization, L1
    "features": "x",
    "bias": True,
    "init": "glorot",
    "parametrization": "standard",
    "l1": 0.0,
    # optimisers and schedules (issue 14): the lr schedule, and per-layer lr multipliers of the
    # model's real layers in order (lr1 = first hidden layer, ..., the output layer last)
    "schedule": "constant",
    "lr1": 1.0,
    "lr2": 1.0,
    "lr3": 1.0,
    "lr4": 1.0,
    # tasks (issue 14): what the output means; "auto" infers it from the data (see jaxviz.spec.grid.resolve_task)
    "task": "auto",
    "classes": 2,
    "precision": "float32",  # the fractal paper (issue 13): the float type (jaxviz.engine.precision)
}

ACTIVATIONS = ("relu", "lrelu", "sigmoid", "tanh", "linear")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad")
#: A grid value ``"optax:NAME"`` trains with ``optax.NAME`` (see :mod:`jaxviz.optim`).
OPTAX_PREFIX = "optax:"
#: The optax optimisers a grid can name: each takes ``learning_rate`` first, works under
#: ``optax.inject_hyperparams``, scales its update by the rate last (so a per-layer multiplier
#: is a per-layer rate) and treats every weight on its own or by whole-array norms (so a padded
#: model trains as its unpadded self). Left out: adafactor (factored by padded shape, scaled by a
#: mean over the padding), fromage and rprop (not linear in the rate), lbfgs and polyak_sgd (need
#: the loss), noisy_sgd (random), sm3, optimistic_adam.
OPTAX_OPTIMIZERS = ("adabelief", "adadelta", "adagrad", "adam", "adamax", "adamaxw", "adamw", "adan", "amsgrad",
                    "lamb", "lars", "lion", "nadam", "nadamw", "novograd", "optimistic_gradient_descent", "radam",
                    "rmsprop", "sgd", "sign_sgd", "signum", "yogi")
#: Learning-rate schedules, each a multiplier of the rate over a model's own training steps
#: (see :func:`jaxviz.optim.schedule_multiplier`).
SCHEDULES = ("constant", "cosine", "warmup_cosine", "exponential", "linear")
#: Per-layer learning-rate multipliers, for the model's real layers in order.
LAYER_LR = ("lr1", "lr2", "lr3", "lr4")
#: The seed's datasets in its numbering: 1 = moons, 2 = circles, 3 = blobs, 4 = tricky.
SEED_DATASETS = ("moons", "circles", "blobs", "tricky")
#: TensorFlow Playground's classification sets ("ring" is Playground's "circle").
PLAYGROUND_DATASETS = ("xor", "gauss", "spiral", "ring")
#: TensorFlow Playground's regression sets: a real target for every point (``task="regression"``).
REGRESSION_DATASETS = ("plane", "multigauss")
#: Sets drawn with any number of classes ``classes=k`` (3 to MAX_CLASSES; ``task="multiclass"``).
MULTICLASS_DATASETS = ("blobs", "spiral", "gauss")
#: Sets drawn with Playground's ``noise`` (and from the model's ``seed``).
NOISY_DATASETS = PLAYGROUND_DATASETS + REGRESSION_DATASETS
#: The fractal paper notebook's raw 16-D data (jaxviz.data.fractal): 272, 16 or 1 points.
FRACTAL_DATASETS = ("fractal", "fractal-linear", "fractal-single")
DATASETS = SEED_DATASETS + PLAYGROUND_DATASETS + REGRESSION_DATASETS + FRACTAL_DATASETS
#: What the network's output means; "auto" infers it from the data (jaxviz.spec.grid.resolve_task).
TASK_NAMES = ("auto", "binary", "multiclass", "regression")
MAX_CLASSES = 10

#: Hyperparameters that cannot vary within one grid (they choose the program's code path).
GRID_WIDE = ("shuffle", "task", "classes", "precision")

MAX_WIDTH = 1024
MAX_EPOCHS = 100_000
#: The memory plan (jaxviz.plan) refuses what does not fit well before this.
MAX_RESOLUTION = 16384


def plain(value: Any) -> Any:
    """NumPy / JAX values as plain Python: arrays of one dimension become lists, 0-d arrays and
    NumPy scalars become ``bool`` / ``int`` / ``float`` / ``str``. A float32 keeps the decimal
    form it was written in (its shortest round-trip repr: ``np.float32(0.01)`` -> ``0.01``, not
    ``0.009999999776482582``). Anything else is returned as it is.

    Example:
        >>> plain(np.array([0.01, 0.1], np.float32)), plain(np.bool_(True)), plain(np.arange(2))
        ([0.01, 0.1], True, [0, 1])
    """
    if isinstance(value, np.generic):
        if isinstance(value, np.floating) and value.dtype != np.float64:
            return float(np.format_float_positional(value, unique=True, trim="0")) if np.isfinite(value) else float(value)
        return value.item()
    if isinstance(value, (str, bytes, bool, int, float)) or value is None:
        return value
    if not isinstance(value, (list, tuple, dict)) and hasattr(value, "__array__") and hasattr(value, "shape"):
        array = np.asarray(value)  # a NumPy, JAX (or other) array
        if array.ndim == 0:
            return plain(array[()])
        if array.ndim == 1:
            return [plain(v) for v in array]
    return value


def _fail(name: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"{name} must be {rule}. Got {value!r} instead.")


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    # 10.0 from a TOML file or a CLI float is an integer setting, 10.5 is not.
    return isinstance(value, float) and math.isfinite(value) and value.is_integer()


def _real(name: str, value: Any, rule: str, ok) -> float:
    if not _is_real(value) or not math.isfinite(value) or not ok(float(value)):
        raise _fail(name, rule, value)
    return float(value)


def _int(name: str, value: Any, rule: str, lo: int, hi: int) -> int:
    if not _is_int(value) or not lo <= int(value) <= hi:
        raise _fail(name, rule, value)
    return int(value)


def _choice(name: str, value: Any, choices: tuple[str, ...]) -> str:
    if isinstance(value, str) and value.lower() in choices:
        return value.lower()
    raise _fail(name, f"one of {list(choices)}", value)


def _optimizer(value: Any) -> str:
    """A Keras-exact optimiser's name, or ``"optax:NAME"`` for one of optax's."""
    if isinstance(value, str):
        name = value.lower()
        if name in OPTIMIZERS or (name.startswith(OPTAX_PREFIX) and name[len(OPTAX_PREFIX):] in OPTAX_OPTIMIZERS):
            return name
    raise _fail("optimizer", f"one of {list(OPTIMIZERS)} (Keras-exact) or 'optax:NAME' with NAME one of "
                f"{list(OPTAX_OPTIMIZERS)}", value)


def _dataset(value: Any) -> str:
    if _is_int(value) and 1 <= int(value) <= len(SEED_DATASETS):
        return SEED_DATASETS[int(value) - 1]
    if isinstance(value, str):
        if value.strip().isdigit():
            return _dataset(int(value))
        if value.lower() in DATASETS:
            return value.lower()
    raise _fail("dataset", f"one of {list(DATASETS)} (or 1-{len(SEED_DATASETS)} for the seed's)", value)


def _bool(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _fail(name, "true or false", value)


_RULES = {
    "lr": lambda v: _real("lr", v, "a positive number", lambda x: x > 0),
    "decay": lambda v: _real("decay", v, "a number >= 0", lambda x: x >= 0),
    "momentum": lambda v: _real("momentum", v, "a number in [0, 1]", lambda x: 0 <= x <= 1),
    "kr": lambda v: _real("kr", v, "a number >= 0", lambda x: x >= 0),
    "patience": lambda v: _int("patience", v, "an integer >= 0", 0, 10**9),
    "epochs": lambda v: _int("epochs", v, f"an integer in [1, {MAX_EPOCHS}]", 1, MAX_EPOCHS),
    "n1": lambda v: _int("n1", v, f"an integer in [0, {MAX_WIDTH}] (0 = no layer)", 0, MAX_WIDTH),
    "n2": lambda v: _int("n2", v, f"an integer in [0, {MAX_WIDTH}] (0 = no layer)", 0, MAX_WIDTH),
    "n3": lambda v: _int("n3", v, f"an integer in [0, {MAX_WIDTH}] (0 = no layer)", 0, MAX_WIDTH),
    "activation": lambda v: _choice("activation", v, ACTIVATIONS),
    "dataset": _dataset,
    "batch_size": lambda v: _int("batch_size", v, "an integer in [1, 100000]", 1, 100_000),
    "seed": lambda v: _int("seed", v, "an integer in [0, 2**31 - 1]", 0, 2**31 - 1),
    "shuffle": lambda v: _bool("shuffle", v),
    "optimizer": lambda v: _optimizer(v),
    "noise": lambda v: _real("noise", v, "a number in [0, 1]", lambda x: 0 <= x <= 1),
    # model options
    "features": lambda v: canonical_features(v),
    "bias": lambda v: _bool("bias", v),
    "init": lambda v: _choice("init", v, INITS),
    "parametrization": lambda v: _choice("parametrization", v, PARAMETRIZATIONS),
    "l1": lambda v: _real("l1", v, "a number >= 0", lambda x: x >= 0),
    # optimisers and schedules (issue 14)
    "schedule": lambda v: _choice("schedule", v, SCHEDULES),
    **{k: (lambda v, k=k: _real(k, v, "a number >= 0 (a multiplier of the layer's learning rate)",
                                lambda x: x >= 0)) for k in LAYER_LR},
    # tasks (issue 14)
    "task": lambda v: _choice("task", v, TASK_NAMES),
    "classes": lambda v: _int("classes", v, f"an integer in [2, {MAX_CLASSES}]", 2, MAX_CLASSES),
    "precision": lambda v: _choice("precision", v, PRECISIONS),  # the fractal paper (issue 13)
}


#: Initial kernels: the seed's Glorot-uniform, N(0, 1) from the model's seed, or the fractal paper's draw.
INITS = ("glorot", "normal", "fractal")
PRECISIONS = ("float32", "float64")  #: float type of weights, optimiser, data, losses, score (64: JAX's x64 mode)
#: How a layer scales: the seed's standard one, or the fractal paper's mean-field scaling.
PARAMETRIZATIONS = ("standard", "meanfield")


def unknown_key(kind: str, key: Any, known) -> ValueError:
    """The one refusal for a name that does not exist, with the closest known name.

    Example:
        >>> str(unknown_key("hyperparameter", "lrr", ["lr", "decay"]))
        "Unknown hyperparameter 'lrr'. Did you mean 'lr'? Allowed: ['lr', 'decay']."
    """
    close = difflib.get_close_matches(str(key), list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return ValueError(f"Unknown {kind} {key!r}.{hint} Allowed: {list(known)}.")


def validate_value(key: str, value: Any) -> Any:
    """Check one hyperparameter value and return it in canonical form.

    Datasets given by number become names, integer-valued floats become ints.

    Example:
        >>> validate_value("dataset", 2)
        'circles'
        >>> validate_value("lr", -1)
        Traceback (most recent call last):
        ...
        ValueError: lr must be a positive number. Got -1 instead.
    """
    if key not in _RULES:
        raise unknown_key("hyperparameter", key, HP_DEFAULTS)
    return _RULES[key](plain(value))


def validate_hp(hp: dict[str, Any]) -> dict[str, Any]:
    """Validate a hp dict whose values are scalars or lists of candidate values.

    Returns a new dict in the order given with every value canonical; lists stay lists
    (tuples become lists). An empty list, a repeated value or a nested list is refused.

    Example:
        >>> validate_hp({"lr": [0.1, 0.01], "dataset": 1})["dataset"]
        'moons'
    """
    if not isinstance(hp, dict):
        raise ValueError(f"hp must be a dict of hyperparameters. Got {type(hp).__name__} instead.")
    out: dict[str, Any] = {}
    for key, value in hp.items():
        key = str(key) if isinstance(key, str) else plain(key)
        if not isinstance(key, str) or key not in _RULES:
            raise unknown_key("hyperparameter", key, HP_DEFAULTS)
        value = plain(value)
        if isinstance(value, (list, tuple)):
            value = [plain(v) for v in value]
            if not value:
                raise _fail(key, "a value or a non-empty list of values", value)
            if any(isinstance(v, (list, tuple, dict)) for v in value):
                raise _fail(key, "a flat list of values", value)
            values = [validate_value(key, v) for v in value]
            if len(set(values)) != len(values):
                raise _fail(key, "a list of distinct values", value)
            out[key] = values
        elif isinstance(value, dict):
            raise _fail(key, "a value or a list of values", value)
        else:
            out[key] = validate_value(key, value)
    _check_noise(out)
    return out


def _check_noise(hp: dict[str, Any]) -> None:
    """Refuse a ``noise`` that would change nothing: only Playground's sets are drawn with noise;
    the seed's four are fixed recipes, and data= is the user's own points (which take the
    default dataset's place here)."""
    listed = lambda v: v if isinstance(v, list) else [v]  # noqa: E731
    noisy = [v for v in listed(hp.get("noise", 0.0)) if v != 0]
    datasets = listed(hp.get("dataset", HP_DEFAULTS["dataset"]))
    if noisy and not any(d in NOISY_DATASETS for d in datasets):
        raise _fail("noise", f"0 unless a dataset is one of Playground's {list(NOISY_DATASETS)} (the seed's "
                    "sets and data= have fixed points, which noise would not change)", hp["noise"])


def check_resolution(value: Any) -> int:
    """Mesh points per side of a decision surface.

    Example:
        >>> check_resolution(64)
        64
    """
    return _int("resolution", value, f"an integer in [2, {MAX_RESOLUTION}]", 2, MAX_RESOLUTION)


def check_frames(value: Any, epochs: int) -> int:
    """Number of recorded snapshots, from epoch 0 to the last; ``None`` means every epoch.

    Example:
        >>> check_frames(None, 100)
        101
    """
    if value is None:
        return epochs + 1
    return _int("frames", value, f"an integer in [2, epochs + 1 = {epochs + 1}]", 2, epochs + 1)


def check_memory(value: Any) -> int | None:
    """Bytes a run may use: a number, or text such as ``"4GB"`` / ``"512 MB"``; None = what is free.

    Example:
        >>> check_memory("4GB"), check_memory(1e6), check_memory(None)
        (4000000000, 1000000, None)
    """
    if value is None:
        return None
    scale = {"": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    rule = 'a positive number of bytes (or text like "4GB", "512MB")'
    if isinstance(value, str):
        m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?)B?\s*", value.upper())
        if m is None:
            raise _fail("memory", rule, value)
        number = float(m.group(1)) * scale[m.group(2)]
    elif _is_real(value):
        number = float(value)
    else:
        raise _fail("memory", rule, value)
    if not (math.isfinite(number) and number >= 1):
        raise _fail("memory", rule, value)
    return int(number)


def format_bytes(n: float) -> str:
    """Bytes as a short human figure.

    Example:
        >>> format_bytes(3.5e9), format_bytes(2_000_000), format_bytes(512)
        ('3.5 GB', '2.0 MB', '512 B')
    """
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{int(n)} B"


def check_fps(value: Any) -> float:
    """Frames per second of a written animation.

    Example:
        >>> check_fps(10)
        10.0
    """
    return _real("fps", value, "a number in (0, 120]", lambda x: 0 < x <= 120)


def frame_epochs(epochs: int, frames: int) -> np.ndarray:
    """``frames`` epochs evenly spaced from 0 (before training) to ``epochs``, both included.

    Example:
        >>> frame_epochs(10, 3).tolist()
        [0, 5, 10]
    """
    return np.round(np.linspace(0, epochs, frames)).astype(np.int64)
