"""Per-neuron maps: each unit's activation over the mesh, checked against NumPy, and the views."""

import numpy as np
import pytest

import jaxviz
from jaxviz.engine.surfaces import mesh
from jaxviz.views.neurons import NeuronFigure

ACT = {"lrelu": lambda z: np.where(z > 0, z, 0.3 * z), "tanh": np.tanh, "relu": lambda z: np.maximum(z, 0),
       "sigmoid": lambda z: 1 / (1 + np.exp(-z))}


@pytest.fixture(scope="module")
def shapes():
    """Widths 1 and 64 in the first layer, 0 (no layer) or a few units in the others: 1-3 layers."""
    return jaxviz.sweep(n1=[1, 64], n2=[0, 3], n3=[0, 2], activation=["lrelu", "tanh"], epochs=2, resolution=8,
                        progress=False)


def direct(run, i, epoch):
    """Every real unit's activation, layer by layer, and the output, in float64 NumPy from
    ``run.weights(i, epoch)``."""
    w = [np.asarray(a, np.float64) for a in run.weights(i, epoch)]
    h = mesh(run.data_of(i).extent, run.surfaces.shape[-1]).astype(np.float64)
    act, layers = ACT[run.configs[i]["activation"]], []
    for k in range(0, len(w) - 2, 2):
        h = act(h @ w[k] + w[k + 1])
        layers.append(h.T)  # (units, points)
    return layers, (1 / (1 + np.exp(-(h @ w[-2] + w[-1]))))[:, 0]


def test_each_unit_is_its_activation(shapes):
    run, res = shapes, shapes.surfaces.shape[-1]
    for i, c in enumerate(run.configs):
        widths = [n for n in (c["n1"], c["n2"], c["n3"]) if n]
        nf = NeuronFigure(run, i, [0, 1, 2])
        assert nf.widths == widths and len(nf.maps) == len(widths) in (1, 2, 3)
        for f, epoch in enumerate((0, 1, 2)):
            layers, out = direct(run, i, epoch)
            for maps, ref in zip(nf.maps, layers):
                got = maps[f].reshape(len(ref), res * res)
                # within 1e-6, relative where activations exceed 1 (float32 keeps ~7 digits)
                np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-6)
            np.testing.assert_allclose(nf.output[f].ravel(), out, rtol=0, atol=1e-6)
            # the output map is the model's surface
            np.testing.assert_allclose(nf.output[f], run.surfaces[i, epoch].astype(np.float32), atol=1e-3)


def test_a_model_without_hidden_layers_shows_inputs_and_output():
    run = jaxviz.sweep(n1=0, n2=0, epochs=2, resolution=8, progress=False)  # logistic regression
    nf = NeuronFigure(run, 0, [0, 2])
    assert nf.widths == [] and nf.maps == [] or len(nf.maps) == 0
    for f, epoch in enumerate((0, 2)):
        _, out = direct(run, 0, epoch)
        np.testing.assert_allclose(nf.output[f].ravel(), out, rtol=0, atol=1e-6)
    assert len(run.neurons(0).axes) == 2 + 1  # the two inputs and the output map


def test_figure_has_every_unit_and_the_weights_as_lines(shapes):
    i = next(k for k, c in enumerate(shapes.configs) if (c["n1"], c["n2"], c["n3"]) == (64, 3, 2))
    fig = shapes.neurons(i)
    assert len(fig.axes) == 2 + 64 + 3 + 2 + 1
    nf = NeuronFigure(shapes, i, [-1])
    nf.update(0)
    assert len(nf.edges.get_segments()) == 2 * 64 + 64 * 3 + 3 * 2 + 2 * 1
    widths = nf.edges.get_linewidths()
    w = nf._edge_weights(0)
    assert np.argmax(widths) == np.argmax(np.abs(w))  # the strongest weight, the widest line
    colours = nf.edges.get_colors()
    assert (colours[w > 0, 2] > colours[w > 0, 0]).all()  # positive weights blue
    assert (colours[w < 0, 0] > colours[w < 0, 2]).all()  # negative ones red
    assert any(t.get_text().endswith("epoch 2") for t in fig.texts)
    with pytest.raises(ValueError, match=r"epoch must be an integer in \[0, 2\]"):
        shapes.neurons(0, epoch=3)
    with pytest.raises(ValueError, match=r"i must be a model index in \[0, 15\]. Got 16 instead."):
        shapes.neurons(16)


def test_animate_neurons_and_the_cli(shapes, tmp_path):
    import imageio.v3 as iio

    from jaxviz.cli import main

    path = shapes.animate_neurons(1, tmp_path / "units.gif")
    assert len(list(iio.imiter(path))) == len(shapes.frame_epochs)
    folder = shapes.save(tmp_path / "run")
    assert main(["neurons", str(folder), "--model", "0"]) == 0
    assert (folder / "neurons-0.png").stat().st_size > 0
    assert main(["neurons", str(folder), "--model", "3", "--epoch", "1", "--out", str(tmp_path / "n.png")]) == 0
    assert (tmp_path / "n.png").stat().st_size > 0
    assert main(["neurons", str(folder), "--model", "99"]) == 2


def test_a_model_with_features_shows_each_feature_and_its_weights():
    run = jaxviz.sweep(features=["x+sq+x1x2"], n1=3, n2=0, epochs=1, resolution=8, progress=False)
    nf = NeuronFigure(run, 0, [1])
    assert nf.input_names == ("x1", "x2", "x1sq", "x2sq", "x1x2")
    p = mesh(run.data_of(0).extent, 8).astype(np.float64)
    features = np.stack([p[:, 0], p[:, 1], p[:, 0] ** 2, p[:, 1] ** 2, p[:, 0] * p[:, 1]])
    np.testing.assert_allclose(nf.inputs.reshape(5, -1), features, rtol=1e-6, atol=1e-6)
    # each feature's map is drawn, with a line to every first-layer unit carrying its weight
    assert len(run.neurons(0).axes) == 5 + 3 + 1
    assert len(nf.edges.get_segments()) == 5 * 3 + 3 * 1
    kernel = np.asarray(run.weights(0, 1)[0])
    np.testing.assert_array_equal(nf._edge_weights(0)[:15], kernel.ravel())
    # the units are the activations of those features through the first layer
    h = np.where((z := features.T @ kernel + np.asarray(run.weights(0, 1)[1])) > 0, z, 0.3 * z)
    np.testing.assert_allclose(nf.maps[0][0].reshape(3, -1), h.T, rtol=1e-5, atol=1e-5)
