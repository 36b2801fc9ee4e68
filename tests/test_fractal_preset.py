"""preset="fractal": the fractal paper's map through jaxviz's engine equals its notebook's code.

The notebook's code (benchmarks/fractal_notebook.py) needs global x64 and
``jax_threefry_partitionable=False``, so it runs in a subprocess.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
from jaxviz.data import load_dataset
from jaxviz.data.fractal import DRAWS, fractal_draws
from jaxviz.engine.model import init_params, params_to_arrays
from jaxviz.engine.precision import precision_scope, real_dtype
from jaxviz.spec.grid import make_grid
from jaxviz.spec.presets import PRESETS

ROOT = Path(__file__).resolve().parent.parent
WINDOW = [0.0, 3.0, 0.0, 3.0]  # log10 lr: output min, max, input min, max; holds the boundary
SIDE, STEPS = 12, 40


def _notebook(code: str, tmp_path) -> dict:
    """Run ``code`` after importing the notebook's module in a fresh process; it fills ``out`` (a dict)."""
    script = (f"import sys, numpy as np; sys.path.insert(0, {str(ROOT / 'benchmarks')!r})\n"
              f"import fractal_notebook as nb\nout = {{}}\n{code}\nnp.savez({str(tmp_path / 'nb.npz')!r}, **out)\n")
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    env.pop("XLA_FLAGS", None)
    subprocess.run([sys.executable, "-c", script], check=True, env=env, cwd=ROOT, timeout=600)
    with np.load(tmp_path / "nb.npz") as f:
        return {k: f[k] for k in f.files}


@pytest.mark.slow
def test_the_stored_draws_are_the_notebooks_bit_for_bit(tmp_path):
    theirs = _notebook("out.update(nb.draws())", tmp_path)
    ours = fractal_draws()
    assert sorted(theirs) == sorted(ours)
    for k in ours:
        assert ours[k].dtype == np.float64 and theirs[k].dtype == np.float64
        assert np.array_equal(ours[k], theirs[k]), k
    assert DRAWS.is_file()


def test_datasets_are_the_raw_draws():
    d = fractal_draws()
    for name, suffix, n in (("fractal", "", 272), ("fractal-linear", "16", 16), ("fractal-single", "1", 1)):
        ds = load_dataset(name)
        assert ds.x_train.shape == (n, 16) and ds.x_train.dtype == np.float64
        assert np.array_equal(ds.x_train, d["X" + suffix]) and np.array_equal(ds.y_train, d["Y" + suffix][:, 0])
        assert np.array_equal(ds.x_test, ds.x_train[:1])  # no test split: one point keeps val_loss cheap
    # the notebook's first W0 entries under threefry_partitionable=False (docs/design/fractal-paper.md)
    assert np.round(d["W0"][0, :3], 3).tolist() == [1.802, 0.592, 2.012]


def test_init_fractal_gives_every_model_the_notebooks_weights():
    d = fractal_draws()
    with jax.enable_x64(True):
        for seed in (0, 7):
            p = init_params(jax.random.key(seed), jnp.array([16, 0, 0]), 16, 1, ("tanh",), inputs=16, n_inputs=16,
                            init=2, dtype=jnp.float64, paper=True)
            kernel, bias, out, out_bias = (np.asarray(a) for a in params_to_arrays(p))
            assert kernel.dtype == np.float64
            assert np.array_equal(kernel, d["W0"]) and np.array_equal(out, d["W1"])
            assert not bias.any() and not out_bias.any()


def test_float32_stays_the_default():
    g = make_grid(lr=[0.1, 0.5])
    static = g.static([60])
    assert static.precision == "float32" and not static.paper_init and static.raw_inputs == 0
    assert real_dtype(static) is jnp.float32 and g.hparams([60]).lr.dtype == np.float32
    with precision_scope(static):
        assert not jax.config.jax_enable_x64
    g64 = make_grid(jaxviz.preset("fractal"))
    s64 = g64.static([272])
    assert (s64.precision, s64.paper_init, s64.raw_inputs, s64.inputs, s64.hidden) == ("float64", True, 16, 16, 16)
    assert g64.hparams([272]).layer_lr.dtype == np.float64


@pytest.mark.parametrize("hp, message", [
    ({"init": "fractal"}, "init must be 'glorot' or 'normal' unless the dataset is one of"),
    ({"dataset": ["fractal", "plane"]}, "dataset must be all fractal sets or none within one grid"),
    ({"dataset": "fractal", "init": "fractal", "n1": 8}, "init must be used with n1=16, n2=0, n3=0"),
    ({"precision": "float16"}, "precision must be one of ['float32', 'float64']. Got 'float16' instead."),
    ({"precision": ["float32", "float64"]}, "precision must be one value within a grid."),
])
def test_refusals(hp, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")):
        make_grid(hp).static([60])


def test_the_presets_are_the_notebooks_setup():
    base = PRESETS["fractal"]
    assert {k: base[k] for k in ("activation", "n1", "n2", "bias", "init", "parametrization", "task", "momentum",
                                 "batch_size", "shuffle", "precision", "epochs", "dataset")} == {
        "activation": "tanh", "n1": 16, "n2": 0, "bias": False, "init": "fractal", "parametrization": "meanfield",
        "task": "regression", "momentum": 0.0, "batch_size": 272, "shuffle": False, "precision": "float64",
        "epochs": 200, "dataset": "fractal"}
    assert PRESETS["fractal-relu"]["activation"] == "relu"
    assert (PRESETS["fractal-linear"]["activation"], PRESETS["fractal-linear"]["dataset"]) == ("linear", "fractal-linear")
    assert PRESETS["fractal-minibatch"]["batch_size"] == 16 and PRESETS["fractal-minibatch"]["shuffle"]
    assert PRESETS["fractal-single"]["dataset"] == "fractal-single"
    for name in ("fractal", "fractal-relu", "fractal-linear", "fractal-minibatch", "fractal-single"):
        static = make_grid(PRESETS[name]).static([len(load_dataset(PRESETS[name]["dataset"]).y_train)])
        assert static.task == "regression" and static.steps == (17 if name == "fractal-minibatch" else 1)


@pytest.fixture(scope="module")
def maps(tmp_path_factory):
    """jaxviz's map and the notebook's of the same SIDE x SIDE window, STEPS steps."""
    tmp = tmp_path_factory.mktemp("fractal")
    ours = jaxviz.trainability(preset="fractal", lr1=jaxviz.logspace(WINDOW[2], WINDOW[3], SIDE),
                               lr2=jaxviz.logspace(WINDOW[0], WINDOW[1], SIDE), epochs=STEPS, progress=False)
    theirs = _notebook(f"out['score'] = nb.gen_img({WINDOW}, {SIDE}, {STEPS})", tmp)["score"]
    return ours, theirs


@pytest.mark.slow
def test_the_map_equals_the_notebooks(maps):
    ours, theirs = maps
    assert ours.score.dtype == np.float64 and ours.score.shape == theirs.shape == (SIDE, SIDE)
    assert 0.2 < ours.converged.mean() < 0.9  # the window holds the boundary
    assert np.array_equal(ours.converged, theirs < 0)  # sign equal at every pixel
    # away from the boundary (a 3 x 3 neighbourhood of one sign) the score itself agrees: to rounding
    # (1e-15) in most pixels; near the boundary's chaotic edge a last-bit difference (XLA sums a
    # block of 32 models in another order than 16k at once) grows, to 1e-3 at most here
    s = np.pad(np.sign(theirs), 1, mode="edge")
    same = np.all([s[1 + dy:1 + dy + SIDE, 1 + dx:1 + dx + SIDE] == np.sign(theirs)
                   for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
    assert same.mean() > 0.5
    rel = np.abs(ours.score - theirs)[same] / np.abs(theirs[same])
    assert np.quantile(rel, 0.75) < 1e-12 and rel.max() < 1e-2
    # the History loss of the last epoch is the notebook's loss before its last step (full batch)
    assert np.isfinite(ours.final["loss"][ours.converged]).all()


@pytest.mark.slow
def test_cli_map_with_the_preset(tmp_path):
    out = tmp_path / "m"
    cmd = [sys.executable, "-m", "jaxviz.cli", "map", "--preset", "fractal", "--grid", "lr1=1..1000:3log", "--grid",
           "lr2=1..1000:3log", "--set", "epochs=25", "--out", str(out)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600,
                          env={**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    with np.load(out / "map.npz") as f:
        assert f["score"].shape == (3, 3) and f["x_values"].tolist()[-1] == 1000.0
    assert "precision" in (out / "config.toml").read_text() and json.dumps(1)


@pytest.mark.slow
@pytest.mark.parametrize("preset, nonlinearity", [("fractal-relu", "relu"), ("fractal-linear", "identity")])
def test_the_variants_equal_the_notebooks(preset, nonlinearity, tmp_path):
    axis = jaxviz.logspace(-1, 2, 6)
    ours = jaxviz.trainability(preset=preset, lr1=axis, lr2=axis, epochs=30, progress=False)
    theirs = _notebook(f"out['score'] = nb.gen_img([-1, 2, -1, 2], 6, 30, {nonlinearity!r})", tmp_path)["score"]
    assert 0 < ours.converged.mean() < 1
    assert np.array_equal(ours.converged, theirs < 0)
    np.testing.assert_allclose(ours.score, theirs, rtol=1e-9)


def test_a_run_gives_the_16_d_weights_after_the_notebooks_step():
    """Run.weights of a paper-preset model: the 16-16-1 net's kernels (not cut to 2 inputs), equal to
    one full-batch gradient step of the notebook's net written out in NumPy, to rounding."""
    d = fractal_draws()
    run = jaxviz.sweep(jaxviz.preset("fractal"), lr1=[3.0, 0.5], lr2=[5.0], epochs=1, record="final", progress=False)
    w0, w1 = run.weights(0, 1)
    assert w0.shape == (16, 16) and w1.shape == (16, 1) and w0.dtype == np.float64
    assert [w.shape for w in run.weights(1, 0)] == [(16, 16), (16, 1)]
    x, y, k0, k1 = d["X"], d["Y"], d["W0"], d["W1"]
    h = np.tanh(np.sqrt(2) * (x @ k0 / 4))  # mean field: / sqrt(fan_in), tanh(sqrt(2) z), output / sqrt(16) twice
    dout = 2 * (h @ k1 / 16 - y) / len(y)
    dk1 = h.T @ dout / 16
    dk0 = x.T @ ((dout @ k1.T / 16) * np.sqrt(2) * (1 - h ** 2)) / 4
    np.testing.assert_allclose(w0, k0 - 3.0 * dk0, rtol=0, atol=1e-12)
    np.testing.assert_allclose(w1, k1 - 5.0 * dk1, rtol=0, atol=1e-12)
