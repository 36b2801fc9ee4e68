"""Divergence contained, run folders not overwritten, versions recorded."""

import csv

import numpy as np
import pytest

import jaxviz
from jaxviz.cli import main


def test_divergence_is_contained_and_the_model_frozen():
    # lr 5 with kr 3 makes the L2 term blow the weights up to inf; lr 0.05 is healthy
    run = jaxviz.sweep({"lr": [0.05, 5.0], "kr": [0.0, 3.0]}, epochs=8, resolution=8, progress=False)
    assert run.diverged_epoch.tolist() == [-1, -1, -1, 3]
    assert np.isnan(run.metrics["loss"][3, 2:]).all() and np.isfinite(run.metrics["loss"][3, :2]).all()
    frozen = run.weights(3, 2)  # the last finite weights stay, nothing turns into NaN
    for epoch in range(3, 9):
        for a, b in zip(run.weights(3, epoch), frozen):
            np.testing.assert_array_equal(a, b)
    assert all(np.isfinite(w).all() for w in run.weights(3, 8))
    for i in range(3):  # the healthy models equal their solo runs
        solo = jaxviz.sweep(run.configs[i], resolution=8, progress=False)
        np.testing.assert_allclose(run.metrics["val_loss"][i], solo.metrics["val_loss"][0], atol=1e-5)


def test_metrics_csv_has_a_diverged_column(tmp_path):
    out = tmp_path / "X"
    assert main(["run", "--grid", "lr=0.05,5", "--set", "kr=3", "--set", "epochs=5", "--resolution", "8",
                 "--quiet", "--out", str(out)]) == 0
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    flags = [(r["lr"], r["epoch"], r["diverged"]) for r in rows]
    assert ("5.0", "2", "0") in flags and ("5.0", "3", "1") in flags and ("5.0", "5", "1") in flags
    assert all(d == "0" for lr, _, d in flags if lr == "0.05")
    config = (out / "config.toml").read_text()
    assert "[versions]" in config and "jax = " in config and "flax = " in config and "optax = " in config


def test_an_existing_run_is_not_overwritten_without_overwrite(tmp_path, capsys):
    out = tmp_path / "R"
    args = ["run", "--set", "epochs=2", "--resolution", "8", "--quiet", "--out", str(out)]
    assert main(args) == 0
    before = (out / "metrics.csv").read_text()
    assert main(args + ["--set", "lr=0.5"]) == 2
    assert "--out must not hold a run already (or pass --overwrite)" in capsys.readouterr().err
    assert (out / "metrics.csv").read_text() == before
    assert main(args + ["--set", "lr=0.5", "--overwrite"]) == 0
    assert (out / "metrics.csv").read_text() != before


@pytest.mark.slow
def test_sigint_keeps_a_playable_run_and_resume_finishes_it_exactly(tmp_path):
    import os
    import re
    import signal
    import subprocess
    import sys

    import imageio_ffmpeg

    args = ["--grid", "lr=0.05,0.3", "--grid", "momentum=0,0.9", "--set", "epochs=400", "--resolution", "8"]
    env = {**os.environ, "JAXVIZ_CACHE_DIR": str(tmp_path / "cache")}
    stopped = tmp_path / "stopped"
    proc = subprocess.Popen([sys.executable, "-m", "jaxviz.cli", "run", *args, "--out", str(stopped)],
                            stderr=subprocess.PIPE, env=env)
    seen = b""
    while b"training:" not in seen:  # the first chunk of epochs is done (the bar counts model-epochs)
        chunk = proc.stderr.read1(256)
        assert chunk, seen[-500:]
        seen += chunk
    proc.send_signal(signal.SIGINT)
    err = (seen + proc.stderr.read()).decode()
    assert proc.wait(timeout=120) == 130, err
    assert "interrupted after epoch" in err and "Traceback" not in err
    done = int(re.search(r"interrupted after epoch (\d+) of 400", err).group(1))
    assert 0 < done < 400
    frames, _ = imageio_ffmpeg.count_frames_and_secs(str(stopped / "animation.mp4"))
    assert frames == done + 1  # a playable animation up to that epoch
    rows = list(csv.DictReader(open(stopped / "metrics.csv")))
    assert len(rows) == 4 * done
    assert main(["run", "--resume", str(stopped), "--quiet"]) == 0
    assert not (stopped / "checkpoint.npz").exists()
    whole = tmp_path / "whole"
    assert main(["run", *args, "--quiet", "--out", str(whole)]) == 0
    assert (stopped / "metrics.csv").read_text() == (whole / "metrics.csv").read_text()  # bit for bit


def test_a_full_disk_is_refused_before_training(tmp_path, monkeypatch, capsys):
    import shutil

    import jaxviz.api
    import jaxviz.io.runfolder

    monkeypatch.setattr(jaxviz.io.runfolder.shutil, "disk_usage",
                        lambda path: shutil._ntuple_diskusage(10**9, 10**9, 1000))
    monkeypatch.setattr(jaxviz.api, "sweep", lambda *a, **k: pytest.fail("trained despite a full disk"))
    assert main(["run", "--set", "epochs=2", "--resolution", "8", "--quiet", "--out", str(tmp_path / "F")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("jaxviz: error: --out must have room for the run") and "1.0 kB are free" in err
    assert len(err.splitlines()) == 1


def test_results_survive_a_failed_write_after_training(tmp_path, monkeypatch, capsys):
    import errno

    import jaxviz.io.video

    def disk_full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(jaxviz.io.video, "write_animation", disk_full)
    out = tmp_path / "R"
    assert main(["run", "--grid", "lr=0.05,0.5", "--set", "epochs=3", "--resolution", "8", "--quiet",
                 "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip()
    assert "No space left on device" in err and "Traceback" not in err and len(err.splitlines()) == 1
    rescued = list(tmp_path.glob("R-rescued-*"))
    assert len(rescued) == 1 and str(rescued[0]) in err
    back = jaxviz.load(rescued[0])  # the trained results, restorable without training
    assert back.metrics["loss"].shape == (2, 3) and np.isfinite(back.metrics["loss"]).all()
    assert (rescued[0] / "metrics.csv").is_file() and (rescued[0] / "config.toml").is_file()


def test_an_exploding_learning_rate_is_marked_as_the_seed_shows_it(tmp_path, capsys):
    # the seed's lesson: too high a learning rate saturates the outputs and the loss stops moving
    out = tmp_path / "E"
    assert main(["run", "--grid", "lr=0.07,1", "--set", "epochs=30", "--resolution", "8", "--frames", "3",
                 "--out", str(out)]) == 0
    assert "1 model exploded (outputs saturated, loss stuck): lr=1.0 at epoch 5" in capsys.readouterr().out
    run = jaxviz.load(out)
    assert run.exploded_epoch.tolist() == [-1, 5] and run.diverged_epoch.tolist() == [-1, -1]
    stuck = run.metrics["loss"][1, 4:]
    assert np.all(stuck == stuck[0]) and stuck[0] > run.metrics["loss"][1, :4].min() + 0.1
    assert run.table().rows[1][-1] == 5 and run.table().rows[0][-1] == ""
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    flags = {(r["lr"], r["epoch"]): r["exploded"] for r in rows}
    assert flags[("1.0", "4")] == "0" and flags[("1.0", "5")] == "1" and flags[("1.0", "30")] == "1"
    assert all(flags[("0.07", str(e))] == "0" for e in range(1, 31))
