"""The datasets' generators: the seed's four (its exact scikit-learn calls) and TensorFlow
Playground's four (its ``dataset.ts`` recipes), as raw points before any preparation.
"""

from __future__ import annotations

import math

import numpy as np

from jaxviz.spec.config import (MAX_CLASSES, MULTICLASS_DATASETS, PLAYGROUND_DATASETS, REGRESSION_DATASETS,
                                SEED_DATASETS, validate_value)

__all__ = ["raw_dataset", "playground_dataset", "multiclass_dataset", "regression_dataset", "PLAYGROUND_SAMPLES",
           "REGRESSION_SAMPLES", "MULTICLASS_DATASETS", "REGRESSION_DATASETS", "MAX_CLASSES"]

#: TensorFlow Playground's sample count for classification problems (``NUM_SAMPLES_CLASSIFY``).
PLAYGROUND_SAMPLES = 500
#: ... and for regression problems (``NUM_SAMPLES_REGRESS`` in its playground.ts).
REGRESSION_SAMPLES = 1200


def raw_dataset(name: str | int) -> tuple[np.ndarray, np.ndarray]:
    """The seed's generator call for one of its datasets, before scaling and splitting.

    Example:
        >>> X, y = raw_dataset("tricky")
        >>> X.shape
        (200, 2)
    """
    from sklearn.datasets import make_blobs, make_circles, make_classification, make_moons  # lazy: a fast CLI

    name = validate_value("dataset", name)
    if name == "moons":
        return make_moons(noise=0.1, random_state=42)
    if name == "circles":
        return make_circles(noise=0.3, factor=0.5, random_state=40)
    if name == "blobs":
        return make_blobs(centers=2, n_features=2, random_state=42)
    if name == "tricky":
        draws = [
            make_classification(
                n_classes=2, n_features=2, n_redundant=0, n_informative=2,
                random_state=r, n_clusters_per_class=2,
            )
            for r in (1, 2)
        ]
        return np.concatenate([d[0] for d in draws]), np.concatenate([d[1] for d in draws])
    raise ValueError(f"dataset must be one of the seed's {list(SEED_DATASETS)}. Got {name!r} instead.")


def playground_dataset(name: str, noise: float = 0.0, seed: int = 0,
                       n: int = PLAYGROUND_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """TensorFlow Playground's classification generators (``dataset.ts``), labels mapped to 0/1.

    ``xor``, ``gauss``, ``spiral`` and ``ring`` (Playground's "circle"), ``n`` points with
    Playground's ``noise`` (its slider / 100, so 0 to 0.5), drawn from ``seed``.

    Example:
        >>> X, y = playground_dataset("spiral", noise=0.1, seed=0)
        >>> X.shape, int(y.sum())
        ((500, 2), 250)
    """
    rng = np.random.default_rng(seed)
    uniform = lambda a, b, size=None: rng.uniform(a, b, size)  # noqa: E731
    if name == "gauss":
        variance = 0.5 + (4.0 - 0.5) * noise / 0.5  # d3 linear scale [0, .5] -> [.5, 4]
        half = n // 2
        pos = rng.normal([2.0, 2.0], math.sqrt(variance), (half, 2))
        neg = rng.normal([-2.0, -2.0], math.sqrt(variance), (half, 2))
        return np.concatenate([pos, neg]), np.repeat([1, 0], half)
    if name == "spiral":
        half = n // 2
        i = np.arange(half)
        r = i / half * 5
        parts = []
        for delta in (0.0, math.pi):
            t = 1.75 * i / half * 2 * math.pi + delta
            x = r * np.sin(t) + uniform(-1, 1, half) * noise
            y = r * np.cos(t) + uniform(-1, 1, half) * noise
            parts.append(np.stack([x, y], 1))
        return np.concatenate(parts), np.repeat([1, 0], half)
    if name == "ring":
        radius, half = 5.0, n // 2
        points = []
        for lo, hi in ((0.0, radius * 0.5), (radius * 0.7, radius)):
            r = uniform(lo, hi, half)
            angle = uniform(0, 2 * math.pi, half)
            points.append(np.stack([r * np.sin(angle), r * np.cos(angle)], 1))
        X = np.concatenate(points)
        noisy = X + uniform(-radius, radius, X.shape) * noise
        return X, (np.hypot(noisy[:, 0], noisy[:, 1]) < radius * 0.5).astype(int)
    if name == "xor":
        X = uniform(-5, 5, (n, 2))
        X += np.where(X > 0, 0.3, -0.3)
        noisy = X + uniform(-5, 5, X.shape) * noise
        return X, (noisy[:, 0] * noisy[:, 1] >= 0).astype(int)
    raise ValueError(f"dataset must be one of Playground's {list(PLAYGROUND_DATASETS)}. Got {name!r} instead.")


def multiclass_dataset(name: str, classes: int, noise: float = 0.0, seed: int = 0,
                       n: int = PLAYGROUND_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """A set of ``classes`` classes (labels 0..k-1): ``blobs`` (the seed's ``make_blobs`` with k
    centres), ``spiral`` (Playground's spiral with k arms, ``n / k`` points each) or ``gauss`` (k
    Gaussians on a circle through Playground's two centres, with its noise-to-variance scale).

    Example:
        >>> X, y = multiclass_dataset("spiral", 3, noise=0.1)
        >>> X.shape, np.bincount(y).tolist()
        ((498, 2), [166, 166, 166])
    """
    if not (isinstance(classes, (int, np.integer)) and 2 <= classes <= MAX_CLASSES):
        raise ValueError(f"classes must be an integer in [2, {MAX_CLASSES}]. Got {classes!r} instead.")
    rng = np.random.default_rng(seed)
    per = n // classes
    if name == "blobs":
        from sklearn.datasets import make_blobs

        return make_blobs(centers=classes, n_features=2, random_state=42)
    if name == "spiral":
        i = np.arange(per)
        r = i / per * 5
        arms = []
        for j in range(classes):
            t = 1.75 * i / per * 2 * math.pi + 2 * math.pi * j / classes
            arms.append(np.stack([r * np.sin(t) + rng.uniform(-1, 1, per) * noise,
                                  r * np.cos(t) + rng.uniform(-1, 1, per) * noise], 1))
        return np.concatenate(arms), np.repeat(np.arange(classes), per)
    if name == "gauss":
        variance = 0.5 + (4.0 - 0.5) * noise / 0.5
        angles = math.pi / 4 + 2 * math.pi * np.arange(classes) / classes
        centres = 2 * math.sqrt(2) * np.stack([np.cos(angles), np.sin(angles)], 1)  # k = 2: (2, 2) and (-2, -2)
        X = np.concatenate([rng.normal(c, math.sqrt(variance), (per, 2)) for c in centres])
        return X, np.repeat(np.arange(classes), per)
    raise ValueError(f"dataset must be one of {list(MULTICLASS_DATASETS)} with classes=k. Got {name!r} instead.")


#: Playground's six Gaussian bumps of ``multigauss``: centre x, centre y, sign.
_BUMPS = ((-4, 2.5, 1), (0, 2.5, -1), (4, 2.5, 1), (-4, -2.5, -1), (0, -2.5, 1), (4, -2.5, -1))


def regression_dataset(name: str, noise: float = 0.0, seed: int = 0,
                       n: int = REGRESSION_SAMPLES) -> tuple[np.ndarray, np.ndarray]:
    """Playground's regression sets (``dataset.ts``): points uniform in [-6, 6]^2, the target
    computed at the point moved by ``noise`` times a uniform offset. ``plane``: ``(x + y) / 10``;
    ``multigauss``: six signed bumps ``1 - d / 2`` (clamped to [0, 1]), the largest in magnitude.

    Example:
        >>> X, y = regression_dataset("plane")
        >>> X.shape, bool(np.allclose(y, X.sum(axis=1) / 10))
        ((1200, 2), True)
    """
    rng = np.random.default_rng(seed)
    radius = 6.0
    X = rng.uniform(-radius, radius, (n, 2))
    at = X + rng.uniform(-radius, radius, (n, 2)) * noise
    if name == "plane":
        return X, (at[:, 0] + at[:, 1]) / 10.0
    if name == "multigauss":
        bumps = np.stack([sign * np.clip(1 - np.hypot(at[:, 0] - cx, at[:, 1] - cy) / 2, 0, 1)
                          for cx, cy, sign in _BUMPS], 1)
        return X, bumps[np.arange(n), np.abs(bumps).argmax(axis=1)]
    raise ValueError(f"dataset must be one of {list(REGRESSION_DATASETS)}. Got {name!r} instead.")
