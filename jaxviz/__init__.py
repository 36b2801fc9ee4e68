"""jaxviz: train a whole grid of small neural networks at once with JAX and watch every model's
decision surface evolve side by side.

Example:
    >>> import jaxviz
    >>> run = jaxviz.sweep({"lr": [0.1, 0.5]}, epochs=2, resolution=8, progress=False)
    >>> run.metrics["val_loss"].shape
    (2, 2)
"""

from jaxviz.api import load, plan_sweep, sweep
from jaxviz.maps import TrainabilityMap, trainability
from jaxviz.results import Run
from jaxviz.spec.axes import linspace, logspace
from jaxviz.spec.config import HP_DEFAULTS
from jaxviz.spec.presets import PRESET_INFO, PRESETS, preset

__all__ = ["HP_DEFAULTS", "PRESETS", "PRESET_INFO", "Run", "TrainabilityMap", "linspace", "load", "logspace",
           "plan_sweep", "preset", "sweep", "trainability"]
__version__ = "0.1.0"
