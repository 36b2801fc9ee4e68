"""The fractal paper's settings at the level of shapes: its datasets, its fixed initial weights and
float64 training, checked and turned into the program's :class:`~jaxviz.spec.grid.Static` fields.

The paper (Sohl-Dickstein 2024, see ``docs/design/fractal-paper.md``) trains a 16-16-1 net on
16-D raw data; a grid with one of its datasets takes the data's 16 columns as the inputs
(``Static.raw_inputs``), and ``init="fractal"`` gives every model the notebook's own initial
weights, which only fit that net.
"""

from __future__ import annotations

from typing import Any

from jaxviz.spec.config import FRACTAL_DATASETS
from jaxviz.spec.features import feature_count

__all__ = ["FRACTAL_WIDTH", "fractal_static", "model_inputs"]

#: The paper's input dimension and hidden width.
FRACTAL_WIDTH = 16


def model_inputs(config: dict[str, Any]) -> int:
    """A model's input columns: the paper's 16-D points as they are, else one per feature of its 2-D points.

    Example:
        >>> model_inputs({"dataset": "fractal", "features": "x"}), model_inputs({"dataset": "moons", "features": "x+sq"})
        (16, 4)
    """
    return FRACTAL_WIDTH if config["dataset"] in FRACTAL_DATASETS else feature_count(config["features"])


def _fail(name: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"{name} must be {rule}. Got {value!r} instead.")


def fractal_static(values) -> dict[str, Any]:
    """The :class:`~jaxviz.spec.grid.Static` fields a grid's paper settings fix; ``values(key)``
    gives the distinct values of a setting. Refused: the paper's datasets mixed with the 2-D ones,
    ``init="fractal"`` without them or on another net than 16-16-1.

    Example:
        >>> v = {"dataset": ["fractal"], "init": ["fractal"], "n1": [16], "n2": [0], "n3": [0],
        ...      "precision": ["float64"]}
        >>> fractal_static(v.get)
        {'precision': 'float64', 'raw_inputs': 16, 'inputs': 16, 'paper_init': True}
        >>> fractal_static({**v, "dataset": ["fractal", "moons"]}.get)
        Traceback (most recent call last):
        ...
        ValueError: dataset must be all fractal sets or none within one grid (their 16-D points are not 2-D). Got ['fractal', 'moons'] instead.
    """
    out: dict[str, Any] = {"precision": values("precision")[0]}
    datasets = values("dataset")
    paper = [d in FRACTAL_DATASETS for d in datasets]
    if any(paper) and not all(paper):
        raise _fail("dataset", "all fractal sets or none within one grid (their 16-D points are not 2-D)",
                    list(datasets))
    if all(paper):
        out.update(raw_inputs=FRACTAL_WIDTH, inputs=FRACTAL_WIDTH)
    if "fractal" in values("init"):
        if not all(paper):
            raise _fail("init", f"'glorot' or 'normal' unless the dataset is one of {list(FRACTAL_DATASETS)} "
                        "(init='fractal' is the paper's weights for its 16-D data)", "fractal")
        net = (values("n1"), values("n2"), values("n3"))
        if net != ([FRACTAL_WIDTH], [0], [0]):
            raise _fail("init", "used with n1=16, n2=0, n3=0 (the paper's 16-16-1 net) when 'fractal'",
                        f"n1={net[0]}, n2={net[1]}, n3={net[2]}")
        out["paper_init"] = True
    return out
