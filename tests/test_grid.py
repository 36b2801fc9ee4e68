"""Grids: expansion, validation, and each model equal to the same config trained alone."""

import numpy as np
import pytest

import jaxviz
from jaxviz.spec.grid import make_grid
from jaxviz.engine.train import METRICS


def test_product_order_and_axes():
    g = make_grid({"lr": [0.1, 0.5], "momentum": [0.0, 0.9]}, seed=[1, 2], epochs=3)
    assert g.axes == {"lr": [0.1, 0.5], "momentum": [0.0, 0.9], "seed": [1, 2]}
    combos = [(c["lr"], c["momentum"], c["seed"]) for c in g.configs]
    assert combos[:3] == [(0.1, 0.0, 1), (0.1, 0.0, 2), (0.1, 0.9, 1)]  # first axis slowest
    assert len(combos) == 8 and all(c["epochs"] == 3 for c in g.configs)
    assert "lr" not in g.fixed and g.fixed["epochs"] == 3


def test_grid_wide_settings_are_one_value():
    with pytest.raises(ValueError, match=r"shuffle must be one value within a grid. Got \[True, False\] instead."):
        make_grid(shuffle=[True, False])
    assert make_grid(dataset=[2]).configs[0]["dataset"] == "circles"  # a one-value list is an axis of one


STRUCTURAL = {"n1": [2, 10], "n2": [0, 5], "n3": [0, 3], "activation": ["relu", "tanh"],
              "dataset": ["moons", "tricky"], "batch_size": [10, 32], "epochs": [4, 7],
              "optimizer": ["sgd", "adam"]}


@pytest.fixture(scope="module")
def structural_run():
    """Every structural axis at once: 256 models of different shapes in one program."""
    return jaxviz.sweep(STRUCTURAL, lr=0.05, resolution=8, progress=False)


# one model per row, chosen so that every value of every axis occurs (and n2 = 0 with n3 > 0)
PICKS = [0, 37, 74, 111, 148, 185, 222, 255, 90, 165]


@pytest.mark.parametrize("i", PICKS)
def test_structural_grid_model_equals_its_unpadded_solo_run(structural_run, i):
    grid = structural_run
    config = grid.configs[i]
    solo = jaxviz.sweep(config, resolution=8, progress=False)
    e = config["epochs"]
    for key in METRICS:
        np.testing.assert_allclose(grid.metrics[key][i, :e], solo.metrics[key][0], atol=1e-5, rtol=0, err_msg=key)
    assert np.isnan(grid.metrics["loss"][i, e:]).all()  # no metrics past the model's own epochs
    for epoch in range(e + 1):
        ours, alone = grid.weights(i, epoch), solo.weights(0, epoch)
        assert [w.shape for w in ours] == [w.shape for w in alone]
        for a, b in zip(ours, alone):
            np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    np.testing.assert_allclose(grid.surfaces[i, : e + 1].astype(np.float32), solo.surfaces[0].astype(np.float32), atol=2e-3)
    # after its last epoch a model is frozen: its last frames repeat its final surface
    assert (grid.surfaces[i, e:] == grid.surfaces[i, e]).all()


def test_picks_cover_every_axis_value(structural_run):
    for key, values in STRUCTURAL.items():
        assert {structural_run.configs[i][key] for i in PICKS} == set(values), key
    assert any(structural_run.configs[i]["n2"] == 0 and structural_run.configs[i]["n3"] > 0 for i in PICKS)


def test_each_model_equals_its_solo_run():
    hp = {"lr": [0.03, 0.3], "momentum": [0.0, 0.9], "seed": [0, 7], "epochs": 30}
    grid = jaxviz.sweep(hp, resolution=4, progress=False)
    for i, config in enumerate(grid.configs):
        solo = jaxviz.sweep(config, resolution=4, progress=False)
        for key in METRICS:
            np.testing.assert_allclose(grid.metrics[key][i], solo.metrics[key][0], atol=1e-5, rtol=0, err_msg=key)
        for epoch in (0, 15, 30):
            for a, b in zip(grid.weights(i, epoch), solo.weights(0, epoch)):
                np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
        np.testing.assert_allclose(grid.surfaces[i].astype(np.float32), solo.surfaces[0].astype(np.float32), atol=2e-3)


def test_start_and_batches_depend_on_seed_alone(tiny_run):
    # models differing only in lr / momentum start from the same weights
    first = tiny_run.weights(0, 0)
    for i in range(1, len(tiny_run.configs)):
        for a, b in zip(first, tiny_run.weights(i, 0)):
            np.testing.assert_array_equal(a, b)
    other = jaxviz.sweep({"lr": [0.01, 0.1, 0.5], "momentum": [0.0, 0.9]}, epochs=6, resolution=16,
                         seed=1, progress=False)
    assert not np.array_equal(other.weights(0, 0)[0], first[0])


def test_new_values_reuse_the_compiled_program():
    from jaxviz.engine.programs import BUILT  # executables built (compiled, or loaded from the cache)

    jaxviz.sweep(lr=[0.1, 0.2], momentum=0.5, epochs=3, resolution=4, progress=False)
    before = BUILT["run_epochs"]
    jaxviz.sweep(lr=[0.3, 0.4], momentum=0.7, seed=5, epochs=3, resolution=4, progress=False)
    assert BUILT["run_epochs"] == before > 0
    # a structural grid of the same shape with other values (widths under the same maximum)
    jaxviz.sweep(n1=[4, 6], activation="tanh", epochs=3, resolution=4, progress=False)
    after = BUILT["run_epochs"]
    jaxviz.sweep(n1=[6, 5], activation="tanh", epochs=3, lr=0.3, seed=9, resolution=4, progress=False)
    assert BUILT["run_epochs"] == after
