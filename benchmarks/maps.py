"""Trainability maps at scale: model-steps per second and peak memory of ``jaxviz.trainability``
for lr x momentum maps of the seed's MLP on moons (record="final", the score computed on the fly).

Each size is a fresh process (persistent compile cache off, so compile is included); it reports
wall time, models/s, model-steps/s (a model-step = one batch update of one model), the chunks the
memory plan chose, and the process's peak resident set (ru_maxrss, which counts everything: JAX,
XLA's buffers, the results). The done-when run of issue 13 is ``--sizes 1024 --epochs 20``
(1,048,576 models, under 4 GB).

    python benchmarks/maps.py                           # 128, 512 and 1024 per side, 20 epochs
    python benchmarks/maps.py --sizes 128 --epochs 3    # a quick look
    python benchmarks/maps.py --sizes 128,512 --write   # and append the table to RESULTS.md

The fractal paper's setup side by side with its notebook's own loop, in the same run, is
``benchmarks/fractal_paper.py`` (``--side 128 --steps 200`` is issue 13's check).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))


def child(side: int, epochs: int, out: str | None, progress: bool = False) -> dict:
    """One map in this process; its figures as a dict."""
    import resource

    import psutil

    import jaxviz
    from jaxviz.data import load_dataset

    hp = {"lr": jaxviz.logspace(-3, 1, side), "momentum": jaxviz.linspace(0.0, 0.99, side)}
    t = time.perf_counter()
    tmap = jaxviz.trainability(hp, epochs=epochs, progress=progress)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    n = tmap.score.size
    steps = math.ceil(len(load_dataset("moons").y_train) / jaxviz.HP_DEFAULTS["batch_size"])
    figures = {"models": n, "epochs": epochs, "steps": steps, "wall": wall, "peak": peak,
               "rss_now": psutil.Process().memory_info().rss, "chunks": tmap.plan.n_chunks, "chunk": tmap.plan.chunk,
               "converged": float(tmap.converged.mean()), "dimension": tmap.boundary_dimension()}
    if out:
        t = time.perf_counter()
        tmap.save(out)
        figures["save"] = time.perf_counter() - t
    return figures


def measure(side: int, epochs: int, out: str | None) -> dict:
    env = {**os.environ, "JAXVIZ_CACHE_DIR": "off"}
    cmd = [sys.executable, __file__, "--child", str(side), "--epochs", str(epochs)] + (["--out", out] if out else [])
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"side {side} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = ["| models | epochs | chunks x models | wall with compile (s) | models/s | model-steps/s | peak RSS "
             "| converged | boundary dim. |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        steps = r["models"] * r["epochs"] * r["steps"]
        lines.append(f"| {r['models']:,} | {r['epochs']} | {r['chunks']} x {r['chunk']:,} | {r['wall']:.1f} "
                     f"| {r['models'] / r['wall']:,.0f} | {steps / r['wall']:,.0f} | {r['peak'] / 1e9:.2f} GB "
                     f"| {r['converged']:.1%} | {r['dimension']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", default="128,512,1024", help="map sides, comma separated (side**2 models each)")
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--out", default=None, help="save the largest map here (map.png, map.npz, config.toml)")
    p.add_argument("--write", action="store_true", help="append the table to RESULTS.md")
    p.add_argument("--child", type=int, default=None, help=argparse.SUPPRESS)
    p.add_argument("--progress", action="store_true", help=argparse.SUPPRESS)  # a child's bar on stderr
    args = p.parse_args()
    if args.child is not None:
        print(json.dumps(child(args.child, args.epochs, args.out, args.progress)))
        return
    sides = [int(s) for s in args.sizes.split(",")]
    rows = []
    for side in sides:
        rows.append(measure(side, args.epochs, args.out if side == max(sides) else None))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    body = table(rows)
    body += ("\n\nlr = logspace(1e-3, 10) x momentum = linspace(0, 0.99), moons, the seed's 10-10 lrelu MLP, batch 10 "
             f"({rows[0]['steps']} steps per epoch); record='final' with the trainability score computed inside the "
             "program; each size in a fresh process, compile included, persistent compile cache off.")
    print(body)
    if args.write:
        from common import append_results

        append_results("Trainability maps (maps.py)", f"python benchmarks/maps.py --sizes {args.sizes} --epochs "
                       f"{args.epochs} --write", body)


if __name__ == "__main__":
    main()
