"""Scale: wall time, model-epochs per second and peak memory from 1 to thousands of models, and
how close the surface prediction comes to the machine's own dense matmul peak.

Each grid (lr x momentum x seed on moons, the seed's 10-10 lrelu MLP, 100 epochs, 64x64
surfaces at 20 frames) runs in a fresh process, twice: the first time with compile, the second
with new values (same program). Peak memory is that process's peak resident set (CPU) or the
device's peak bytes in use (GPU), over the first run (compile included). At 1,024 models the surface prediction alone is timed on the
run's weights and its dense-layer FLOPs (2 x (2H + H^2 + H) per mesh point) are compared with a
float32 matmul measured in the same process.

    python benchmarks/scale.py                         # 1, 64, 1024, 4096 models; prints the table
    python benchmarks/scale.py --models 1 64 65536     # other sizes
    python benchmarks/scale.py --write                 # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))

EPOCHS, RESOLUTION, FRAMES, FLOP_MODELS = 100, 64, 20, 1024


def grid(n: int, shift: float = 0.0) -> dict:
    """An lr x momentum x seed grid of ``n`` models (``n`` a power of two)."""
    import numpy as np

    seeds = max(1, n // 1024)
    rest = n // seeds
    a = 2 ** ((rest.bit_length() - 1 + 1) // 2)
    b = rest // a
    hp = {"epochs": EPOCHS}
    if a > 1:
        hp["lr"] = [round(float(v) + shift, 6) for v in np.geomspace(0.005, 0.5, a)]
    else:
        hp["lr"] = 0.1 + shift
    if b > 1:
        hp["momentum"] = [round(float(v), 6) for v in np.linspace(0.0, 0.95, b)]
    if seeds > 1:
        hp["seed"] = list(range(seeds))
    return hp


def matmul_peak(jax, jnp, size: int = 2048, repeats: int = 5) -> float:
    """FLOP/s of a jitted float32 (size x size) @ (size x size), best of ``repeats``."""
    a = jnp.ones((size, size), jnp.float32)
    f = jax.jit(lambda x: x @ x)
    f(a).block_until_ready()
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        f(a).block_until_ready()
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best


def surface_flops(run, jax, jnp) -> tuple[float, float]:
    """(achieved FLOP/s of the surface prediction on the run's weights, seconds per call)."""
    import numpy as np

    from jaxviz.engine.surfaces import predict_surfaces

    n = len(run.configs)
    w = [x[:, run.frame_epochs] for x in run._weights]
    args = (w, np.asarray([[c["n1"], c["n2"], c["n3"]] for c in run.configs]), np.zeros(n, np.int32),
            ("lrelu",), [run.data_of(i).extent for i in range(n)], RESOLUTION)
    predict_surfaces(*args)  # compile
    best = float("inf")
    for _ in range(3):
        t = time.perf_counter()
        predict_surfaces(*args)
        best = min(best, time.perf_counter() - t)
    h = 10
    flops = n * len(run.frame_epochs) * RESOLUTION**2 * 2 * (2 * h + h * h + h)
    return flops / best, best


def child(n: int) -> dict:
    import resource

    import jax
    import jax.numpy as jnp

    import jaxviz

    t = time.perf_counter()
    run = jaxviz.sweep(grid(n), resolution=RESOLUTION, frames=FRAMES, progress=False)
    first = time.perf_counter() - t
    assert run.surfaces.shape == (n, FRAMES, RESOLUTION, RESOLUTION)
    peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # one run, compile included
    del run
    t = time.perf_counter()
    run = jaxviz.sweep(grid(n, shift=1e-4), resolution=RESOLUTION, frames=FRAMES, progress=False)
    steady = time.perf_counter() - t
    out = {"models": n, "first_s": first, "steady_s": steady, "rate": n * EPOCHS / steady,
           "chunks": run.plan.n_chunks, "devices": run.plan.devices, "backend": jax.default_backend()}
    stats = jax.devices()[0].memory_stats() if jax.default_backend() != "cpu" else None
    out["peak_device_bytes"] = stats.get("peak_bytes_in_use") if stats else None
    out["peak_rss_bytes"] = peak_rss
    if n == FLOP_MODELS:
        out["matmul_flops"] = matmul_peak(jax, jnp)
        out["surface_flops"], out["surface_s"] = surface_flops(run, jax, jnp)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=int, nargs="+", default=[1, 64, 1024, 4096])
    parser.add_argument("--write", action="store_true", help="append the table to benchmarks/RESULTS.md")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    rows = []
    for n in args.models:
        env = {**os.environ, "JAXVIZ_CACHE_DIR": "off"}
        p = subprocess.run([sys.executable, __file__, "--child", str(n)], capture_output=True, text=True, env=env)
        if p.returncode:
            sys.exit(f"{n} models failed:\n{p.stderr[-3000:]}")
        rows.append(json.loads(p.stdout.strip().splitlines()[-1]))
        print(rows[-1], flush=True)
    base = next((r["rate"] for r in rows if r["models"] == 1), None)
    lines = ["| models | chunks | wall with compile (s) | wall, same program again (s) | model-epochs/s | "
             "vs 1 model | peak memory |", "|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        peak = r["peak_device_bytes"] or r["peak_rss_bytes"]
        where = "device" if r["peak_device_bytes"] else "RSS"
        ratio = f"{r['rate'] / base:.0f}x" if base else "-"
        lines.append(f"| {r['models']:,} | {r['chunks']} | {r['first_s']:.1f} | {r['steady_s']:.1f} | {r['rate']:,.0f} | "
                     f"{ratio} | {peak / 1e9:.2f} GB ({where}) |")
    body = "\n".join(lines)
    flop = next((r for r in rows if "matmul_flops" in r), None)
    if flop:
        body += (f"\n\nSurface prediction at {FLOP_MODELS:,} models x {FRAMES} frames x {RESOLUTION}x{RESOLUTION}: "
                 f"{flop['surface_s']:.2f} s, {flop['surface_flops'] / 1e9:.1f} GFLOP/s of dense-layer work = "
                 f"**{100 * flop['surface_flops'] / flop['matmul_flops']:.0f}%** of this machine's float32 matmul "
                 f"peak measured in the same process ({flop['matmul_flops'] / 1e9:.1f} GFLOP/s, 2048x2048).")
    body += (f"\n\nEvery grid: moons, {EPOCHS} epochs, {RESOLUTION}x{RESOLUTION} surfaces at {FRAMES} frames, "
             "lr x momentum x seed; each size in a fresh process, persistent compile cache off.")
    print(body)
    if args.write:
        from common import append_results

        command = "python benchmarks/scale.py" + (f" --models {' '.join(map(str, args.models))}"
                                                   if args.models != [1, 64, 1024, 4096] else "") + " --write"
        append_results("Scale: 1 to thousands of models", command, body)


if __name__ == "__main__":
    main()
