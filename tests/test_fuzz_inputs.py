"""Property tests: any hp dict or CLI argument list is either accepted or refused with a
ValueError / one line and exit code 2 - never another exception, never a traceback."""

import string

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jaxviz.cli import main
from jaxviz.spec.config import HP_DEFAULTS
from jaxviz.spec.grid import make_grid

KEYS = list(HP_DEFAULTS) + ["lrr", "epoch", "", "dataset ", "n4"]
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
    st.text(string.printable, max_size=8), st.sampled_from(["moons", "xor", "relu", "adam", "true", "3", "1e-3"]),
)
VALUES = st.one_of(SCALARS, st.lists(SCALARS, max_size=4), st.dictionaries(st.text(max_size=3), SCALARS, max_size=2))


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(KEYS), VALUES, max_size=6))
def test_any_hp_dict_is_validated_or_refused_with_value_error(hp):
    try:
        grid = make_grid(hp)
    except ValueError as e:
        assert str(e) and "\n" not in str(e)
        return
    assert grid.configs and all(set(c) == set(HP_DEFAULTS) for c in grid.configs)


TOKENS = st.sampled_from([
    "run", "demo", "presets", "--grid", "--set", "--preset", "--config", "--format", "--fps", "--size",
    "--resolution", "--frames", "--data", "--test", "--hold", "--resume", "lr=0.1", "lr=0.1,0.5", "lr=-1",
    "lr=", "=3", "epochs=0", "n1=0,5", "activation=gelu", "dataset=9", "explode", "nope", "gif", "avi",
    "0", "-1", "abc", "640x360", "10x10", "/nonexistent/x.csv", "/nonexistent/c.toml", "shuffle=maybe",
])


class _WouldTrain(Exception):
    """Raised by the stand-in for sweep: every check before training passed."""


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=st.lists(TOKENS, max_size=7))
def test_any_cli_arguments_end_in_training_or_one_line_exit_2(argv, monkeypatch, capsys, tmp_path):
    import jaxviz.api

    def stand_in(*args, **kwargs):  # validation is under test here; training is tested elsewhere
        raise _WouldTrain

    monkeypatch.setattr(jaxviz.api, "sweep", stand_in)
    monkeypatch.chdir(tmp_path)
    try:
        code = main(argv)
    except _WouldTrain:
        return
    err = capsys.readouterr().err
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert err.startswith("jaxviz: error: ") and err.count("\n") == 1, (argv, err)
    assert "Traceback" not in err
