"""How much the live picture slows a sweep: 256 models (16 lr x 16 momentum), with ``live=`` a
PNG path (what ``jaxviz run --live`` does; a notebook display costs the same plus sending the PNG)
against ``live=False``, in the same process after an untimed warm-up of both (compiled programs
in memory, as a second run finds them in the persistent cache). Rounds alternate the order.

    python benchmarks/live_overhead.py            # prints the table
    python benchmarks/live_overhead.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import jaxviz  # noqa: E402
from common import append_results  # noqa: E402


def timed(live, epochs: int, resolution: int) -> tuple[float, int]:
    from jaxviz.views import live as live_view

    updates, show = [], live_view.LiveView.show

    def counted(self, *a):
        out = show(self, *a)
        updates.append(self.spent)  # seconds spent in updates so far
        return out

    live_view.LiveView.show = counted
    t = time.perf_counter()
    jaxviz.sweep(lr=list(np.round(np.geomspace(0.005, 0.5, 16), 5)), momentum=list(np.round(np.linspace(0, 0.95, 16), 4)),
                 epochs=epochs, resolution=resolution, progress=False, live=live,
                 )
    live_view.LiveView.show = show
    return time.perf_counter() - t, len(updates), (updates[-1] if updates else 0.0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--resolution", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as d:
        png = f"{d}/preview.png"
        for live in (False, png):  # warm-up: compiles (the same epochs: the same chunk length)
            timed(live, args.epochs, args.resolution)
        times, shown, share = {False: [], True: []}, [], []
        for r in range(args.repeats):
            for live in ((False, True) if r % 2 == 0 else (True, False)):
                seconds, updates, spent = timed(png if live else False, args.epochs, args.resolution)
                times[live].append(seconds)
                shown += [updates] if live else []
                share += [spent / seconds] if live else []
                print(live, f"{seconds:.2f} s, {updates} updates", flush=True)
    off, on = float(np.median(times[False])), float(np.median(times[True]))
    body = ("| models | epochs | live off, s | live on, s | ratio | time in live updates |\n"
            "|---:|---:|---:|---:|---:|---:|\n"
            f"| 256 | {args.epochs} | {off:.2f} | {on:.2f} | {on / off:.3f} | {100 * float(np.median(share)):.1f}% |\n\n"
            f"Medians of {args.repeats} alternating rounds; updates shown per live run: {shown}. "
            "The last column (the updates' own time over the live run's, median) is robust to a busy machine; "
            "the ratio of wall times is not. live = preview.png rewritten after chunks of epochs "
            f"({args.resolution}x{args.resolution} surfaces, 1280x720), as often as its 9% budget allows.")
    print(body)
    if args.write:
        append_results("Live picture overhead (live_overhead.py)", "python benchmarks/live_overhead.py --write", body)


if __name__ == "__main__":
    main()
