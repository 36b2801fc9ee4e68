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
                             "val_accuracy", "learning_rate", "diverged", "exploded"]
    assert {(r["lr"], r["momentum"]) for r in rows} == {(a, b) for a in ("0.01", "0.1", "0.5") for b in ("0.0", "0.9")}
    assert Image.open(out / "final.png").size[0] > 300

    # the folder loads back as a Run without training
    back = jaxviz.load(out)
    assert len(back.configs) == 6 and back.metrics["loss"].shape == (6, 20)

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
        (["run", "--format", "avi"], "--format must be one of ['mp4', 'gif', 'png']. Got 'avi' instead."),
        (["run", "--size", "1280by720"], "--size must be WIDTHxHEIGHT in pixels, each in [64, 8192]. Got '1280by720' instead."),
        (["run", "--fps", "0"], "fps must be a number in (0, 120]. Got 0.0 instead."),
        (["run", "--resolution", "1"], "resolution must be an integer in [2, 16384]. Got 1 instead."),
        (["run", "--frames", "500"], "frames must be an integer in [2, epochs + 1 = 101]. Got 500 instead."),
        (["run", "--resolution", "abc"], "argument --resolution: invalid int value: 'abc'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
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


@pytest.mark.slow
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


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_user_csv_runs_a_grid_and_its_config_reruns(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    rows = "\n".join(f"{a},{b},{c}" for (a, b), c in zip(X, y))
    data = _write(tmp_path / "my.csv", "x1,x2,label\n" + rows + "\n")
    out = tmp_path / "U"
    assert main(["run", "--data", data, "--grid", "lr=0.01,0.1", "--set", "epochs=3", "--resolution", "8",
                 "--quiet", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 2 * 3
    again = tmp_path / "U2"
    assert main(["run", "--config", str(out / "config.toml"), "--quiet", "--out", str(again)]) == 0
    assert open(again / "metrics.csv").read() == open(out / "metrics.csv").read()
    assert "data = " in (out / "config.toml").read_text()


@pytest.mark.parametrize(
    "text,message",
    [
        ("1,2,3,0\n4,5,6,1\n", "line 1 must be 'x1,x2,label' with 3 numbers. Got '1,2,3,0' instead."),
        ("x,y,label\n1,2,0\n1,3,0\n2,2,1\n2,3,1\n5,abc,1\n", "line 6 must be 'x1,x2,label' with 3 numbers. Got '5,abc,1' instead."),
        ("1,2,0\n1,3,0\n2,2,1\n2,3,2\n",  # three labels: a multi-class set (issue 14), one point short
         "must have at least 2 points of each class. Got 2 of class 0, 1 of class 1 and 1 of class 2 instead."),
        ("1,2,0\n1,3,0\n2,nan,1\n2,3,1\n", "X must be finite numbers. Got [2.0, nan] (NaN or inf) at row 2 instead."),
        ("1,2,0\n1,3,0\n2,inf,1\n2,3,1\n", "(NaN or inf)"),
        ("1,2,0\n1,3,0\n2,2,1\n", "must have at least 2 points of each class. Got 2 of class 0 and 1 of class 1 instead."),
        ("1,2,0\n1,3,0\n2,2,0\n", "Got 3 of class 0 and 0 of class 1 instead."),
        ("", "Got an empty file instead."),
        ("x,y,label\n", "Got only a header instead."),
    ],
)
def test_malformed_csv_is_one_line_and_exit_2(tmp_path, capsys, text, message):
    data = _write(tmp_path / "bad.csv", text)
    assert main(["run", "--data", data, "--set", "epochs=2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_missing_csv_and_test_without_data(tmp_path, capsys):
    assert main(["run", "--data", str(tmp_path / "none.csv")]) == 2
    assert "--data must be an existing CSV file" in capsys.readouterr().err
    assert main(["run", "--test", _write(tmp_path / "t.csv", "1,2,0\n")]) == 2
    assert "--test needs --data" in capsys.readouterr().err


@pytest.mark.slow
def test_second_cli_run_of_the_same_shape_loads_compiled_programs_from_disk(tmp_path):
    script = (
        "import sys, jax.monitoring as m\n"
        "hits = []\n"
        "m.register_event_listener(lambda e, **k: hits.append(e) if e.endswith('cache_hits') else None)\n"
        "from jaxviz.cli import main\n"
        "code = main(['run', '--grid', 'lr=' + sys.argv[1], '--set', 'epochs=3', '--resolution', '8',\n"
        "             '--quiet', '--out', sys.argv[2]])\n"
        "from jaxviz.engine.programs import LOADED\n"
        "print(code, len(hits) + sum(LOADED.values()))\n"
    )
    env = {**__import__("os").environ, "JAXVIZ_CACHE_DIR": str(tmp_path / "cache")}
    first = subprocess.run([sys.executable, "-c", script, "0.1,0.2", str(tmp_path / "a")], capture_output=True,
                           text=True, timeout=300, env=env)
    second = subprocess.run([sys.executable, "-c", script, "0.3,0.4", str(tmp_path / "b")], capture_output=True,
                            text=True, timeout=300, env=env)
    code1, hits1 = first.stdout.split()
    code2, hits2 = second.stdout.split()
    assert code1 == code2 == "0"
    # training and surface programs come from disk: whole executables from jaxviz's store, or XLA's from JAX's cache
    assert int(hits1) == 0 and int(hits2) >= 2
    assert any((tmp_path / "cache").iterdir())
