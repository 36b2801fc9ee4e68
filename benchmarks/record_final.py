"""record="final" at scale: a 262,144-model trainability map (lr 512 values x momentum 512 values,
moons, 20 epochs) in bounded memory, next to record="history" on a smaller grid of the same kind.

Each run is a fresh process (persistent compile cache off); it reports wall time (compile
included), models per second, model-epochs per second and its peak resident set (ru_maxrss).
The full-size final run then checks 64 of its models (an 8 x 8 sub-grid of its lr and momentum
values) against a record="history" run of exactly those models: their metrics must be equal bit
for bit (asserted).

    python benchmarks/record_final.py                       # 512 x 512 final, 64 x 64 history and final
    python benchmarks/record_final.py --side 128 --small 32 # a quicker look
    python benchmarks/record_final.py --write               # and append the table to RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

EPOCHS = 20


def axes(side: int) -> dict:
    """lr x momentum, ``side`` values each (``side ** 2`` models)."""
    import numpy as np

    return {"lr": [float(v) for v in np.geomspace(0.001, 3.0, side)],
            "momentum": [float(v) for v in np.linspace(0.0, 0.99, side)]}


def child(side: int, record: str, check: bool) -> dict:
    """One sweep in this process; its figures as a dict (and the 64-model check if asked)."""
    import resource

    import numpy as np

    import jaxviz

    hp = axes(side)
    t = time.perf_counter()
    run = jaxviz.sweep(hp, epochs=EPOCHS, record=record, resolution=16, progress=False)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    n = len(run.configs)
    out = {"models": n, "record": record, "wall": wall, "peak": peak, "chunks": run.plan.n_chunks,
           "planned": run.plan.results + run.plan.fixed + run.plan.per_model * run.plan.chunk,
           "diverged": int((run.diverged_epoch >= 0).sum())}
    if check:
        rng = np.random.default_rng(0)
        rows = np.sort(rng.choice(side, 8, replace=False))
        cols = np.sort(rng.choice(side, 8, replace=False))
        sub = {"lr": [hp["lr"][r] for r in rows], "momentum": [hp["momentum"][c] for c in cols]}
        hist = jaxviz.sweep(sub, epochs=EPOCHS, record="history", resolution=8, progress=False)
        picks = (rows[:, None] * side + cols[None, :]).ravel()
        for key in run.metrics:
            np.testing.assert_array_equal(run.metrics[key][picks], hist.metrics[key], err_msg=key)
        for a, b in zip(run._weights, hist._weights):  # final weights = the history's last epoch
            np.testing.assert_array_equal(a[picks, 1], b[:, -1])
        out["checked"] = len(picks)
    return out


def measure(side: int, record: str, check: bool = False) -> dict:
    env = {**os.environ, "JAXVIZ_CACHE_DIR": "off"}
    code = f"import json, record_final as r; print(json.dumps(r.child({side}, {record!r}, {check})))"
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          cwd=os.path.dirname(os.path.abspath(__file__)))
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(rows: list[dict]) -> str:
    lines = ["| record | models | chunks | wall with compile (s) | models/s | model-epochs/s | peak RSS | "
             "peak per model | diverged |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['record']} | {r['models']:,} | {r['chunks']} | {r['wall']:.1f} | "
                     f"{r['models'] / r['wall']:,.0f} | {r['models'] * EPOCHS / r['wall']:,.0f} | "
                     f"{r['peak'] / 1e9:.2f} GB | {r['peak'] / r['models'] / 1e3:.1f} kB | {r['diverged']:,} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--side", type=int, default=512, help="lr and momentum values of the big final grid")
    parser.add_argument("--small", type=int, default=64, help="values per axis of the history / final comparison")
    parser.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    args = parser.parse_args()
    rows = [measure(args.small, "history"), measure(args.small, "final"), measure(args.side, "final", check=True)]
    body = table(rows)
    h, f = rows[0], rows[1]
    body += (f"\n\nAt {h['models']:,} models, record='final' peaks at {f['peak'] / h['peak']:.2f}x the memory of "
             f"record='history' (every epoch's weights and a 16x16 surface per epoch) and runs at "
             f"{(f['models'] / f['wall']) / (h['models'] / h['wall']):.2f}x its models/s. The {rows[2]['models']:,}-model "
             f"final run was checked on {rows[2]['checked']} models (an 8 x 8 sub-grid of its axes) against a "
             f"record='history' run of those models: metrics and final weights equal bit for bit.\n\n"
             f"Every grid: moons, {EPOCHS} epochs, lr (geomspace 0.001-3) x momentum (0-0.99), the seed's 10-10 "
             f"lrelu MLP, batch 10; history runs keep surfaces at 16x16 for every epoch. Each run in a fresh process, "
             f"compile included, persistent compile cache off. Other work shared the 2 cores during this run.")
    print(body)
    if args.write:
        from common import append_results

        append_results("record='final': a 262,144-model trainability map", "python benchmarks/record_final.py --write",
                       body)


if __name__ == "__main__":
    main()
