"""Where compile time goes: each program of the demo grid, traced, lowered and compiled apart,
then the epoch program with one construct changed at a time (what that construct costs).

Programs (demo grid: 6 models padded to one block of 32, 100 epochs, 5 per call):
- ``start``: every model's initial weights and optimiser state (a demo grid starts in NumPy; with XLA's
  default options, and with ``QUICK_COMPILE`` as runs on CPU compile it);
- ``draw_orders``: the batch orders of one call's epochs (its own program since issue 11; a small table's are drawn in NumPy);
- ``run_epochs``: one call's epochs of training;
- the surfaces of one call of models (64 x 64 mesh).

    python benchmarks/compile_profile.py            # prints the tables
    python benchmarks/compile_profile.py --write    # and appends them to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ["JAXVIZ_CACHE_DIR"] = "off"  # every program compiles here

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import jaxviz  # noqa: E402
from jaxviz.api import _prepare  # noqa: E402
from jaxviz.engine import train as T  # noqa: E402
from jaxviz.engine.devices import model_block, pad_rows  # noqa: E402

VARIANTS = {
    "record='final' (no weights per epoch out)": dict(record="final"),
    "blocks of 2 models instead of 32": dict(block=2),
    "two blocks of 32 instead of one (a grid of 33-64 models)": dict(blocks=2),
    "3 hidden slots instead of 2": dict(slots=3),
    "every activation in the program (4)": dict(activations=("lrelu", "relu", "sigmoid", "tanh")),
    "every optimizer in the program (4)": dict(optimizers=("sgd", "adam", "rmsprop", "adagrad")),
}


def _demo():
    p = _prepare(dict(jaxviz.PRESETS["demo"]), 64, None, None, None, None, {})
    g, table, static = p.grid, p.table, p.static
    n_train = table.n_train.tolist()
    block = model_block(jax.devices()[0].platform)
    hp = jax.tree.map(lambda a: jnp.asarray(pad_rows(a, block)), g.hparams(n_train))
    table = jax.tree.map(jnp.asarray, table)
    orders = jax.tree.map(jnp.asarray, g.order_table(n_train))
    return p, hp, table, orders, static._replace(epochs=0), block


def _time(fn, *args, **kwargs):
    """Seconds to trace, lower and compile ``fn`` for these arguments, and the compiled program."""
    t0 = time.perf_counter()
    traced = fn.trace(*args, **kwargs)
    t1 = time.perf_counter()
    lowered = traced.lower()
    t2 = time.perf_counter()
    compiled = lowered.compile()
    t3 = time.perf_counter()
    return (t1 - t0, t2 - t1, t3 - t2), compiled


def programs() -> list[str]:
    p, hp, table, orders, static, block = _demo()
    length = T.chunk_length(p.static.epochs)
    rows = []
    times, start = _time(T.start, hp, static=static, block=block)
    rows.append(("start (default XLA options)", times))
    quick = jax.jit(T.start.__wrapped__, static_argnames=("static", "block"), compiler_options=T.QUICK_COMPILE)
    times, start = _time(quick, hp, static=static, block=block)
    rows.append(("start (QUICK_COMPILE, as runs on CPU compile it)", times))
    state = start(hp)
    n_max = table.x_train.shape[1]
    times, draw = _time(T.draw_orders, orders, jnp.int32(0), n_max=n_max, length=length, shuffle=static.shuffle)
    rows.append(("draw_orders", times))
    drawn = draw(orders, jnp.int32(0))
    times, _ = _time(T.run_epochs, state, hp, drawn, table, jnp.int32(0), static=static, length=length, block=block)
    rows.append(("run_epochs (the shared program: every activation, optimizer, 3 slots)", times))
    from jaxviz.engine.exact import exact_static

    times, _ = _time(T.run_epochs, state, hp, drawn, table, jnp.int32(0), static=exact_static(static, hp),
                     length=length, block=block)
    rows.append(("run_epochs (the exact program a process's first run compiles)", times))
    rows.append(("surfaces (one call)", _surface_times(p)))
    lines = ["| program | trace s | lower s | compile s | total s |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {a:.2f} | {b:.2f} | {c:.2f} | {a + b + c:.2f} |" for name, (a, b, c) in rows]
    return lines


def _surface_times(p) -> tuple[float, float, float]:
    """The surfaces of the demo's six models at one frame: the whole call, timed as one figure
    (the call compiles on first use), put in the compile column."""
    from jaxviz.frames import frame_surfaces

    g = p.grid
    hp = g.hparams(p.table.n_train.tolist())
    w = p.grid.width()
    arrays = [np.zeros((6, 1, 2, w), np.float32), np.zeros((6, 1, w), np.float32),
              np.zeros((6, 1, w, w), np.float32), np.zeros((6, 1, w), np.float32),
              np.zeros((6, 1, w, 1), np.float32), np.zeros((6, 1, 1), np.float32)]
    extents = [p.datasets[0].extent] * 6
    t = time.perf_counter()
    frame_surfaces(arrays, hp, 6, np.zeros(1, np.int64), extents, p.static, p.plan, p.devices)
    return 0.0, 0.0, time.perf_counter() - t


MODES = ("one after another", "side by side")


def side_by_side() -> dict[str, float]:
    """Seconds to build start, draw_orders and run_epochs one after another, and as a run builds them
    (:meth:`jaxviz.engine.programs.Program.prepare`: each traced and lowered in turn while the one
    before compiles in the background); each in a fresh process."""
    import json
    import subprocess

    out = {}
    for mode in MODES:
        child = subprocess.run([sys.executable, __file__, "--mode", mode], capture_output=True, text=True, check=True)
        out[mode] = json.loads(child.stdout.strip().splitlines()[-1])
    return out


def _build(mode: str) -> float:
    from jaxviz.engine.programs import Program

    p, hp, table, orders, static, block = _demo()
    length = T.chunk_length(p.static.epochs)
    n_max, first = table.x_train.shape[1], jnp.int32(0)
    tag = (mode,)  # new Programs, in a fresh process: nothing is reused
    start = Program(lambda h: T.start(h, static, block), "start", tag, T.QUICK_COMPILE)
    draw = Program(lambda o, f: T.draw_orders(o, f, n_max, length, static.shuffle), "draw_orders", tag,
                   T.QUICK_COMPILE)
    epochs = Program(lambda *a: T.run_epochs(*a, static, length, block), "run_epochs", tag)
    wait = (lambda program: [e[0].result() for e in program._ready.values() if hasattr(e[0], "result")])
    t = time.perf_counter()
    state = start.prepare(hp)
    if mode == "one after another":
        wait(start)
    drawn = draw.prepare(orders, first)
    if mode == "one after another":
        wait(draw)
    epochs.prepare(state, hp, drawn, table, first)
    for program in (start, draw, epochs):
        wait(program)
    return time.perf_counter() - t


def constructs() -> list[str]:
    p, hp, table, orders, static, block = _demo()
    length = T.chunk_length(p.static.epochs)
    n_max = table.x_train.shape[1]
    drawn = T.draw_orders(orders, jnp.int32(0), n_max=n_max, length=length, shuffle=static.shuffle)
    rows = []
    for name, change in {"run_epochs as the demo compiles it": {}, **VARIANTS}.items():
        s = static._replace(**{k: v for k, v in change.items() if k in static._fields})
        b, record = change.get("block", block), change.get("record", "history")
        h = jax.tree.map(lambda a: jnp.asarray(np.resize(np.asarray(a), (change.get("blocks", 1) * b,) + a.shape[1:])),
                         hp)
        state = jax.eval_shape(lambda h, s=s, b=b: T.start(h, s, b), h)
        (a, lo, c), compiled = _time(T.run_epochs, state, h, drawn, table, jnp.int32(0), static=s, length=length,
                                     block=b, record=record)
        hlo = compiled.as_text()  # XLA's kernels and the data movement its loops add
        rows.append((name, a + lo + c, [hlo.count(f" {op}(") for op in ("fusion", "copy", "dynamic-slice")]))
    base = rows[0][1]
    lines = ["| run_epochs variant | trace+lower+compile s | x demo's | fusions | copies | dynamic slices |",
             "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {name} | {t:.2f} | {t / base:.2f} | " + " | ".join(map(str, ops)) + " |" for name, t, ops in rows]
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    parser.add_argument("--mode", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        print(_build(args.mode))
        return
    side = side_by_side()
    table = "\n".join(programs()) + "\n\n" + "\n".join(constructs())
    table += ("\n\nstart + draw_orders + run_epochs traced, lowered and compiled (first rows of this process): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in side.items())
              + f" ({side['side by side'] / side['one after another']:.2f}x).")
    print(table)
    if args.write:
        from common import append_results

        note = ("The demo grid's programs compiled one by one in one process (persistent cache off), then the "
                "epoch program with one construct changed at a time. On a shared 2-core machine the figures move "
                "with the load; compare the rows of one table.")
        append_results("Compile time by program and construct (compile_profile.py)",
                       "python benchmarks/compile_profile.py --write", f"{note}\n\n{table}")


if __name__ == "__main__":
    main()
