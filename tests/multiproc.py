"""Several JAX processes on this machine, for tests: each one a CPU "host" with its own devices,
joined by ``jax.distributed`` over localhost with CPU collectives (gloo), as hosts of a cluster are.

Run as a script, it is the job every process runs: ``python tests/multiproc.py OUT PROCESS PROCESSES
PORT`` trains a small sweep and a small trainability map and saves every result to ``OUT`` (.npz).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

#: The job's sweep and map: tiny, so that compiling dominates and the test stays short.
SWEEP = {"lr": [0.01, 0.1, 0.5, 3.0], "momentum": [0.0, 0.9], "epochs": 3, "resolution": 8}
MAP = {"lr": [0.001, 0.01, 0.1, 1.0, 10.0], "momentum": [0.0, 0.5, 0.9, 0.99], "epochs": 3}


def free_port() -> int:
    """A TCP port on localhost that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def cpu_env(devices: int) -> dict:
    """This environment with JAX on the CPU only, showing ``devices`` CPU devices."""
    flags = f"{os.environ.get('XLA_FLAGS', '')} --xla_force_host_platform_device_count={devices}"
    return {**os.environ, "XLA_FLAGS": flags.strip(), "JAX_PLATFORMS": "cpu"}


def run_jobs(outs: list[Path], processes: list[int], devices: list[int], timeout: float) -> list:
    """Start one job per ``outs`` entry at once (``processes[i]`` processes of ``devices[i]`` CPU
    devices each; a job of several processes gets one subprocess per process and a port of its own)
    and wait for all; ``(returncode, stdout, stderr)`` of every subprocess, in order. On a timeout
    every subprocess is killed, so a hung collective cannot outlive the test."""
    script = str(Path(__file__).resolve())
    procs = []
    for out, n, d in zip(outs, processes, devices):
        port = str(free_port())
        for i in range(n):
            target = out if n == 1 else out.with_name(f"{out.stem}-{i}{out.suffix}")
            procs.append(subprocess.Popen([sys.executable, script, str(target), str(i), str(n), port],
                                          env=cpu_env(d), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        outputs = [p.communicate(timeout=timeout) for p in procs]
        return [(p.returncode, *o) for p, o in zip(procs, outputs)]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()


def job(out: str, process: int, processes: int, port: str) -> None:
    """Train :data:`SWEEP` and :data:`MAP` (as one of ``processes`` processes, when several) and save
    every number of both to ``out``."""
    import jax

    if processes > 1:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
        jax.distributed.initialize(f"localhost:{port}", num_processes=processes, process_id=process)
    import numpy as np

    import jaxviz

    run = jaxviz.sweep(**SWEEP)
    m = jaxviz.trainability(**MAP)
    # a stop that only process 0 asks for: process 0 decides for every process (or they would hang)
    stopped = jaxviz.sweep(**SWEEP, progress=False, should_stop=lambda: jax.process_index() == 0)
    if processes > 1:
        try:  # each process would decide on its own when to draw: refused before anything compiles
            jaxviz.sweep(**SWEEP, progress=False, live=True)
        except ValueError as e:
            print(e)
    arrays = {f"metric_{k}": v for k, v in run.metrics.items()}
    arrays |= {f"stopped_{k}": v for k, v in stopped.metrics.items()}
    arrays |= {"stopped_epochs": stopped.completed_epochs, "stopped_surfaces": stopped.surfaces}
    arrays |= {f"weights_{i}": w for i, w in enumerate(run._weights)}
    arrays |= {"surfaces": run.surfaces, "initial_val_loss": run.initial_val[0], "score": m.score,
               "converged": m.converged, **{f"final_{k}": v for k, v in m.final.items()}}
    np.savez(out, **arrays)
    print(jax.process_count(), len(jax.devices()), len(jax.local_devices()), run.plan.chunk, m.plan.chunk)


if __name__ == "__main__":
    job(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])
