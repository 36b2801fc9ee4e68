"""Program sharing (issue 11): grids that differ only inside a shape bucket, only in their epoch
count, or only in batch sizes up to 32 (micro-batches), reuse one compiled program; the bucket padding changes no result; batch orders drawn by
their own program are the orders of steps.batch_order; the persistent cache is shared safely."""

import os
import subprocess
import sys

import jax.numpy as jnp
import numpy as np
import pytest

import jaxviz
from jaxviz.engine.host_orders import HOST_WORDS, draw_orders_host
from jaxviz.engine.programs import BUILT, draw_program
from jaxviz.engine.steps import batch_order
from jaxviz.engine.train import METRICS, draw_orders, train_grid
from jaxviz.spec.grid import bucket, make_grid
from jaxviz.data import load_dataset, pack

TINY = dict(lr=[0.1, 0.5], epochs=4, resolution=8, progress=False)


def _sizes():
    """How many start and run_epochs executables this process has built so far (compiled, or loaded
    from the persistent cache)."""
    return BUILT["start"], BUILT["run_epochs"]


def test_widths_inside_one_bucket_compile_start_and_run_epochs_once():
    assert bucket(9) == bucket(10) == bucket(12) == 16
    jaxviz.sweep(n1=[9, 10], **TINY)
    before = _sizes()
    jaxviz.sweep(n1=[11, 12], **TINY)  # a new maximum width, the same bucket
    jaxviz.sweep(n1=12, n2=11, **TINY)
    assert _sizes() == before
    jaxviz.sweep(n1=[17], **TINY)  # the next bucket (32) is a new program
    assert _sizes()[1] == before[1] + 1


def test_runs_differing_only_in_epochs_share_the_programs():
    run = jaxviz.sweep(**{**TINY, "epochs": 40})
    before = _sizes()
    longer = jaxviz.sweep(**{**TINY, "epochs": 50})  # 2 epochs per call for both (epoch_chunk)
    assert _sizes() == before
    # the shared program trains the same first 40 epochs bit for bit
    for key in METRICS:
        np.testing.assert_array_equal(longer.metrics[key][:, :40], run.metrics[key], err_msg=key)


def test_runs_differing_only_in_batch_sizes_share_every_program():
    jaxviz.sweep(**{**TINY, "batch_size": 7})
    before = _sizes()
    run = jaxviz.sweep(**{**TINY, "batch_size": 30})  # micro-batches of 16 lanes: the same programs
    assert _sizes() == before
    fresh = jaxviz.sweep(**{**TINY, "batch_size": 30, "seed": 1})
    assert not np.array_equal(fresh.weights(0, 0)[0], run.weights(0, 0)[0])  # the shared start reads its seeds
    jaxviz.sweep(**{**TINY, "batch_size": 33})  # beyond MICRO_MAX: lanes for the whole batch, a new program
    assert _sizes() == (before[0], before[1] + 1)


def test_a_model_in_a_grid_of_other_batch_sizes_equals_its_solo_run_bitwise():
    grid = jaxviz.sweep(batch_size=[5, 16, 24, 32], lr=0.3, epochs=3, resolution=6, progress=False)
    for i in (0, 2):
        solo = jaxviz.sweep(grid.configs[i], resolution=6, progress=False)
        assert all(grid.metrics[m][i].tobytes() == solo.metrics[m][0].tobytes() for m in METRICS)
        assert all(a.tobytes() == b.tobytes() for e in (1, 3) for a, b in zip(grid.weights(i, e), solo.weights(0, e)))
        assert grid.surfaces[i].tobytes() == solo.surfaces[0].tobytes()


def _two_programs(g, **other):
    """A grid on moons trained by its own program and by one with the ``other`` static fields:
    (static, (metrics, weights) of its own, (metrics, weights) of the other)."""
    n = [60]
    args = g.hparams(n), g.order_table(n), pack([load_dataset("moons")])
    static = g.static(n)
    return static, train_grid(*args, static)[:2], train_grid(*args, static._replace(**other))[:2]


def test_micro_batches_train_as_one_wide_batch():
    """A batch of 30 in micro-batches of 16 lanes, and in one step of 32 lanes: rounding apart, one training."""
    static, (micro, wm), (wide, ww) = _two_programs(
        make_grid(batch_size=30, lr=[0.1, 0.5], momentum=0.9, kr=0.01, epochs=4), batch=32)
    assert static.batch == 16
    for key in METRICS:
        np.testing.assert_allclose(micro[key], wide[key], rtol=0, atol=1e-5, err_msg=key)
    for a, b in zip(wm, ww):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-5)


@pytest.fixture(scope="module")
def bucket_grid():
    """Widths 9, 10, 12 in one program of width 16."""
    return jaxviz.sweep({"n1": [9, 10, 12], "lr": 0.3}, epochs=5, resolution=8, progress=False)


@pytest.mark.parametrize("i", [0, 1])
def test_a_model_inside_a_bucket_equals_its_solo_run_bitwise(bucket_grid, i):
    config = bucket_grid.configs[i]
    solo = jaxviz.sweep(config, resolution=8, progress=False)
    for key in METRICS:
        np.testing.assert_array_equal(bucket_grid.metrics[key][i], solo.metrics[key][0], err_msg=key)
    for epoch in (0, 5):
        for a, b in zip(bucket_grid.weights(i, epoch), solo.weights(0, epoch)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(bucket_grid.surfaces[i], solo.surfaces[0])


def test_bucket_padding_changes_no_result():
    """The same model trained at its own width (10) and padded to its bucket (16)."""
    static, (padded, wp), (exact, we) = _two_programs(make_grid(n1=10, lr=[0.1, 0.5], epochs=5), hidden=10)
    assert static.hidden == 16
    for key in METRICS:
        np.testing.assert_allclose(padded[key], exact[key], rtol=0, atol=1e-6, err_msg=key)
    np.testing.assert_allclose(wp[0][..., :10], we[0], rtol=0, atol=1e-6)
    assert not wp[0][..., 10:].any()  # the padded units stay zero


def test_orders_drawn_by_their_own_program_are_batch_orders():
    seeds, sizes = np.array([0, 3, 3], np.uint32), np.array([60, 60, 45], np.int32)
    orders = np.asarray(draw_orders((seeds, sizes), jnp.int32(7), n_max=64, length=3, shuffle=True))
    for j in range(3):
        for k in range(3):
            want = np.asarray(batch_order(seeds[k], 7 + j, sizes[k], 64, True))
            np.testing.assert_array_equal(orders[j, k], want)
    plain = np.asarray(draw_orders((seeds, sizes), jnp.int32(0), n_max=8, length=1, shuffle=False))
    assert (plain == np.arange(8)).all()


def test_orders_drawn_in_numpy_are_the_programs():
    """A small table's orders come from NumPy (no program to compile), a large one's from the
    program: the same integers, so a grid's batches do not depend on which drew them."""
    rng = np.random.default_rng(0)
    seeds = rng.integers(0, 2**32, 5, dtype=np.uint64).astype(np.uint32)
    sizes = np.array([1, 17, 60, 199, 200], np.int32)
    for first, shuffle in [(0, True), (123, True), (4, False)]:
        host = draw_orders_host(seeds, sizes, first, n_max=200, length=3, shuffle=shuffle)
        program = np.asarray(draw_orders((seeds, sizes), jnp.int32(first), n_max=200, length=3, shuffle=shuffle))
        np.testing.assert_array_equal(host, program)
    small = draw_program((seeds, sizes), jnp.int32(9), n_max=200, length=3, shuffle=True)
    big = draw_program((np.resize(seeds, 500), np.resize(sizes, 500)), jnp.int32(9), n_max=200, length=3, shuffle=True)
    assert 3 * 5 * 200 <= HOST_WORDS < 3 * 500 * 200  # one of each kind
    np.testing.assert_array_equal(np.asarray(big)[:, :5], np.asarray(small))


SCRIPT = (
    "import sys, warnings, jax.monitoring as m\n"
    "hits = []\n"
    "m.register_event_listener(lambda e, **k: hits.append(e) if e.endswith('cache_hits') else None)\n"
    "import jaxviz\n"
    "from jaxviz.engine.programs import LOADED\n"
    "with warnings.catch_warnings(record=True) as caught:\n"
    "    warnings.simplefilter('always')\n"
    "    run = jaxviz.sweep(lr=[float(sys.argv[1]), 0.2], epochs=3, resolution=8, dataset='xor', progress=False)\n"
    "bad = [str(w.message) for w in caught if 'cache' in str(w.message)]\n"
    "import hashlib\n"
    "digest = hashlib.sha256(run.metrics['loss'].tobytes() + run.surfaces.tobytes()).hexdigest()\n"
    "print(len(hits) + sum(LOADED.values()), len(bad), digest, int('sklearn' in sys.modules))\n"
)


def _sweep_processes(values, env):
    procs = [subprocess.Popen([sys.executable, "-c", SCRIPT, v], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for v in values]
    out = []
    for p in procs:
        stdout, stderr = p.communicate(timeout=600)
        assert p.returncode == 0, stderr[-2000:]
        hits, bad, digest, sklearn = stdout.split()
        out.append((int(hits), int(bad), digest, bool(int(sklearn))))
    return out


@pytest.mark.slow
def test_the_cache_is_on_by_default_movable_and_shared_by_processes(tmp_path):
    cache = tmp_path / "cache"
    env = {**os.environ, "JAXVIZ_CACHE_DIR": str(cache)}
    # two processes filling the same empty folder at once: neither meets a half-written entry
    together = _sweep_processes(["0.1", "0.3"], env)
    assert all(bad == 0 for _, bad, _, _ in together)
    assert (cache / ".lockfile").exists() and len([p for p in cache.iterdir() if p.name.endswith("-cache")]) >= 2
    # run_epochs and the surfaces (a grid this small starts and draws its batch orders in NumPy)
    assert {p.name.split("-")[0] for p in (cache / "executables").glob("*.bin")} == {"run_epochs", "surfaces"}
    assert len(list((cache / "datasets").glob("*.npz"))) == 1  # xor, prepared
    (hits, bad, loaded, sklearn), = _sweep_processes(["0.4"], env)  # a later process loads the programs
    assert hits >= 2 and bad == 0
    assert not sklearn  # and the prepared data: scikit-learn is not even imported
    (hits, _, compiled, sklearn), = _sweep_processes(["0.4"], {**os.environ, "JAXVIZ_CACHE_DIR": "off"})
    assert hits == 0 and sklearn
    assert loaded == compiled  # loaded programs compute the same bits (from the same data)


def test_surfaces_are_prepared_while_training_and_shared_by_the_widths_of_a_bucket():
    before = BUILT["surfaces"]
    narrow = jaxviz.sweep(lr=[0.1, 0.5], n1=9, epochs=7, resolution=7, progress=False)
    assert BUILT["surfaces"] - before == 1  # the program built during training is the one the frames use
    wide = jaxviz.sweep(lr=[0.1, 0.5], n1=13, epochs=7, resolution=7, progress=False)
    assert BUILT["surfaces"] - before == 1  # widths 9 and 13 share the bucket of 16, and its surface program
    assert narrow.surfaces.shape == wide.surfaces.shape == (2, 8, 7, 7)
    assert not (narrow.surfaces == wide.surfaces).all()  # each its own model's
    # the surfaces of a model do not depend on the grid around it (a call of 2 rows, or of 32)
    big = jaxviz.sweep(lr=[0.1, 0.5], n1=9, epochs=7, resolution=7, seed=list(range(20)), progress=False)
    assert (big.surfaces[0] == narrow.surfaces[0]).all() and (big.surfaces[20] == narrow.surfaces[1]).all()


SMALL = dict(lr=[0.05, 0.5], momentum=0.9, epochs=4, resolution=6, progress=False)


def test_a_small_grid_changes_activation_depth_and_optimizer_without_compiling():
    jaxviz.sweep(activation="lrelu", n2=0, **SMALL)
    built = BUILT["start"], BUILT["run_epochs"]
    for change in ({"activation": "tanh"}, {"activation": "sigmoid", "n3": 4}, {"activation": "relu", "n2": 3},
                   {"optimizer": "adam"}, {"optimizer": ["rmsprop", "adagrad"], "activation": "tanh"}):
        jaxviz.sweep(**{"n2": 0, **change}, **SMALL)
    assert (BUILT["start"], BUILT["run_epochs"]) == built  # (the surfaces compute the grid's own activations)
    surfaces = BUILT["surfaces"]
    jaxviz.sweep(activation="tanh", n2=5, n3=2, **SMALL)
    assert (BUILT["start"], BUILT["run_epochs"], BUILT["surfaces"]) == (*built, surfaces)


@pytest.mark.slow
@pytest.mark.parametrize("change", [{"activation": "tanh", "optimizer": "adam"},
                                    {"activation": "sigmoid", "optimizer": "rmsprop", "n2": 4},
                                    {"activation": "relu", "optimizer": "adagrad", "n3": 3},
                                    {"activation": "linear", "parametrization": "meanfield"}])
def test_a_small_grids_shared_program_computes_a_big_grids_bits(change):
    """A big grid (72 models) compiles its own activation, depth and optimiser only; a small one all of them."""
    hp = {**SMALL, "seed": list(range(36)), "kr": 0.001, **change}
    big = jaxviz.sweep(**hp)
    assert big.plan.n_models == 72
    for k in (1, 70):
        small = jaxviz.sweep(**{**hp, "lr": big.configs[k]["lr"], "seed": [big.configs[k]["seed"], 99]})
        assert (small.plan.chunk, big.plan.chunk) == (32, 96)  # one block (a loop XLA cannot count) and three
        assert all(big.metrics[m][k].tobytes() == small.metrics[m][0].tobytes() for m in big.metrics)
        assert all(a.tobytes() == b.tobytes() for e in range(5) for a, b in zip(big.weights(k, e), small.weights(0, e)))
        assert big.surfaces[k].tobytes() == small.surfaces[0].tobytes()


def test_a_float64_grid_keeps_surfaces_over_several_calls_of_epochs():
    run = jaxviz.sweep(lr=[0.05, 0.5], precision="float64", epochs=7, resolution=6, progress=False)
    assert run.surfaces.shape == (2, 8, 6, 6) and np.isfinite(run.surfaces.astype(np.float32)).all()


@pytest.mark.slow
@pytest.mark.parametrize("task", [{"activation": "sigmoid", "dataset": "spiral", "classes": 3},
                                  {"dataset": "plane", "task": "regression"}])
def test_history_means_are_the_same_bits_in_any_grid(task):
    """The epoch's means are divided outside the programs: XLA turned some divisions into products
    with the reciprocal, so multi-class accuracy and regression losses differed in the last bit."""
    hp = dict(lr=[0.01, 0.05, 0.2, 0.9], momentum=0.9, seed=list(range(18)), epochs=3, resolution=6,
              progress=False, **task)
    big = jaxviz.sweep(**hp)
    solo = jaxviz.sweep(**big.configs[25], resolution=6, progress=False)
    for name, values in big.metrics.items():
        assert values[25].tobytes() == solo.metrics[name][0].tobytes(), name


@pytest.mark.parametrize("error", ["NOT_FOUND: Function bitcast_bitcast_fusion not found",
                                   "INVALID_ARGUMENT: Expected args to execute_sharded_on_local_devices to have 4 shards",
                                   "RESOURCE_EXHAUSTED: Out of memory while trying to allocate 1024 bytes"])
def test_a_stored_executable_missing_a_kernel_is_compiled_again(tmp_path, monkeypatch, error):
    """An entry of the executable store that cannot run here (saved without some kernel's code,
    XLA: NOT_FOUND; or loaded for other devices) fails on its first call; the program then
    compiles afresh, answers, and replaces the entry."""
    import jax
    from jaxviz.engine import programs
    from jaxviz.io.cache import ExecutableStore

    store = ExecutableStore(tmp_path)
    monkeypatch.setattr(programs, "_STORE", store)
    program = programs.Program(lambda x: 3 * x, "triple", key=("damaged-entry test",))
    real = jax.jit(lambda x: 3 * x).lower(jnp.ones(3)).compile()

    class Damaged:  # what deserialising such an entry gives: it loads, and fails when run
        out_info = real.out_info

        def __call__(self, *args):
            raise jax.errors.JaxRuntimeError(error)

    monkeypatch.setattr(program, "_load", lambda key, sig: Damaged())
    if error.startswith("RESOURCE_EXHAUSTED"):  # the call's own failure: reported, not compiled again
        with pytest.raises(jax.errors.JaxRuntimeError, match="RESOURCE_EXHAUSTED"):
            program(jnp.ones(3))
        assert not list(tmp_path.glob("executables/*.bin"))
        return
    assert program(jnp.ones(3)).tolist() == [3.0, 3.0, 3.0]
    assert program(jnp.ones(3)).tolist() == [3.0, 3.0, 3.0]  # the fresh executable is kept
    assert [p.name.split("-")[0] for p in (tmp_path / "executables").glob("*.bin")] == ["triple"]


STORED_ON_TWO = (
    "import sys, jax, jax.numpy as jnp\n"
    "from jaxviz.engine import programs\n"
    "from jaxviz.io.cache import ExecutableStore\n"
    "assert len(jax.devices()) == 2\n"
    "programs.set_store(ExecutableStore(sys.argv[1]))\n"
    "x = jax.device_put(jnp.arange(3.0), jax.devices()[0])\n"
    "print(programs.Program(lambda x: 3 * x, 'triple', key=('two devices',))(x).tolist(), programs.LOADED['triple'])\n"
)


@pytest.mark.slow
def test_a_stored_one_device_executable_runs_in_a_process_of_several_devices(tmp_path):
    """An executable saved for arguments on one device, loaded in a process that has two (the
    sharded tests' processes, a 2-GPU machine), runs on that one device: loaded without naming its
    devices, XLA would expect one shard of every argument per device."""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    runs = [subprocess.run([sys.executable, "-c", STORED_ON_TWO, str(tmp_path)], env=env, capture_output=True,
                           text=True, timeout=300) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[-1].stderr[-2000:]
    assert [r.stdout.split("] ")[-1].strip() for r in runs] == ["0", "1"]  # compiled, then loaded
    assert all(r.stdout.startswith("[0.0, 3.0, 6.0]") for r in runs)


def test_models_started_in_numpy_are_the_start_programs():
    """A small grid of Glorot models starts in NumPy (no start program to compile): every leaf of
    every model's first state is the start program's, bit for bit, over seeds, widths, input
    features, optimisers (Adagrad's accumulator starts at 0.1) and precisions."""
    import jax
    from jaxviz.engine.host_init import host_start_ok, host_state
    from jaxviz.engine.train import QUICK_COMPILE, start

    quick = jax.jit(start.__wrapped__, static_argnames=("static", "block"), compiler_options=QUICK_COMPILE)
    grids = [make_grid(seed=list(range(24)), n1=[1, 5, 10], n2=[0, 3, 16], n3=[0, 7]),
             make_grid(seed=[7, 2**31 - 1], features=["x", "x+sq+sin"], n1=[0, 4, 50], optimizer=["sgd", "adagrad"]),
             make_grid(seed=[3, 4], n1=[6, 2], precision="float64")]
    for g in grids:
        hp, static = g.hparams([60]), g.static([60])
        assert host_start_ok(hp, static, "cpu")
        n = len(hp.lr)
        padded = jax.tree.map(lambda a: np.resize(np.asarray(a), (32 * -(-n // 32),) + np.shape(a)[1:]), hp)
        with jax.enable_x64(static.precision == "float64"):
            want = jax.tree.leaves(quick(padded, static=static, block=32))
            got = jax.tree.leaves(host_state(hp, static))
        assert len(got) == len(want)
        for a, b in zip(got, want):
            assert a.dtype == b.dtype and a.tobytes() == np.asarray(b)[:n].tobytes()


def test_a_grid_started_in_numpy_trains_as_one_started_by_its_program(monkeypatch):
    """The same grid with its first state from NumPy and from the start program: every metric
    (the test figures before training too) and every epoch's weights, bit for bit."""
    from jaxviz.engine import train

    host = jaxviz.sweep(lr=[0.1, 0.9], momentum=[0.0, 0.9], epochs=6, resolution=6, progress=False)
    monkeypatch.setattr(train, "host_start_ok", lambda *args: False)
    program = jaxviz.sweep(lr=[0.1, 0.9], momentum=[0.0, 0.9], epochs=6, resolution=6, progress=False)
    for key in METRICS:
        assert host.metrics[key].tobytes() == program.metrics[key].tobytes(), key
    assert all(a.tobytes() == b.tobytes() for a, b in zip(host.initial_val, program.initial_val))
    assert np.isfinite(host.initial_val[0]).all()
    for e in range(7):
        assert all(a.tobytes() == b.tobytes() for a, b in zip(host.weights(1, e), program.weights(1, e)))


FAST_START = (
    "import jaxviz\n"
    "from jaxviz.engine import exact\n"
    "from jaxviz.engine.programs import BUILT\n"
    "grid = dict(lr=[0.1, 0.9], momentum=[0.0, 0.9], epochs=5, resolution=6, progress=False)\n"
    "first = jaxviz.sweep(**grid)\n"
    "exact.wait()\n"
    "built = BUILT['run_epochs']\n"
    "again = jaxviz.sweep(**grid)\n"
    "tanh = jaxviz.sweep(**grid, activation='tanh', n3=4)\n"
    "same = all(first.metrics[k].tobytes() == again.metrics[k].tobytes() for k in first.metrics)\n"
    "same &= first.surfaces.tobytes() == again.surfaces.tobytes()\n"
    "same &= all(a.tobytes() == b.tobytes() for e in range(6) for a, b in zip(first.weights(3, e), again.weights(3, e)))\n"
    "print(built, BUILT['run_epochs'], same)\n"
)


@pytest.mark.slow
def test_a_first_run_trains_on_its_exact_program_and_builds_the_shared_one_for_later(tmp_path):
    """A process's first small grid trains with its exact program (only its activation, optimiser
    and depth) and builds the shared program in the background; the next runs, the same grid and
    one with another activation and depth, reuse the shared program and compile nothing, and the
    same grid gives the same bits on either program."""
    env = {**os.environ, "JAXVIZ_CACHE_DIR": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", FAST_START], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ["2", "2", "True"]  # exact + shared, then nothing new


@pytest.mark.slow
def test_a_script_that_ends_after_its_first_run_exits_cleanly(tmp_path):
    """A script's process may end while the shared program's background build is still tracing:
    it exits with code 0 and prints nothing (no traceback from the compile pool refusing work)."""
    env = {**os.environ, "JAXVIZ_CACHE_DIR": str(tmp_path / "cache")}
    script = "import jaxviz\njaxviz.sweep(lr=[0.1, 0.9], epochs=3, resolution=6, progress=False)\n"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and out.stderr == "", out.stderr[-2000:]


@pytest.mark.parametrize("settings", [
    dict(activation=["tanh", "sigmoid"], optimizer=["adam", "rmsprop"], n1=[4, 10], n2=[0, 6], kr=[0.0, 0.01]),
    dict(activation="relu", optimizer="adagrad", n1=8, n2=8, n3=[0, 5], l1=[0.0, 0.001]),
    dict(lr=[0.5, 2.0], momentum=0.99, n1=10, n2=0)])
def test_the_exact_program_computes_the_shared_programs_bits(settings):
    """A small grid's exact program (only its activations, Keras optimisers and hidden slots:
    exact.exact_static) against the shared one: every metric, every epoch's weights and the
    whole training state, bit for bit (high lr with high momentum diverges: the NaN epochs too)."""
    from jaxviz.engine.exact import exact_static

    g = make_grid(**settings, epochs=4)
    n = [60]
    args = g.hparams(n), g.order_table(n), pack([load_dataset("moons")])
    static = g.static(n)
    exact = exact_static(static, args[0])
    assert exact is not None and exact.live_slots <= static.slots
    (ms, ws, cs), (me, we, ce) = train_grid(*args, static), train_grid(*args, exact)
    assert all(ms[k].tobytes() == me[k].tobytes() for k in ms)
    assert all(a.tobytes() == b.tobytes() for a, b in zip(ws, we))
    assert all(a.tobytes() == b.tobytes() for a, b in zip(cs.state, ce.state))
