"""The jaxviz command end to end on tiny grids, and its one-line errors."""

import csv
import subprocess
import sys

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

import jaxviz
from jaxviz.cli import main


def test_run_grid_writes_animation_figure_metrics_and_config(tmp_path, capsys):
    out = tmp_path / "D"
    code = main(["run", "--grid", "lr=0.01,0.1,0.5", "--grid", "momentum=0,0.9", "--set", "epochs=20",
                 "--set", "dataset=circles", "--resolution", "16", "--quiet", "--out", str(out)])
    assert code == 0
    n_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(out / "animation.mp4"))
    assert n_frames == 21
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 6 * 20
    assert list(rows[0]) == ["model", "lr", "momentum", "epoch", "loss", "accuracy", "val_loss",
                             "val_accuracy", "learning_rate"]
    assert {(r["lr"], r["momentum"]) for r in rows} == {(a, b) for a in ("0.01", "0.1", "0.5") for b in ("0.0", "0.9")}
    assert Image.open(out / "final.png").size[0] > 300

    # the saved config re-runs the same grid, metric for metric
    again = tmp_path / "E"
    assert main(["run", "--config", str(out / "config.toml"), "--quiet", "--out", str(again)]) == 0
    assert open(again / "metrics.csv").read() == open(out / "metrics.csv").read()


def test_preset_with_override_and_gif(tmp_path):
    out = tmp_path / "P"
    assert main(["run", "--preset", "lesson-momentum", "--set", "epochs=3", "--format", "gif",
                 "--resolution", "8", "--quiet", "--out", str(out)]) == 0
    assert Image.open(out / "animation.gif").n_frames == 4
    config = (out / "config.toml").read_text()
    assert "momentum = [" in config and "epochs = 3" in config


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "--grid", "lrr=0.1"], "Unknown hyperparameter 'lrr'. Did you mean 'lr'?"),
        (["run", "--grid", "lr=0.1,-1"], "lr must be a positive number. Got -1 instead."),
        (["run", "--set", "epochs"], "--set must be KEY=VALUE. Got 'epochs' instead."),
        (["run", "--set", "activation=gelu"], "activation must be one of"),
        (["run", "--grid", "shuffle=true,false"], "shuffle must be one value within a grid"),
        (["run", "--preset", "explod"], "Unknown preset 'explod'. Did you mean 'explode'?"),
        (["run", "--config", "/nonexistent.toml"], "config must be an existing TOML file"),
        (["run", "--format", "avi"], "--format must be one of ['mp4', 'gif']. Got 'avi' instead."),
        (["run", "--fps", "0"], "fps must be a number in (0, 120]. Got 0.0 instead."),
        (["run", "--resolution", "1"], "resolution must be an integer in [2, 4096]. Got 1 instead."),
        (["run", "--frames", "500"], "frames must be an integer in [2, epochs + 1 = 101]. Got 500 instead."),
        (["run", "--resolution", "abc"], "argument --resolution: invalid int value: 'abc'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: command"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jaxviz: error: ")
    assert message in err


def test_bad_config_file_and_out_path(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text("[hp]\nlr = [0.1, \n")
    assert main(["run", "--config", str(bad)]) == 2
    assert "is not valid TOML" in capsys.readouterr().err
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("[hp]\nlr = 0.1\n[optons]\nresolution = 8\n")
    assert main(["run", "--config", str(unknown)]) == 2
    assert "Unknown config table 'optons'. Did you mean 'options'?" in capsys.readouterr().err
    afile = tmp_path / "file"
    afile.write_text("x")
    assert main(["run", "--set", "epochs=2", "--out", str(afile)]) == 2
    assert "--out must be a folder" in capsys.readouterr().err


def test_console_script_presets_and_exit_code():
    exe = [sys.executable, "-m", "jaxviz.cli"]
    listed = subprocess.run([*exe, "presets"], capture_output=True, text=True, timeout=120)
    assert listed.returncode == 0
    names = [line.split()[0] for line in listed.stdout.splitlines()]
    assert set(jaxviz.PRESETS) == set(names)
    failed = subprocess.run([*exe, "run", "--set", "lr=-1"], capture_output=True, text=True, timeout=120)
    assert failed.returncode == 2
    assert failed.stderr.strip() == "jaxviz: error: lr must be a positive number. Got -1 instead."
    assert "Traceback" not in failed.stderr
