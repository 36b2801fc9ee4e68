"""Recording modes, the column-wise grid, precedence of settings, and the devices argument."""

import time

import jax
import numpy as np
import pytest

import jaxviz
from jaxviz.spec.grid import Configs, make_grid, merge_settings

GRID = {"lr": [0.003, 0.01, 0.03, 0.1, 0.3, 0.6, 1.5, 4.0], "momentum": [0.0, 0.3, 0.6, 0.8, 0.9, 0.95, 0.99, 1.0]}


@pytest.fixture(scope="module")
def both():
    """The same 64 models (gentle to wild) for 3 epochs, recorded both ways."""
    history = jaxviz.sweep(GRID, epochs=3, resolution=8, progress=False)
    final = jaxviz.sweep(GRID, epochs=3, resolution=8, progress=False, record="final")
    return history, final


def test_final_metrics_equal_the_history_bit_for_bit(both):
    history, final = both
    assert len(final.configs) == 64 and final.record == "final" and history.record == "history"
    for key in history.metrics:
        np.testing.assert_array_equal(final.metrics[key], history.metrics[key], err_msg=key)
    for a, b in zip(final.initial_val, history.initial_val):
        np.testing.assert_array_equal(a, b)
    assert np.ptp(history.metrics["loss"][:, -1]) > 0.3  # from converging to saturated models
    np.testing.assert_array_equal(final.diverged_epoch, history.diverged_epoch)


def test_final_keeps_initial_and_final_weights_only(both):
    history, final = both
    assert [w.shape[1] for w in final._weights] == [2] * len(final._weights)
    assert final.surfaces.shape == (64, 0, 8, 8) and len(final.frame_epochs) == 0
    for i in (0, 17, 63):
        for epoch in (0, 3, -1):
            for a, b in zip(final.weights(i, epoch), history.weights(i, epoch)):
                np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match=r"epoch must be 0 or 3 \(the final weights\) in a record='final' run"):
        final.weights(0, 1)


def test_final_refuses_pictures_with_the_reason(both, tmp_path):
    _, final = both
    with pytest.raises(ValueError, match="figure needs record='history'"):
        final.figure()
    with pytest.raises(ValueError, match="animate needs record='history'"):
        final.animate(tmp_path / "a.gif")
    assert not (tmp_path / "a.gif").exists()
    assert final.table().rows[0][0] == 0  # the metrics views work
    assert len(final.plot_summary("val_loss").axes) >= 1


def test_a_saved_final_run_loads_as_final(both, tmp_path):
    _, final = both
    back = jaxviz.load(final.save(tmp_path / "run"))
    assert back.record == "final"
    np.testing.assert_array_equal(back.metrics["val_loss"], final.metrics["val_loss"])
    for a, b in zip(back.weights(5, 3), final.weights(5, 3)):
        np.testing.assert_array_equal(a, b)


def test_final_resumes_bit_for_bit(both):
    _, final = both
    stopped = jaxviz.sweep(GRID, epochs=3, resolution=8, progress=False, record="final", should_stop=lambda: True)
    assert stopped.completed_epochs == 1
    resumed = jaxviz.sweep(GRID, epochs=3, resolution=8, progress=False, record="final", resume=stopped.checkpoint)
    for key in final.metrics:
        np.testing.assert_array_equal(resumed.metrics[key], final.metrics[key], err_msg=key)
    for a, b in zip(resumed._weights, final._weights):
        np.testing.assert_array_equal(a, b)


def test_record_is_checked_before_anything_compiles():
    for bad in ("all", None, 1):
        with pytest.raises(ValueError, match=r"record must be one of \['history', 'final'\]. Got .* instead."):
            jaxviz.plan_sweep(lr=[0.1, 0.5], record=bad)


def test_the_plan_knows_both_modes():
    hp = dict(lr=[0.1 * k for k in range(1, 65)], momentum=[0.5, 0.9], epochs=50, resolution=64)
    history, final = jaxviz.plan_sweep(**hp), jaxviz.plan_sweep(**hp, record="final")
    assert final.results * 20 < history.results and final.per_model < history.per_model
    assert (final.frames, final.surface_models, final.per_surface) == (0, 0, 0)
    big = dict(lr=list(np.geomspace(1e-3, 3, 512)), momentum=list(np.linspace(0, 0.99, 512)), epochs=20)
    p = jaxviz.plan_sweep(**big, record="final", memory="4GB")
    assert p.n_models == 262_144 and p.results + p.fixed + p.per_model * p.chunk < 4e9
    with pytest.raises(ValueError, match="the grid must fit in memory.*use record='final'"):
        jaxviz.plan_sweep(**big, memory="4GB")


def test_a_million_model_grid_is_built_at_once():
    t = time.perf_counter()
    g = make_grid(lr=[0.001 * k for k in range(1, 1025)], momentum=[k / 1024 for k in range(1024)], epochs=20)
    built = time.perf_counter() - t
    assert g.n_models == len(g.configs) == 1_048_576 and built < 2.0  # about 0.03 s alone; shared CPU
    c = g.configs[-1]
    assert (c["lr"], c["momentum"], c["epochs"]) == (1.024, 1023 / 1024, 20)
    assert g.configs[1025] == {**g.configs[0], "lr": 0.002, "momentum": 1 / 1024}
    np.testing.assert_array_equal(g.column("momentum")[:3], [0.0, 1 / 1024, 2 / 1024])


def test_an_absurd_grid_is_refused_fast_with_a_memory_message():
    t = time.perf_counter()
    with pytest.raises(ValueError, match=r"the grid must fit in memory: .*4,000,000 models"):
        jaxviz.plan_sweep(seed=list(range(2_000_000)), lr=[0.1, 0.5])
    assert time.perf_counter() - t < 30  # was 105 s and 3.2 GB; about 1 s alone


def test_lazy_configs_behave_like_a_list():
    g = make_grid({"lr": [0.1, 0.5], "n1": [2, 4, 6]}, seed=3)
    listed = [dict(c) for c in g.configs]
    assert isinstance(g.configs, Configs) and g.configs == listed and listed == list(g.configs)
    assert g.configs[-1] == listed[-1] and g.configs[1:3] == listed[1:3] and len(g.configs[::2]) == 3
    assert [c["n1"] for c in listed] == [2, 4, 6, 2, 4, 6] and all(c["seed"] == 3 for c in listed)
    with pytest.raises(IndexError):
        g.configs[6]
    np.testing.assert_array_equal(g.configs.column("lr"), [c["lr"] for c in listed])


def test_long_axes_are_checked_as_arrays_with_the_usual_messages():
    g = make_grid(seed=list(range(1000)), lr=[float(v) for v in np.linspace(0.01, 1, 300)])
    assert g.axes["seed"] == list(range(1000)) and type(g.axes["seed"][5]) is int
    assert type(g.axes["lr"][0]) is float
    assert make_grid(epochs=[float(e) for e in range(1, 301)]).axes["epochs"][-1] == 300
    with pytest.raises(ValueError, match=r"seed must be an integer in \[0, 2\*\*31 - 1\]. Got -1 instead."):
        make_grid(seed=list(range(999)) + [-1])
    with pytest.raises(ValueError, match="seed must be a list of distinct values"):
        make_grid(seed=list(range(999)) + [3])
    with pytest.raises(ValueError, match="lr must be a positive number. Got True instead."):
        make_grid(lr=[float(v) for v in np.linspace(0.01, 1, 300)] + [True])


@pytest.mark.parametrize("hp, overrides, fixed, axes, note", [
    ({"lr": [0.1, 0.5]}, {"lr": 0.3}, {"lr": 0.3}, {}, "lr=0.3 overrides lr=[0.1, 0.5]"),  # value over axis
    ({"lr": 0.3}, {"lr": [0.1, 0.5]}, {}, {"lr": [0.1, 0.5]}, "lr=[0.1, 0.5] overrides lr=0.3"),  # axis over value
    ({"lr": [0.1, 0.5], "n1": [2, 4]}, {"lr": [0.2, 0.7]}, {}, {"n1": [2, 4], "lr": [0.2, 0.7]},
     "lr=[0.2, 0.7] overrides lr=[0.1, 0.5]"),  # axis over axis (it moves last)
    ({"lr": 0.3}, {"lr": 0.3}, {"lr": 0.3}, {}, None),  # the same value: nothing overridden
])
def test_later_settings_win_with_one_note_per_key(hp, overrides, fixed, axes, note, capsys):
    g = make_grid(hp, **overrides)
    assert g.axes == axes and all(g.fixed[k] == v for k, v in fixed.items())
    assert list(g.notes) == ([f"jaxviz: note: {note} (overrides over hp)"] if note else [])
    jaxviz.plan_sweep(hp, resolution=8, **overrides)  # no compile
    err = capsys.readouterr().err
    assert err.count("jaxviz: note:") == (1 if note else 0)
    assert note is None or note in err


def test_merge_settings_layers_preset_config_and_command_line():
    merged, notes = merge_settings([("preset", {"lr": 0.5, "epochs": 10}), ("config", {"lr": [0.1, 0.2]}),
                                    ("--set", {"lr": 0.3, "n1": 4}), ("--grid", {"n1": [2, 8]})])
    assert merged == {"epochs": 10, "lr": 0.3, "n1": [2, 8]}
    assert notes == ["jaxviz: note: lr=0.3 overrides lr=[0.1, 0.2] (--set over config)",
                     "jaxviz: note: n1=[2, 8] overrides n1=4 (--grid over --set)"]
    assert merge_settings([("a", {"lr": 0.1}), ("b", {})]) == ({"lr": 0.1}, [])


def test_devices_are_checked_and_a_platform_name_is_accepted():
    assert jaxviz.plan_sweep(lr=[0.1, 0.5], devices="cpu", resolution=8).devices == len(jax.devices("cpu"))
    rule = r"devices must be a list of JAX devices \(or a platform name such as 'cpu'\). Got .* instead."
    for bad in ([0], 0, [jax.devices()[0], "cpu"], jax.devices()[0]):
        with pytest.raises(ValueError, match=rule):
            jaxviz.plan_sweep(lr=[0.1, 0.5], devices=bad)
    with pytest.raises(ValueError, match=r"devices must name a platform JAX has .* Got 'quantum' instead."):
        jaxviz.plan_sweep(lr=[0.1, 0.5], devices="quantum")
    with pytest.raises(ValueError, match=rule):
        jaxviz.sweep(lr=[0.1, 0.5], epochs=1, resolution=8, devices=[0], progress=False)
