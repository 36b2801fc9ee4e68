#!/usr/bin/env bash
# The scale benchmark on a GPU machine, up to 65,536 models, the time to the first picture
# (first_picture.py: the Keras loop, the demo cold and cached, one-setting changes, as ratios to
# the Keras loop in the same run; it needs keras) and a 4096 x 4096 fractal-paper map, results appended to benchmarks/RESULTS.md
# (and copied to $OUT when that is set, as on a lent device machine).
# Installs nothing: it needs a Python whose jax sees a GPU and that has jaxviz's dependencies
# (pip install -e . "jax[cuda12]"). Run it from anywhere:  bash benchmarks/gpu.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
"$PY" -c 'import jax, sys; b = jax.default_backend(); print("jax", jax.__version__, b, jax.devices()); sys.exit(0 if b == "gpu" else f"no GPU: jax runs on {b}")'
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
"$PY" benchmarks/scale.py --models 1 64 1024 4096 16384 65536 --write
"$PY" benchmarks/first_picture.py --write
# batches of up to 32 in micro-batches of 16 lanes against one wide step (the CPU's choice; unmeasured on a GPU)
"$PY" benchmarks/micro_batches.py --models 16384 --rounds 2 --write
# issue 13: the fractal paper's map at 4096 x 4096 (16.8 M models, 200 steps, float64), jaxviz and the
# notebook's own loop side by side in one run (sign agreement, times, boundary dimension)
"$PY" benchmarks/fractal_paper.py --side 4096 --steps 200 --window 0 3 0 3 --write
if [ -n "${OUT:-}" ]; then cp benchmarks/RESULTS.md "$OUT/RESULTS.md"; fi
