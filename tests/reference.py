"""An independent float64 NumPy implementation of SEMANTICS.md, written from the spec alone.

Hand-written forward and backward passes (no autodiff), Keras SGD with momentum and legacy
decay, batches in a given order, L2 on hidden kernels, ReduceLROnPlateau, History averaging.
"""

from __future__ import annotations

import numpy as np

EPS = 1e-7


def _act(name, z):
    if name == "relu":
        return np.maximum(z, 0), (z > 0).astype(float)
    if name == "lrelu":
        return np.where(z > 0, z, 0.3 * z), np.where(z > 0, 1.0, 0.3)
    if name == "tanh":
        t = np.tanh(z)
        return t, 1 - t**2
    s = 1 / (1 + np.exp(-z))
    return s, s * (1 - s)


def forward(weights, x, activation):
    """Probabilities and the cache needed for the backward pass."""
    kernels, biases = weights[0::2], weights[1::2]
    h, cache = x, []
    for k, b in zip(kernels[:-1], biases[:-1]):
        z = h @ k + b
        a, da = _act(activation, z)
        cache.append((h, da))
        h = a
    z = (h @ kernels[-1] + biases[-1])[:, 0]
    p = 1 / (1 + np.exp(-z))
    cache.append((h, None))
    return p, cache


def bce(p, y):
    pc = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(pc) + (1 - y) * np.log(1 - pc))


def l2(weights, kr):
    return kr * sum(np.sum(k**2) for k in weights[0:-2:2])


def loss_and_grads(weights, x, y, kr, activation):
    p, cache = forward(weights, x, activation)
    m = len(y)
    loss = bce(p, y).mean() + l2(weights, kr)
    pc = np.clip(p, EPS, 1 - EPS)
    inside = ((p > EPS) & (p < 1 - EPS)).astype(float)  # the clip stops the gradient outside
    dp = (-(y / pc) + (1 - y) / (1 - pc)) * inside / m
    dz = (dp * p * (1 - p))[:, None]
    grads = [None] * len(weights)
    n_layers = len(weights) // 2
    for layer in reversed(range(n_layers)):
        h_in, da = cache[layer]
        k = weights[2 * layer]
        grads[2 * layer] = h_in.T @ dz
        grads[2 * layer + 1] = dz.sum(0)
        if layer > 0:
            dz = (dz @ k.T) * cache[layer - 1][1]
    for layer in range(n_layers - 1):
        grads[2 * layer] = grads[2 * layer] + 2 * kr * weights[2 * layer]
    correct = ((p > 0.5) == (y > 0.5)).sum()
    return loss, correct, grads


def train(weights0, data, hp, orders):
    """Train with batches taken in ``orders[e]`` at epoch e; returns History dict and weights."""
    x_train, y_train, x_test, y_test = (np.asarray(a, np.float64) for a in data)
    w = [np.asarray(a, np.float64).copy() for a in weights0]
    v = [np.zeros_like(a) for a in w]
    t, lr_base = 0, hp["lr"]
    best, wait, cooldown_counter = np.inf, 0, 0
    factor, min_delta, cooldown, min_lr = 0.5, 1e-4, 0, 4e-5
    hist = {k: [] for k in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate")}
    n, bs = len(y_train), hp["batch_size"]
    for e in range(hp["epochs"]):
        order = orders[e]
        loss_sum = correct_sum = 0.0
        for start in range(0, n, bs):
            idx = order[start:start + bs]
            loss, correct, g = loss_and_grads(w, x_train[idx], y_train[idx], hp["kr"], hp["activation"])
            lr_t = lr_base / (1 + hp["decay"] * t)
            v = [hp["momentum"] * vi - lr_t * gi for vi, gi in zip(v, g)]
            w = [wi + vi for wi, vi in zip(w, v)]
            t += 1
            loss_sum += loss * len(idx)
            correct_sum += correct
        p, _ = forward(w, x_test, hp["activation"])
        val_loss = bce(p, y_test).mean() + l2(w, hp["kr"])
        hist["loss"].append(loss_sum / n)
        hist["accuracy"].append(correct_sum / n)
        hist["val_loss"].append(val_loss)
        hist["val_accuracy"].append(((p > 0.5) == (y_test > 0.5)).mean())
        hist["learning_rate"].append(lr_base)
        if cooldown_counter > 0:
            cooldown_counter -= 1
            wait = 0
        if val_loss < best - min_delta:
            best, wait = val_loss, 0
        elif cooldown_counter == 0:
            wait += 1
            if wait >= hp["patience"] and lr_base > min_lr:
                lr_base = max(lr_base * factor, min_lr)
                cooldown_counter, wait = cooldown, 0
    return {k: np.array(vals) for k, vals in hist.items()}, w
