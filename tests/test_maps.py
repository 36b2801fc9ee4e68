"""Trainability maps (issue 13): the on-the-fly score against the notebook's measure on a full
history, the map's pictures, files, zoom, boundary dimension, replay and CLI."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import jaxviz
from jaxviz.cli import main
from jaxviz.fractal import boundary_dimension, boxcount, extract_edges

LR = jaxviz.logspace(-2, float(np.log10(50.0)), 4)  # x: 0.01 .. 50 (50 diverges)
MOMENTUM = jaxviz.linspace(0.0, 0.9, 3)  # y
EPOCHS = 3


def notebook_measure(v: np.ndarray, max_val: float = 1e6) -> np.ndarray:
    """The notebook's convergence_measure in NumPy, one curve per row (where(), not v * isfinite:
    NumPy's inf * 0 is NaN)."""
    v = np.where(np.isfinite(v), v, max_val).astype(np.float64)
    v = v / v[:, :1]
    v = np.where(v > max_val, max_val, v)
    converged = v[:, -20:].mean(axis=1) < 1
    return np.where(converged, -v.sum(axis=1), (1 / v).sum(axis=1)), converged


@pytest.fixture(scope="module")
def tmap():
    return jaxviz.trainability(lr=LR, momentum=MOMENTUM, epochs=EPOCHS, progress=False)


@pytest.fixture(scope="module")
def history():
    return jaxviz.sweep(lr=LR, momentum=MOMENTUM, epochs=EPOCHS, resolution=8, frames=2, progress=False)


def as_map(flat: np.ndarray) -> np.ndarray:
    """Grid order (x slowest) -> (ny, nx)."""
    return flat.reshape(len(LR), len(MOMENTUM)).T


def test_axes_helpers_and_range_syntax():
    assert jaxviz.logspace(-3, 1, 5) == [0.001, 0.01, 0.1, 1.0, 10.0]
    assert jaxviz.linspace(0, 0.99, 4) == [0.0, 0.33, 0.66, 0.99]
    assert jaxviz.api.parse_range("1e-3..10:512log") == jaxviz.logspace(-3, 1, 512)
    for bad in ("1..0:4", "0..1:1", "0..1:4lg", "a..1:3", "0..1log", "0..1:99999", "-1..1:3log"):
        with pytest.raises(ValueError, match="range must be LO..HI:N"):
            jaxviz.api.parse_range(bad)


@pytest.mark.parametrize("axes", [{"lr": LR}, {"lr": LR, "momentum": MOMENTUM, "kr": [0.0, 0.1]}, {}])
def test_exactly_two_axes_refused_before_compile(axes):
    with pytest.raises(ValueError, match=r"trainability axes must be exactly two hyperparameters"):
        jaxviz.trainability(axes, epochs=EPOCHS, progress=False)


def test_score_sign_is_converged_and_lr50_diverges(tmap):
    assert tmap.score.shape == tmap.converged.shape == (3, 4)
    assert ((tmap.score < 0) == tmap.converged).all()
    assert LR[-1] == 50.0 and (tmap.score[:, -1] > 0).all()
    assert tmap.converged[:, 0].all()


def test_score_equals_notebook_measure_of_the_full_history(tmap, history):
    score, converged = notebook_measure(history.metrics["loss"])
    np.testing.assert_allclose(tmap.score, as_map(score), rtol=1e-5)
    assert (tmap.converged == as_map(converged)).all()
    for k, v in history.metrics.items():  # the last epoch's metrics, NaN where a model diverged
        np.testing.assert_array_equal(tmap.final[k], as_map(v[:, -1]))


def test_running_measure_over_many_epochs_equals_the_notebook():
    """The ring of the last 20 wraps, NaN epochs count as 1e6, masked epochs are skipped."""
    import jax
    import jax.numpy as jnp

    from jaxviz.engine.score import convergence_init, convergence_score, convergence_update

    rng = np.random.default_rng(0)
    curves = np.exp(rng.normal(0, 0.5, size=(6, 45)).cumsum(axis=1) * 0.1).astype(np.float32)
    curves[1, 30:] = np.nan  # diverged
    curves[2] *= np.linspace(1, 0.01, 45, dtype=np.float32)  # converges
    curves[3, 0] = np.inf

    def run(curve):
        acc = convergence_init()
        for e, loss in enumerate(curve):
            acc = convergence_update(acc, jnp.float32(loss), True)
        acc = convergence_update(acc, jnp.float32(123.0), False)  # beyond the model's epochs: no change
        return convergence_score(acc)

    got = [run(c) for c in curves]
    want, converged = notebook_measure(curves)
    np.testing.assert_allclose([float(s) for s, _ in got], want, rtol=1e-5)
    assert [bool(c) for _, c in got] == converged.tolist()
    assert jax.numpy.isfinite(jnp.array([float(s) for s, _ in got])).all()


def test_figure_and_image(tmap):
    img = tmap.image()
    assert img.shape == (3, 4, 3) and img.dtype == np.uint8
    top_right, bottom_left = img[0, -1].astype(int), img[-1, 0].astype(int)  # lr=50 diverged; lr=0.01 converged
    assert top_right[0] > top_right[2] and bottom_left[2] > bottom_left[0]  # red vs blue (Spectral)
    fig = tmap.figure()
    ax = fig.axes[0]
    assert ax.get_xlabel() == "lr (log scale)" and ax.get_ylabel() == "momentum"
    assert ax.images[0].get_array().shape == (3, 4)
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert "0.1" in labels and "1" in labels  # real values on the log axis
    irregular = jaxviz.TrainabilityMap(tmap.score, tmap.converged, {}, {"lr": [0.01, 0.1, 1.0, 50.0],
                                       "momentum": MOMENTUM}, {}).figure()
    irregular.canvas.draw()
    assert "50" in [t.get_text() for t in irregular.axes[0].get_xticklabels()]


def test_save_and_load_round_trip(tmap, tmp_path):
    d = tmap.save(tmp_path / "m")
    assert sorted(p.name for p in d.iterdir()) == ["config.toml", "map.npz", "map.png"]
    back = jaxviz.load(d)
    assert isinstance(back, jaxviz.TrainabilityMap)
    assert back.axes == tmap.axes and back.x == "lr" and back.spacings == ("log", "linear")
    np.testing.assert_array_equal(back.score, tmap.score)
    np.testing.assert_array_equal(back.converged, tmap.converged)
    for k in tmap.final:
        np.testing.assert_array_equal(back.final[k], tmap.final[k])
    assert back.config(1, 2) == tmap.config(1, 2)
    (d / "map.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="map.npz"):
        jaxviz.load(d)


def test_replay_equals_the_pixel(tmap):
    ix, iy = 1, 2
    run = tmap.replay(ix, iy, resolution=8)
    assert run.surfaces.shape == (1, EPOCHS + 1, 8, 8)
    assert run.configs[0]["lr"] == LR[1] and run.configs[0]["momentum"] == MOMENTUM[2]
    for k, v in tmap.final.items():
        np.testing.assert_allclose(run.metrics[k][0, -1], v[iy, ix], atol=1e-6, rtol=0)
    with pytest.raises(ValueError, match=r"ix must be a pixel index in \[0, 3\]"):
        tmap.replay(4, 0)


def test_zoom_recomputes_each_level(tmap, tmp_path):
    z = tmap.zoom((0.1, 0.45), factor=2, steps=1, path=tmp_path / "z.gif", size=32, per_level=2, fps=5)
    assert z.path.is_file() and len(z.maps) == 2
    inner = z.maps[1]
    assert inner.score.shape == (3, 4)
    assert np.isclose(np.log10(inner.axes["lr"][-1] / inner.axes["lr"][0]), np.log10(50.0 / 0.01) / 2)
    assert np.isclose(np.mean(inner.axes["momentum"]), 0.45)
    with pytest.raises(ValueError, match="center must lie inside the map"):
        tmap.zoom((100.0, 0.5), steps=1, path=tmp_path / "y.gif")


def test_boundary_dimension_of_known_shapes():
    y, x = np.mgrid[:1024, :1024].astype(np.float64)
    assert abs(boundary_dimension(x - 300.5) - 1.0) < 0.1  # a straight boundary
    assert abs(boundary_dimension(x + y - 1000.5) - 1.0) < 0.1  # a diagonal one
    # the graph of a Weierstrass function sum a^n cos(b^n pi t): box dimension 2 + log(a) / log(b)
    t = np.arange(1024) / 1024
    a, b = 0.6, 3.0
    w = sum(a**n * np.cos(b**n * np.pi * t) for n in range(12))
    w = (w - w.min()) / (w.max() - w.min()) * 1000 + 12
    # theory 2 + log(a) / log(b) = 1.54; box counting at 1024 pixels reads it low (1.35 here)
    d = boundary_dimension(y - w[None, :] + 0.5)
    assert 1.25 < d < 2 + np.log(a) / np.log(b), d
    assert 1.9 < boundary_dimension(np.random.default_rng(0).normal(size=(1024, 1024))) < 2.1  # fills the plane
    assert extract_edges(np.ones((4, 4))).sum() == 0 and np.isnan(boundary_dimension(np.ones((4, 4))))
    bc = boxcount(extract_edges(x - 300.5))
    assert bc.size[0] == 10 and bc.size[-1] == 1023 and (np.diff(bc.count) <= 0).all()


def test_map_boundary_dimension_is_a_number(tmap):
    d = tmap.boundary_dimension()
    assert np.isnan(d) or 0 <= d <= 2


def test_cli_range_errors_exit_2(capsys):
    for argv in (["map", "--grid", "lr=1..0:4", "--grid", "momentum=0..0.9:3"],
                 ["run", "--grid", "lr=1e-3..10:0log"],
                 ["map", "--grid", "lr=1e-3..10:4log", "--set", "epochs=2"]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("jaxviz: error: ")


@pytest.mark.slow
def test_cli_map_writes_the_folder(tmp_path):
    out = tmp_path / "m"
    cmd = [sys.executable, "-m", "jaxviz.cli", "map", "--grid", "lr=1e-2..50:4log", "--grid", "momentum=0..0.9:3",
           "--set", "epochs=3", "--quiet", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900,
                          cwd=Path(__file__).resolve().parent.parent)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["config.toml", "map.npz", "map.png"]
    back = jaxviz.load(out)
    assert back.score.shape == (3, 4) and back.axes["lr"] == jaxviz.logspace(-2, np.log10(50), 4)
    assert back.score[0, -1] > 0  # lr=50 diverged


SHARDED = """
import jax, numpy as np, jaxviz
grid = dict(lr=jaxviz.logspace(-2, 1.7, 16), momentum=jaxviz.linspace(0, 0.95, 16), epochs=3, progress=False)
one = jaxviz.trainability(**grid, devices=jax.devices()[:1])
two = jaxviz.trainability(**grid)
p = two.plan
split = jaxviz.trainability(**grid, memory=p.fixed + p.results + 128 * p.per_model + 1)
print(p.devices, two.plan.n_chunks, split.plan.n_chunks, split.plan.chunk)
for m in (two, split):
    same = (m.score == one.score).all() and (m.converged == one.converged).all()
    same &= all(np.array_equal(m.final[k], one.final[k], equal_nan=True) for k in one.final)
    print(bool(same))
"""


@pytest.mark.slow
def test_map_sharded_over_two_devices_and_chunked_equals_one_device():
    import os

    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    out = subprocess.run([sys.executable, "-c", SHARDED], env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    layout, *same = out.stdout.split("\n")[:3]
    assert layout.split() == ["2", "1", "2", "128"]  # 256 models: one call on 2 devices; split: 2 calls of 128
    assert same == ["True", "True"]  # bit for bit
