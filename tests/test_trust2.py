"""Trust, round two (issue 15): loading and resuming check what they read, one precedence rule,
NumPy / JAX values, run folders and animation paths, short repr, a fast CLI, no silent no-ops."""

import csv
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

import jaxviz
from jaxviz.cli import main


def _one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if not line.startswith("jaxviz: note:")]
    assert len(lines) == 1 and lines[0].startswith("jaxviz: error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A tiny run saved to a folder (lr 0.01 and 0.1, 6 epochs) and the Run itself."""
    run = jaxviz.sweep({"lr": [0.01, 0.1]}, epochs=6, resolution=8, progress=False)
    folder = tmp_path_factory.mktemp("saved") / "run"
    run.save(folder)
    return folder, run


@pytest.fixture
def copy(saved, tmp_path):
    folder = tmp_path / "copy"
    shutil.copytree(saved[0], folder)
    return folder


# 1. jaxviz.load checks what it loads ----------------------------------------------------------

def _edit(path, old, new):
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _rewrite_npz(path, drop=(), **replace):
    with np.load(path) as z:
        arrays = {k: z[k] for k in z.files if k not in drop}
    np.savez(path, **(arrays | replace))


@pytest.mark.parametrize("damage,words", [
    (lambda d: _edit(d / "config.toml", "0.01", "0.02"), ["config.toml", "lr=0.02", "lr=0.01"]),
    (lambda d: _edit(d / "config.toml", "epochs = 6", "epochs = 60"), ["config.toml", "epochs=60", "epochs=6"]),
    (lambda d: _edit(d / "config.toml", "lr = [", "lr = [0.5, "), ["config.toml", "3 models", "2"]),
    (lambda d: (d / "run.npz").write_bytes((d / "run.npz").read_bytes()[:5000]), ["run.npz", "cut short"]),
    (lambda d: (d / "run.npz").write_bytes(b"not an npz at all" * 10), ["run.npz", "damaged or foreign"]),
    (lambda d: np.savez(d / "run.npz", x=np.array([object()], dtype=object)), ["run.npz", "pickles"]),
    (lambda d: _rewrite_npz(d / "run.npz", drop=["metric_loss"]), ["run.npz", "'metric_loss'"]),
    (lambda d: _rewrite_npz(d / "run.npz", drop=["surfaces"]), ["run.npz", "'surfaces'"]),
    (lambda d: (d / "config.toml").unlink(), ["no config.toml"]),
    (lambda d: (d / "config.toml").write_text("[hp\n"), ["config.toml", "not valid TOML"]),
    (lambda d: [p.unlink() for p in d.iterdir()], ["no run.npz"]),
])
def test_load_refuses_an_edited_or_damaged_folder_with_one_clear_error(copy, damage, words):
    damage(copy)
    with pytest.raises(ValueError) as e:
        jaxviz.load(copy)
    message = str(e.value)
    assert len(message.splitlines()) == 1 and "Traceback" not in message
    assert "BadZipFile" not in message and "allow_pickle" not in message
    for word in words:
        assert word in message, message


def test_load_refuses_what_is_not_a_run_folder(tmp_path):
    afile = tmp_path / "a.txt"
    afile.write_text("x")
    for path, why in ((tmp_path / "none", "no such folder"), (afile, "a file"), (tmp_path, "no run.npz")):
        with pytest.raises(ValueError, match="directory must hold a saved run") as e:
            jaxviz.load(path)
        assert why in str(e.value)


def test_load_checks_shapes_of_a_folder_saved_before_the_hash(copy, saved):
    # an old folder (no hp hash): accepted with structural checks; an epochs edit is still refused
    _rewrite_npz(copy / "run.npz", drop=["hp_hash", "hp_table"])
    back = jaxviz.load(copy)
    np.testing.assert_array_equal(back.metrics["loss"], saved[1].metrics["loss"])
    _edit(copy / "config.toml", "epochs = 6", "epochs = 60")
    with pytest.raises(ValueError, match=r"run.npz must match config.toml \(2 models x 60 epochs\)"):
        jaxviz.load(copy)


def test_a_saved_run_loads_back_whole(saved):
    back = jaxviz.load(saved[0])
    assert back.axes == {"lr": [0.01, 0.1]} and back.configs == saved[1].configs
    for a, b in zip(back.weights(1, 6), saved[1].weights(1, 6)):
        np.testing.assert_array_equal(a, b)


# 2. --resume refuses a run whose config changed --------------------------------------------------

@pytest.fixture(scope="module")
def stopped(tmp_path_factory):
    """An interrupted run folder (checkpoint after the first chunk of 40 epochs)."""
    run = jaxviz.sweep({"lr": [0.1, 0.3]}, epochs=40, resolution=8, progress=False, should_stop=lambda: True)
    assert 0 < run.completed_epochs < 40
    folder = tmp_path_factory.mktemp("stopped") / "run"
    run.save(folder)
    run.save_checkpoint(folder / "checkpoint.npz")
    return folder


@pytest.mark.parametrize("old,new,words", [
    ("    0.1,\n", "    0.2,\n", ["lr=0.2", "lr=0.1"]),
    ("epochs = 40", "epochs = 30", ["epochs=30", "epochs=40"]),
    ("lr = [", "lr = [0.05, ", ["3 models"]),
])
def test_resume_refuses_a_config_changed_since_the_checkpoint(stopped, tmp_path, capsys, old, new, words):
    folder = tmp_path / "run"
    shutil.copytree(stopped, folder)
    _edit(folder / "config.toml", old, new)
    assert main(["run", "--resume", str(folder), "--quiet"]) == 2
    err = _one_line_error(capsys)
    assert "changed since checkpoint.npz was written" in err
    for word in words:
        assert word in err, err


def test_resume_of_an_unchanged_run_finishes_it(stopped, tmp_path):
    folder = tmp_path / "run"
    shutil.copytree(stopped, folder)
    assert main(["run", "--resume", str(folder), "--quiet", "--format", "gif"]) == 0
    assert not (folder / "checkpoint.npz").exists()
    whole = jaxviz.sweep({"lr": [0.1, 0.3]}, epochs=40, resolution=8, progress=False)
    np.testing.assert_array_equal(jaxviz.load(folder).metrics["val_loss"], whole.metrics["val_loss"])


# 3. no CLI traceback --------------------------------------------------------------------------

def test_resume_and_config_given_the_wrong_kind_of_path(tmp_path, capsys):
    afile = tmp_path / "afile.txt"
    afile.write_text("x")
    assert main(["run", "--resume", str(afile)]) == 2
    assert "--resume must name an interrupted run folder" in _one_line_error(capsys)
    assert main(["run", "--resume", str(tmp_path)]) == 2
    assert "no checkpoint.npz" in _one_line_error(capsys)
    assert main(["run", "--config", "."]) == 2
    assert "--config must be an existing TOML file. Got '.' (a folder) instead." in _one_line_error(capsys)
    assert main(["run", "--config", str(tmp_path / "afile.txt" / "c.toml")]) == 2
    _one_line_error(capsys)


def test_any_oserror_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys):
    import jaxviz.io.runfolder

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", "/somewhere/else")

    monkeypatch.setattr(jaxviz.io.runfolder, "prepare_folder", denied)
    assert main(["run", "--set", "epochs=2", "--out", str(tmp_path / "o")]) == 2
    assert "'/somewhere/else': Permission denied" in _one_line_error(capsys)


# 5. CSV with a byte-order mark and no header -------------------------------------------------

def test_csv_with_bom_and_no_header_keeps_its_first_row(tmp_path, capsys):
    from jaxviz.data import read_csv

    rows = ["0.5,1.5,0", "1,2,0", "3,1,1", "4,2,1"]
    path = tmp_path / "excel.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    X, y = read_csv(path)
    assert X.tolist()[0] == [0.5, 1.5] and len(y) == 4
    assert "header" not in capsys.readouterr().err
    path.write_text("x1,x2,label\n" + "\n".join(rows) + "\n", encoding="utf-8-sig")
    X, y = read_csv(path)
    assert len(y) == 4 and "line 1 'x1,x2,label' read as a header and skipped" in capsys.readouterr().err
    path.write_text("0.5,1.5,zero\n" + "\n".join(rows) + "\n")  # numbers in it: not a header, an error
    with pytest.raises(ValueError, match="line 1 must be 'x1,x2,label' with 3 numbers"):
        read_csv(path)


# 7. one precedence rule in the CLI: later options win ------------------------------------------

@pytest.fixture
def gathered(monkeypatch):
    import jaxviz.cli

    seen = {}
    monkeypatch.setattr(jaxviz.cli, "_run", lambda hp, options, args: seen.update(hp=hp, options=options) or 0)
    return seen


@pytest.mark.parametrize("argv,key,expected,notes", [
    (["--config", "{A}", "--preset", "explode"], "lr", 0.5, 1),
    (["--preset", "explode", "--config", "{A}"], "lr", [0.01, 0.02], 1),
    (["--grid", "lr=0.1,0.2", "--set", "lr=0.3"], "lr", 0.3, 1),
    (["--set", "lr=0.3", "--grid", "lr=0.1,0.2"], "lr", [0.1, 0.2], 1),
    (["--grid", "lr=0.1,0.2", "--grid", "lr=0.3,0.4"], "lr", [0.3, 0.4], 1),
    (["--preset", "explode", "--set", "lr=0.3"], "lr", 0.3, 1),
    (["--set", "lr=0.3", "--preset", "explode"], "lr", 0.5, 1),
    (["--set", "lr=0.3", "--set", "lr=0.3"], "lr", 0.3, 0),
])
def test_later_options_win_with_a_note_per_overridden_key(tmp_path, gathered, capsys, argv, key, expected, notes):
    config = tmp_path / "a.toml"
    config.write_text("[hp]\nlr = [0.01, 0.02]\nepochs = 7\n")
    assert main(["run", *(a.replace("{A}", str(config)) for a in argv)]) == 0
    assert gathered["hp"][key] == expected
    err = capsys.readouterr().err
    assert sum(f"jaxviz: note: {key}=" in line for line in err.splitlines()) == notes, err
    assert "Traceback" not in err


def test_config_then_preset_notes_every_key_the_preset_replaces(tmp_path, gathered, capsys):
    config = tmp_path / "a.toml"
    config.write_text("[hp]\nlr = 0.01\nepochs = 7\nmomentum = 0.9\n")
    assert main(["run", "--config", str(config), "--preset", "explode"]) == 0
    assert gathered["hp"]["lr"] == 0.5 and gathered["hp"]["epochs"] == 150
    notes = [line for line in capsys.readouterr().err.splitlines() if line.startswith("jaxviz: note:")]
    assert len(notes) == 2 and all("(--preset explode) replaces" in n for n in notes)  # momentum is the same


def test_grid_axis_order_follows_the_command_line(gathered):
    assert main(["run", "--grid", "momentum=0,0.9", "--grid", "lr=0.1,0.2"]) == 0
    assert list(gathered["hp"]) == ["momentum", "lr"]


# 8. NumPy and JAX values ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def numpy_run(tmp_path_factory):
    import jax.numpy as jnp

    run = jaxviz.sweep({"lr": jnp.array([0.01, 0.1])}, momentum=np.float32(0.9), epochs=np.array(3),
                       shuffle=np.bool_(True), kr=np.float32(0.001), n1=np.int64(4), resolution=8, progress=False)
    folder = tmp_path_factory.mktemp("np") / "run"
    run.save(folder)
    return run, folder


def test_numpy_and_jax_values_are_accepted_and_keep_their_decimal_form(numpy_run):
    run, folder = numpy_run
    assert run.axes == {"lr": [0.01, 0.1]}
    c = run.configs[0]
    assert (c["momentum"], c["kr"], c["epochs"], c["shuffle"], c["n1"]) == (0.9, 0.001, 3, True, 4)
    assert all(type(c[k]) in (float, int, bool, str) for k in c)
    text = (folder / "config.toml").read_text()
    assert "lr = [\n    0.01,\n    0.1,\n]" in text or "lr = [0.01, 0.1]" in text
    assert "momentum = 0.9\n" in text and "kr = 0.001\n" in text and "9999" not in text
    rows = list(csv.DictReader(open(folder / "metrics.csv")))
    assert {r["lr"] for r in rows} == {"0.01", "0.1"}
    assert {r["learning_rate"] for r in rows} == {"0.01", "0.1"}  # the float32 History value, as written


@pytest.mark.parametrize("value", [np.array([0.01, 0.1]), np.arange(1, 3) / 10, (np.float32(0.01), np.float64(0.1)),
                                   [np.array(0.01), np.array(0.1, np.float32)]])
def test_array_forms_give_the_same_axis(value):
    from jaxviz.spec.grid import make_grid

    assert make_grid(lr=value).axes["lr"] == ([0.1, 0.2] if np.allclose(np.asarray(value, float), [0.1, 0.2])
                                              else [0.01, 0.1])


def test_a_two_dimensional_array_is_refused():
    with pytest.raises(ValueError, match="lr must be a positive number"):
        jaxviz.plan_sweep(lr=np.ones((2, 2)))


def test_negative_model_indices_count_from_the_end(numpy_run):
    run = numpy_run[0]
    for a, b in zip(run.weights(-1, -1), run.weights(1, 3)):
        np.testing.assert_array_equal(a, b)
    for a, b in zip(run.weights(-2, 0), run.weights(0, 0)):
        np.testing.assert_array_equal(a, b)
    for bad in (2, -3, 1.0, True):
        with pytest.raises(ValueError, match="i must be a model index"):
            run.weights(bad, 0)


# 9. Run.save refuses another folder's contents ------------------------------------------------

def test_save_refuses_a_foreign_folder_and_overwrite_removes_stale_outputs(saved, numpy_run, tmp_path):
    other = tmp_path / "other"
    shutil.copytree(saved[0], other)
    for name in ("animation.mp4", "final.png", "checkpoint.npz"):
        (other / name).write_bytes(b"stale")
    (other / "frames").mkdir()
    (other / "frames" / "frame_00000.png").write_bytes(b"stale")
    (other / "notes.txt").write_text("mine")
    run = numpy_run[0]
    with pytest.raises(ValueError, match="directory must be empty or hold this same run"):
        run.save(other)
    assert jaxviz.load(other).configs == saved[1].configs  # untouched
    run.save(other, overwrite=True)
    assert sorted(p.name for p in other.iterdir()) == ["config.toml", "metrics.csv", "notes.txt", "run.npz"]
    assert jaxviz.load(other).configs == run.configs
    run.save(other)  # the same run again: allowed
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="directory must be empty"):
        run.save(mine)


def test_cli_overwrite_leaves_no_animation_of_the_replaced_run(tmp_path):
    out = tmp_path / "R"
    args = ["run", "--set", "epochs=2", "--resolution", "8", "--quiet", "--out", str(out)]
    assert main(args + ["--format", "mp4"]) == 0
    assert main(args + ["--format", "gif", "--overwrite"]) == 0
    assert (out / "animation.gif").is_file() and not (out / "animation.mp4").exists()


# 10. animate(path) ------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["a.mp4", "a.gif", "frames"])
def test_animate_makes_missing_folders_for_every_format(saved, tmp_path, name):
    path = saved[1].animate(tmp_path / "new" / "deeper" / name, frames=2)
    assert path.exists() and path.parent.is_dir()


@pytest.mark.parametrize("make,name,message", [
    (lambda d: (d / "x.mp4").mkdir(), "x.mp4", "(an existing folder)"),
    (lambda d: (d / "x.gif").mkdir(), "x.gif", "(an existing folder)"),
    (lambda d: (d / "f").write_text("x"), "f/a.mp4", "under the file"),
    (lambda d: (d / "f").write_text("x"), "f/sub/a.gif", "under the file"),
    (lambda d: (d / "f").write_text("x"), "f", "(an existing file)"),
])
def test_animate_refuses_a_path_of_the_wrong_kind_in_one_line(saved, tmp_path, make, name, message):
    make(tmp_path)
    with pytest.raises(ValueError) as e:
        saved[1].animate(tmp_path / name)
    assert message in str(e.value) and len(str(e.value).splitlines()) == 1 and ".partial" not in str(e.value)


# 11. repr ---------------------------------------------------------------------------------------

def test_repr_is_a_short_summary(saved):
    text = repr(saved[1])
    assert len(text) < 300 and "\n" not in text
    for part in ("2 models", "lr: [0.01, 0.1]", "6 epochs", "7 frames", "task binary", "0 diverged"):
        assert part in text, text
    assert repr(jaxviz.load(saved[0])) == text


# 12. config.toml records the animation options --------------------------------------------------

def test_config_records_animation_options_and_reruns_them(tmp_path):
    from PIL import Image

    out = tmp_path / "A"
    assert main(["run", "--set", "epochs=2", "--resolution", "8", "--quiet", "--out", str(out), "--format", "gif",
                 "--size", "320x180", "--fps", "5", "--hold", "1", "--decision-line"]) == 0
    import tomllib

    options = tomllib.loads((out / "config.toml").read_text())["options"]
    assert options == {"resolution": 8, "frames": 3, "format": "gif", "size": "320x180", "fps": 5.0, "hold": 1.0,
                       "decision_line": True}
    again = tmp_path / "B"
    assert main(["run", "--config", str(out / "config.toml"), "--quiet", "--out", str(again)]) == 0
    a, b = Image.open(out / "animation.gif"), Image.open(again / "animation.gif")
    assert b.size == a.size == (320, 180) and b.n_frames == a.n_frames
    assert (again / "animation.gif").read_bytes() == (out / "animation.gif").read_bytes()
    flags = tmp_path / "C"  # a flag given explicitly wins over the config
    assert main(["run", "--config", str(out / "config.toml"), "--quiet", "--out", str(flags), "--format", "png",
                 "--fps", "10"]) == 0
    assert (flags / "frames").is_dir() and not (flags / "animation.gif").exists()
    options = tomllib.loads((flags / "config.toml").read_text())["options"]
    assert options["format"] == "png" and "fps" not in options and options["size"] == "320x180"


def test_bad_output_options_in_a_config_are_refused(tmp_path, capsys):
    config = tmp_path / "c.toml"
    config.write_text("[hp]\nepochs = 2\n[options]\nformat = \"avi\"\n")
    assert main(["run", "--config", str(config), "--out", str(tmp_path / "o")]) == 2
    assert "--format must be one of" in _one_line_error(capsys)


# 14. CLI polish ---------------------------------------------------------------------------------

def test_version_and_bare_help(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"jaxviz {jaxviz.__version__}"
    assert main([]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: jaxviz") and "run" in out and "presets" in out


_FAST = (
    "import json, sys, time\n"
    "t = time.perf_counter()\n"
    "from jaxviz.cli import main\n"
    "code = main(json.loads(sys.argv[1]))\n"
    "heavy = [m for m in ('jax', 'sklearn', 'matplotlib', 'flax', 'scipy') if m in sys.modules]\n"
    "print(json.dumps([code, heavy, time.perf_counter() - t]))\n"
)


@pytest.mark.parametrize("argv", [
    ["run", "--set", "lr=-1"], ["run", "--grid", "lrr=0.1"], ["run", "--format", "avi"], ["run", "--frames", "500"],
    ["run", "--config", "/nonexistent.toml"], ["frobnicate"], ["run", "--set", "noise=0.3"], ["run", "--resume", "."],
])
def test_argument_errors_answer_without_jax(argv):
    done = subprocess.run([sys.executable, "-c", _FAST, json.dumps(argv)], capture_output=True, text=True, timeout=60)
    code, heavy, seconds = json.loads(done.stdout)
    assert code == 2 and heavy == [], done.stderr
    assert done.stderr.startswith("jaxviz: error: ") and done.stderr.count("\n") == 1, done.stderr
    assert seconds < 2.0, seconds  # measured 0.2-0.4 s here; a sanity bound only


# 15. no silent no-ops -----------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs", [dict(noise=0.3), dict(noise=[0.0, 0.3], dataset="circles"),
                                    dict(noise=0.2, dataset=["moons", "tricky"])])
def test_noise_is_refused_where_it_would_change_nothing(kwargs):
    with pytest.raises(ValueError, match="noise must be 0 unless a dataset is one of Playground's"):
        jaxviz.plan_sweep(**kwargs)


def test_noise_with_user_data_is_refused():
    X = np.random.default_rng(0).normal(size=(20, 2))
    with pytest.raises(ValueError, match="noise must be 0"):
        jaxviz.plan_sweep(noise=0.1, data=(X, np.arange(20) % 2))


def test_noise_where_it_applies_is_accepted():
    assert jaxviz.plan_sweep(noise=[0.0, 0.3], dataset=["xor", "moons"], epochs=2).n_models == 4


@pytest.fixture(scope="module")
def no_hidden():
    return jaxviz.sweep({"n1": [0, 4]}, n2=0, epochs=4, resolution=8, progress=False)


def test_n1_zero_is_a_logistic_regression(no_hidden):
    w, b = no_hidden.weights(0, 0)
    assert w.shape == (2, 1) and b.shape == (1,) and not b.any()
    assert np.abs(w).max() <= np.sqrt(6 / 3) and np.abs(w).min() > 0  # Glorot on fans 2 and 1
    w, b = no_hidden.weights(0, 4)
    ds = no_hidden.data_of(0)
    x0, x1, y0, y1 = ds.extent
    xx, yy = np.meshgrid(np.linspace(x0, x1, 8), np.linspace(y0, y1, 8))
    p = 1 / (1 + np.exp(-(np.stack([xx.ravel(), yy.ravel()], 1) @ w[:, 0] + b[0])))
    np.testing.assert_allclose(no_hidden.surfaces[0, -1].astype(float).ravel(), p, atol=2e-3)


def test_n1_zero_equals_its_solo_run_inside_a_grid(no_hidden):
    solo = jaxviz.sweep(n1=0, n2=0, n3=0, epochs=4, resolution=8, progress=False)
    np.testing.assert_allclose(no_hidden.metrics["val_loss"][0], solo.metrics["val_loss"][0], rtol=1e-6)
    np.testing.assert_allclose(no_hidden.surfaces[0].astype(float), solo.surfaces[0].astype(float), atol=1e-3)
    wide = jaxviz.sweep(n1=4, n2=0, epochs=4, resolution=8, progress=False)
    np.testing.assert_allclose(no_hidden.metrics["val_loss"][1], wide.metrics["val_loss"][0], rtol=1e-6)


def test_n1_zero_with_a_later_layer_takes_the_inputs():
    run = jaxviz.sweep(n1=[0, 3], n2=3, epochs=2, resolution=8, progress=False)
    assert [w.shape for w in run.weights(0, 2)] == [(2, 3), (3,), (3, 1), (1,)]
    assert np.isfinite(run.metrics["loss"]).all()


@pytest.mark.parametrize("scale", [1e200, 1e160])
def test_data_whose_standardisation_overflows_is_refused(scale):
    X = np.random.default_rng(0).normal(size=(20, 2))
    X[:, 1] *= scale
    with pytest.raises(ValueError, match=r"data column x2 must be standardisable.*Got values up to \d\.\d+e\+(200|160)"):
        jaxviz.plan_sweep(data=(X, np.arange(20) % 2))


def test_cli_refuses_overflowing_csv_in_one_line(tmp_path, capsys):
    rows = "\n".join(f"{i}e200,{i % 3},{i % 2}" for i in range(1, 21))
    (tmp_path / "big.csv").write_text(rows + "\n")
    assert main(["run", "--data", str(tmp_path / "big.csv"), "--out", str(tmp_path / "o")]) == 2
    assert "data column x1 must be standardisable" in _one_line_error(capsys)
