"""The fractal paper's own code, as its public notebook runs it: the reference for ``preset="fractal"``.

Sohl-Dickstein (2024), "The boundary of neural network trainability is fractal", notebook
``the_boundary_of_neural_network_trainability_is_fractal.ipynb`` (repository Sohl-Dickstein/fractal).
The functions below are the notebook's code cells with only what jax 0.10 needs changed
(``jax.tree_map`` -> ``jax.tree.map``); docs/design/fractal-paper.md quotes the cells and says
what each line means. This is what jaxviz is compared with: the sign of each pixel's score, and
the time of the notebook's way of running (one jitted, vmapped step per Python iteration).

It sets ``jax_enable_x64`` and ``jax_threefry_partitionable=False`` (the notebook ran in January
2024, when that flag defaulted to False), so import it in its own process.

Run: ``python benchmarks/fractal_notebook.py --resolution 64 --steps 200 --window -1 1 -1 1``
"""

from __future__ import annotations

import argparse
import time

import jax

jax.config.update("jax_enable_x64", True)
jax.config.update("jax_threefry_partitionable", False)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

WIDTH, DEPTH, TARGET_DIM = 16, 2, 1


def net(theta, X, nonlinearity="tanh"):
    # mean field parameterization
    for W in theta:
        Z = jnp.dot(X, W) / jnp.sqrt(W.shape[0])
        if nonlinearity == "tanh":
            X = jax.nn.tanh(Z * jnp.sqrt(2))
        elif nonlinearity == "relu":
            X = jax.nn.relu(Z) * jnp.sqrt(2)
        elif nonlinearity == "identity":
            X = Z
    return Z / jnp.sqrt(W.shape[0])


def init(rng, width, depth):
    rng = jax.random.split(rng, depth)
    theta = []
    out_width = width
    for i in range(depth):
        if i == depth - 1:
            out_width = TARGET_DIM
        theta.append(jax.random.normal(rng[i], (width, out_width)))
    return theta


def loss(theta, X, Y, nonlinearity="tanh"):
    return jnp.mean((net(theta, X, nonlinearity) - Y) ** 2)


def data(nonlinearity="tanh", single_datapoint=False):
    """The notebook's initial weights and data, drawn from ``PRNGKey(0)`` in its order of splits."""
    rng = jax.random.PRNGKey(0)
    rng, srng = jax.random.split(rng)
    theta = init(srng, WIDTH, DEPTH)
    n_params = int(sum(t.size for t in theta))
    if single_datapoint:
        batch_size = 1
    elif nonlinearity == "identity":
        batch_size = WIDTH
    else:
        batch_size = n_params // TARGET_DIM
    rng, srng = jax.random.split(rng)
    X = jax.random.normal(srng, (batch_size, WIDTH))
    rng, srng = jax.random.split(rng)
    Y = jax.random.normal(srng, (batch_size, TARGET_DIM))
    return theta, X, Y


def make_step(nonlinearity="tanh", minibatch_size=None):
    def train_step(rng, theta, hparams, X, Y):
        learning_rates = [hparams[i % len(hparams)] for i in range(len(theta))]
        if minibatch_size is None:
            _loss, _grad = jax.value_and_grad(loss)(theta, X, Y, nonlinearity)
        else:
            idx = jax.random.randint(rng, (minibatch_size,), 0, X.shape[0])
            _loss = loss(theta, X, Y, nonlinearity)
            _grad = jax.grad(loss)(theta, X[idx], Y[idx], nonlinearity)
        return jax.tree.map(lambda t, g, lr: t - lr * g, theta, _grad, learning_rates), _loss

    return jax.jit(jax.vmap(train_step, in_axes=(None, 0, 0, None, None), out_axes=(0, 0)), donate_argnums=(0, 1))


def convergence_measure(v, max_val=1e6):
    fin = jnp.isfinite(v)
    v = v * fin + max_val * (1 - fin)
    v /= v[0]
    exceeds = v > max_val
    v = v * (1 - exceeds) + max_val * exceeds
    converged = jnp.mean(v[-20:]) < 1  # average over any oscillatory behavior
    return jnp.where(converged, -jnp.sum(v), jnp.sum(1 / v))


convergence_measure_vmap = jax.jit(jax.vmap(convergence_measure, in_axes=(0,), out_axes=0))


def train(step, theta, hparams, X, Y, num_steps, outer_batch_size=50000):
    bs = hparams.shape[0]
    if bs > outer_batch_size:
        return jnp.concatenate((train(step, theta, hparams[: bs // 2], X, Y, num_steps),
                                train(step, theta, hparams[bs // 2:], X, Y, num_steps)), axis=0)
    rng = jax.random.split(jax.random.PRNGKey(42), num_steps)
    losses = []
    _theta = jax.tree.map(lambda u: jnp.tile(u, (bs,) + (1,) * len(u.shape)), theta)
    for _rng in rng:
        _theta, _loss = step(_rng, _theta, hparams, X, Y)
        losses.append(_loss)
    return convergence_measure_vmap(jnp.stack(losses, axis=-1))


def gen_img(mnmx, resolution, num_steps, nonlinearity="tanh", minibatch_size=None, single_datapoint=False):
    """The score map: rows = output-layer lr (``mnmx[0:2]``, log10), columns = input-layer lr
    (``mnmx[2:4]``); row 0 is the smallest output lr. Exactly the notebook's ``gen_img``."""
    theta, X, Y = data(nonlinearity, single_datapoint)
    mn1, mx1, mn2, mx2 = mnmx
    gg1 = jnp.logspace(mn1, mx1, resolution)
    gg2 = jnp.logspace(mn2, mx2, resolution)
    lr0, lr1 = jnp.meshgrid(gg2, gg1)
    lr = jnp.stack([lr0.ravel(), lr1.ravel()], axis=-1)
    V = train(make_step(nonlinearity, minibatch_size), theta, lr, X, Y, num_steps)
    return np.asarray(V.reshape((resolution, resolution)))


def draws() -> dict[str, np.ndarray]:
    """The notebook's draws of every variant: the weights ``W0`` (16, 16), ``W1`` (16, 1) (the same for all)
    and the data ``X``/``Y`` of 272 points (tanh, relu, minibatch), 16 points (linear, ``X16``/``Y16``:
    its own draw, not a prefix of the 272) and 1 point (single datapoint, ``X1``/``Y1``)."""
    out = {}
    for suffix, args in (("", ("tanh", False)), ("16", ("identity", False)), ("1", ("tanh", True))):
        theta, X, Y = data(*args)
        out.update({"W0": np.asarray(theta[0]), "W1": np.asarray(theta[1]), f"X{suffix}": np.asarray(X),
                    f"Y{suffix}": np.asarray(Y)})
    return out


def write_draws(path: str) -> None:
    np.savez(path, **draws())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--window", type=float, nargs=4, default=[-1.0, 1.0, -1.0, 1.0],
                        help="log10 of output-lr min, max, input-lr min, max (the notebook's mnmx)")
    parser.add_argument("--nonlinearity", default="tanh", choices=["tanh", "relu", "identity"])
    parser.add_argument("--out", help="write the score map to this .npy file")
    parser.add_argument("--write-draws", metavar="NPZ", help="write the notebook's initial weights and data (jaxviz's "
                        "copy is jaxviz/data/fractal_paper.npz) and exit")
    args = parser.parse_args()
    if args.write_draws:
        write_draws(args.write_draws)
        return
    t0 = time.perf_counter()
    image = gen_img(args.window, args.resolution, args.steps, args.nonlinearity)
    seconds = time.perf_counter() - t0
    print(f"{args.resolution}x{args.resolution} pixels, {args.steps} steps: {seconds:.2f} s, "
          f"{(image < 0).mean():.1%} converged")
    if args.out:
        np.save(args.out, image)


if __name__ == "__main__":
    main()
