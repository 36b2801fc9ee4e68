"""Big data is planned, not refused by mistake: the data count once, the work per batch, and a
refusal names the real cause and a knob that helps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
from jaxviz.data import dataset_from_arrays, pack
from jaxviz.engine import steps
from jaxviz.engine.model import init_params, structure
from jaxviz.spec.grid import make_grid


@pytest.fixture(scope="module")
def million():
    """A 1,000,000-row two-class dataset."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1_000_000, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(np.int64)


def test_a_million_rows_with_one_model_fit_in_bounded_memory(million):
    p = jaxviz.plan_sweep(data=million, epochs=1, memory="2GB")
    need = p.results + p.fixed + p.per_model * p.chunk
    assert p.n_models == 2 and not p.split and need < 2e9  # was refused: "... 25.7 GB"
    assert need < 200e6  # the data (1M rows, stored once) and one step's work
    p8 = jaxviz.plan_sweep(data=million, epochs=1, memory="2GB", lr=[0.01 * k for k in range(1, 9)])
    assert p8.fixed == p.fixed  # more models share the same data


def test_a_refusal_blames_memory_unless_resolution_would_help(million):
    for memory in (1000, "1KB"):
        with pytest.raises(ValueError, match=r"^memory must hold the smallest step of the run: .* give more memory"):
            jaxviz.plan_sweep(lr=[0.1, 0.5], memory=memory)
    with pytest.raises(ValueError, match=r"memory must .* for the data \(stored once\).*use fewer data rows"):
        jaxviz.plan_sweep(data=million, epochs=1, memory="20MB")
    with pytest.raises(ValueError, match=r"resolution must leave room for the smallest step.*lower resolution or frames"):
        jaxviz.plan_sweep(resolution=8192, memory="2GB")


def test_a_large_test_set_is_evaluated_in_pieces_with_the_same_sums():
    rng = np.random.default_rng(1)
    n = 3 * steps.TEST_CHUNK + 123  # four pieces, the last one partly padding
    X = rng.normal(size=(n, 2)).astype(np.float32)
    y = (X[:, 0] > X[:, 1]).astype(np.float32)
    table = jax.tree.map(jnp.asarray, pack([dataset_from_arrays((X[:100], y[:100], X, y))]))
    assert table.x_test.shape[1] > steps.TEST_CHUNK
    static = make_grid(n2=0).static([100])
    widths = jnp.array([10, 0, 0])
    params = init_params(jax.random.key(3), widths, static.hidden, static.slots, static.activations)
    s = structure(widths, 0, static.slots, static.hidden)
    loss, correct = jax.jit(lambda p: steps.evaluate(p, s, table, 0, jnp.float32(0.01), static))(params)
    m = table.x_test.shape[1]
    weight = (jnp.arange(m) < table.n_test[0]).astype(jnp.float32)
    whole_loss, whole_correct = steps.loss_fn(params, s, table.x_test[0], table.y_test[0], weight, jnp.float32(0.01),
                                               static)
    np.testing.assert_allclose(float(loss), float(whole_loss), rtol=1e-6)
    assert float(correct) == float(whole_correct)  # counts are exact


def test_a_test_set_larger_than_one_piece_trains():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(steps.TEST_CHUNK + 500, 2))
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    run = jaxviz.sweep(data=(X[:200], y[:200], X, y), lr=[0.05, 0.2], epochs=2, resolution=8, progress=False)
    assert np.isfinite(run.metrics["val_loss"]).all() and (run.metrics["val_accuracy"] > 0.6).all()
