"""``features``: TensorFlow Playground's engineered inputs, as a value the CLI can take.

A ``features`` value is a ``+``-joined string of tokens: ``x`` (x1, x2), ``sq`` (x1^2, x2^2),
``sin`` (sin x1, sin x2), or a single feature's name (``x1``, ``x2``, ``x1sq``, ``x2sq``, ``x1x2``,
``sinx1``, ``sinx2``; ``x1^2`` is read as ``x1sq``). The engine computes the features from the
2-D points inside the program (:mod:`jaxviz.engine.inputs`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["FEATURES", "FEATURE_TOKENS", "canonical_features", "feature_code", "feature_count"]

#: Playground's engineered inputs, in the order a model's input columns take them.
FEATURES = ("x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2")
#: ``features`` tokens: the group names and each single feature's name.
FEATURE_TOKENS = {"x": ("x1", "x2"), "sq": ("x1sq", "x2sq"), "sin": ("sinx1", "sinx2"),
                  **{name: (name,) for name in FEATURES}}


def _feature_names(value: Any) -> tuple[str, ...]:
    rule = (f"'+'-joined tokens from {list(FEATURE_TOKENS)} (for example 'x+sq+sin'), each feature once")
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"features must be {rule}. Got {value!r} instead.")
    tokens = [t.strip().lower().replace(" ", "").replace("^2", "sq") for t in value.split("+")]
    names = [name for t in tokens for name in FEATURE_TOKENS.get(t, ("?",))]
    if "?" in names or len(set(names)) != len(names):
        raise ValueError(f"features must be {rule}. Got {value!r} instead.")
    return tuple(n for n in FEATURES if n in names)


def canonical_features(value: Any) -> str:
    """A ``features`` value in canonical form: its tokens in :data:`FEATURES` order, pairs joined
    into their group name (``x``, ``sq``, ``sin``).

    Example:
        >>> canonical_features("sin+x1x2+x2+x1"), canonical_features("x1^2+x2sq")
        ('x+x1x2+sin', 'sq')
        >>> canonical_features("x+cos")
        Traceback (most recent call last):
        ...
        ValueError: features must be '+'-joined tokens from ['x', 'sq', 'sin', 'x1', 'x2', 'x1sq', 'x2sq', 'x1x2', 'sinx1', 'sinx2'] (for example 'x+sq+sin'), each feature once. Got 'x+cos' instead.
    """
    names = _feature_names(value)
    out = []
    for group in ("x", "sq", "x1x2", "sin"):
        members = FEATURE_TOKENS[group]
        if all(m in names for m in members):
            out.append(group)
        else:
            out += [m for m in members if m in names]
    return "+".join(out)


def feature_code(value: str) -> int:
    """A ``features`` value as a bit mask over :data:`FEATURES` (bit ``i`` = ``FEATURES[i]`` is used).

    Example:
        >>> feature_code("x"), feature_code("x+sq+x1x2+sin"), feature_code("x1x2")
        (3, 127, 16)
    """
    names = _feature_names(value)
    return sum(1 << i for i, n in enumerate(FEATURES) if n in names)


def feature_count(value: str) -> int:
    """How many input columns a ``features`` value gives a model.

    Example:
        >>> feature_count("x"), feature_count("x+sq+x1x2+sin")
        (2, 7)
    """
    return len(_feature_names(value))
