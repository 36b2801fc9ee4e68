"""Decision surfaces: what the task predicts at every mesh point, for every model and frame: the
class-1 probability (binary), every class's probability (multi-class) or the predicted value
(regression)."""

from __future__ import annotations

import concurrent.futures
import functools
import os

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from jaxviz.engine.devices import MODEL_AXIS, model_mesh, pad_rows, place, to_host
from jaxviz.engine.model import apply_activation, fan_ins, feature_table, gains, input_columns
from jaxviz.engine.task import BINARY, Task
from jaxviz.engine.plan import surface_chunk
from jaxviz.engine.programs import Program

__all__ = ["mesh", "mesh_forward", "predict_surfaces"]


def mesh(extent: tuple[float, float, float, float], resolution: int) -> np.ndarray:
    """Mesh points ``(resolution * resolution, 2)`` over ``extent = (x0, x1, y0, y1)``.

    Row-major with y as the row: point ``r * resolution + c`` is ``(xs[c], ys[r])``, so a
    surface reshaped to ``(resolution, resolution)`` is an image with origin at the lower left.

    Example:
        >>> mesh((0.0, 1.0, 0.0, 2.0), 2).tolist()
        [[0.0, 0.0], [1.0, 0.0], [0.0, 2.0], [1.0, 2.0]]
    """
    x0, x1, y0, y1 = extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    return np.stack([xx.ravel(), yy.ravel()], axis=1).astype(np.float32)


def mesh_forward(arrays, points_t, widths, activation, activations: tuple[str, ...], task: Task = BINARY,
                 features=None, meanfield=None):
    """Predictions ``(chunk, n_points)`` of a chunk of padded models on their meshes (for the binary
    task, class-1 probabilities; ``task.output`` turns the last layer into what a surface holds).

    Laid out as (model, unit, point) with the points last, so that every layer is a batched
    (width x width) @ (width x points) product and every activation one long contiguous loop;
    several times faster on CPU than the (points, width) layout of training batches. It is the
    same function as :class:`~jaxviz.model.MLP`: the model's input features, masked units,
    missing layers passed through, mean-field scaling (a bias held at zero is stored as zeros).

    ``arrays``: padded weight list with a leading chunk axis; ``points_t``: ``(chunk, 2, P)``;
    ``widths``: ``(chunk, 3)``; ``activation``: ``(chunk,)`` indices into ``activations``;
    ``features``: ``(chunk,)`` feature bit masks (default x1, x2); ``meanfield``: ``(chunk,)``
    (default all standard).
    """
    kernels, biases = arrays[0::2], arrays[1::2]
    c, inputs, hidden = kernels[0].shape
    meanfield = jnp.zeros(c, bool) if meanfield is None else jnp.asarray(meanfield, bool)
    if features is None:  # every model takes x1, x2: the points as they are (no feature computed)
        x, count = jnp.pad(points_t, [(0, 0), (0, inputs - 2), (0, 0)]), jnp.full(c, 2, jnp.int32)
    else:
        columns, mask, count = jax.vmap(input_columns, in_axes=(0, None))(features, inputs)
        x = jnp.take_along_axis(feature_table(points_t, axis=1), columns[:, :, None], axis=1) * mask[:, :, None]
    fans = jax.vmap(fan_ins)(widths[:, :len(kernels) - 1], count).astype(jnp.float32)
    div = jnp.where(meanfield[:, None], jnp.sqrt(fans), jnp.float32(1.0))[:, :, None, None]  # (c, slots + 1, 1, 1)
    gain_in, gain_out = (g[:, None, None] for g in jax.vmap(gains, in_axes=(0, None, 0))(activation, activations,
                                                                                            meanfield))
    units = (jnp.arange(hidden)[None, :] < widths[:, :, None]).astype(jnp.float32)[..., None]  # (c, 3, H, 1)
    act = lambda z: apply_activation(z * gain_in, activation[:, None, None], activations) * gain_out  # noqa: E731
    k0 = kernels[0]
    z = functools.reduce(jnp.add, [k0[:, i, :, None] * x[:, i:i + 1, :] for i in range(inputs)])
    h = act(z / div[:, 0] + biases[0][:, :, None]) * units[:, 0]
    below = jnp.pad(x, [(0, 0), (0, hidden - inputs), (0, 0)]) if hidden >= inputs else h  # n1 = 0: no first layer
    h = jnp.where((widths[:, 0] > 0)[:, None, None], h, below)
    for k in range(1, len(kernels) - 1):
        a = act(jnp.einsum("cio,cip->cop", kernels[k], h) / div[:, k] + biases[k][:, :, None]) * units[:, k]
        h = jnp.where((widths[:, k] > 0)[:, None, None], a, h)
    if kernels[-1].shape[-1] == 1:  # one output unit: (c, P)
        z = jnp.einsum("ci,cip->cp", kernels[-1][:, :, 0], h) / div[:, -1, 0] / div[:, -1, 0] + biases[-1]
        return task.output(z[..., None])
    z = jnp.einsum("cik,cip->cpk", kernels[-1], h) / div[:, -1] / div[:, -1] + biases[-1][:, None, :]  # (c, P, k)
    return task.output(z)


def _predict_flat(arrays, meshes, mesh_index, widths, activation, features, meanfield, activations, chunk,
                  plain_inputs, task=BINARY):
    n = arrays[0].shape[0]
    pad = -n % chunk
    split = lambda a: jnp.pad(a, [(0, pad)] + [(0, 0)] * (a.ndim - 1)).reshape(-1, chunk, *a.shape[1:])  # noqa: E731

    def one_chunk(c):
        arrays, index, widths, activation, features, meanfield = c
        return mesh_forward(arrays, meshes[index], widths, activation, activations, task,
                            features=None if plain_inputs else features, meanfield=meanfield).astype(jnp.float16)

    xs = ([split(a) for a in arrays], split(mesh_index), split(widths), split(activation), split(features),
          split(meanfield))
    out = jax.lax.map(one_chunk, xs)
    return out.reshape(-1, meshes.shape[-1], *out.shape[3:])[:n]  # multi-class: (rows, P, k)


@functools.lru_cache(maxsize=None)
def _program(activations: tuple[str, ...], chunk: int, mesh, plain_inputs: bool = True, task: Task = BINARY):
    """The surface program; with a mesh, each device predicts its own block of model-frames."""
    fn = functools.partial(_predict_flat, activations=activations, chunk=chunk, plain_inputs=plain_inputs, task=task)
    if mesh is None:  # compiled ahead and kept between processes (see jaxviz.engine.programs)
        return Program(fn, "surfaces", (activations, chunk, plain_inputs, task.name, task.units))
    rows, everywhere = P(MODEL_AXIS), P()
    return jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=(rows, everywhere, rows, rows, rows, rows, rows),
                                 out_specs=rows,
                                 check_vma=False))


def predict_surfaces(weights, widths, activation, activations: tuple[str, ...], extents, resolution: int,
                     devices=None, features=None, parametrization=None, task: Task = BINARY,
                     prepare: bool = False) -> np.ndarray | None:
    """Class-1 probability maps ``(n_models, n_frames, resolution, resolution)`` as float16 (for a
    multi-class ``task``, every class's probability ``(..., resolution, resolution, k)``; for a
    regression, the predicted value).

    ``weights``: padded weight arrays with leading axes ``(n_models, n_frames)``; ``widths``
    ``(n_models, 3)`` and ``activation`` ``(n_models,)`` describe each model; ``extents`` gives
    each model's mesh extent; ``features`` (feature bit masks, default x1, x2) and
    ``parametrization`` (indices into ``PARAMETRIZATIONS``, default standard), ``(n_models,)``,
    are the model options the surface needs. One jit-compiled program predicts every model at every frame;
    with several ``devices`` (default: all JAX sees) the models are sharded over them.
    ``prepare``: only start building that program (``weights`` may then be ``jax.ShapeDtypeStruct``),
    so it compiles while the caller goes on (see :class:`~jaxviz.engine.programs.Program`); returns None.

    Example:
        >>> from jaxviz.engine.model import init_params, params_to_arrays
        >>> w = params_to_arrays(init_params(jax.random.key(0), jnp.array([4, 0, 0]), 4, 1, ("relu",)))
        >>> w = [a[None, None] for a in w]  # one model, one frame
        >>> predict_surfaces(w, [[4, 0, 0]], [0], ("relu",), [(-1.0, 1.0, -1.0, 1.0)], 8).shape
        (1, 1, 8, 8)
    """
    n_models, n_frames = weights[0].shape[:2]
    devices = list(jax.devices() if devices is None else devices)
    d = len(devices)
    total = d * -(-n_models // d)
    flat = [jax.ShapeDtypeStruct((total * n_frames, *w.shape[2:]), w.dtype) if prepare else
            np.reshape(pad_rows(w, total), (total * n_frames, *w.shape[2:])) for w in weights]
    distinct = list(dict.fromkeys(map(tuple, extents)))
    meshes = np.stack([mesh(e, resolution).T for e in distinct])  # (D, 2, P)
    mesh_index = [distinct.index(tuple(e)) for e in extents]
    per_frame = lambda a: np.repeat(pad_rows(np.asarray(a, np.int32), total), n_frames, axis=0)  # noqa: E731
    features = np.full(n_models, 3) if features is None else features
    parametrization = np.zeros(n_models) if parametrization is None else parametrization
    args = [flat, meshes, per_frame(mesh_index), per_frame(widths), per_frame(activation), per_frame(features),
            per_frame(parametrization)]
    mesh_ = model_mesh(devices)
    plain = bool((np.asarray(features) == 3).all())  # x1, x2 only: no features to compute (the seed's case)
    program = _program(tuple(activations), surface_chunk(flat[0].shape[-1], resolution), mesh_, plain, task)
    if prepare:
        return None if mesh_ is not None else _on_every_core(program, args, devices[0], prepare=True)
    if mesh_ is not None:
        rows, everywhere = NamedSharding(mesh_, P(MODEL_AXIS)), NamedSharding(mesh_, P())
        specs = (rows, everywhere) + (rows,) * (len(args) - 2)
        args = [jax.tree.map(lambda a, s=s: place(a, s), x) for x, s in zip(args, specs)]
        out = to_host(program(*args))
    else:
        out = _on_every_core(program, args, devices[0])
    return out.reshape(total, n_frames, resolution, resolution, *out.shape[2:])[:n_models]


def _on_every_core(program, args, device, prepare: bool = False) -> np.ndarray | None:
    """``program(*args)`` with its rows split over the CPU cores, one call per core at once.

    XLA runs this program (a loop of small products) on one core; equal parts in threads of
    their own run side by side and share one compiled program. Every row is computed by the
    same code either way, so the result does not change. ``prepare``: only start building the
    program for the parts' shapes.
    """
    flat, meshes, *per_row = args
    n = len(per_row[0])
    parts = min(os.cpu_count() or 1, n // 64) if device.platform == "cpu" else 1
    size = -(-n // parts) if parts > 1 else n
    if prepare:
        program.prepare([jax.ShapeDtypeStruct((size, *a.shape[1:]), a.dtype) for a in flat], meshes,
                        *(pad_rows(a, size)[:size] for a in per_row))
        return None
    if parts <= 1:
        return to_host(program(*args))
    flat, per_row = [pad_rows(a, size * parts) for a in flat], [pad_rows(a, size * parts) for a in per_row]
    part = lambda k: to_host(program([a[k * size:(k + 1) * size] for a in flat], meshes,  # noqa: E731
                                     *(a[k * size:(k + 1) * size] for a in per_row)))
    with concurrent.futures.ThreadPoolExecutor(parts) as pool:
        return np.concatenate(list(pool.map(part, range(parts))))[:n]
