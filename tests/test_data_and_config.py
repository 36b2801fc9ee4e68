"""Dataset recipes and the validation of every hyperparameter and option."""

import subprocess
import sys

import numpy as np
import pytest
from sklearn.datasets import make_moons
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

import jaxviz
from jaxviz.spec.config import check_frames, check_resolution, validate_hp
from jaxviz.data import load_dataset, raw_dataset
from jaxviz.data.prepare import SEED_SETS, _prepare, write_seed_sets


@pytest.mark.parametrize("name,number,n", [("moons", 1, 100), ("circles", 2, 100), ("blobs", 3, 100), ("tricky", 4, 200)])
def test_datasets_by_name_and_number(name, number, n):
    a, b = load_dataset(name), load_dataset(number)
    assert a.name == b.name == name
    assert len(a.y_train) == int(n * 0.6) and len(a.y_test) == int(n * 0.4)
    X = np.concatenate([a.x_train, a.x_test])
    np.testing.assert_allclose(X.mean(0), 0, atol=1e-5)  # standardised on the whole set
    np.testing.assert_allclose(X.std(0), 1, atol=1e-4)
    assert set(np.unique(a.y_train)) == {0.0, 1.0}
    x0, x1, y0, y1 = a.extent
    assert x0 == pytest.approx(X[:, 0].min() - 0.5, abs=1e-5) and y1 == pytest.approx(X[:, 1].max() + 0.5, abs=1e-5)


def test_moons_is_the_seed_recipe_exactly():
    X, y = make_moons(noise=0.1, random_state=42)
    X = StandardScaler().fit_transform(X)
    x_train, x_test, y_train, y_test = train_test_split(X, y, test_size=0.4, random_state=42)
    ds = load_dataset("moons")
    np.testing.assert_allclose(ds.x_train, x_train, rtol=1e-6)
    np.testing.assert_array_equal(ds.y_test, y_test)


def test_the_shipped_seed_sets_are_a_fresh_preparation_bit_for_bit(tmp_path):
    shipped = {name: load_dataset(name) for name in ("moons", "circles", "blobs", "tricky")}
    fresh_file = write_seed_sets(tmp_path / "fresh.npz")  # scikit-learn's recipes, prepared here and now
    with np.load(fresh_file) as fresh, np.load(SEED_SETS) as stored:
        assert sorted(fresh.files) == sorted(stored.files)
        for key in fresh.files:
            assert fresh[key].dtype == stored[key].dtype and fresh[key].tobytes() == stored[key].tobytes(), key
    for name, ds in shipped.items():
        again = _prepare(name, *raw_dataset(name))
        assert ds.extent == again.extent and ds.name == name
        assert all(getattr(ds, k).tobytes() == getattr(again, k).tobytes() for k in ("x_train", "y_train", "x_test"))


def test_a_seed_dataset_loads_without_scikit_learn():
    code = "import sys; from jaxviz.data import load_dataset; load_dataset('circles'); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_tricky_concatenates_two_draws():
    X, y = raw_dataset("tricky")
    first, _ = __import__("sklearn.datasets").datasets.make_classification(
        n_classes=2, n_features=2, n_redundant=0, n_informative=2, random_state=1, n_clusters_per_class=2)
    assert X.shape == (200, 2) and set(y) == {0, 1}
    np.testing.assert_array_equal(X[:100], first)


@pytest.mark.parametrize(
    "hp,message",
    [
        ({"lr": -1}, r"lr must be a positive number. Got -1 instead."),
        ({"lr": "fast"}, r"lr must be a positive number. Got 'fast' instead."),
        ({"lr": float("nan")}, r"lr must be a positive number. Got nan instead."),
        ({"momentum": 1.5}, r"momentum must be a number in \[0, 1\]. Got 1.5 instead."),
        ({"decay": -0.1}, r"decay must be a number >= 0"),
        ({"kr": True}, r"kr must be a number >= 0. Got True instead."),
        ({"epochs": 0}, r"epochs must be an integer in \[1, 100000\]. Got 0 instead."),
        ({"epochs": 2.5}, r"epochs must be an integer"),
        ({"patience": -1}, r"patience must be an integer >= 0"),
        ({"n1": -1}, r"n1 must be an integer in \[0, 1024\] \(0 = no layer\). Got -1 instead."),
        ({"n3": -2}, r"n3 must be an integer in \[0, 1024\] \(0 = no layer\)"),
        ({"activation": "gelu"}, r"activation must be one of \['relu', 'lrelu', 'sigmoid', 'tanh', 'linear'\]. Got 'gelu' instead."),
        ({"dataset": 5}, r"dataset must be one of \['moons', 'circles', 'blobs', 'tricky', 'xor', 'gauss', 'spiral', "
                         r"'ring', 'plane', 'multigauss', 'fractal', 'fractal-linear', 'fractal-single'\] "
                         r"\(or 1-4 for the seed's\). Got 5 instead."),
        ({"optimizer": "lbfgs"}, r"optimizer must be one of \['sgd', 'adam', 'rmsprop', 'adagrad'\] \(Keras-exact\) "
                                 r"or 'optax:NAME' with NAME one of \['adabelief', .*'yogi'\]. Got 'lbfgs' instead."),
        ({"noise": 2}, r"noise must be a number in \[0, 1\]. Got 2 instead."),
        ({"batch_size": 0}, r"batch_size must be an integer"),
        ({"seed": -3}, r"seed must be an integer in \[0, 2\*\*31 - 1\]"),
        ({"shuffle": "maybe"}, r"shuffle must be true or false. Got 'maybe' instead."),
        ({"lrr": 0.1}, r"Unknown hyperparameter 'lrr'. Did you mean 'lr'\?"),
        ({"momentun": 0.1}, r"Did you mean 'momentum'\?"),
        ({"lr": []}, r"lr must be a value or a non-empty list of values. Got \[\] instead."),
        ({"lr": [0.1, 0.1]}, r"lr must be a list of distinct values"),
        ({"lr": [[0.1]]}, r"lr must be a flat list of values"),
    ],
)
def test_bad_hyperparameters_are_refused_with_one_clear_message(hp, message):
    with pytest.raises(ValueError, match=message):
        validate_hp(hp)
    with pytest.raises(ValueError, match=message):  # and sweep refuses before compiling anything
        jaxviz.sweep(hp, progress=False)


def test_canonical_values():
    hp = validate_hp({"dataset": 3, "epochs": 10.0, "shuffle": "false", "activation": "ReLU", "momentum": 0})
    assert hp == {"dataset": "blobs", "epochs": 10, "shuffle": False, "activation": "relu", "momentum": 0.0}


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: check_resolution(1), r"resolution must be an integer in \[2, 16384\]. Got 1 instead."),
        (lambda: check_frames(0, 10), r"frames must be an integer in \[2, epochs \+ 1 = 11\]. Got 0 instead."),
        (lambda: check_frames(12, 10), r"Got 12 instead"),
        (lambda: jaxviz.sweep(resolution="big", progress=False), r"resolution must be an integer"),
    ],
)
def test_bad_options_are_refused(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_presets_are_valid_and_cover_the_seed():
    names = {"default", "change", "explode", "momentum-off", "momentum-on", "momentum-off-long",
             "overfitting", "lesson-explode", "lesson-momentum", "lesson-overfitting"}
    assert names <= set(jaxviz.PRESETS)
    for name, hp in jaxviz.PRESETS.items():
        validate_hp(hp)
        assert jaxviz.PRESET_INFO[name]
    assert jaxviz.PRESETS["explode"]["lr"] == 0.5 and jaxviz.PRESETS["overfitting"]["n3"] == 50
