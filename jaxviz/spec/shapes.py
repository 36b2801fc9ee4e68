"""Shape buckets (issue 11): the sizes programs are compiled for, so that nearby grids share one
compiled program, and the cut back from a bucket to a grid's own sizes."""

from __future__ import annotations

import numpy as np

__all__ = ["bucket", "lanes", "MICRO_LANES", "MICRO_MAX", "cut_to_width", "pad_to_width"]

#: Above this width the size ladder of :func:`bucket` also has the points halfway (x1.5) between powers of two.
_FINE_ABOVE = 32


def bucket(n: int) -> int:
    """The width a program is compiled for: ``n`` rounded up to 1, 2, 4, 8, 16, 32, 48, 64, 96,
    128, 192, ... (powers of two; above 32 also 1.5 times them).

    Grids whose hidden widths fall in one bucket share one compiled program (in this process and
    through the persistent cache); the padding is invisible to the results (see
    :mod:`jaxviz.engine.model`). Small widths cost the same to train padded (per-step overheads
    dominate: 10, 12 and 16 units train at the same speed on CPU); above 32 the finer steps keep
    the padding under 50%.

    Example:
        >>> [bucket(n) for n in (1, 2, 3, 10, 16, 17, 33, 50, 100)]
        [1, 2, 4, 16, 16, 32, 48, 64, 128]
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a whole number of at least 0. Got {n!r} instead.")
    power = 1 << max(0, int(n) - 1).bit_length()  # the power of two at or above n (1 for 0 and 1)
    half = power // 4 * 3
    return half if power > _FINE_ABOVE and n <= half else power


#: The lanes of a training step while every batch of the grid is at most :data:`MICRO_MAX`: a larger
#: batch is taken in micro-batches of this many samples (see :func:`jaxviz.engine.steps.train_epoch`).
#: On CPU, 16 lanes train batches of 10 about as fast as 10 lanes (0.97-1.10x,
#: ``benchmarks/micro_batches.py``; ``benchmarks/throughput_ab.py``: as fast as before).
MICRO_LANES = 16
#: The largest batch taken in micro-batches of :data:`MICRO_LANES`; a grid with a larger batch has
#: lanes for all of it. Micro-batches cost time: on CPU batches of 20 and 30 train 1.2-1.4x slower
#: in two micro-batches than in one step as wide as the batch (``benchmarks/micro_batches.py``).
MICRO_MAX = 32


def lanes(batch: int) -> int:
    """The lanes (samples per training step) of a program whose largest batch is ``batch``
    samples: :data:`MICRO_LANES` up to :data:`MICRO_MAX`, so grids of batch sizes 1 to 32 share
    one program and a model's arithmetic depends on its own batch size only; above, ``batch``.

    Example:
        >>> [lanes(b) for b in (1, 10, 20, 32, 33, 64, 272)]
        [16, 16, 16, 16, 33, 64, 272]
    """
    return MICRO_LANES if batch <= MICRO_MAX else batch


def cut_to_width(weights, n: int, hidden: int, width: int) -> list:
    """The weight arrays of the ``n`` real models cut from the program's bucket width ``hidden``
    to the grid's own ``width``: the cut units are padding (zero), so the Run, its surfaces and
    its files are those of a program of the grid's own width (see :func:`bucket`).

    Example:
        >>> [w.shape for w in cut_to_width([np.zeros((3, 2, 2, 16)), np.zeros((3, 2, 16, 1))], 2, 16, 10)]
        [(2, 2, 2, 10), (2, 2, 10, 1)]
    """
    def cut(w):
        return w[(slice(n), slice(None)) + tuple(slice(width) if d == hidden else slice(None) for d in w.shape[2:])]

    return [cut(w) for w in weights]


def pad_to_width(weights, hidden: int) -> list:
    """Weight arrays (leading axes: models, frames) padded with zero units to the bucket width
    ``hidden``: the inverse of :func:`cut_to_width`. Kernels and biases alternate, and every axis
    of a hidden layer's units is padded (not the inputs of the first kernel, nor the outputs of
    the last), so surfaces are predicted by one program for every width of a bucket.

    Example:
        >>> w = [np.ones((3, 2, 2, 10)), np.ones((3, 2, 10)), np.ones((3, 2, 10, 1)), np.ones((3, 2, 1))]
        >>> [a.shape for a in pad_to_width(w, 16)], float(pad_to_width(w, 16)[2].sum())
        ([(3, 2, 2, 16), (3, 2, 16), (3, 2, 16, 1), (3, 2, 1)], 60.0)
    """
    last = len(weights) // 2 - 1  # the output layer

    def pad(j, w):
        layer, bias = divmod(j, 2)
        units = [2] if bias else [2] * (layer > 0) + [3]  # this array's axes of layer inputs / outputs
        hidden_axes = [a for a in units if not (a == units[-1] and layer == last)]
        return np.pad(w, [(0, hidden - w.shape[a] if a in hidden_axes else 0) for a in range(w.ndim)])

    return [pad(j, w) for j, w in enumerate(weights)]
