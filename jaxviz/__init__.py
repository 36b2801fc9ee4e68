"""jaxviz: train a whole grid of small neural networks at once with JAX and watch every model's
decision surface evolve side by side.

Example:
    >>> import jaxviz
    >>> run = jaxviz.sweep({"lr": [0.1, 0.5]}, epochs=2, resolution=8, progress=False)
    >>> run.metrics["val_loss"].shape
    (2, 2)
"""

from jaxviz.config import HP_DEFAULTS
from jaxviz.presets import PRESET_INFO, PRESETS
from jaxviz.run import Run, load, plan_sweep, sweep

__all__ = ["HP_DEFAULTS", "PRESETS", "PRESET_INFO", "Run", "load", "plan_sweep", "sweep"]
__version__ = "0.1.0"
