"""Dense axes for trainability maps: :func:`logspace`, :func:`linspace`, the CLI's range syntax
``LO..HI:N[log]`` (:func:`parse_range`) and how an axis is spaced (:func:`axis_spacing`).

An axis is a plain list of floats, usable in :func:`jaxviz.sweep` and :func:`jaxviz.trainability`
alike. Its spacing is read back from the values themselves, so a saved map or a re-run knows a
log axis without extra bookkeeping.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np

__all__ = ["logspace", "linspace", "parse_range", "axis_spacing", "is_range", "MAX_AXIS"]

#: The longest axis one range may build (16,384 = 4 x the paper's 4096-pixel side).
MAX_AXIS = 16384

_RANGE = re.compile(r"^\s*([^:]+?)\s*\.\.\s*([^:]+?)\s*:\s*(\d+)\s*(log)?\s*$", re.IGNORECASE)


def _count(name: str, n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= MAX_AXIS:
        raise ValueError(f"{name} must be an integer in [2, {MAX_AXIS}]. Got {n!r} instead.")
    return int(n)


def _finite(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number. Got {value!r} instead.")
    return float(value)


def logspace(lo_exp: float, hi_exp: float, n: int) -> list[float]:
    """``n`` values from ``10**lo_exp`` to ``10**hi_exp`` (both included), evenly spaced in log10,
    as a list of floats: an axis for :func:`jaxviz.sweep` or :func:`jaxviz.trainability`.

    Example:
        >>> logspace(-3, 1, 5)
        [0.001, 0.01, 0.1, 1.0, 10.0]
    """
    lo, hi = _finite("lo_exp", lo_exp), _finite("hi_exp", hi_exp)
    if not lo < hi:
        raise ValueError(f"hi_exp must be larger than lo_exp ({lo_exp!r}). Got {hi_exp!r} instead.")
    n = _count("n", n)
    values = np.logspace(lo, hi, n)
    values[0], values[-1] = 10.0**lo, 10.0**hi  # the endpoints exactly as written
    return [float(f"{v:.15g}") for v in values]  # 0.001, not 0.0010000000000000002


def linspace(lo: float, hi: float, n: int) -> list[float]:
    """``n`` evenly spaced values from ``lo`` to ``hi`` (both included), as a list of floats.

    Example:
        >>> linspace(0, 0.9, 4)
        [0.0, 0.3, 0.6, 0.9]
    """
    a, b = _finite("lo", lo), _finite("hi", hi)
    if not a < b:
        raise ValueError(f"hi must be larger than lo ({lo!r}). Got {hi!r} instead.")
    n = _count("n", n)
    return [float(f"{v:.15g}") for v in np.linspace(a, b, n)]


def is_range(text: str) -> bool:
    """Whether a CLI value is meant as a range (it contains ``..``).

    Example:
        >>> is_range("1e-3..10:512log"), is_range("0.1,0.5")
        (True, False)
    """
    return ".." in str(text)


def parse_range(text: str, option: str = "--grid") -> list[float]:
    """The CLI's range syntax ``LO..HI:N`` (``N`` evenly spaced values) or ``LO..HI:Nlog``
    (evenly spaced in log10; ``LO`` and ``HI`` are the values, not exponents).

    Example:
        >>> parse_range("1e-3..10:5log")
        [0.001, 0.01, 0.1, 1.0, 10.0]
        >>> parse_range("0..0.99:4")
        [0.0, 0.33, 0.66, 0.99]
        >>> parse_range("1..0:4")
        Traceback (most recent call last):
        ...
        ValueError: --grid range must be LO..HI:N or LO..HI:Nlog with LO < HI, N in [2, 16384] (log: LO > 0). Got '1..0:4' instead.
    """
    rule = (f"{option} range must be LO..HI:N or LO..HI:Nlog with LO < HI, N in [2, {MAX_AXIS}] (log: LO > 0). "
            f"Got {text!r} instead.")
    m = _RANGE.match(str(text))
    if not m:
        raise ValueError(rule)
    try:
        lo, hi = float(m.group(1)), float(m.group(2))
    except ValueError:
        raise ValueError(rule) from None
    n, log = int(m.group(3)), bool(m.group(4))
    if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi and 2 <= n <= MAX_AXIS) or (log and lo <= 0):
        raise ValueError(rule)
    return logspace(math.log10(lo), math.log10(hi), n) if log else linspace(lo, hi, n)


def axis_spacing(values) -> str:
    """How an axis is spaced: ``"log"`` (positive, even in log10), ``"linear"`` (even steps) or
    ``"irregular"``; read from the values, with a tolerance for their decimal rounding.

    Example:
        >>> axis_spacing(logspace(-3, 1, 9)), axis_spacing(linspace(0, 1, 5)), axis_spacing([1, 2, 5])
        ('log', 'linear', 'irregular')
    """
    a = np.asarray(values, np.float64)
    if a.ndim != 1 or len(a) < 2 or not np.isfinite(a).all():
        return "irregular"
    steps = np.diff(a)
    if len(a) > 2 and np.allclose(steps, steps.mean(), rtol=1e-6, atol=1e-12 * max(1.0, np.abs(a).max())):
        return "linear"
    if (a > 0).all():
        ratios = np.diff(np.log10(a))
        if np.allclose(ratios, ratios.mean(), rtol=1e-6, atol=1e-9) and abs(ratios.mean()) > 0:
            return "log"
    return "linear" if len(a) == 2 else "irregular"
