"""The fractal paper's map two ways, in the same run: ``jaxviz.trainability(preset="fractal")`` and the
paper notebook's own code (benchmarks/fractal_notebook.py: one jitted, vmapped step per Python iteration).

Each runs in a fresh process, one after the other (jaxviz first, then the notebook), with compile
included and jaxviz's persistent compile cache off. jaxviz shards the model axis over ``--devices``
host CPU devices (``XLA_FLAGS=--xla_force_host_platform_device_count``); the notebook uses XLA's own
threads. Reported: both wall times and their ratio, the share of pixels whose score has the same sign,
the boundary's box-counting dimension of both maps, and the load average before and after.

    python benchmarks/fractal_paper.py --side 128 --steps 200 --window 0 3 0 3          # issue 13's check
    python benchmarks/fractal_paper.py --side 32 --steps 40                             # a quick look
    python benchmarks/fractal_paper.py --side 128 --reference /tmp/nb128.npy --reference-seconds 471  # no rerun
    python benchmarks/fractal_paper.py ... --write                                      # append to RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def child_jaxviz(side: int, steps: int, window: list[float], preset: str, out: str) -> dict:
    """jaxviz's map in this process: x = lr1 (input layer), y = lr2 (output layer), as the notebook's
    columns and rows."""
    import jax

    import jaxviz

    # the notebook's own learning rates (jnp.logspace in float64), not jaxviz.logspace's 15-digit
    # values: the same pixels, so only the arithmetic differs
    with jax.enable_x64(True):
        lr1, lr2 = ([float(v) for v in np.asarray(jax.numpy.logspace(lo, hi, side))]
                    for lo, hi in (window[2:4], window[0:2]))
    t = time.perf_counter()
    m = jaxviz.trainability(jaxviz.preset(preset), lr1=lr1, lr2=lr2, epochs=steps, progress=False)
    wall = time.perf_counter() - t
    np.save(out, m.score)
    return {"wall": wall, "devices": len(jax.devices()), "platform": jax.devices()[0].platform, "chunks": m.plan.n_chunks, "chunk": m.plan.chunk}


def child_notebook(side: int, steps: int, window: list[float], nonlinearity: str, out: str) -> dict:
    import fractal_notebook as nb  # sets x64 and threefry_partitionable=False for this process

    t = time.perf_counter()
    image = nb.gen_img(window, side, steps, nonlinearity)
    wall = time.perf_counter() - t
    np.save(out, image)
    return {"wall": wall}


def _run(args: list[str], env: dict) -> dict:
    done = subprocess.run([sys.executable, os.path.abspath(__file__), *args], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"{args[0]} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


NONLINEARITY = {"fractal": "tanh", "fractal-relu": "relu", "fractal-linear": "identity"}


def compare(side: int, steps: int, window: list[float], preset: str, devices: int, reference: str | None,
            reference_seconds: float | None) -> dict:
    from jaxviz.fractal import boundary_dimension

    common = ["--side", str(side), "--steps", str(steps), "--window", *map(str, window), "--preset", preset]
    folder = tempfile.mkdtemp(prefix="fractal_paper_")
    load_start = os.getloadavg()
    env = {**os.environ, "JAXVIZ_CACHE_DIR": "off",
           "XLA_FLAGS": f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}".strip()}
    ours = _run(["--child", "jaxviz", *common, "--out", f"{folder}/jaxviz.npy"], env)
    score = np.load(f"{folder}/jaxviz.npy")
    if reference:
        theirs, notebook = {"wall": reference_seconds}, np.load(reference)
    else:
        plain = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
        theirs = _run(["--child", "notebook", *common, "--out", f"{folder}/notebook.npy"], plain)
        notebook = np.load(f"{folder}/notebook.npy")
    load_end = os.getloadavg()
    same = (score < 0) == (notebook < 0)
    return {"side": side, "steps": steps, "window": window, "preset": preset, "devices": ours["devices"],
            "platform": ours["platform"], "jaxviz_s": ours["wall"], "notebook_s": theirs["wall"], "rerun": reference is None,
            "ratio": ours["wall"] / theirs["wall"] if theirs["wall"] else float("nan"),
            "agreement": float(same.mean()), "converged": float((score < 0).mean()),
            "notebook_converged": float((notebook < 0).mean()),
            "dimension": boundary_dimension(score), "notebook_dimension": boundary_dimension(notebook),
            "load_start": load_start[0], "load_end": load_end[0], "chunks": f"{ours['chunks']} x {ours['chunk']}"}


def report(r: dict) -> str:
    lines = ["| map | jaxviz (s) | notebook (s) | ratio | sign agreement | converged (jaxviz / notebook) "
             "| boundary dim. (jaxviz / notebook) | load avg start / end |", "|---|---:|---:|---:|---:|---:|---:|---:|",
             f"| {r['preset']} {r['side']}x{r['side']}, {r['steps']} steps, window {r['window']} | {r['jaxviz_s']:.1f} "
             f"| {r['notebook_s']:.1f}{'' if r['rerun'] else ' (given)'} | {r['ratio']:.2f} | {r['agreement']:.2%} "
             f"| {r['converged']:.1%} / {r['notebook_converged']:.1%} | {r['dimension']:.2f} / "
             f"{r['notebook_dimension']:.2f} | {r['load_start']:.2f} / {r['load_end']:.2f} |"]
    return "\n".join(lines) + (
        f"\n\njaxviz: `jaxviz.trainability(jaxviz.preset({r['preset']!r}), lr1=..., lr2=..., epochs={r['steps']})` "
        "with the notebook's learning rates (jnp.logspace, float64), "
        f"float64, {r['devices']} {r.get('platform', 'cpu')} device(s)"
        f"{' (XLA_FLAGS=--xla_force_host_platform_device_count)' if r.get('platform', 'cpu') == 'cpu' else ''}, chunks "
        f"{r['chunks']}; notebook: benchmarks/fractal_notebook.py's gen_img (x64, threefry_partitionable=False). "
        "Window = the notebook's mnmx in log10 (output-lr min, max, input-lr min, max). Each in a fresh process, "
        "compile included, persistent compile cache off; jaxviz ran first.")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--side", type=int, default=128)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--window", type=float, nargs=4, default=[0.0, 3.0, 0.0, 3.0],
                   help="log10 of output-lr min, max, input-lr min, max (the notebook's mnmx)")
    p.add_argument("--preset", default="fractal", choices=sorted(NONLINEARITY))
    p.add_argument("--devices", type=int, default=2, help="host CPU devices jaxviz shards its models over")
    p.add_argument("--reference", help="the notebook's map at these settings (.npy), instead of running it again")
    p.add_argument("--reference-seconds", type=float, help="the time that reference map took")
    p.add_argument("--write", action="store_true", help="append the table to RESULTS.md")
    p.add_argument("--child", choices=["jaxviz", "notebook"], help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child == "jaxviz":
        print(json.dumps(child_jaxviz(args.side, args.steps, args.window, args.preset, args.out)))
        return
    if args.child == "notebook":
        print(json.dumps(child_notebook(args.side, args.steps, args.window, NONLINEARITY[args.preset], args.out)))
        return
    r = compare(args.side, args.steps, args.window, args.preset, args.devices, args.reference, args.reference_seconds)
    body = report(r)
    print(body)
    print(json.dumps(r))
    if args.write:
        from common import append_results

        command = " ".join(["python benchmarks/fractal_paper.py", *sys.argv[1:]])
        append_results("The fractal paper's map: jaxviz vs the notebook's loop (fractal_paper.py)", command, body)


if __name__ == "__main__":
    main()
