"""The seed notebook's four datasets, standardised and split exactly as the seed does."""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from sklearn.datasets import make_blobs, make_circles, make_classification, make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from jaxviz.config import DATASETS, validate_value

__all__ = ["Dataset", "load_dataset", "raw_dataset"]

#: Margin around the data of the prediction mesh, in standardised units (seed: 0.5).
MESH_MARGIN = 0.5


class Dataset(NamedTuple):
    """A standardised 60/40 split and the extent of its prediction mesh.

    ``extent`` is ``(x_min, x_max, y_min, y_max)`` of the mesh: the data's range plus 0.5.
    Labels are float32 0/1.
    """

    name: str
    x_train: np.ndarray  # (n_train, 2) float32
    y_train: np.ndarray  # (n_train,) float32
    x_test: np.ndarray  # (n_test, 2) float32
    y_test: np.ndarray  # (n_test,) float32
    extent: tuple[float, float, float, float]


def raw_dataset(name: str | int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's generator call for a dataset, before scaling and splitting.

    Example:
        >>> X, y = raw_dataset("tricky")
        >>> X.shape
        (200, 2)
    """
    name = validate_value("dataset", name)
    if name == "moons":
        return make_moons(noise=0.1, random_state=42)
    if name == "circles":
        return make_circles(noise=0.3, factor=0.5, random_state=40)
    if name == "blobs":
        return make_blobs(centers=2, n_features=2, random_state=42)
    draws = [
        make_classification(
            n_classes=2, n_features=2, n_redundant=0, n_informative=2,
            random_state=r, n_clusters_per_class=2,
        )
        for r in (1, 2)
    ]
    return np.concatenate([d[0] for d in draws]), np.concatenate([d[1] for d in draws])


@functools.lru_cache(maxsize=len(DATASETS))
def load_dataset(name: str | int) -> Dataset:
    """A seed dataset, standardised on the whole set, then split 60/40 with random_state=42.

    Example:
        >>> ds = load_dataset(1)
        >>> ds.name, ds.x_train.shape, ds.x_test.shape
        ('moons', (60, 2), (40, 2))
    """
    name = validate_value("dataset", name)
    X, y = raw_dataset(name)
    X = StandardScaler().fit_transform(X)
    x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=42)
    lo, hi = X.min(axis=0) - MESH_MARGIN, X.max(axis=0) + MESH_MARGIN
    f32 = lambda a: np.ascontiguousarray(a, dtype=np.float32)  # noqa: E731
    return Dataset(
        name, f32(x_train), f32(y_train), f32(x_test), f32(y_test),
        (float(lo[0]), float(hi[0]), float(lo[1]), float(hi[1])),
    )
