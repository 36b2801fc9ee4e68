"""Grids: expansion, validation, and each model equal to the same config trained alone."""

import numpy as np
import pytest

import jaxviz
from jaxviz.grid import make_grid
from jaxviz.train import METRICS


def test_product_order_and_axes():
    g = make_grid({"lr": [0.1, 0.5], "momentum": [0.0, 0.9]}, seed=[1, 2], epochs=3)
    assert g.axes == {"lr": [0.1, 0.5], "momentum": [0.0, 0.9], "seed": [1, 2]}
    combos = [(c["lr"], c["momentum"], c["seed"]) for c in g.configs]
    assert combos[:3] == [(0.1, 0.0, 1), (0.1, 0.0, 2), (0.1, 0.9, 1)]  # first axis slowest
    assert len(combos) == 8 and all(c["epochs"] == 3 for c in g.configs)
    assert "lr" not in g.fixed and g.fixed["epochs"] == 3


def test_structural_lists_are_refused_for_now():
    with pytest.raises(ValueError, match=r"n1 must be one value within a grid .* Got \[2, 10\] instead"):
        make_grid(n1=[2, 10])
    assert make_grid(dataset=[2]).static.dataset == "circles"  # a one-value list is that value


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
    from jaxviz.train import train_grid

    jaxviz.sweep(lr=[0.1, 0.2], momentum=0.5, epochs=3, resolution=4, progress=False)
    before = train_grid._cache_size()
    jaxviz.sweep(lr=[0.3, 0.4], momentum=0.7, seed=5, epochs=3, resolution=4, progress=False)
    assert train_grid._cache_size() == before
