"""One program for every activation / optimizer (selected per model), measured: issue 11's candidate.

A program that holds only the activations and optimizers its models use must be compiled again
when one of them changes. The alternative compiles all of them into the program and picks each
model's with a select, so a change reuses the program. jaxviz does this for small grids only
(``SHARED_MODELS``). This script measures what each choice costs and saves, each mode in fresh
processes with the persistent cache off:
- steady training throughput of 256 models (seed defaults, 100 epochs, 64x64 surfaces every epoch),
  the best of three runs with new values after a first run that compiles;
- the demo grid in a fresh process (compile included), the same again in that process (no compile:
  the small grid's steady cost), then a change to ``activation="tanh"`` and one to
  ``optimizer="adam"`` in the same process.

Modes: ``own`` (every grid compiles only its own activations, depth and optimizers),
``jaxviz`` (as it is: small grids hold all of them), ``optimizers`` (all four Keras optimizers in
every program, big grids too), ``activations`` (all five activations), ``both``.

    python benchmarks/universal_program.py            # prints the table
    python benchmarks/universal_program.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from common import json_child  # noqa: E402

MODES = ("own", "jaxviz", "optimizers", "activations", "both")

CHILD = """
import json, sys, time
import jaxviz
import jaxviz.data, jaxviz.engine.train, jaxviz.engine.surfaces, jaxviz.views.compositor  # imports are not timed
from jaxviz.spec.config import ACTIVATIONS, OPTIMIZERS
import jaxviz.spec.grid
from jaxviz.spec.grid import Grid

mode, what = sys.argv[1], sys.argv[2]
own = Grid.static
if mode == "own":
    jaxviz.spec.grid.SHARED_MODELS = 0  # no grid is small enough to share its programs


def static(self, n_train):  # every program holds all activations and/or optimizers
    s = own(self, n_train)
    if mode in ("activations", "both"):
        s = s._replace(activations=ACTIVATIONS)
    if mode in ("optimizers", "both"):
        s = s._replace(optimizers=OPTIMIZERS)
    return s


Grid.static = static


def timed(*args, **kw):
    t = time.perf_counter()
    jaxviz.sweep(*args, progress=False, **kw)
    return time.perf_counter() - t


if what == "throughput":
    sys.path.insert(0, sys.argv[3])
    from train_throughput import bench_jaxviz

    first, steady = bench_jaxviz(256, 100, repeats=3)
    print(json.dumps({"first": first, "steady": steady, "rate": 256 * 100 / steady}))
else:
    hp = dict(jaxviz.PRESETS["demo"])
    print(json.dumps({"demo": timed(hp), "warm": timed(hp), "activation": timed({**hp, "activation": "tanh"}),
                      "optimizer": timed({**hp, "optimizer": "adam"})}))
"""


def child(mode: str, what: str) -> dict:
    return json_child(CHILD, mode, what, os.path.dirname(os.path.abspath(__file__)), env={"JAXVIZ_CACHE_DIR": "off"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    rows = {m: {**child(m, "throughput"), **child(m, "demo")} for m in MODES}
    base = rows["own"]
    lines = ["| program holds | steady model-epochs/s (256 models) | x own | first run (s) | demo, fresh process (s) "
             "| demo again, same process (s) | then activation -> tanh (s) | then optimizer -> adam (s) |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for m, r in rows.items():
        name = {"own": "the grid's own, any grid", "jaxviz": "all of them in a small grid (jaxviz)",
                "optimizers": "all optimizers, any grid", "activations": "all activations, any grid",
                "both": "all activations and optimizers, any grid"}[m]
        lines.append(f"| {name} | {r['rate']:,.0f} | {r['rate'] / base['rate']:.2f} | {r['first']:.2f} "
                     f"| {r['demo']:.2f} | {r['warm']:.2f} | {r['activation']:.2f} | {r['optimizer']:.2f} |")
    table = "\n".join(lines) + (
        f"\n\nEach mode in fresh processes, persistent cache off. Load average (1 min) at the start and the end: "
        f"{load:.1f}, {os.getloadavg()[0]:.1f}.")
    print(table)
    if args.write:
        from common import append_results

        append_results("One program for every activation / optimizer (universal_program.py)",
                       "python benchmarks/universal_program.py --write", table)


if __name__ == "__main__":
    main()
