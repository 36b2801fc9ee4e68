"""What mixing shapes in one program costs, and proof that padding changes no result.

The grid of issue 3 (n1 x n2 x activation x dataset x batch_size x epochs, 64 models) against
(a) the same 64 models all of its largest shape (n1 10, n2 5, tanh, tricky, batch 10, 20 epochs:
the padded program can only be slower than this by its masks), and (b) ONE model of that kind
alone, compile included (what a user pays for a single run). Then every one of the 64 models is
trained alone, unpadded, and compared with its tile of the mixed grid (max abs difference over
every metric and every epoch's weights).

    python benchmarks/padding_overhead.py            # prints the table
    python benchmarks/padding_overhead.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import jaxviz  # noqa: E402
from common import append_results  # noqa: E402
from jaxviz.analysis import METRICS  # noqa: E402

MIXED = {"n1": [2, 10], "n2": [0, 5], "activation": ["relu", "tanh"], "dataset": ["moons", "tricky"],
         "batch_size": [10, 32], "epochs": [10, 20]}
LARGEST = {"n1": 10, "n2": 5, "activation": "tanh", "dataset": "tricky", "batch_size": 10, "epochs": 20}
OPTIONS = {"resolution": 64, "progress": False}


def timed(hp, **extra):
    t = time.perf_counter()
    run = jaxviz.sweep(hp, **OPTIONS, **extra)
    return run, time.perf_counter() - t


def fresh_process_seconds(code: str) -> float:
    """Wall time of a snippet in a new interpreter (so compile time is included, cache off)."""
    env = {**os.environ, "JAXVIZ_CACHE_DIR": "off"}
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env)
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--skip-exactness", action="store_true", help="skip the 64 solo runs")
    args = parser.parse_args()

    imports = "import jaxviz; "
    one = fresh_process_seconds(imports + f"jaxviz.sweep({LARGEST!r}, resolution=64, progress=False)")
    mixed_cold = fresh_process_seconds(imports + f"jaxviz.sweep({MIXED!r}, resolution=64, progress=False)")
    base = fresh_process_seconds(imports)  # interpreter + imports, the same in both

    mixed, _ = timed(MIXED)
    mixed, t_mixed = timed(MIXED, lr=0.11)  # warm: new values, same programs
    same_hp = {**LARGEST, "seed": list(range(64))}
    timed(same_hp)
    _, t_same = timed({**same_hp, "lr": 0.11})

    rows = [
        "| run | models | wall s | ratio |",
        "|---|---:|---:|---:|",
        f"| one model of the largest kind, fresh process (compile included) | 1 | {one - base:.2f} | 1.00 |",
        f"| mixed grid, fresh process (compile included) | 64 | {mixed_cold - base:.2f} | {(mixed_cold - base) / (one - base):.2f} |",
        f"| 64 models all of the largest shape, warm | 64 | {t_same:.2f} | - |",
        f"| mixed grid, warm (padding overhead) | 64 | {t_mixed:.2f} | {t_mixed / t_same:.2f} x the uniform grid |",
    ]
    body = "\n".join(rows)
    if not args.skip_exactness:
        worst = {"metrics": 0.0, "weights": 0.0}
        for i, config in enumerate(mixed.configs):
            solo = jaxviz.sweep(config, resolution=8, progress=False)
            e = config["epochs"]
            worst["metrics"] = max(worst["metrics"], max(
                float(np.max(np.abs(mixed.metrics[k][i, :e] - solo.metrics[k][0]))) for k in METRICS))
            for epoch in range(e + 1):
                for a, b in zip(mixed.weights(i, epoch), solo.weights(0, epoch)):
                    worst["weights"] = max(worst["weights"], float(np.max(np.abs(a - b))))
        body += (f"\n\nEach of the 64 models trained alone, unpadded: max abs difference from its tile "
                 f"{worst['metrics']:.2e} over every metric, {worst['weights']:.2e} over every epoch's weights.")
    print(body)
    if args.write:
        note = ("Mixed grid: " + ", ".join(f"{k}={v}" for k, v in MIXED.items()) + ", 64x64 surfaces every epoch. "
                "Fresh-process times subtract the interpreter and import time measured the same way.")
        append_results("Padding overhead (padding_overhead.py)", "python benchmarks/padding_overhead.py --write",
                       f"{note}\n\n{body}")


if __name__ == "__main__":
    main()
