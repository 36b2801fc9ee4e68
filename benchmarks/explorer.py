"""Explorer page benchmark: file size, time to ready, ms per frame, sort / filter time, decoded
values, errors and requests, in headless Chromium (Debian's, driven by Playwright).

    python benchmarks/explorer.py                 # 1,024 models (32 lr x 8 momentum x 4 seeds)
    python benchmarks/explorer.py --models 4096   # 4,096 (64 lr x 8 momentum x 8 seeds): thinned
    python benchmarks/explorer.py --runs /tmp     # keep / reuse the trained runs there

Appends a section to benchmarks/RESULTS.md (``--no-record`` to skip).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np

import jaxviz

CHROMIUM = os.environ.get("JAXVIZ_CHROMIUM", "/usr/bin/chromium")
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"

TIMINGS = """async () => {
  const h = window.jaxvizExplorer, out = {};
  await h.ready;
  out.ready_ms = performance.now();
  let t = performance.now(), bad = 0;
  for (const e of h.epochs) { await h.setEpoch(e); if (h.drawn() !== h.visible().length) bad++; }
  out.frame_ms = (performance.now() - t) / h.epochs.length; out.frames_incomplete = bad;
  out.sort_ms = []; out.filter_ms = [];
  for (const [m, d] of [['val_accuracy', true], ['val_loss', false], ['loss', false]]) {
    t = performance.now(); await h.sortBy(m, d); out.sort_ms.push(performance.now() - t);
  }
  await h.sortBy(null);
  for (const spec of %s) { t = performance.now(); await h.filter(spec); out.filter_ms.push(performance.now() - t); }
  out.drawn = h.drawn(); out.visible = h.visible().length; out.models = h.models; out.errors = h.errors.slice();
  out.thinned = h.thinned; out.resolution = h.resolution; out.epochs = h.epochs;
  return out;
}"""


def grid(models: int) -> dict:
    lrs = [float(v) for v in np.round(np.logspace(-3, 1, 32 if models == 1024 else 64), 6)]
    return {"lr": lrs, "momentum": [0.0, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99],
            "seed": list(range(4 if models == 1024 else 8))}


def get_run(models: int, runs: Path | None):
    folder = runs / f"explorer-bench-{models}" if runs else None
    if folder and (folder / "run.npz").is_file():
        return jaxviz.load(folder)
    run = jaxviz.sweep(grid(models), epochs=20, resolution=64, progress=False)
    if folder:
        run.save(folder)
    return run


def measure(run, page_path: Path) -> dict:
    from playwright.sync_api import sync_playwright

    t = time.perf_counter()
    run.explore(page_path)
    out = {"write_s": time.perf_counter() - t, "file_mb": page_path.stat().st_size / 1e6}
    lr = run.axes["lr"]
    specs = [{"lr": lr[: len(lr) // 2]}, {"momentum": [0.9]}, {"lr": lr[3:5], "momentum": [0.0, 0.9]}, {}]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM)
        page = browser.new_page(viewport={"width": 1600, "height": 1000})
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(page_path.resolve().as_uri(), timeout=120_000)
        out |= page.evaluate(TIMINGS % repr(specs).replace("'", '"').replace("True", "true"))
        rng = np.random.default_rng(0)
        n, nf, res = run.surfaces.shape[0], len(out["epochs"]), run.surfaces.shape[-1]
        if len(run.frame_epochs) == len(out["epochs"]):  # every frame kept: compare at random pixels
            r = out["resolution"]
            f = res // r  # a thinned page holds f x f block means of the surfaces
            picks = np.c_[rng.integers(0, n, 3000), rng.integers(0, nf, 3000), rng.integers(0, r, (3000, 2))]
            got = np.array(page.evaluate("(ps) => ps.map(([m, f, i, j]) => window.jaxvizExplorer.probability(m, f, i, j))",
                                         picks.tolist()), float)
            want = np.array([run.surfaces[m, k, i * f:(i + 1) * f, j * f:(j + 1) * f].astype(np.float32).mean()
                             for m, k, i, j in picks], float)
            out["max_abs_error"] = float(np.nanmax(np.abs(got - want)))
        out["outside_requests"] = [u for u in requests if not u.startswith(("file:", "data:", "blob:"))]
        browser.close()
    return out


def record(models: int, out: dict) -> None:
    lines = [
        f"\n## Explorer page, {models:,} models (benchmarks/explorer.py, {time.strftime('%Y-%m-%d')})\n",
        "Headless Chromium (Debian package) via Playwright on this machine; times measured inside the page "
        f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while measuring).\n",
        "| what | value |", "|---|---|",
        f"| explorer.html | {out['file_mb']:.1f} MB (written in {out['write_s']:.1f} s) |",
        f"| ready after navigation | {out['ready_ms'] / 1000:.2f} s |",
        f"| setEpoch, every frame | {out['frame_ms']:.1f} ms per frame ({out['frames_incomplete']} frames with tiles missing) |",
        f"| sortBy (3 metrics) | {', '.join(f'{v:.0f}' for v in out['sort_ms'])} ms |",
        f"| filter (4 specs, last clears) | {', '.join(f'{v:.0f}' for v in out['filter_ms'])} ms |",
        f"| probability vs run.surfaces{' (block means)' if out['thinned'] else ''} | max error "
        f"{out.get('max_abs_error', float('nan')):.5f} (1/255 = 0.00392) |",
        f"| errors / outside requests | {len(out['errors'])} / {len(out['outside_requests'])} |",
        f"| thinned | {out['thinned'] or 'no'} |",
    ]
    with open(RESULTS, "a") as f:
        f.write("\n".join(lines) + "\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", type=int, default=1024, choices=[1024, 4096])
    ap.add_argument("--runs", type=Path, default=None, help="folder to keep and reuse the trained runs")
    ap.add_argument("--no-record", action="store_true")
    args = ap.parse_args()
    run = get_run(args.models, args.runs)
    with tempfile.TemporaryDirectory() as d:
        out = measure(run, Path(d) / "explorer.html")
    for k, v in out.items():
        print(f"{k}: {v if k != 'epochs' else len(v)}")
    if not args.no_record:
        record(args.models, out)


if __name__ == "__main__":
    main()
