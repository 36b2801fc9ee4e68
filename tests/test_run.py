"""The Run object: surfaces, weights, figures, animations, save and load."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
from jaxviz.engine.model import init_params, params_from_arrays, params_to_arrays, predict, structure
from jaxviz.engine.surfaces import mesh


def test_shapes_and_frames(tiny_run):
    run = tiny_run
    assert len(run.configs) == 6 and run.axes == {"lr": [0.01, 0.1, 0.5], "momentum": [0.0, 0.9]}
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "learning_rate"):
        assert run.metrics[key].shape == (6, 6)
    assert run.surfaces.shape == (6, 7, 16, 16) and run.surfaces.dtype == np.float16
    assert run.frame_epochs.tolist() == list(range(7))
    assert [w.shape for w in run.weights(5, 6)] == [(2, 10), (10,), (10, 10), (10,), (10, 1), (1,)]


def test_surfaces_are_the_models_probabilities(tiny_run):
    run = tiny_run
    points = jnp.asarray(mesh(run.dataset.extent, 16))
    s = structure(jnp.array([10, 10, 0]), 0, slots=2, hidden=10)
    for i, frame in [(0, 0), (3, 4), (5, 6)]:
        epoch = int(run.frame_epochs[frame])
        params = params_from_arrays([jnp.asarray(w) for w in run.weights(i, epoch)], 10, 2, ("lrelu",))
        expected = np.asarray(predict(params, points, s, 10, 2, ("lrelu",))).reshape(16, 16)
        np.testing.assert_allclose(run.surfaces[i, frame].astype(np.float32), expected, atol=1e-3)


def test_padded_init_is_the_unpadded_init():
    # a 3-unit layer padded to 8 starts with the 3-unit model's numbers, zeros elsewhere
    small = params_to_arrays(init_params(jax.random.key(5), jnp.array([3, 2, 0]), 3, 2, ("relu",)))
    big = params_to_arrays(init_params(jax.random.key(5), jnp.array([3, 2, 0]), 8, 3, ("relu",)))
    np.testing.assert_array_equal(big[0][:, :3], small[0])
    np.testing.assert_array_equal(big[2][:3, :2], small[2][:, :2])
    np.testing.assert_array_equal(big[6][:3], small[4])  # output layer, after the missing third slot
    assert not big[0][:, 3:].any() and not big[2][3:].any() and not big[4].any()


def test_frames_option_spaces_snapshots():
    run = jaxviz.sweep(lr=[0.1, 0.5], epochs=10, frames=3, resolution=8, progress=False)
    assert run.frame_epochs.tolist() == [0, 5, 10] and run.surfaces.shape[1] == 3
    with pytest.raises(ValueError, match=r"epoch must be one of the recorded frame epochs \[0, 5, 10\]"):
        run.figure(3)


def test_weights_refuse_bad_indices(tiny_run):
    with pytest.raises(ValueError, match=r"epoch must be an integer in \[0, 6\]. Got 7 instead."):
        tiny_run.weights(0, 7)
    with pytest.raises(ValueError, match=r"i must be a model index in \[0, 5\]"):
        tiny_run.weights(6, 0)


def test_save_and_load_round_trip(tiny_run, tmp_path):
    back = jaxviz.load(tiny_run.save(tmp_path / "r"))
    assert back.configs == tiny_run.configs and back.axes == tiny_run.axes
    for k, v in tiny_run.metrics.items():
        np.testing.assert_array_equal(back.metrics[k], v)
    np.testing.assert_array_equal(back.surfaces, tiny_run.surfaces)
    for a, b in zip(back.weights(2, 3), tiny_run.weights(2, 3)):
        np.testing.assert_array_equal(a, b)
    assert not list((tmp_path / "r").glob(".*partial*"))
    with pytest.raises(ValueError, match="directory must hold a saved run"):
        jaxviz.load(tmp_path)


def test_figure_has_one_tile_per_model_and_the_status_lines(tiny_run, tmp_path):
    fig = tiny_run.figure(-1)
    tiles = [ax for ax in fig.axes if ax.get_images()]
    assert len(tiles) == 6
    headers = {t.get_text() for t in fig.texts}
    assert {"lr = 0.01", "lr = 0.1", "lr = 0.5", "momentum = 0", "momentum = 0.9"} <= headers
    status = [t.get_text() for t in tiles[3].texts]  # in one line, or two where the tile is narrow
    assert any(s.startswith("epoch 6/6 - ") and "loss:" in s and "lr:" in s for s in status)
    fig.savefig(tmp_path / "f.pdf")
    assert (tmp_path / "f.pdf").read_bytes()[:4] == b"%PDF"


def test_animations_mp4_and_gif(tiny_run, tmp_path):
    mp4 = tiny_run.animate(tmp_path / "a.mp4", fps=5)
    import imageio_ffmpeg

    n_frames, _ = imageio_ffmpeg.count_frames_and_secs(str(mp4))
    assert n_frames == 7
    from PIL import Image

    gif = Image.open(tiny_run.animate(tmp_path / "a.gif", fps=5, hold=1.0))
    assert gif.n_frames == 7 and gif.info["loop"] == 0  # loops forever
    gif.seek(6)
    assert gif.info["duration"] == 200 + 1000  # the last frame is held for 1 s more
    with pytest.raises(ValueError, match=r"animation path must end in .mp4 or .gif, or be a folder for PNG frames"):
        tiny_run.animate(tmp_path / "a.avi")


def test_show_embeds_an_html5_video(tiny_run):
    html = tiny_run.show()._repr_html_()
    assert html.startswith("<video controls autoplay loop") and "data:video/mp4;base64," in html


def test_optimizer_grid_is_one_run_one_animation_three_tiles(tmp_path):
    from jaxviz.views.compositor import FrameCompositor

    run = jaxviz.sweep(optimizer=["sgd", "adam", "rmsprop"], lr=0.01, epochs=3, resolution=8, progress=False)
    assert [c["optimizer"] for c in run.configs] == ["sgd", "adam", "rmsprop"]
    assert len(FrameCompositor(run).boxes) == 3
    # the three optimisers really differ
    assert len({round(float(v), 6) for v in run.metrics["loss"][:, -1]}) == 3
    import imageio_ffmpeg

    mp4 = run.animate(tmp_path / "o.mp4")
    assert imageio_ffmpeg.count_frames_and_secs(str(mp4))[0] == len(run.frame_epochs)
