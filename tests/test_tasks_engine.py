"""Tasks end to end (issue 14): the task resolved from the settings and the data, contradictions
refused, the user's labels checked, k output units, (n, f, r, r, k) surfaces, History named by the
task, and runs that save, load and resume."""

import numpy as np
import pytest

import jaxviz
from jaxviz import analysis
from jaxviz.data import infer_task, load_dataset
from jaxviz.engine.model import params_from_arrays, predict, structure
from jaxviz.engine.surfaces import mesh
from jaxviz.engine.task import task_of
from jaxviz.spec.grid import make_grid, resolve_task


@pytest.fixture(scope="module")
def spiral3():
    """A 2-model multi-class grid: Playground's spiral with 3 arms."""
    return jaxviz.sweep(dataset="spiral", classes=3, n1=[4, 8], epochs=3, resolution=8, progress=False)


@pytest.fixture(scope="module")
def plane():
    """A 2-model regression grid on Playground's plane."""
    return jaxviz.sweep(dataset="plane", lr=[0.01, 0.03], epochs=3, resolution=8, progress=False)


@pytest.mark.parametrize("task,classes,datasets,expected", [
    ("auto", 2, ["moons"], ("binary", 2)),
    ("auto", 2, ["moons", "xor"], ("binary", 2)),
    ("auto", 4, ["spiral", "gauss"], ("multiclass", 4)),
    ("auto", 2, ["plane", "multigauss"], ("regression", 2)),
    ("multiclass", 2, ["moons"], ("multiclass", 2)),  # a softmax over the two classes
    ("regression", 2, ["plane"], ("regression", 2)),
])
def test_the_task_is_inferred_where_unambiguous(task, classes, datasets, expected):
    assert resolve_task(task, classes, datasets) == expected


@pytest.mark.parametrize("hp,message", [
    (dict(task="binary", classes=3, dataset="spiral"), r"classes must be 2 with task='binary'. Got 3 instead."),
    (dict(task="regression", dataset="moons"),
     r"dataset must be one of \['plane', 'multigauss', 'fractal', 'fractal-linear', 'fractal-single'\] "
     r"\(or data= with real targets\) with task='regression'. "
     r"Got 'moons' instead."),
    (dict(classes=3, dataset="moons"),
     r"dataset must be one of \['blobs', 'spiral', 'gauss'\] \(or data= with 3 classes\) with classes=3. "
     r"Got 'moons' instead."),
    (dict(task="multiclass", dataset="plane"), r"dataset must be a classification set with task='multiclass'"),
    (dict(dataset=["plane", "moons"]), r"dataset must be all regression sets or all classification sets"),
    (dict(dataset="plane", classes=3), r"classes must be left at 2 with task='regression'"),
    (dict(task=["binary", "multiclass"]), r"task must be one value within a grid"),
    (dict(classes=[3, 4], dataset="spiral"), r"classes must be one value within a grid"),
    (dict(classes=11), r"classes must be an integer in \[2, 10\]. Got 11 instead."),
    (dict(task="ranking"), r"task must be one of \['auto', 'binary', 'multiclass', 'regression'\]"),
])
def test_contradictions_are_refused_before_compiling(hp, message):
    with pytest.raises(ValueError, match=message):
        jaxviz.plan_sweep(hp, epochs=1, resolution=8)


def test_user_labels_decide_an_auto_task():
    X = np.random.default_rng(0).normal(size=(12, 2))
    assert infer_task((X, np.arange(12) % 2)) == ("binary", 2)
    assert infer_task((X, np.arange(12) % 4)) == ("multiclass", 4)
    assert infer_task((X, np.arange(12) % 2), classes=2, task="multiclass") == ("multiclass", 2)
    assert infer_task((X, X[:, 0])) == ("regression", 2)
    assert infer_task((X, np.arange(12) % 2), task="regression") == ("regression", 2)  # 0/1 targets, if asked


@pytest.mark.parametrize("y,kwargs,message", [
    (np.r_[[0] * 5, [1] * 5, [2]], {}, r"data must have at least 2 points of each class. "
                                       r"Got 5 of class 0, 5 of class 1 and 1 of class 2 instead."),
    (np.arange(11) % 3, dict(classes=4), r"Got 4 of class 0, 4 of class 1, 3 of class 2 and 0 of class 3 instead."),
    (np.arange(11) % 5, dict(classes=3), r"data y must be class labels 0..2 with classes=3. "
                                         r"Got labels \[0, 1, 2, 3, 4\] instead."),
    (np.arange(11) % 3 - 1, {}, r"data y must be class labels 0..k-1 \(or real targets with task='regression'\)"),
    (np.arange(11) % 3, dict(task="binary"), r"data y must be two classes labelled 0 and 1. Got labels \[0.0, 1.0, 2.0\]"),
    (np.arange(11) * 0.5, dict(classes=3), r"data y must be integer class labels 0..2 with classes=3. "
                                           r"Got non-integer values such as 0.5 instead."),
    (np.arange(11) * 0.5, dict(task="multiclass"), r"data y must be integer class labels 0..k-1"),
    (np.r_[np.arange(10) * 0.5, np.nan], {}, r"data y must be finite numbers. Got nan at row 10 instead."),
    (np.arange(11) % 12, {}, r"data y must be at most 10 classes, labelled 0..9. Got labels up to 10 instead."),
    (np.arange(11) * 0.5, dict(task="regression", classes=3), r"classes must be left at 2 with task='regression'"),
])
def test_bad_user_labels_get_one_clear_message(y, kwargs, message):
    X = np.random.default_rng(1).normal(size=(11, 2))
    with pytest.raises(ValueError, match=message):
        jaxviz.plan_sweep(data=(X, y), epochs=1, resolution=8, **kwargs)


def test_each_part_of_a_given_split_needs_every_class():
    X = np.random.default_rng(2).normal(size=(9, 2))
    with pytest.raises(ValueError, match=r"test data must have at least 2 points of each class. "
                                         r"Got 1 of class 0, 1 of class 1 and 1 of class 2 instead."):
        jaxviz.plan_sweep(data=(X[:6], np.arange(6) % 3, X[6:], np.arange(3)), epochs=1)


def test_multiclass_run_has_k_units_softmax_surfaces_and_the_resolved_task(spiral3):
    run = spiral3
    assert [(c["task"], c["classes"]) for c in run.configs] == [("multiclass", 3)] * 2
    assert run.task == "multiclass" and analysis.task_of_run(run) == ("multiclass", 3)
    assert sorted(set(run.dataset.y_train.tolist())) == [0.0, 1.0, 2.0]
    assert run.surfaces.shape == (2, 4, 8, 8, 3) and run.surfaces.dtype == np.float16
    np.testing.assert_allclose(run.surfaces.astype(np.float32).sum(-1), 1.0, atol=3e-3)
    assert [w.shape for w in run.weights(1, 3)][-2:] == [(10, 3), (3,)]  # n2 = 10 -> 3 softmax units
    assert sorted(run.metrics) == ["accuracy", "learning_rate", "loss", "val_accuracy", "val_loss"]
    assert ((run.metrics["accuracy"] >= 0) & (run.metrics["accuracy"] <= 1)).all()
    assert "task multiclass (3 classes)" in repr(run)


def test_a_surface_is_the_models_own_prediction(spiral3, plane):
    """Every class probability (and the regression value) on the mesh equals the trained model's
    prediction at those points, through the training program's own forward pass."""
    for run, expect_k in ((spiral3, 3), (plane, None)):
        i, ds = 1, run.dataset
        config = run.configs[i]
        widths = np.array([config["n1"], config["n2"], config["n3"]])
        task = task_of(*analysis.task_of_run(run))
        arrays = [np.asarray(w[i, -1]) for w in run._weights]
        hidden, slots = arrays[0].shape[1], len(arrays) // 2 - 1
        params = params_from_arrays(arrays, hidden, slots, ("lrelu",))
        points = mesh(ds.extent, 8)
        p = np.asarray(predict(params, points, structure(widths, 0, slots, hidden), hidden, slots, ("lrelu",), task))
        surface = run.surfaces[i, -1].astype(np.float32).reshape(64, *([expect_k] if expect_k else []))
        np.testing.assert_allclose(surface, p, atol=2e-3 * max(1.0, float(np.abs(p).max())))


def test_regression_run_names_its_history_by_the_task(plane):
    run = plane
    assert run.configs[0]["task"] == "regression" and run.surfaces.shape == (2, 4, 8, 8)
    assert list(run.metrics) == ["loss", "mae", "val_loss", "val_mae", "learning_rate"]
    assert analysis.metric_names(run) == analysis.REGRESSION_METRICS
    # the accuracy's rules read the mae of a regression
    np.testing.assert_array_equal(analysis.final_values(run, "val_accuracy"), run.metrics["val_mae"][:, -1])
    assert analysis.status(run, 0, 3)[3] == pytest.approx(float(run.metrics["val_mae"][0, 2]))
    assert run.table().columns[-7:-2] == ["loss", "mae", "val_loss", "val_mae", "learning_rate"]
    assert len(load_dataset("plane").y_train) == 720  # Playground's 1200 regression points, split 60/40


def test_a_diverging_regression_is_marked_from_its_loss():
    run = jaxviz.sweep(dataset="plane", lr=[0.01, 50.0], epochs=3, resolution=2, progress=False)
    assert run.diverged_epoch[0] == -1 and run.diverged_epoch[1] > 0


@pytest.mark.parametrize("which", ["spiral3", "plane"])
def test_runs_save_load_and_resume_with_their_task(which, request, tmp_path):
    run = request.getfixturevalue(which)
    folder = run.save(tmp_path / "r")
    assert f'task = "{run.task}"' in (folder / "config.toml").read_text()
    header = (folder / "metrics.csv").read_text().splitlines()[0]
    assert header.endswith(",".join(analysis.metric_names(run)) + ",diverged,exploded")
    back = jaxviz.load(folder)
    assert back.task == run.task and back.surfaces.shape == run.surfaces.shape
    assert all(np.array_equal(back.metrics[k], run.metrics[k]) for k in run.metrics)
    assert np.array_equal(back.initial_val[1], run.initial_val[1])
    hp = {k: v for k, v in run.hp.items() if k != "task"}  # "auto" again: resolved the same
    stopped = jaxviz.sweep(hp, resolution=8, progress=False, should_stop=lambda: True)
    resumed = jaxviz.sweep(hp, resolution=8, progress=False,
                           resume=jaxviz.api.load_checkpoint(stopped.save_checkpoint(tmp_path / "c.npz")))
    assert all(np.array_equal(resumed.metrics[k], run.metrics[k], equal_nan=True) for k in run.metrics)


def test_a_model_in_a_multiclass_grid_equals_its_solo_run(spiral3):
    solo = jaxviz.sweep(dataset="spiral", classes=3, n1=8, epochs=3, resolution=8, progress=False)
    for k in spiral3.metrics:
        np.testing.assert_allclose(spiral3.metrics[k][1], solo.metrics[k][0], atol=1e-6, rtol=0)


def test_user_regression_and_multiclass_data_train():
    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 2))
    run = jaxviz.sweep(task="regression", data=(X, X[:, 0] * 2.0), epochs=2, resolution=4, progress=False)
    assert run.task == "regression" and run.configs[0]["dataset"] == "custom"
    kept = np.sort(np.concatenate([run.dataset.y_train, run.dataset.y_test]))
    np.testing.assert_array_equal(kept, np.sort((X[:, 0] * 2.0).astype(np.float32)))  # targets kept as given
    run = jaxviz.sweep(data=(X, np.arange(40) % 4), epochs=2, resolution=4, progress=False)
    assert (run.task, run.configs[0]["classes"], run.surfaces.shape[-1]) == ("multiclass", 4, 4)


def test_grids_without_a_task_setting_are_unchanged():
    assert make_grid().fixed["task"] == "auto" and make_grid().static([60]).task == "binary"
    run = jaxviz.sweep(lr=[0.1, 0.5], epochs=1, resolution=4, progress=False)
    assert run.configs[0]["task"] == "binary" and run.surfaces.shape == (2, 2, 4, 4)


def test_a_run_saved_before_tasks_existed_still_loads_as_binary(tmp_path):
    """Folders written before ``task``/``classes`` existed hold hp tables without them."""
    from jaxviz.io.files import hp_table, table_hash, write_npz

    run = jaxviz.sweep(lr=[0.1, 0.5], epochs=1, resolution=4, progress=False)
    folder = run.save(tmp_path / "old")
    with np.load(folder / "run.npz") as z:
        arrays = {k: z[k] for k in z.files}
    old = hp_table([{k: v for k, v in c.items() if k not in ("task", "classes")} for c in run.configs])
    write_npz(folder / "run.npz", arrays | {"hp_table": np.asarray(old), "hp_hash": np.asarray(table_hash(old))})
    toml = folder / "config.toml"
    toml.write_text("\n".join(l for l in toml.read_text().splitlines() if not l.startswith(("task", "classes"))))
    back = jaxviz.load(folder)
    assert back.task == "binary" and np.array_equal(back.metrics["loss"], run.metrics["loss"])
    toml.write_text(toml.read_text().replace("n3 = 0", "n3 = 4"))  # an edit is still refused
    with pytest.raises(ValueError, match="Got an edited config instead"):
        jaxviz.load(folder)
