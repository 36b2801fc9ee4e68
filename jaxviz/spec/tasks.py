"""Tasks at the level of settings: which task a grid trains, decided before anything is built.

``task="auto"`` is resolved from the named datasets here (:func:`resolve_task`) and from the
user's labels in :func:`jaxviz.data.prepare.infer_task`; the resolved task and class count are
then written into every config (:func:`with_task`), so ``config.toml`` re-runs exactly that.
"""

from __future__ import annotations

from typing import Any

from jaxviz.spec.config import DATASETS as NAMED_DATASETS
from jaxviz.spec.config import FRACTAL_DATASETS, MULTICLASS_DATASETS
from jaxviz.spec.config import REGRESSION_DATASETS as PLAYGROUND_REGRESSION

#: Named sets with real targets: Playground's and the fractal paper's.
REGRESSION_DATASETS = PLAYGROUND_REGRESSION + FRACTAL_DATASETS

__all__ = ["resolve_task", "with_task"]


def _fail(name: str, rule: str, value: Any) -> ValueError:
    return ValueError(f"{name} must be {rule}. Got {value!r} instead.")


def resolve_task(task: str, classes: int, datasets: list[str]) -> tuple[str, int]:
    """The task a grid trains on its named ``datasets``: ``(task, classes)``, "auto" resolved.

    ``auto`` means regression on Playground's regression sets (``plane``, ``multigauss``),
    multi-class when ``classes > 2``, binary otherwise. Contradictions are refused: a
    regression set in a classification grid (or the reverse), ``classes > 2`` with a set that
    has two classes only, ``task="binary"`` with ``classes > 2``. User data (a dataset name not
    among the named sets) is the data's to decide (:func:`jaxviz.data.prepare.infer_task`).

    Example:
        >>> resolve_task("auto", 2, ["plane"]), resolve_task("auto", 3, ["spiral"])
        (('regression', 2), ('multiclass', 3))
        >>> resolve_task("binary", 3, ["moons"])
        Traceback (most recent call last):
        ...
        ValueError: classes must be 2 with task='binary'. Got 3 instead.
    """
    regression = [d for d in datasets if d in REGRESSION_DATASETS]
    if regression and len(regression) < len(datasets):
        raise _fail("dataset", "all regression sets or all classification sets within one grid (the task is "
                    "grid-wide)", list(datasets))
    if task == "auto":
        task = "regression" if regression else "multiclass" if classes > 2 else "binary"
    if task == "regression":
        if classes != 2:
            raise _fail("classes", "left at 2 with task='regression' (a regression has no classes)", classes)
        named = [d for d in datasets if d in NAMED_DATASETS and d not in REGRESSION_DATASETS]
        if named:
            raise _fail("dataset", f"one of {list(REGRESSION_DATASETS)} (or data= with real targets) with "
                        "task='regression'", named[0])
        return task, classes
    if regression:
        raise _fail("dataset", f"a classification set with task={task!r} (or task='regression')", regression[0])
    if task == "binary" and classes != 2:
        raise _fail("classes", "2 with task='binary'", classes)
    if task == "multiclass" and classes > 2:
        named = [d for d in datasets if d in NAMED_DATASETS and d not in MULTICLASS_DATASETS]
        if named:
            raise _fail("dataset", f"one of {list(MULTICLASS_DATASETS)} (or data= with {classes} classes) with "
                        f"classes={classes}", named[0])
    return task, classes


def with_task(grid, task: str, classes: int):
    """The grid with its resolved ``task`` and ``classes`` (so every config carries them).

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> g = with_task(make_grid(dataset="spiral", classes=3), "multiclass", 3)
        >>> g.configs[0]["task"], g.configs[0]["classes"]
        ('multiclass', 3)
    """
    axes = {k: v for k, v in grid.axes.items() if k not in ("task", "classes")}
    return type(grid)(axes, {**grid.fixed, "task": task, "classes": classes}, grid.notes)
