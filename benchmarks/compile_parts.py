"""Where ``run_epochs`` spends its compile: the demo grid's program with one block of models and with two.

The program runs its models in blocks (a loop over blocks around the loop over epochs around the
loop over batches), and a grid of any size has at least two blocks per device, so that the block loop
is never simplified away (a model's arithmetic must not depend on the grid). This script compiles
the demo grid's ``run_epochs`` (2 epochs per call, blocks of 32 models) for one block and for two,
in one process with the persistent cache off, and counts what XLA made of each: kernels (fusions),
copies, dynamic slices and dynamic-update-slices of the optimised HLO. The difference is what the
block loop costs to compile.

    python benchmarks/compile_parts.py            # prints the table
    python benchmarks/compile_parts.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time

os.environ["JAXVIZ_CACHE_DIR"] = "off"
sys.path.insert(0, os.path.dirname(__file__))

import jax  # noqa: E402
import numpy as np  # noqa: E402

import jaxviz  # noqa: E402
import jaxviz.engine.train as train  # noqa: E402
from common import append_results  # noqa: E402
from jaxviz.data import load_dataset, pack  # noqa: E402
from jaxviz.spec.grid import make_grid  # noqa: E402

BLOCK, LENGTH = 32, 2


def compiled(blocks: int):
    """(compile seconds, optimised HLO text) of the demo's run_epochs over ``blocks`` blocks of models."""
    grid = make_grid(dict(jaxviz.PRESETS["demo"]))
    n = [len(load_dataset("moons").y_train)]
    table, static = pack([load_dataset("moons")]), grid.static(n)
    hp = jax.tree.map(lambda a: np.resize(a, (blocks * BLOCK,) + a.shape[1:]), grid.hparams(n))
    state = train.start(hp, table, static, BLOCK)[0]
    orders = train.draw_orders(grid.order_table(n), 0, n_max=n[0], length=LENGTH, shuffle=static.shuffle)
    lowered = train.run_epochs.lower(state, hp, orders, table, 0, static, LENGTH, BLOCK, "history")
    t = time.perf_counter()
    program = lowered.compile()
    return time.perf_counter() - t, program.as_text()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    lines = ["| blocks of 32 models | compile (s) | fusions | copies | dynamic slices | dynamic-update-slices |",
             "|---:|---:|---:|---:|---:|---:|"]
    for blocks in (1, 2):
        seconds, hlo = compiled(blocks)
        counts = [hlo.count(f" {op}(") for op in ("fusion", "copy", "dynamic-slice", "dynamic-update-slice")]
        lines.append(f"| {blocks} | {seconds:.2f} | " + " | ".join(map(str, counts)) + " |")
    table = "\n".join(lines) + (
        f"\n\nThe demo grid's run_epochs ({LENGTH} epochs per call, record='history'), compiled in one process, "
        f"persistent cache off. Load average (1 min) at the start and the end: {load:.1f}, {os.getloadavg()[0]:.1f}.")
    print(table)
    if args.write:
        append_results("Compile of run_epochs with one block of models and with two (compile_parts.py)",
                       "python benchmarks/compile_parts.py --write", table)


if __name__ == "__main__":
    main()
