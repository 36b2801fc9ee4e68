"""The CLI runs the other tasks (issue 14): multi-class Playground spiral, the plane regression,
and CSV files with k labels or real targets."""

import csv

import numpy as np
import pytest

import jaxviz
from jaxviz.cli import main

pytestmark = pytest.mark.slow

SMALL = ["--set", "epochs=3", "--resolution", "8", "--format", "gif", "--size", "320x180", "--quiet"]


def _cli(argv):
    """``main(argv)``'s exit code, or the exception a picture raised after the run files were written
    (called from Python, main lets unexpected exceptions through)."""
    try:
        return main(argv)
    except Exception as e:  # noqa: BLE001 - a view's: the tests of rc == 0 below show it
        return e


def _header(folder):
    return next(csv.reader(open(folder / "metrics.csv")))


def _multiclass(tmp_path):
    out = tmp_path / "spiral3"
    rc = _cli(["run", "--set", "task=multiclass", "--set", "dataset=spiral", "--set", "classes=3",
               "--grid", "n1=4,16", *SMALL, "--out", str(out)])
    return rc, out


def test_cli_multiclass_run_saves_a_multiclass_run(tmp_path):
    _, out = _multiclass(tmp_path)
    run = jaxviz.load(out)  # the run files are written before any picture
    assert (run.task, run.configs[0]["classes"], run.surfaces.shape) == ("multiclass", 3, (2, 4, 8, 8, 3))
    assert 'task = "multiclass"' in (out / "config.toml").read_text()
    assert _header(out)[3:8] == ["loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"]


def test_cli_multiclass_run_writes_its_animation(tmp_path):
    rc, out = _multiclass(tmp_path)
    assert rc == 0 and (out / "animation.gif").stat().st_size > 0


def _plane(tmp_path):
    out = tmp_path / "plane"
    return _cli(["run", "--set", "dataset=plane", *SMALL, "--out", str(out)]), out


def test_cli_plane_runs_a_regression(tmp_path):
    _, out = _plane(tmp_path)
    assert jaxviz.load(out).task == "regression"
    assert 'task = "regression"' in (out / "config.toml").read_text()
    assert _header(out)[2:7] == ["loss", "mae", "val_loss", "val_mae", "learning_rate"]
    assert (out / "animation.gif").stat().st_size > 0 and (out / "final.png").stat().st_size > 0


def test_cli_plane_writes_every_output(tmp_path):
    rc, out = _plane(tmp_path)
    assert rc == 0 and (out / "explorer.html").stat().st_size > 0


def test_cli_csv_with_real_targets_and_with_three_labels(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(45, 2))
    real = tmp_path / "real.csv"
    real.write_text("x1,x2,target\n" + "\n".join(f"{a},{b},{a - 0.5 * b + 0.01 * i}" for i, (a, b) in enumerate(X)))
    out = tmp_path / "fit"
    _cli(["run", "--data", str(real), "--set", "task=regression", *SMALL, "--out", str(out)])
    assert jaxviz.load(out).task == "regression" and jaxviz.load(out).configs[0]["dataset"] == "custom"
    labelled = tmp_path / "three.csv"
    labelled.write_text("\n".join(f"{a},{b},{i % 3}" for i, (a, b) in enumerate(X)))
    rc = main(["run", "--data", str(labelled), "--set", "task=binary", *SMALL, "--out", str(tmp_path / "bad")])
    assert rc == 2 and "data y must be two classes labelled 0 and 1. Got labels [0.0, 1.0, 2.0] instead." in \
        capsys.readouterr().err
