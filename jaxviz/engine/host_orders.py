"""The batch orders of :func:`jaxviz.engine.steps.draw_orders`, drawn in NumPy: the same integers.

The orders are integer arithmetic only (Threefry-2x32 words, then a stable sort of them), so
NumPy computes exactly what the ``draw_orders`` program computes. A small grid's orders are drawn
here, so its first picture does not wait for that program to compile; a large table still goes
through the program (:func:`jaxviz.engine.programs.draw_program` picks). A test checks that both
give the same orders.
"""

from __future__ import annotations

import numpy as np

__all__ = ["threefry2x32", "fold_in", "draw_orders_host", "HOST_WORDS"]

#: Orders of at most this many words per call (epochs x (seed, n_train) pairs x padded samples)
#: are drawn in NumPy (a few milliseconds); larger ones by the compiled program.
HOST_WORDS = 1 << 18

_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _rotl(x, r: int):
    return (x << np.uint32(r)) | (x >> np.uint32(32 - r))


def threefry2x32(k1, k2, x1, x2) -> tuple[np.ndarray, np.ndarray]:
    """Threefry-2x32 (20 rounds) of the counters ``(x1, x2)`` under the key ``(k1, k2)``, uint32
    arrays broadcast together: JAX's ``threefry2x32`` primitive, word for word.

    Example:
        >>> import jax
        >>> from jax.extend.random import threefry2x32_p
        >>> k, x = np.uint32([7, 9]), np.arange(4, dtype=np.uint32)
        >>> want = threefry2x32_p.bind(*k, np.zeros(4, np.uint32), x)
        >>> all((a == np.asarray(b)).all() for a, b in zip(threefry2x32(*k, np.uint32(0), x), want))
        True
    """
    k1, k2 = np.asarray(k1, np.uint32), np.asarray(k2, np.uint32)
    x1, x2 = np.broadcast_arrays(np.asarray(x1, np.uint32), np.asarray(x2, np.uint32))
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    with np.errstate(over="ignore"):
        x1, x2 = x1 + ks[0], x2 + ks[1]
        for i in range(5):
            for r in _ROTATIONS[i % 2]:
                x1 = x1 + x2
                x2 = _rotl(x2, r) ^ x1
            x1 = x1 + ks[(i + 1) % 3]
            x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def fold_in(k1, k2, data) -> tuple[np.ndarray, np.ndarray]:
    """The key words of ``jax.random.fold_in(key, data)`` for a Threefry key ``(k1, k2)``.

    Example:
        >>> import jax
        >>> key = jax.random.fold_in(jax.random.key(3), 1)
        >>> [int(w) for w in fold_in(np.uint32(0), np.uint32(3), np.uint32(1))] == jax.random.key_data(key).tolist()
        True
    """
    return threefry2x32(k1, k2, np.uint32(0), data)


def draw_orders_host(seeds, sizes, first: int, n_max: int, length: int, shuffle: bool) -> np.ndarray:
    """:func:`jaxviz.engine.steps.draw_orders` in NumPy: the orders ``(length, pairs, n_max)`` int32
    of epochs ``first ..`` for each ``(seed, n_train)`` pair; padded rows sort last.

    Example:
        >>> draw_orders_host(np.uint32([0]), np.int32([3]), 0, n_max=4, length=1, shuffle=False).tolist()
        [[[0, 1, 2, 3]]]
        >>> o = draw_orders_host(np.uint32([0, 5]), np.int32([3, 4]), 2, n_max=5, length=2, shuffle=True)
        >>> o.shape, sorted(o[1, 0, :3].tolist()), o[1, 0, 3:].tolist()
        ((2, 2, 5), [0, 1, 2], [3, 4])
    """
    seeds, sizes = np.asarray(seeds, np.uint32), np.asarray(sizes, np.int64)
    pairs = len(seeds)
    if not shuffle:
        return np.broadcast_to(np.arange(n_max, dtype=np.int32), (length, pairs, n_max)).copy()
    # key(seed) = (0, seed); batch_order's key: fold_in(fold_in(key(seed), 1), epoch)
    k1, k2 = fold_in(np.uint32(0), seeds, np.uint32(1))
    epochs = (np.uint32(first) + np.arange(length, dtype=np.uint32))[:, None]
    e1, e2 = fold_in(k1[None, :], k2[None, :], epochs)  # (length, pairs)
    b1, b2 = threefry2x32(e1[..., None], e2[..., None], np.uint32(0), np.arange(n_max, dtype=np.uint32))
    bits = b1 ^ b2
    bits = np.where(np.arange(n_max)[None, None, :] < sizes[None, :, None], bits, np.uint32(0xFFFFFFFF))
    return np.argsort(bits, axis=-1, kind="stable").astype(np.int32)
