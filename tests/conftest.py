import os

import pytest

from jaxviz.engine.exact import set_fast_start

# every test in this process sees the programs its grid's shape decides; a process's first run on
# its exact program is tested in a process of its own (tests/test_compile.py)
set_fast_start(exact=False)

# one thread pool per test process is enough; keeps CI's 2 cores from oversubscribing
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=true")


@pytest.fixture(scope="session")
def tiny_run():
    """A 3 x 2 lr x momentum grid, 6 epochs, shared by the tests that only read a Run."""
    import jaxviz

    return jaxviz.sweep({"lr": [0.01, 0.1, 0.5], "momentum": [0.0, 0.9]}, epochs=6, resolution=16,
                        progress=False)
