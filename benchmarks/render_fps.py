"""Frames per second written to MP4 at 1280x720: jaxviz's compositor vs matplotlib redraws.

For grids of 16, 64 and 256 tiles (lr x momentum, 64x64 surfaces), the same frames are written
to H.264 MP4 three ways, in the same run:
- jaxviz: ``run.animate`` (pixel compositing, static layers drawn once, streamed);
- matplotlib ``imshow.set_data`` + full redraw per frame (jaxviz's own TiledFigure);
- the seed's way: per-tile ``contourf`` redrawn every frame (old contours removed).
A shared machine is noisy, so each grid is measured in ``--repeats`` rounds, each round running
all three one after the other (in rotating order); the table gives each one's median and the
ratio of the medians, with the range of the ratios within a round. An untimed warm-up first pays
one-off costs (imports, font caches) for all three. CPU time includes ffmpeg's.
Then the peak resident memory of a 64-model, 400-epoch run with its animation, in a fresh process.

    python benchmarks/render_fps.py            # prints the table
    python benchmarks/render_fps.py --write    # and appends it to benchmarks/RESULTS.md
    python benchmarks/render_fps.py --sizes 16 --compare /path/to/old/checkout --write
        # jaxviz only, this checkout against another one, in alternating fresh processes
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import jaxviz  # noqa: E402
from common import append_results  # noqa: E402
from jaxviz.views.colours import SURFACE_ALPHA  # noqa: E402
from jaxviz.views.layout import status_line  # noqa: E402
from jaxviz.views.tiles import TiledFigure  # noqa: E402
from jaxviz.io.video import write_animation  # noqa: E402

SIZE = (1280, 720)


def make_run(n: int, epochs: int):
    side = int(round(n ** 0.5))
    return jaxviz.sweep(lr=list(np.round(np.geomspace(0.005, 0.5, side), 5)), momentum=list(np.round(np.linspace(0, 0.95, side), 4)),
                        epochs=epochs, resolution=64, progress=False)


def contourf_frames(run, indices):
    """The seed's redraw: every tile's old contourf removed and a new one drawn, every frame."""
    from jaxviz.engine.surfaces import mesh

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


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (ffmpeg)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def measure(write, n_frames: int) -> tuple[float, float]:
    """Frames per second and CPU milliseconds per frame of ``write()``."""
    cpu, t = cpu_seconds(), time.perf_counter()
    write()
    wall = time.perf_counter() - t
    return n_frames / wall, (cpu_seconds() - cpu) / n_frames * 1e3


def interleaved(contenders: dict, repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Each contender ``name: (write, n_frames)`` measured ``repeats`` times, one round after
    another, the order rotating so that none always follows the same one."""
    names = list(contenders)
    out: dict[str, list] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            out[name].append(measure(*contenders[name]))
    return out


PEAK = """
import resource, sys, numpy as np, jaxviz
run = jaxviz.sweep(lr=list(np.round(np.geomspace(0.005, 0.5, 8), 5)), momentum=list(np.round(np.linspace(0, 0.95, 8), 4)),
                   epochs=400, resolution=64, progress=False)
run.animate(sys.argv[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def compose_cpu(run) -> float:
    """CPU milliseconds (this thread's) per frame of composing every frame as the MP4 writer takes
    it (YUV 4:2:0), without encoding: on a busy machine, wall time measures the neighbours too."""
    from jaxviz.views.compositor import FrameCompositor

    comp = FrameCompositor(run, size=SIZE)
    comp.frame_yuv420p(0)
    t = time.thread_time()
    for f in range(len(run.frame_epochs)):
        comp.frame_yuv420p(f)
    return (time.thread_time() - t) / len(run.frame_epochs) * 1e3


def child(n: int, epochs: int, repeats: int) -> None:
    """``--child``: jaxviz's fps and CPU ms/frame at ``n`` tiles, the median of ``repeats`` writes
    (after an untimed warm-up), and the compositor's own CPU ms/frame, printed as one line for ``compare``."""
    run = make_run(n, epochs)
    with tempfile.TemporaryDirectory() as d:
        run.animate(f"{d}/w.mp4", size=SIZE, frames=2)
        got = [measure(lambda: run.animate(f"{d}/a.mp4", size=SIZE), len(run.frame_epochs)) for _ in range(repeats)]
    compose = float(np.median([compose_cpu(run) for _ in range(repeats)]))
    print(float(np.median([f for f, _ in got])), float(np.median([c for _, c in got])), compose)


def compare(old: str, sizes: list[int], epochs: int, rounds: int, repeats: int) -> str:
    """jaxviz's render speed in this checkout ("new") and in ``old``, each round running both in
    fresh processes one after the other (order alternating), so that both see the same machine."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    rows = ["| tiles | old fps | new fps | new / old (range over rounds) | CPU ms/frame with ffmpeg's: old, new "
            "| composing alone, CPU ms/frame: old, new (old / new) |", "|---:|---:|---:|---:|---:|---:|"]
    for n in sizes:
        got: dict[str, list] = {"old": [], "new": []}
        for r in range(rounds):
            for name in (("old", "new") if r % 2 == 0 else ("new", "old")):
                env = dict(os.environ, PYTHONPATH=old if name == "old" else here)
                out = subprocess.run([sys.executable, __file__, "--child", "--sizes", str(n), "--epochs", str(epochs),
                                      "--repeats", str(repeats)], env=env, capture_output=True, text=True, check=True)
                got[name].append(tuple(map(float, out.stdout.split()[-3:])))
                print(name, n, got[name][-1], flush=True)
        fps = {k: float(np.median([g[0] for g in v])) for k, v in got.items()}
        cpu = {k: float(np.median([g[1] for g in v])) for k, v in got.items()}
        alone = {k: float(np.median([g[2] for g in v])) for k, v in got.items()}
        ratios = [a[0] / b[0] for a, b in zip(got["new"], got["old"])]
        rows.append(f"| {n} | {fps['old']:.1f} | {fps['new']:.1f} | {fps['new'] / fps['old']:.2f}x "
                    f"({min(ratios):.2f}-{max(ratios):.2f}x) | {cpu['old']:.1f}, {cpu['new']:.1f} "
                    f"| {alone['old']:.1f}, {alone['new']:.1f} ({alone['old'] / alone['new']:.2f}x) |")
        print(rows[-1], flush=True)
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="16,64,256")
    parser.add_argument("--epochs", type=int, default=100, help="frames = epochs + 1 for jaxviz and imshow")
    parser.add_argument("--baseline-frames", type=int, default=101,
                        help="frames the matplotlib baselines write (fewer for 256 tiles: --baseline-frames-256)")
    parser.add_argument("--baseline-frames-256", type=int, default=21)
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds per grid")
    parser.add_argument("--write", action="store_true")
    parser.add_argument("--compare", metavar="CHECKOUT", help="jaxviz only: this checkout against CHECKOUT")
    parser.add_argument("--rounds", type=int, default=4, help="--compare: alternating rounds")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    if args.child:
        return child(sizes[0], args.epochs, args.repeats)
    if args.compare:
        load = os.getloadavg()
        body = compare(args.compare, sizes, args.epochs, args.rounds, args.repeats)
        loads = "load average (1, 5, 15 min) at the start {:.2f}, {:.2f}, {:.2f}; at the end {:.2f}, {:.2f}, {:.2f}".format(
            *load, *os.getloadavg())
        body = f"{body}\n\n{loads[0].upper()}{loads[1:]}."
        print(body)
        if args.write:
            note = (f"jaxviz's `run.animate` (1280x720 H.264 MP4, {args.epochs + 1} frames, lr x momentum grid, 64x64 "
                    f"surfaces) in this checkout ('new') and in `{args.compare}` ('old'), each in a fresh process, "
                    f"{args.rounds} alternating rounds, each the median of {args.repeats} writes after a warm-up; "
                    "the table gives medians over rounds. CPU includes ffmpeg's; 'composing alone' is the thread "
                    "CPU time of composing the same frames as YUV 4:2:0 without encoding.")
            append_results("Render speed, this checkout vs another (render_fps.py --compare)",
                           f"python benchmarks/render_fps.py --sizes {args.sizes} --compare OLD --rounds {args.rounds} "
                           f"--repeats {args.repeats} --write", f"{note}\n\n{body}")
        return
    rows = ["| tiles | jaxviz fps | imshow.set_data fps | per-tile contourf fps | jaxviz / contourf (range) "
            "| jaxviz / imshow | CPU ms/frame: jaxviz, contourf |",
            "|---:|---:|---:|---:|---:|---:|---:|"]
    with tempfile.TemporaryDirectory() as d:
        for n in sizes:
            run = make_run(n, args.epochs)
            frames = len(run.frame_epochs)
            k = min(args.baseline_frames if n < 256 else args.baseline_frames_256, frames)
            idx = np.linspace(0, frames - 1, k).astype(int)
            contenders = {
                "jaxviz": (lambda: run.animate(f"{d}/a.mp4", size=SIZE), frames),
                "imshow": (lambda: write_animation(f"{d}/b.mp4", TiledFigure(run, size=SIZE).frames(idx)), k),
                "contourf": (lambda: write_animation(f"{d}/c.mp4", contourf_frames(run, idx)), k),
            }
            if n == sizes[0]:  # warm-up, untimed: imports, font and glyph caches, ffmpeg's first start
                run.animate(f"{d}/w.mp4", size=SIZE, frames=2)
                write_animation(f"{d}/w.mp4", TiledFigure(run, size=SIZE).frames(idx[:2]))
                write_animation(f"{d}/w.mp4", contourf_frames(run, idx[:2]))
            got = interleaved(contenders, args.repeats)
            fps = {name: float(np.median([f for f, _ in m])) for name, m in got.items()}
            cpu = {name: float(np.median([c for _, c in m])) for name, m in got.items()}
            within = [a[0] / b[0] for a, b in zip(got["jaxviz"], got["contourf"])]
            rows.append(f"| {n} | {fps['jaxviz']:.1f} | {fps['imshow']:.2f} | {fps['contourf']:.2f} "
                        f"| {fps['jaxviz'] / fps['contourf']:.0f}x ({min(within):.0f}-{max(within):.0f}x) "
                        f"| {fps['jaxviz'] / fps['imshow']:.1f}x | {cpu['jaxviz']:.1f}, {cpu['contourf']:.0f} |")
            print(rows[-1], flush=True)
        out = subprocess.run([sys.executable, "-c", PEAK, f"{d}/peak.mp4"], capture_output=True, text=True, check=True)
        peak_mb = float(out.stdout.strip().splitlines()[-1])
    body = "\n".join(rows) + (f"\n\nPeak resident memory of a 64-model, 400-epoch run (64x64 surfaces every epoch) "
                              f"with its 1280x720 MP4 animation, fresh process: {peak_mb:,.0f} MB.")
    print(body)
    if args.write:
        note = (f"1280x720 H.264 MP4 (x264 preset ultrafast, CRF 10, yuv420p for all three), lr x momentum grids, "
                f"64x64 surfaces; jaxviz writes {args.epochs + 1} frames, the baselines {args.baseline_frames} of the "
                f"same frames ({args.baseline_frames_256} at 256 tiles, where they are slowest). Every fps includes "
                "building the figure and encoding. jaxviz hands the encoder the YUV 4:2:0 it composes; the "
                "baselines hand it RGB, which ffmpeg converts. Medians of "
                f"{args.repeats} interleaved rounds (order rotating, after an untimed warm-up of all three); "
                "the range is that of the jaxviz / contourf ratios within a round. CPU includes ffmpeg's.")
        append_results("Rendering speed (render_fps.py)", "python benchmarks/render_fps.py --write", f"{note}\n\n{body}")


if __name__ == "__main__":
    main()
