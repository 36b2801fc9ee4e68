"""What micro-batches cost: a batch trained in micro-batches of 16 lanes against one step as wide
as the batch, in one process, alternating.

Grids of batch sizes up to 32 (``jaxviz.spec.shapes.MICRO_MAX``) train in steps of 16 lanes
(``MICRO_LANES``), a larger batch in several micro-batches whose gradients add up, so that they
share one compiled program. This measures the steady training time (compile excluded) of
``--models`` models (256; on a GPU, where a block holds 4,096, use more) on moons (60 training
points, 100 epochs) for batch sizes 10, 20, 30 and 60, with the lanes jaxviz gives them and with
lanes as wide as the batch, best of three runs after a first that compiles, in ``--rounds``
alternating rounds. The ratio micro / wide is the cost
(below 1: faster). No surfaces are predicted: only ``train_grid`` is timed.

    python benchmarks/micro_batches.py            # prints the table
    python benchmarks/micro_batches.py --write    # and appends it to benchmarks/RESULTS.md
    python benchmarks/micro_batches.py --models 16384 --write    # on a GPU (benchmarks/gpu.sh)
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

os.environ.setdefault("JAXVIZ_CACHE_DIR", "off")
sys.path.insert(0, os.path.dirname(__file__))
import numpy as np  # noqa: E402

from common import append_results  # noqa: E402
from jaxviz.data import load_dataset, pack  # noqa: E402
from jaxviz.engine.train import train_grid  # noqa: E402
from jaxviz.spec.grid import make_grid  # noqa: E402

BATCHES = (10, 20, 30, 60)


def best_of_three(args, static) -> float:
    train_grid(*args, static)  # compiles
    times = []
    for _ in range(3):
        t = time.perf_counter()
        train_grid(*args, static)
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--models", type=int, default=256, help="a multiple of 16")
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    ds = load_dataset("moons")
    n = [len(ds.y_train)]
    rows = []
    for bs in BATCHES:
        g = make_grid(lr=list(np.linspace(0.05, 1.0, args.models // 16)), momentum=list(np.linspace(0.0, 0.9, 16)),
                      epochs=100, batch_size=bs)
        grid_args = g.hparams(n), g.order_table(n), pack([ds])
        static = g.static(n)
        wide = static._replace(batch=min(bs, n[0]))
        ratios, micro_s, wide_s = [], [], []
        for _ in range(args.rounds):
            m, w = best_of_three(grid_args, static), best_of_three(grid_args, wide)
            micro_s.append(m)
            wide_s.append(w)
            ratios.append(m / w)
        micros = -(-min(bs, n[0]) // static.batch)
        rows.append(f"| {bs} | {static.batch} x {micros} | {wide.batch} x 1 | {statistics.median(micro_s):.2f} | "
                    f"{statistics.median(wide_s):.2f} | **{statistics.median(ratios):.2f}** "
                    f"({', '.join(f'{r:.2f}' for r in ratios)}) |")
        print(rows[-1], flush=True)
    body = "\n".join([
        "| batch | jaxviz: lanes x micro-batches | wide: lanes x steps | jaxviz (s) | wide (s) | ratio (rounds) |",
        "|---:|---|---|---:|---:|---:|", *rows, "",
        f"{args.models} models, moons (60 training points), 100 epochs, steady training (best of 3 after a compile), "
        f"{args.rounds} alternating rounds; ratio < 1: jaxviz's lanes are faster. Load average (1 min) at the end: "
        f"{os.getloadavg()[0]:.1f}."])
    print(body)
    if args.write:
        append_results("Micro-batches: batches in steps of 16 lanes against one wide step",
                       "python benchmarks/micro_batches.py --write", body)


if __name__ == "__main__":
    main()
