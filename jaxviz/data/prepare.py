"""Datasets prepared for training: the named sets and the user's own points, standardised, split and packed.

Every dataset goes through the seed's preparation: ``StandardScaler`` fitted on the whole set,
then ``train_test_split(test_size=0.4, random_state=42)`` (a user's own split is kept as given).
The prediction mesh spans the standardised data plus 0.5 on every side.
"""

from __future__ import annotations

import csv
import functools
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np

from jaxviz.data.datasets import multiclass_dataset, playground_dataset, raw_dataset, regression_dataset
from jaxviz.data.fractal import fractal_points
from jaxviz.spec.config import FRACTAL_DATASETS
from jaxviz.spec.config import (MAX_CLASSES, MULTICLASS_DATASETS, PLAYGROUND_DATASETS, REGRESSION_DATASETS,
                                SEED_DATASETS, validate_value)

__all__ = [
    "Dataset",
    "DataTable",
    "load_dataset",
    "dataset_from_arrays",
    "read_csv",
    "pack",
    "infer_task",
    "fractal_dataset",
    "write_seed_sets",
]

#: Margin around the data of the prediction mesh, in standardised units (seed: 0.5).
MESH_MARGIN = 0.5
#: The seed's four datasets, prepared: fixed recipes, so they ship with jaxviz (written by
#: :func:`write_seed_sets`; a test prepares them afresh and compares them bit for bit) and a run
#: on them needs no scikit-learn, whose import alone takes 1.3-1.5 s (issue 11).
SEED_SETS = Path(__file__).with_name("seed_datasets.npz")


class Dataset(NamedTuple):
    """A standardised train/test split and the extent of its prediction mesh.

    ``extent`` is ``(x_min, x_max, y_min, y_max)`` of the mesh: the data's range plus 0.5.
    Targets are float32: the class index (0/1, or 0..k-1 for a multi-class set) or, for a
    regression, the real target (not standardised).
    """

    name: str
    x_train: np.ndarray  # (n_train, 2) float32
    y_train: np.ndarray  # (n_train,) float32
    x_test: np.ndarray  # (n_test, 2) float32
    y_test: np.ndarray  # (n_test,) float32
    extent: tuple[float, float, float, float]


def _prepare(name: str, X, y, split=None) -> Dataset:
    """Standardise on the whole set, split 60/40 (unless ``split`` is given), find the extent."""
    from sklearn.model_selection import train_test_split  # here: the CLI answers without scikit-learn
    from sklearn.preprocessing import StandardScaler

    X = np.asarray(X, np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        scaler = StandardScaler().fit(X)
        scaled = scaler.transform(X)
    _check_standardised(name, X, scaler, scaled)
    if split is None:
        x_train, x_test, y_train, y_test = train_test_split(scaled, y, test_size=0.4, random_state=42)
    else:
        (x_train, y_train), (x_test, y_test) = [(scaler.transform(np.asarray(a, np.float64)), b) for a, b in split]
    X = scaled
    lo, hi = X.min(axis=0) - MESH_MARGIN, X.max(axis=0) + MESH_MARGIN
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return Dataset(
        name, f32(x_train), f32(y_train), f32(x_test), f32(y_test),
        (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
    )


def _check_standardised(name: str, X: np.ndarray, scaler, scaled: np.ndarray) -> None:
    """Refuse points whose standardisation overflows (values near 1e154 and beyond square to inf)."""
    ok = np.isfinite(scaler.mean_) & np.isfinite(scaler.scale_) & np.isfinite(scaled).all(axis=0)
    ok &= np.abs(scaled).max(axis=0, initial=0.0) < 3.4e38  # float32, as the model sees them
    for j in np.flatnonzero(~ok):
        big = float(np.abs(X[:, j]).max())
        raise ValueError(f"{'data' if name == 'custom' else name} column x{j + 1} must be standardisable (its mean and spread finite in float64). "
                         f"Got values up to {big:.3g} in magnitude instead; scale that column down first.")


@functools.lru_cache(maxsize=64)
def load_dataset(name: str | int, noise: float = 0.0, seed: int = 0, classes: int | None = None) -> Dataset:
    """A named dataset, standardised on the whole set, then split 60/40 with random_state=42.

    The seed's four (``moons``/1, ``circles``/2, ``blobs``/3, ``tricky``/4) are fixed recipes;
    Playground's four (``xor``, ``gauss``, ``spiral``, ``ring``) and its regression sets
    (``plane``, ``multigauss``) use ``noise`` and ``seed``. With ``classes=k``, ``blobs``,
    ``spiral`` and ``gauss`` are drawn with k classes (:func:`~jaxviz.data.datasets.multiclass_dataset`).

    Example:
        >>> ds = load_dataset(1)
        >>> ds.name, ds.x_train.shape, ds.x_test.shape
        ('moons', (60, 2), (40, 2))
        >>> load_dataset("xor", 0.2, 3).x_train.shape
        (300, 2)
        >>> sorted(set(load_dataset("spiral", classes=3).y_train.tolist()))
        [0.0, 1.0, 2.0]
    """
    name = validate_value("dataset", name)
    if name in FRACTAL_DATASETS:
        return fractal_dataset(name)
    if classes is not None:
        if name not in MULTICLASS_DATASETS:
            raise ValueError(f"dataset must be one of {list(MULTICLASS_DATASETS)} with classes={classes}. "
                             f"Got {name!r} instead.")
        return _prepare(name, *multiclass_dataset(name, classes, noise, seed))
    if name in REGRESSION_DATASETS:
        return _prepare(name, *regression_dataset(name, noise, seed))
    if name in PLAYGROUND_DATASETS:
        return _prepare(name, *playground_dataset(name, noise, seed))
    return _seed_set(name) if SEED_SETS.is_file() else _prepare(name, *raw_dataset(name))


_SEED_PARTS = ("x_train", "y_train", "x_test", "y_test", "extent")


def _seed_set(name: str) -> Dataset:
    with np.load(SEED_SETS) as f:
        x_train, y_train, x_test, y_test, extent = (f[f"{name}/{part}"] for part in _SEED_PARTS)
    return Dataset(name, x_train, y_train, x_test, y_test, tuple(float(v) for v in extent))


def write_seed_sets(path: str | Path = SEED_SETS) -> Path:
    """Prepare the seed's four datasets with scikit-learn and store them at ``path`` (the file
    jaxviz ships, :data:`SEED_SETS`, by default): run again if scikit-learn ever changes a recipe.

    Example:
        >>> import tempfile
        >>> with tempfile.TemporaryDirectory() as d:
        ...     out = write_seed_sets(Path(d) / "sets.npz")
        ...     sorted(np.load(out).files)[:2]
        ['blobs/extent', 'blobs/x_test']
    """
    arrays = {}
    for name in SEED_DATASETS:
        ds = _prepare(name, *raw_dataset(name))
        arrays.update({f"{name}/{part}": np.asarray(getattr(ds, part)) for part in _SEED_PARTS})
    np.savez_compressed(path, **arrays)
    return Path(path)


def fractal_dataset(name: str) -> Dataset:
    """The fractal paper's points (:mod:`jaxviz.data.fractal`) as the paper trains on them: raw
    (not standardised), float64, every point a training point. The paper has no test split; the
    "test set" is the first training point alone, so ``val_loss`` (needed by the plateau rule, which
    the fractal presets turn off) costs almost nothing: it is that point's loss after each epoch.
    The mesh extent is a placeholder (16-D points have no 2-D surface).

    Example:
        >>> ds = fractal_dataset("fractal")
        >>> ds.x_train.shape, ds.x_test.shape, ds.x_test.dtype, bool((ds.x_test == ds.x_train[:1]).all())
        ((272, 16), (1, 16), dtype('float64'), True)
    """
    x, y = fractal_points(name)
    return Dataset(name, x, y, x[:1], y[:1], (-1.0, 1.0, -1.0, 1.0))


def _check_points(what: str, X, y) -> tuple[np.ndarray, np.ndarray]:
    try:
        X = np.asarray(X, dtype=np.float64)
        y_raw = np.asarray(y)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numeric arrays X (n, 2) and y (n,). Got something else instead.") from None
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{what} X must have exactly 2 feature columns, shape (n, 2). Got shape {X.shape} instead.")
    if y_raw.ndim != 1 or len(y_raw) != len(X):
        raise ValueError(f"{what} y must be one label per point, shape ({len(X)},). Got shape {y_raw.shape} instead.")
    if not np.isfinite(X).all():
        bad = int(np.flatnonzero(~np.isfinite(X).all(axis=1))[0])
        raise ValueError(f"{what} X must be finite numbers. Got {X[bad].tolist()} (NaN or inf) at row {bad} instead.")
    try:
        y_num = y_raw.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} y must be numeric labels or targets. Got {sorted(set(y_raw.tolist()))[:5]} "
                         "instead.") from None
    if not np.isfinite(y_num).all():
        bad = int(np.flatnonzero(~np.isfinite(y_num))[0])
        raise ValueError(f"{what} y must be finite numbers. Got {y_num[bad]} at row {bad} instead.")
    return X, y_num


def _parts(data) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """``(what, X, y)`` of each part of the user's data, each checked (shapes, finite values)."""
    if not isinstance(data, (tuple, list)) or len(data) not in (2, 4):
        raise ValueError("data must be (X, y) or (X_train, y_train, X_test, y_test). "
                         f"Got {type(data).__name__} of length {len(data) if hasattr(data, '__len__') else '?'} instead.")
    names = ["data"] if len(data) == 2 else ["training data", "test data"]
    return [(what, *_check_points(what, data[i], data[i + 1])) for what, i in zip(names, range(0, len(data), 2))]


def _auto_task(y: np.ndarray, classes: int) -> str:
    """What the targets say: integer labels are classes (more than two, or ``classes > 2``:
    multi-class), anything else is a regression."""
    if not (y == np.round(y)).all():
        if classes > 2:
            raise ValueError(f"data y must be integer class labels 0..{classes - 1} with classes={classes}. "
                             f"Got non-integer values such as {y[y != np.round(y)][0]} instead.")
        return "regression"
    if y.min(initial=0) < 0:
        raise ValueError(f"data y must be class labels 0..k-1 (or real targets with task='regression'). "
                         f"Got labels {np.unique(y).tolist()[:MAX_CLASSES + 1]} instead.")
    return "multiclass" if classes > 2 or y.max(initial=0) > 1 else "binary"


def infer_task(data, task: str = "auto", classes: int = 2) -> tuple[str, int]:
    """The task the user's points call for, ``(task, classes)``, with one clear refusal per mistake.

    ``task="auto"``: integer labels 0/1 are binary, integer labels 0..k-1 with k > 2 (or
    ``classes=k > 2``) multi-class, real (non-integer) targets a regression. Refused: labels
    that are not 0..k-1, a class with fewer than 2 points (in each part given), NaN/inf.

    Example:
        >>> X = np.zeros((6, 2))
        >>> infer_task((X, [0, 1, 2] * 2)), infer_task((X, [0.5, 1, 2] * 2)), infer_task((X, [0, 1] * 3))
        (('multiclass', 3), ('regression', 2), ('binary', 2))
        >>> infer_task((X, [0, 1, 3] * 2))
        Traceback (most recent call last):
        ...
        ValueError: data must have at least 2 points of each class. Got 2 of class 0, 2 of class 1, 0 of class 2 and 2 of class 3 instead.
    """
    parts = _parts(data)
    y_all = np.concatenate([y for _, _, y in parts])
    if task == "auto":
        task = _auto_task(y_all, classes)
    if task == "regression":
        if classes != 2:
            raise ValueError(f"classes must be left at 2 with task='regression' (a regression has no classes). "
                             f"Got {classes} instead.")
        for what, _, y in parts:
            if len(y) < 2:
                raise ValueError(f"{what} must have at least 2 points. Got {len(y)} instead.")
        return task, classes
    labels = np.unique(y_all)
    if task == "binary":
        if not set(labels.tolist()) <= {0.0, 1.0}:
            raise ValueError(f"data y must be two classes labelled 0 and 1. Got labels {labels.tolist()[:5]} instead.")
        k = 2
    else:
        if not (labels == np.round(labels)).all() or labels.min() < 0:
            raise ValueError(f"data y must be integer class labels 0..k-1 with task='multiclass'. "
                             f"Got labels {labels.tolist()[:5]} instead.")
        k = classes if classes > 2 else int(labels.max()) + 1
        if k > MAX_CLASSES:
            raise ValueError(f"data y must be at most {MAX_CLASSES} classes, labelled 0..{MAX_CLASSES - 1}. "
                             f"Got labels up to {int(labels.max())} instead.")
        if labels.max() >= k:
            raise ValueError(f"data y must be class labels 0..{k - 1} with classes={k}. "
                             f"Got labels {labels.astype(int).tolist()[:MAX_CLASSES + 1]} instead.")
    _check_counts(parts, k)
    return task, k


def _check_counts(parts, k: int) -> None:
    """At least 2 points of every class 0..k-1 in every part (the split, the standardiser and the
    per-class metrics need them)."""
    for what, _, y in parts:
        counts = np.bincount(y.astype(np.int64), minlength=k)[:k]
        if counts.min() < 2:
            listed = [f"{n} of class {c}" for c, n in enumerate(counts.tolist())]
            raise ValueError(f"{what} must have at least 2 points of each class. Got {', '.join(listed[:-1])} and "
                             f"{listed[-1]} instead.")


def dataset_from_arrays(data, name: str = "custom", task: str = "auto", classes: int = 2) -> Dataset:
    """The user's own points: ``(X, y)`` (split 60/40 as the seed does) or
    ``(X_train, y_train, X_test, y_test)`` (kept as given). Standardised on all points.

    ``y`` holds class labels (0/1, or 0..k-1) or, for a regression, real targets; ``task`` and
    ``classes`` are checked against them (see :func:`infer_task`). Refused: not 2 features,
    labels that are not 0..k-1, NaN/inf, fewer than 2 points of a class (in each part given).

    Example:
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1], [2, 2], [3, 3]], float)
        >>> ds = dataset_from_arrays((X, [0, 0, 1, 1, 0, 1]))
        >>> ds.x_train.shape, ds.x_test.shape
        ((3, 2), (3, 2))
    """
    infer_task(data, task, classes)
    checked = [(X, y) for _, X, y in _parts(data)]
    if len(checked) == 1:
        return _prepare(name, *checked[0])
    X_all = np.concatenate([checked[0][0], checked[1][0]])
    return _prepare(name, X_all, None, split=checked)


def read_csv(path, what: str = "--data") -> tuple[np.ndarray, np.ndarray]:
    """Two feature columns and a label column (0/1, 0..k-1, or a real target); a header line is
    optional. No pickles.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "d.csv"
        >>> _ = p.write_text("x,y,label\\n0.5,1,0\\n2,3,1\\n")
        >>> X, y = read_csv(p)
        >>> X.tolist(), y.tolist()
        ([[0.5, 1.0], [2.0, 3.0]], [0.0, 1.0])
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # Excel's "CSV UTF-8" starts with a byte-order mark
    except FileNotFoundError:
        raise ValueError(f"{what} must be an existing CSV file. Got {str(path)!r} instead.") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} must be a readable text CSV file. Got {str(path)!r} ({e}) instead.") from None
    rows = [(n, r) for n, r in enumerate(csv.reader(text.splitlines()), start=1) if r and any(c.strip() for c in r)]
    if not rows:
        raise ValueError(f"{what} {str(path)!r} must hold rows 'x1,x2,label'. Got an empty file instead.")
    values, header = [], None
    for k, (line, row) in enumerate(rows):
        numbers = [_number(c) for c in row]
        if len(row) == 3 and None not in numbers:
            values.append(numbers)
        elif k == 0 and len(row) == 3 and all(v is None for v in numbers):  # a header: no field is a number
            header = f"jaxviz: note: {what} {str(path)!r} line {line} {','.join(row)!r} read as a header and skipped"
        else:
            raise ValueError(f"{what} {str(path)!r} line {line} must be 'x1,x2,label' with 3 numbers. "
                             f"Got {','.join(row)!r} instead.")
    if not values:
        raise ValueError(f"{what} {str(path)!r} must hold rows 'x1,x2,label'. Got only a header instead.")
    if header:  # said once the file is read: an error stays the one line
        print(header, file=sys.stderr)
    table = np.asarray(values)
    return table[:, :2], table[:, 2]


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


class DataTable(NamedTuple):
    """Several datasets padded to common sizes, for one program: model i uses row ``data_index[i]``.

    Padded points are zeros; ``n_train`` / ``n_test`` say how many rows of each are real.
    """

    x_train: np.ndarray  # (D, N, 2) float32
    y_train: np.ndarray  # (D, N) float32
    n_train: np.ndarray  # (D,) int32
    x_test: np.ndarray  # (D, M, 2) float32
    y_test: np.ndarray  # (D, M) float32
    n_test: np.ndarray  # (D,) int32


def pack(datasets: list[Dataset]) -> DataTable:
    """Pad datasets to the largest train and test sizes.

    Example:
        >>> t = pack([load_dataset("moons"), load_dataset("tricky")])
        >>> t.x_train.shape, t.n_train.tolist()
        ((2, 120, 2), [60, 120])
    """
    n = max(len(d.y_train) for d in datasets)
    m = max(len(d.y_test) for d in datasets)

    def pad(arrays, size):  # float32, unless a set is float64 (the fractal paper's)
        out = np.zeros((len(arrays), size, *arrays[0].shape[1:]), np.result_type(np.float32, *arrays))
        for i, a in enumerate(arrays):
            out[i, : len(a)] = a
        return out

    return DataTable(
        pad([d.x_train for d in datasets], n), pad([d.y_train for d in datasets], n),
        np.array([len(d.y_train) for d in datasets], np.int32),
        pad([d.x_test for d in datasets], m), pad([d.y_test for d in datasets], m),
        np.array([len(d.y_test) for d in datasets], np.int32),
    )
