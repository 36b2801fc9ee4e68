"""Several hosts: two JAX processes of two CPU devices each (``jax.distributed`` over localhost, gloo
collectives) run the same sweep and trainability map as one process on one device, and every
process gets the same numbers, bit for bit (see tests/multiproc.py)."""

import numpy as np
import pytest
from multiproc import run_jobs


@pytest.mark.slow
def test_two_processes_of_two_devices_equal_one_process_bit_for_bit(tmp_path):
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    (rc1, out1, err1), *pair = run_jobs([one, two], processes=[1, 2], devices=[1, 2], timeout=540)
    assert rc1 == 0, err1[-3000:]
    for rc, _, err in pair:
        assert rc == 0, err[-3000:]
    # one process, one device: 32 rows per call (one block of 32); two of two: 4 devices x 1 block
    def last(out):  # gloo prints its connections before it
        return out.splitlines()[-1].split()

    assert last(out1) == ["1", "1", "1", "32", "32"]
    assert [last(out) for _, out, _ in pair] == [["2", "4", "2", "128", "128"]] * 2

    expected = dict(np.load(one))
    assert expected["surfaces"].shape == (8, 4, 8, 8) and expected["score"].shape == (4, 5)
    assert expected["converged"].any() and not expected["converged"].all()  # lr=10 diverges
    assert expected["stopped_epochs"] == 1 and np.isnan(expected["stopped_loss"][:, 1:]).all()
    for i in range(2):
        got = dict(np.load(tmp_path / f"two-{i}.npz"))
        assert sorted(got) == sorted(expected)
        different = [k for k in expected if not np.array_equal(got[k], expected[k], equal_nan=True)]
        assert different == [], f"process {i}: {different}"

    for _, out, _ in pair:
        assert "live must be False when 2 processes train together. Got True instead." in out
    # only process 0 shows progress bars (the sweep's in model-epochs, the map's in models)
    (_, _, err0), (_, _, err_other) = pair
    assert "model-epochs" in err0 and " models" in err0
    assert "model-epochs" not in err_other and " models" not in err_other
