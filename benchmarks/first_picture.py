"""Time to the first picture: what a user waits for after changing one setting.

Every contender runs in a fresh process; imports are not timed (each child imports first, then
starts its clock), so the figures are compile + training + surfaces, as a user feels them:
- the seed's Keras loop: one model (seed defaults, moons), 100 epochs, the 64x64 mesh predicted
  before training and after every epoch (a Keras callback);
- the jaxviz demo grid (lr x momentum, 6 models, 100 epochs, 64x64 surfaces every epoch), cold:
  an empty compilation cache;
- the same in a second process, with the cache the first one filled;
- in one warm process with the cache off: the demo, then a change of each of n1, n3, epochs,
  activation, optimizer, batch_size, resolution and dataset (each a new program shape).
Each figure is also given as a ratio to the Keras loop measured in the same run.

    python benchmarks/first_picture.py            # prints the table
    python benchmarks/first_picture.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from common import json_child  # noqa: E402

KERAS = """
import os, time, json
os.environ["KERAS_BACKEND"] = "jax"
import keras
from jaxviz.data import load_dataset
from jaxviz.engine.surfaces import mesh
ds = load_dataset("moons")
points = mesh(ds.extent, 64)
class PredictMesh(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        self.model.predict(points, verbose=0)
t = time.perf_counter()
model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(10), keras.layers.LeakyReLU(0.3),
                          keras.layers.Dense(10), keras.layers.LeakyReLU(0.3),
                          keras.layers.Dense(1, activation="sigmoid")])
model.compile(loss="binary_crossentropy", metrics=["accuracy"],
              optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9))
model.predict(points, verbose=0)
model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_test, ds.y_test), batch_size=10, epochs=100,
          verbose=0, callbacks=[PredictMesh()])
print(json.dumps({"keras": time.perf_counter() - t}))
"""

DEMO = """
import time, json
import jaxviz
import jaxviz.data, jaxviz.engine.train, jaxviz.engine.surfaces, jaxviz.views.compositor  # imports are not timed
hp = dict(jaxviz.PRESETS["demo"])
t = time.perf_counter()
run = jaxviz.sweep(hp, progress=False)
assert run.surfaces.shape[0] == 6
print(json.dumps({"demo": time.perf_counter() - t}))
"""

CHANGES = {"n1": 16, "n3": 4, "epochs": 150, "activation": "tanh", "optimizer": "adam", "batch_size": 20,
           "resolution": 96, "dataset": "circles"}

WARM = """
import time, json
import jaxviz
import jaxviz.data, jaxviz.engine.train, jaxviz.engine.surfaces, jaxviz.views.compositor  # imports are not timed
hp = dict(jaxviz.PRESETS["demo"])
out = {}
t = time.perf_counter()
jaxviz.sweep(hp, progress=False)
out["demo (warm process, first)"] = time.perf_counter() - t
for key, value in %r.items():
    t = time.perf_counter()
    if key == "resolution":
        jaxviz.sweep(hp, progress=False, resolution=value)
    else:
        jaxviz.sweep({**hp, key: value}, progress=False)
    out[f"change {key} -> {value}"] = time.perf_counter() - t
print(json.dumps(out))
""" % (CHANGES,)


def child(script: str, cache: str) -> dict[str, float]:
    """Run ``script`` in a fresh Python process with ``JAXVIZ_CACHE_DIR=cache``; its JSON line."""
    return json_child(script, env={"JAXVIZ_CACHE_DIR": cache})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    keras = child(KERAS, "off")["keras"]
    rows = [("seed's Keras loop, 1 model, 100 epochs, mesh every epoch", keras)]
    with tempfile.TemporaryDirectory() as cache:
        rows.append(("jaxviz demo grid (6 models), fresh process, empty cache", child(DEMO, cache)["demo"]))
        rows.append(("jaxviz demo grid, second process, cache filled by the first", child(DEMO, cache)["demo"]))
    rows += list(child(WARM, "off").items())
    lines = ["| run | seconds | x Keras loop |", "|---|---:|---:|"]
    lines += [f"| {name} | {t:.2f} | {t / keras:.2f} |" for name, t in rows]
    table = "\n".join(lines)
    table += f"\n\nLoad average (1 min) at the start and the end: {load:.1f}, {os.getloadavg()[0]:.1f}."
    print(table)
    if args.write:
        from common import append_results

        note = ("Each contender in a fresh process, imports not timed; 'x Keras loop' is the ratio to the Keras "
                "loop's time in this same run. Warm-process changes run with the persistent cache off, so each "
                "new program shape compiles.")
        append_results("First picture (first_picture.py)", "python benchmarks/first_picture.py --write",
                       f"{note}\n\n{table}")


if __name__ == "__main__":
    main()
