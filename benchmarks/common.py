"""Shared helpers of the benchmarks: machine description and RESULTS.md writing."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")


def machine() -> str:
    """CPU model, core count, OS and the JAX backend, in one line."""
    import jax

    cpu = platform.processor() or "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return (f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
            f"Python {platform.python_version()}, jax {jax.__version__} on {jax.default_backend()} ({devices})")


def append_results(title: str, command: str, body: str) -> None:
    """Append one dated section to benchmarks/RESULTS.md."""
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    section = f"\n## {title} ({stamp})\n\n- machine: {machine()}\n- command: `{command}`\n\n{body.rstrip()}\n"
    if not RESULTS.exists():
        RESULTS.write_text("# Benchmark results\n\nEach section is one run of a script in this folder, "
                           "with every figure measured in that same run.\n")
    with open(RESULTS, "a") as f:
        f.write(section)


def json_child(script: str, *args: str, env: dict | None = None, cwd: str | None = None) -> dict:
    """Run ``python -c script *args`` in a fresh process (with ``env`` added to this one's) and return the
    JSON object of its last output line; its stderr tail on failure."""
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", script, *args], env={**os.environ, **(env or {})}, cwd=cwd,
                         capture_output=True, text=True, timeout=1800)
    if out.returncode:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])
