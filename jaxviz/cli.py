"""The ``jaxviz`` command: ``demo``, ``run``, ``map``, ``explore``, ``neurons`` and ``presets``. It only parses and calls
the library. ``--grid KEY=LO..HI:N[log]`` builds a dense axis (``run`` and ``map``).

Every error is one line on stderr and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any

__all__ = ["main", "parse_value"]


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse prints usage + message; we want one line
        raise ValueError(f"{message} (see `{self.prog} --help`)")


def parse_value(text: str) -> Any:
    """A CLI value as the most specific of bool, int, float or string.

    Example:
        >>> parse_value("0.5"), parse_value("10"), parse_value("true"), parse_value("relu")
        (0.5, 10, True, 'relu')
    """
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def _parse_size(text: str | None):
    """``"1280x720"`` -> ``(1280, 720)``; None stays None.

    Example:
        >>> _parse_size("640x360")
        (640, 360)
    """
    if text is None:
        return None
    w, sep, h = str(text).lower().partition("x")
    if sep and w.isdigit() and h.isdigit() and 64 <= int(w) <= 8192 and 64 <= int(h) <= 8192:
        return int(w), int(h)
    raise ValueError(f"--size must be WIDTHxHEIGHT in pixels, each in [64, 8192]. Got {text!r} instead.")


def _key_value(option: str, text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise ValueError(f"{option} must be KEY=VALUE. Got {text!r} instead.")
    return key.strip(), value


class _Layer(argparse.Action):
    """Records ``(option, value)`` in one shared list as well: argparse keeps each option's values
    apart, and the settings' layers (--preset, --config, --set, --grid) apply in the order typed."""

    def __call__(self, parser, namespace, values, option_string=None):
        if isinstance(getattr(namespace, self.dest, None), list):
            setattr(namespace, self.dest, [*getattr(namespace, self.dest), values])
        else:
            setattr(namespace, self.dest, values)
        namespace.layers = [*(getattr(namespace, "layers", None) or []), (option_string, values)]


def _build_parser() -> argparse.ArgumentParser:
    import jaxviz

    parser = _Parser(prog="jaxviz", description="Train a grid of small MLPs at once and animate their decision surfaces.")
    parser.add_argument("--version", action="version", version=f"jaxviz {jaxviz.__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    def outputs(p):
        # None = not given: a --config's [options] fill it, else the default in OUTPUT_DEFAULTS
        p.add_argument("--out", default="jaxviz-out", help="run folder (default: ./jaxviz-out)")
        p.add_argument("--format", help="animation format: mp4 (default), gif, or png (frames in a folder)")
        p.add_argument("--size", metavar="WxH", help="animation size in pixels (default 1280x720)")
        p.add_argument("--decision-line", action="store_const", const=True, help="draw the p = 0.5 line in every tile")
        p.add_argument("--fps", type=float, help="animation frames per second (default 10)")
        p.add_argument("--hold", type=float, help="seconds to hold the last frame (default 0; the seed: 2)")
        p.add_argument("--resolution", type=int, help="surface mesh points per side (default 64)")
        p.add_argument("--frames", type=int, default=None, help="snapshots from epoch 0 to the last (default: every epoch)")
        p.add_argument("--memory", default=None, metavar="BYTES",
                       help='memory the run may use, e.g. 4GB (default: 70%% of what is free); larger grids run in chunks')
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--live", action="store_true", help="keep preview.png in the run folder up to date while training")

    def settings(p, grid_metavar, grid_help, config_help):  # the layered settings, in the order typed
        p.set_defaults(layers=[])
        p.add_argument("--grid", action=_Layer, default=[], metavar=grid_metavar, help=grid_help)
        p.add_argument("--set", action=_Layer, default=[], metavar="KEY=VALUE", help="a fixed value (repeatable)")
        p.add_argument("--preset", action=_Layer, help="start from a named preset (see `jaxviz presets`)")
        p.add_argument("--config", action=_Layer, help=config_help)

    outputs(sub.add_parser("demo", help="a small lr x momentum grid on moons, into ./jaxviz-out/"))
    run = sub.add_parser("run", help="train a grid and write its animation, figure, metrics and config")
    settings(run, "KEY=V1,V2,...", "a grid axis (repeatable)", "start from a config TOML ([hp] and [options])")
    run.add_argument("--resume", metavar="DIR", help="continue an interrupted run in DIR to its full epochs")
    run.add_argument("--data", help="your own points: a CSV of x1,x2,label (0/1, 0..k-1, or a real target with "
                     "--set task=regression); header optional")
    run.add_argument("--test", help="a CSV of test points (else --data is split 60/40)")
    run.add_argument("--overwrite", action="store_true", help="replace the run already in --out")
    outputs(run)
    mp = sub.add_parser("map", help="a trainability map over two --grid axes: map.png, map.npz, config.toml")
    settings(mp, "KEY=LO..HI:N[log]", "x, then y (exactly two)", "start from a config TOML (e.g. a map's config.toml)")
    mp.add_argument("--out", default="jaxviz-map", help="map folder (default: ./jaxviz-map)")
    mp.add_argument("--memory", default=None, metavar="BYTES", help="memory the map may use (default: 1 GB on a CPU)")
    mp.add_argument("--quiet", action="store_true", help="no progress bar")
    sub.add_parser("presets", help="list the presets, one line each")
    explore = sub.add_parser("explore", help="write the interactive explorer page (one HTML file) of a saved run")
    explore.add_argument("dir", metavar="DIR", help="a run folder (with run.npz)")
    explore.add_argument("--out", default=None, metavar="FILE", help="the page to write (default: DIR/explorer.html)")
    nr = sub.add_parser("neurons", help="every unit's map of one model of a saved run, as a PNG")
    nr.add_argument("dir", help="a run folder (jaxviz run --out)")
    nr.add_argument("--model", type=int, required=True, help="the model's index (metrics.csv's model column)")
    nr.add_argument("--epoch", type=int, default=-1, help="after this many epochs (default: the last)")
    nr.add_argument("--out", default=None, help="the PNG to write (default: DIR/neurons-K.png)")
    return parser


def _note(text: str) -> None:
    print(f"jaxviz: note: {text}", file=sys.stderr)


def _shown(value: Any) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else str(value)


def _layer(option: str, value: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """One settings layer as ``(hp, options, where it came from)``."""
    from jaxviz.api import preset
    from jaxviz.io.files import read_config

    if option == "--preset":
        return preset(value), {}, f"--preset {value}"
    if option == "--config":
        config = read_config(value, "--config")
        return dict(config["hp"]), dict(config["options"]), f"--config {value}"
    key, text = _key_value(option, value)
    if option == "--grid" and ".." in text:  # LO..HI:N[log]
        from jaxviz.api import parse_range

        return {key: parse_range(text, f"--grid {key}")}, {}, option
    parsed = [parse_value(v) for v in text.split(",")] if option == "--grid" else parse_value(text)
    return {key: parsed}, {}, option


def _gather(args) -> tuple[dict[str, Any], dict[str, Any]]:
    """hp and options from --preset, --config, --set and --grid, applied in the order given: a later
    option wins, with one note on stderr per setting it replaces."""
    if getattr(args, "resume", None):
        if getattr(args, "layers", None):
            raise ValueError("--resume must be used alone: it continues the run as it was configured. "
                             "Got other settings too instead.")
        from jaxviz.io.runfolder import resume_config

        args.layers = [("--config", str(resume_config(args.resume)))]
        args.out, args.overwrite = args.resume, True
    hp: dict[str, Any] = {}
    options: dict[str, Any] = {}
    source: dict[str, str] = {}
    for option, value in getattr(args, "layers", []):
        layer_hp, layer_options, where = _layer(option, value)
        for key, new in layer_hp.items():
            if key in hp and hp[key] != new:
                _note(f"{key}={_shown(new)} ({where}) replaces {key}={_shown(hp[key])} ({source[key]}); "
                      "later options win")
            hp.pop(key, None)  # moves the key to the end: the axis order follows the options
            hp[key], source[key] = new, where
        options.update(layer_options)
    return hp, options

@contextlib.contextmanager
def _stop_on_signals():
    """While training, Ctrl-C (SIGINT) or SIGTERM asks it to stop at the next chunk of epochs."""
    requested = []
    if threading.current_thread() is not threading.main_thread():  # signals only reach the main thread
        yield lambda: False
        return
    previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    for sig in previous:
        signal.signal(sig, lambda signum, frame: requested.append(signum))
    try:
        yield lambda: bool(requested)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: Output options a config's [options] records and a re-run takes (flags given explicitly win).
OUTPUT_DEFAULTS = {"format": "mp4", "size": None, "fps": 10.0, "hold": 0.0, "decision_line": False}
OPTION_KEYS = ["resolution", "frames", "data", "test", *OUTPUT_DEFAULTS]


def _output_options(args, options: dict[str, Any]) -> dict[str, Any]:
    """Each output option: the flag if given, else the config's value, else the default."""
    out = {}
    for key, default in OUTPUT_DEFAULTS.items():
        flag = getattr(args, key, None)
        out[key] = flag if flag is not None else options.get(key, default)
    return out


def _check_outputs(args, options: dict[str, Any], hp: dict[str, Any]):
    """Every output option checked before anything compiles: (outputs, size, resolution, frames)."""
    from jaxviz.api import check_fps, check_frames, check_resolution, epochs_of
    from jaxviz.io.video import FORMATS

    chosen = _output_options(args, options)
    fmt = chosen["format"]
    if not isinstance(fmt, str) or fmt.lower() not in FORMATS:
        raise ValueError(f"--format must be one of {list(FORMATS)}. Got {fmt!r} instead.")
    chosen["format"] = fmt.lower()
    chosen["fps"] = check_fps(chosen["fps"])
    size = _parse_size(chosen["size"])
    hold = chosen["hold"]
    if isinstance(hold, bool) or not isinstance(hold, (int, float)) or not 0 <= hold <= 60:
        raise ValueError(f"--hold must be a number of seconds in [0, 60]. Got {hold!r} instead.")
    if not isinstance(chosen["decision_line"], bool):
        raise ValueError(f"decision_line must be true or false. Got {chosen['decision_line']!r} instead.")
    resolution = check_resolution(args.resolution if args.resolution is not None else options.get("resolution", 64))
    frames = args.frames if args.frames is not None else options.get("frames")
    return chosen, size, resolution, check_frames(frames, epochs_of(hp))  # epochs_of validates every hp


def _user_data(args, options: dict[str, Any], hp: dict[str, Any]):
    """``(data, hp, data_path, test_path)``: the user's points from --data / --test (or the config)."""
    from jaxviz.api import check_data, read_csv

    data_path = getattr(args, "data", None) or options.get("data")
    test_path = getattr(args, "test", None) or options.get("test")
    if test_path and not data_path:
        raise ValueError(f"--test needs --data (the training points). Got --test {test_path!r} alone instead.")
    if not data_path:
        return None, hp, None, None
    data = read_csv(data_path, "--data")
    if test_path:
        data = data + read_csv(test_path, "--test")
    scalar = lambda key, default: hp[key] if key in hp and not isinstance(hp[key], list) else default  # noqa: E731
    check_data(data, scalar("task", "auto"), scalar("classes", 2))  # refuse bad points before anything compiles
    if hp.get("dataset") == "custom":  # a saved config of a --data run names its data so
        hp = {k: v for k, v in hp.items() if k != "dataset"}
    return data, hp, data_path, test_path


def _run(hp: dict[str, Any], options: dict[str, Any], args) -> int:
    import jaxviz.api as api
    from jaxviz.io import runfolder

    for key in options:
        if key not in OPTION_KEYS:
            raise api.unknown_key("option", key, OPTION_KEYS)
    data, hp, data_path, test_path = _user_data(args, options, hp)
    resuming = bool(getattr(args, "resume", None))
    if resuming:  # first: an edited config.toml is the cause of whatever else would not fit
        runfolder.check_resumable(args.out, hp, custom=data is not None)
    chosen, size, resolution, frames = _check_outputs(args, options, hp)
    fmt = chosen["format"]
    out = runfolder.prepare_folder(args.out, overwrite=args.command != "run" or getattr(args, "overwrite", False))
    plan = api.plan_sweep(hp, resolution=resolution, frames=frames, data=data, memory=args.memory)
    runfolder.check_room(out, plan, size, fmt)
    resume = None
    if resuming:
        resume = api.load_checkpoint(out / runfolder.CHECKPOINT)
    api.set_fast_start(background=False)  # one run per process: no shared program to build for later runs
    t0 = time.perf_counter()
    with _stop_on_signals() as stopped:
        run = api.sweep(hp, resolution=resolution, frames=frames, progress=not args.quiet, data=data,
                        should_stop=stopped, resume=resume, memory=args.memory,
                        live=str(out / "preview.png") if args.live else False)
    if data_path:  # the config re-runs on the same files
        run.options["data"] = str(Path(data_path).resolve())
        if test_path:
            run.options["test"] = str(Path(test_path).resolve())
    run.options.update({k: v for k, v in chosen.items() if v != OUTPUT_DEFAULTS[k]})  # --config re-runs them
    t1 = time.perf_counter()
    try:
        animation = runfolder.write_outputs(run, out, fmt, size, fps=chosen["fps"], hold=chosen["hold"],
                                            decision_line=chosen["decision_line"])
    except OSError as e:  # disk full or gone after training: keep the results elsewhere
        rescued = runfolder.rescue(run, out)
        where = f"the results are saved in {rescued}/" if rescued else "no other place could hold the results either"
        print(f"jaxviz: error: could not write to {out}/ ({e.strerror or e}); {where}", file=sys.stderr)
        return 1
    return _summary(run, out, animation, t1 - t0, time.perf_counter() - t1, args.quiet)


def _summary(run, out: Path, animation: Path, train_s: float, write_s: float, quiet: bool) -> int:
    """The closing lines (or the resume hint of a stopped run); returns the exit code."""
    from jaxviz.api import marked_models
    from jaxviz.io.runfolder import CHECKPOINT

    n, epochs = len(run.configs), run.epochs
    if run.completed_epochs < epochs:
        print(f"jaxviz: interrupted after epoch {run.completed_epochs} of {epochs}; wrote what exists to "
              f"{out}/. Continue with: jaxviz run --resume {out}", file=sys.stderr)
        return 130
    (out / CHECKPOINT).unlink(missing_ok=True)
    if not quiet:
        print(f"trained {n} model{'s' if n != 1 else ''} x {epochs} epochs in {train_s:.1f} s; wrote {animation}, "
              f"final.png, metrics.csv, config.toml, run.npz, explorer.html in {write_s:.1f} s -> {out}/")
        for what, marked in marked_models(run):
            print(f"{len(marked)} {'model' if len(marked) == 1 else 'models'} {what}: {'; '.join(marked)}")
    return 0

def _map(hp: dict[str, Any], options: dict[str, Any], args) -> int:
    """``jaxviz map``: train the map and write map.png, map.npz and config.toml into --out."""
    from jaxviz.api import trainability, unknown_key

    for key in options:
        if key not in ("kind", "x", "y", "seconds"):  # what a map's own config.toml records
            raise unknown_key("map option", key, ["kind", "x", "y", "seconds"])
    if Path(args.out).exists() and not Path(args.out).is_dir():
        raise ValueError(f"--out must be a folder. Got {args.out!r} (a file) instead.")
    tmap = trainability(hp, progress=not args.quiet, memory=args.memory)
    out = tmap.save(args.out)
    if not args.quiet:
        print(f"trained {tmap.score.size:,} models in {tmap.seconds:.1f} s ({tmap.models_per_second:,.0f} models/s), "
              f"{float(tmap.converged.mean()):.1%} converged; wrote map.png, map.npz, config.toml -> {out}/")
    return 0


def _oserror(e: OSError) -> str:
    where = f" {str(e.filename)!r}" if e.filename is not None else ""
    return f"could not use{where}: {e.strerror or e}"


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``jaxviz`` console script; returns the exit code.

    Bare ``jaxviz`` prints the help (exit 0). An argument error is answered before JAX (or
    scikit-learn, or matplotlib) is imported.

    Example:
        >>> main(["run", "--set", "lr=-1"])  # stderr: jaxviz: error: lr must be a positive number...
        2
    """
    if argv is not None:  # called from Python: an unexpected exception is the caller's to see
        return _main(list(argv))
    try:
        return _main(sys.argv[1:])
    except Exception as e:  # noqa: BLE001 - the console script never shows a traceback; JAXVIZ_DEBUG=1 does
        if os.environ.get("JAXVIZ_DEBUG"):
            raise
        message = f"{type(e).__name__}: {e}".replace("\n", " ")
        print(f"jaxviz: error: internal error ({message}); JAXVIZ_DEBUG=1 shows the traceback", file=sys.stderr)
        return 1


def _main(argv: list[str]) -> int:
    try:
        parser = _build_parser()
        if not argv:
            parser.print_help()
            return 0
        try:
            args = parser.parse_args(argv)
        except SystemExit as e:  # --help and --version end here
            return e.code if isinstance(e.code, int) else 0
        if args.command is None:
            raise ValueError(f"a command must be given: demo, run or presets. Got {' '.join(argv)!r} instead.")
        if args.command == "presets":
            from jaxviz.api import PRESET_INFO

            width = max(map(len, PRESET_INFO))
            for name, info in PRESET_INFO.items():
                print(f"{name:<{width}}  {info}")
            return 0
        if args.command == "explore":
            from jaxviz.api import explore

            print(explore(args.dir, args.out))
            return 0
        if args.command == "neurons":
            from jaxviz.api import neurons_png

            print(neurons_png(args.dir, args.model, args.epoch, args.out))
            return 0
        if args.command == "demo":
            from jaxviz.api import preset

            return _run(preset("demo"), {}, args)
        hp, options = _gather(args)
        return _map(hp, options, args) if args.command == "map" else _run(hp, options, args)
    except ValueError as e:
        print(f"jaxviz: error: {e}".replace("\n", " "), file=sys.stderr)
        return 2
    except OSError as e:  # a path that cannot be read or made: the user's input, one line
        print(f"jaxviz: error: {_oserror(e)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("jaxviz: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
