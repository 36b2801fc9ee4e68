"""Steady training throughput at 256 models, this checkout against an earlier commit, in one run.

train_throughput.py's jaxviz row (256 learning rates, seed defaults on moons, 100 epochs, 64x64
surfaces every epoch; the best of three runs with new values after a first run that compiles),
measured for the working tree and for ``--ref`` (checked out into a temporary git worktree), in
fresh processes that alternate between the two for ``--rounds`` rounds. The machine is shared and
noisy, so the figure that counts is the ratio within a round; the table gives its median and range.

    python benchmarks/throughput_ab.py --ref f08b779            # prints the table
    python benchmarks/throughput_ab.py --ref f08b779 --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from common import json_child  # noqa: E402

CHILD = """
import json, sys
sys.path.insert(1, sys.argv[2])  # this checkout's benchmarks, after the tree under test
import jaxviz
assert jaxviz.__file__.startswith(sys.argv[1]), jaxviz.__file__  # the tree under test, not another install
from train_throughput import bench_jaxviz

first, steady = bench_jaxviz(256, 100, repeats=3)
print(json.dumps({"first": first, "rate": 256 * 100 / steady}))
"""


def child(tree: str) -> dict:
    return json_child(CHILD, tree, HERE, env={"JAXVIZ_CACHE_DIR": "off", "PYTHONPATH": tree}, cwd=tree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ref", required=True, help="the commit to compare with (any git revision)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    ref = subprocess.run(["git", "rev-parse", "--short", args.ref], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, check=True, capture_output=True,
                          text=True).stdout.strip()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        tree = os.path.join(tmp, "ref")
        subprocess.run(["git", "worktree", "add", "--detach", tree, ref], cwd=ROOT, check=True, capture_output=True)
        try:
            rounds = [(child(tree), child(ROOT)) for _ in range(args.rounds)]
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT, capture_output=True)
    ratios = [new["rate"] / old["rate"] for old, new in rounds]
    med = lambda key, i: statistics.median(r[i][key] for r in rounds)  # noqa: E731
    lines = ["| code | steady model-epochs/s (median) | first run with compile (s, median) |", "|---|---:|---:|",
             f"| {ref} (--ref) | {med('rate', 0):,.0f} | {med('first', 0):.2f} |",
             f"| {head} (this checkout) | {med('rate', 1):,.0f} | {med('first', 1):.2f} |"]
    best = max(r[1]["rate"] for r in rounds) / max(r[0]["rate"] for r in rounds)  # interference only slows a run
    table = "\n".join(lines) + (
        f"\n\nThroughput ratio this checkout / {ref}: median {statistics.median(ratios):.2f} (rounds: "
        f"{', '.join(f'{r:.2f}' for r in ratios)}); best rate / best rate {best:.2f}. {args.rounds} rounds, the two "
        f"alternating in fresh processes, "
        f"persistent cache off. Load average (1 min) at the start and the end: {load:.1f}, {os.getloadavg()[0]:.1f}.")
    print(table)
    if args.write:
        from common import append_results

        append_results("Steady throughput at 256 models, A/B (throughput_ab.py)",
                       " ".join(["python benchmarks/throughput_ab.py", *sys.argv[1:]]), table)


if __name__ == "__main__":
    main()
