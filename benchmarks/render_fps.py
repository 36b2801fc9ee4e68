"""Frames per second written to MP4 at 1280x720: jaxviz's compositor vs matplotlib redraws.

For grids of 16, 64 and 256 tiles (lr x momentum, 64x64 surfaces), the same frames are written
to H.264 MP4 three ways, in the same run:
- jaxviz: ``run.animate`` (pixel compositing, static layers drawn once, streamed);
- matplotlib ``imshow.set_data`` + full redraw per frame (jaxviz's own TiledFigure);
- the seed's way: per-tile ``contourf`` redrawn every frame (old contours removed).
Then the peak resident memory of a 64-model, 400-epoch run with its animation, in a fresh process.

    python benchmarks/render_fps.py            # prints the table
    python benchmarks/render_fps.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import jaxviz  # noqa: E402
from common import append_results  # noqa: E402
from jaxviz.render import SURFACE_ALPHA, TiledFigure, status_line  # noqa: E402
from jaxviz.write import write_animation  # noqa: E402

SIZE = (1280, 720)


def make_run(n: int, epochs: int):
    side = int(round(n ** 0.5))
    return jaxviz.sweep(lr=list(np.round(np.geomspace(0.005, 0.5, side), 5)), momentum=list(np.round(np.linspace(0, 0.95, side), 4)),
                        epochs=epochs, resolution=64, progress=False)


def contourf_frames(run, indices):
    """The seed's redraw: every tile's old contourf removed and a new one drawn, every frame."""
    from jaxviz.surfaces import mesh

    tiles = TiledFigure(run, size=SIZE)
    for img in tiles.images:
        img.set_visible(False)
    res = run.surfaces.shape[-1]
    grids = []
    for i in range(len(run.configs)):
        pts = mesh(run.data_of(i).extent, res)
        grids.append((pts[:, 0].reshape(res, res), pts[:, 1].reshape(res, res)))
    contours = [None] * len(run.configs)
    for f in indices:
        epoch = int(run.frame_epochs[f])
        for i, ax in enumerate(tiles.axes):
            if contours[i] is not None:
                contours[i].remove()
            xx, yy = grids[i]
            contours[i] = ax.contourf(xx, yy, run.surfaces[i, f].astype(np.float32), cmap="RdBu", alpha=SURFACE_ALPHA)
            tiles.texts[i].set_text(status_line(epoch, run.configs[i]["epochs"], *run.status(i, epoch)))
        tiles.fig.canvas.draw()
        yield np.asarray(tiles.fig.canvas.buffer_rgba())[..., :3].copy()


def fps(write, n_frames: int) -> float:
    t = time.perf_counter()
    write()
    return n_frames / (time.perf_counter() - t)


PEAK = """
import resource, sys, numpy as np, jaxviz
run = jaxviz.sweep(lr=list(np.round(np.geomspace(0.005, 0.5, 8), 5)), momentum=list(np.round(np.linspace(0, 0.95, 8), 4)),
                   epochs=400, resolution=64, progress=False)
run.animate(sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="16,64,256")
    parser.add_argument("--epochs", type=int, default=100, help="frames = epochs + 1 for jaxviz and imshow")
    parser.add_argument("--baseline-frames", type=int, default=101,
                        help="frames the matplotlib baselines write (fewer for 256 tiles: --baseline-frames-256)")
    parser.add_argument("--baseline-frames-256", type=int, default=21)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args()
    rows = ["| tiles | jaxviz fps | imshow.set_data fps | per-tile contourf fps | jaxviz / contourf | jaxviz / imshow |",
            "|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as d:
        for n in (int(s) for s in args.sizes.split(",")):
            run = make_run(n, args.epochs)
            frames = len(run.frame_epochs)
            ours = fps(lambda: run.animate(f"{d}/a.mp4", size=SIZE), frames)
            k = min(args.baseline_frames if n < 256 else args.baseline_frames_256, frames)
            idx = np.linspace(0, frames - 1, k).astype(int)
            mpl = fps(lambda: write_animation(f"{d}/b.mp4", TiledFigure(run, size=SIZE).frames(idx)), k)
            seed = fps(lambda: write_animation(f"{d}/c.mp4", contourf_frames(run, idx)), k)
            rows.append(f"| {n} | {ours:.1f} | {mpl:.2f} | {seed:.2f} | {ours / seed:.0f}x | {ours / mpl:.1f}x |")
            print(rows[-1], flush=True)
        out = subprocess.run([sys.executable, "-c", PEAK, f"{d}/peak.mp4"], capture_output=True, text=True, check=True)
        peak_mb = float(out.stdout.strip().splitlines()[-1])
    body = "\n".join(rows) + (f"\n\nPeak resident memory of a 64-model, 400-epoch run (64x64 surfaces every epoch) "
                              f"with its 1280x720 MP4 animation, fresh process: {peak_mb:,.0f} MB.")
    print(body)
    if args.write:
        note = (f"1280x720 H.264 MP4 (x264 preset ultrafast for all three), lr x momentum grids, 64x64 surfaces; "
                f"jaxviz writes {args.epochs + 1} frames, the baselines {args.baseline_frames} of the same frames "
                f"({args.baseline_frames_256} at 256 tiles, where they are slowest). Every fps includes building the "
                "figure and encoding.")
        append_results("Rendering speed (render_fps.py)", "python benchmarks/render_fps.py --write", f"{note}\n\n{body}")


if __name__ == "__main__":
    main()
