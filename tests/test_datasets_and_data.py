"""Playground's datasets and the user's own data."""

import numpy as np
import pytest

import jaxviz
from jaxviz.data import dataset_from_arrays, load_dataset, playground_dataset


@pytest.mark.parametrize("name", ["xor", "gauss", "spiral", "ring"])
def test_playground_sets_have_playground_size_and_are_deterministic_by_seed(name):
    X, y = playground_dataset(name, noise=0.1, seed=3)
    assert X.shape == (500, 2) and set(np.unique(y)) == {0, 1}
    X2, y2 = playground_dataset(name, noise=0.1, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = playground_dataset(name, noise=0.1, seed=4)
    assert not np.array_equal(X, X3)
    ds = load_dataset(name, 0.1, 3)
    assert ds.x_train.shape == (300, 2) and ds.x_test.shape == (200, 2)  # the seed's 60/40 split


def test_playground_geometry_without_noise():
    X, y = playground_dataset("xor", noise=0.0, seed=0)
    assert ((X[:, 0] * X[:, 1] >= 0) == (y == 1)).all() and (np.abs(X) >= 0.3).all()
    X, y = playground_dataset("ring", noise=0.0, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    assert (r[y == 1] <= 2.5).all() and (r[y == 0] >= 3.5).all()
    X, y = playground_dataset("gauss", noise=0.0, seed=0)
    np.testing.assert_allclose(X[y == 1].mean(0), [2, 2], atol=0.2)
    X, y = playground_dataset("spiral", noise=0.0, seed=0)
    np.testing.assert_allclose(np.hypot(X[:, 0], X[:, 1]).max(), 5 * 249 / 250, rtol=1e-9)


def test_noise_moves_labels_across_the_boundary():
    X, y = playground_dataset("xor", noise=0.5, seed=0)
    assert ((X[:, 0] * X[:, 1] >= 0) != (y == 1)).mean() > 0.05


def test_playground_grid_renders_each_dataset_in_its_tile(tmp_path):
    run = jaxviz.sweep(dataset=["xor", "spiral"], noise=[0.0, 0.3], epochs=2, resolution=8, progress=False)
    assert len(run.datasets) == 4
    # Playground's xor noise moves labels, not points: same points, other labels
    np.testing.assert_array_equal(run.data_of(0).x_train, run.data_of(1).x_train)
    assert not np.array_equal(run.data_of(0).y_train, run.data_of(1).y_train)
    assert run.data_of(3).name == "spiral"
    fig = run.figure(-1)
    tiles = [ax for ax in fig.axes if ax.get_images()]
    assert len(tiles) == 4
    assert {"dataset = xor", "dataset = spiral", "noise = 0", "noise = 0.3"} <= {t.get_text() for t in fig.texts}
    assert tiles[3].get_xlim() == pytest.approx(run.data_of(3).extent[:2])
    from PIL import Image

    gif = Image.open(run.animate(tmp_path / "p.gif"))
    assert gif.n_frames == len(run.frame_epochs)
    gif.seek(gif.n_frames - 1)
    frame = np.asarray(gif.convert("RGB"))
    assert frame.shape == (720, 1280, 3) and (frame.std(axis=(0, 1)) > 10).all()  # a drawn picture, not blank


def test_user_arrays_with_and_without_a_split():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(50, 2))
    y = (X[:, 0] > 0).astype(int)
    run = jaxviz.sweep(lr=[0.05, 0.5], epochs=3, resolution=8, progress=False, data=(X, y))
    assert run.dataset.x_train.shape == (30, 2) and run.configs[0]["dataset"] == "custom"
    run = jaxviz.sweep(epochs=3, resolution=8, progress=False, data=(X[:40], y[:40], X[40:], y[40:]))
    assert run.dataset.x_test.shape == (10, 2)
    np.testing.assert_allclose(np.concatenate([run.dataset.x_train, run.dataset.x_test]).mean(0), 0, atol=1e-6)


@pytest.mark.parametrize(
    "data,message",
    [
        ((np.zeros((6, 3)), [0, 1] * 3), r"X must have exactly 2 feature columns, shape \(n, 2\). Got shape \(6, 3\)"),
        # three labels are a multi-class set now (issue 14); negative labels are no classes
        ((np.zeros((6, 2)), [0, 1, -1] * 2), r"class labels 0..k-1 \(or real targets with task='regression'\). "
                                              r"Got labels \[-1.0, 0.0, 1.0\]"),
        ((np.array([[0, 0], [1, np.inf], [2, 2], [3, 3]]), [0, 0, 1, 1]), r"finite numbers. Got \[1.0, inf\]"),
        ((np.zeros((4, 2)), [0, 0, 0, 1]), r"at least 2 points of each class. Got 3 of class 0 and 1 of class 1"),
        ((np.zeros((4, 2)), [0, 1]), r"y must be one label per point, shape \(4,\). Got shape \(2,\)"),
        ((np.zeros((4, 2)),), r"data must be \(X, y\) or \(X_train, y_train, X_test, y_test\)"),
    ],
)
def test_bad_user_data_is_refused_before_training(data, message):
    with pytest.raises(ValueError, match=message):
        dataset_from_arrays(data)
    with pytest.raises(ValueError, match=message):
        jaxviz.sweep(progress=False, data=data)


def test_data_and_dataset_together_are_refused():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], float)
    with pytest.raises(ValueError, match="dataset must not be given together with data="):
        jaxviz.sweep(dataset="moons", data=(X, [0, 0, 1, 1]), progress=False)
