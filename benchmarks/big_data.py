"""Big data: one model on a 1,000,000-row dataset (600,000 train, 400,000 test rows), one epoch,
in a fresh process; wall time (compile included) and peak resident set (ru_maxrss).

The data are stored once and shared by the models; batches are gathered step by step and the
test set is evaluated in pieces, so the memory is the data plus one step's work.

    python benchmarks/big_data.py                  # prints the figures
    python benchmarks/big_data.py --rows 200000    # another size
    python benchmarks/big_data.py --write          # and appends them to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))


def child(rows: int, batch_size: int) -> dict:
    import resource
    import time

    import numpy as np

    import jaxviz

    rng = np.random.default_rng(0)
    X = rng.normal(size=(rows, 2))
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    t = time.perf_counter()
    run = jaxviz.sweep(data=(X, y), epochs=1, batch_size=batch_size, resolution=16, progress=False)
    wall = time.perf_counter() - t
    p = run.plan
    return {"rows": rows, "batch_size": batch_size, "wall": wall,
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            "planned": p.results + p.fixed + p.per_model * p.chunk,
            "val_accuracy": float(run.metrics["val_accuracy"][0, -1])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--write", action="store_true", help="append the figures to benchmarks/RESULTS.md")
    args = parser.parse_args()
    code = f"import json, big_data as b; print(json.dumps(b.child({args.rows}, {args.batch_size})))"
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "JAXVIZ_CACHE_DIR": "off"},
                          capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(__file__)), check=False)
    if done.returncode:
        raise SystemExit(done.stderr[-3000:])
    r = json.loads(done.stdout.strip().splitlines()[-1])
    body = (f"One model, {r['rows']:,} rows (60/40 split), batch_size {r['batch_size']}, 1 epoch: "
            f"{r['wall']:.1f} s with compile, peak RSS **{r['peak'] / 1e9:.2f} GB** (plan: "
            f"{r['planned'] / 1e9:.2f} GB), val_accuracy {r['val_accuracy']:.3f}. Before: refused with "
            f"\"resolution must leave room ... 25.7 GB\". Other work shared the 2 cores during this run.")
    print(body)
    if args.write:
        from common import append_results

        append_results("Big data: one model on a million rows", "python benchmarks/big_data.py --write", body)


if __name__ == "__main__":
    main()
