"""Scale: the memory plan splits what does not fit, refuses what cannot, and the model axis
is sharded over every device with the same results."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import jaxviz


def assert_same_run(a, b, atol=0.0):
    for k in a.metrics:
        np.testing.assert_allclose(a.metrics[k], b.metrics[k], atol=atol, rtol=0)
    for x, y in zip(a._weights, b._weights):
        np.testing.assert_allclose(x, y, atol=atol, rtol=0)
    np.testing.assert_allclose(a.surfaces.astype(np.float32), b.surfaces.astype(np.float32), atol=atol, rtol=0)


def test_a_grid_too_large_for_memory_is_split_with_the_same_results():
    grid = dict(lr=[0.01, 0.05, 0.1, 0.3, 0.6], momentum=[0.0, 0.5, 0.9, 0.95, 0.99], seed=[0, 1, 2], epochs=3,
                resolution=8, frames=2, progress=False)  # 75 models: three blocks of 32
    whole = jaxviz.sweep(**grid)
    p = whole.plan
    assert (p.n_chunks, p.chunk, p.block) == (1, 96, 32)
    # room for two blocks at a time: two chunks of 64, one after another
    split = jaxviz.sweep(**grid, memory=p.fixed + p.results + 64 * p.per_model + 1)
    assert (split.plan.n_chunks, split.plan.chunk) == (2, 64)
    assert "2 chunks of 64" in split.plan.describe()
    assert_same_run(split, whole)


def test_what_cannot_fit_is_refused_before_compiling_with_the_figure():
    with pytest.raises(ValueError, match=r"resolution must leave room for the smallest step.*GB.*lower resolution or frames"):
        jaxviz.sweep(resolution=8192, memory="2GB", progress=False)
    with pytest.raises(ValueError, match=r"the grid must fit in memory: its results need .*MB.*Got 200 models"):
        jaxviz.plan_sweep(lr=[0.01 * k for k in range(1, 21)], seed=list(range(10)), resolution=8, memory="6MB")
    with pytest.raises(ValueError, match="memory must be a positive number of bytes"):
        jaxviz.sweep(memory="lots")


def test_progress_reports_model_epochs_per_second(capsys):
    jaxviz.sweep({"lr": [0.01, 0.1, 0.5], "momentum": [0.0, 0.9]}, epochs=6, resolution=16)
    err = capsys.readouterr().err
    assert "model-epochs/s" in err and "/36" in err  # 6 models x 6 epochs


FOUR_DEVICES = textwrap.dedent("""
    import jax, numpy as np, jaxviz
    assert len(jax.devices()) == 4, jax.devices()
    grid = dict(lr=[0.01, 0.05, 0.1, 0.3, 0.6], momentum=[0.0, 0.5, 0.9, 0.99], seed=list(range(15)), epochs=3,
                resolution=8, frames=2, progress=False)  # 300 models
    one = jaxviz.sweep(**grid, devices=jax.devices()[:1])
    four = jaxviz.sweep(**grid)
    p = four.plan
    split = jaxviz.sweep(**grid, memory=p.fixed + p.results + 256 * p.per_model + 1)  # 2 blocks per device per call
    print(one.plan.chunk, p.devices, p.chunk, split.plan.n_chunks, split.plan.chunk)
    for run in (four, split):
        d = [np.nanmax(np.abs(run.metrics[k] - one.metrics[k])) for k in one.metrics]
        d += [np.abs(x - y).max() for x, y in zip(run._weights, one._weights)]
        d += [np.abs(run.surfaces.astype(np.float32) - one.surfaces).max()]
        print(max(d))
""")


@pytest.mark.slow
def test_the_model_axis_sharded_over_four_devices_equals_one_device():
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", FOUR_DEVICES], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    layout, *diffs = out.stdout.split("\n")[:3]
    # 300 models: 10 blocks of 32 on one device; 4 devices x 3 blocks; split: 2 calls of 4 x 2 blocks
    assert layout.split() == ["320", "4", "384", "2", "256"]
    assert all(float(d) == 0.0 for d in diffs), diffs  # the same arithmetic, bit for bit
