"""Model-epochs per second: jaxviz's one-program grid vs the loops a user has today.

Every contender trains on moons with the seed's defaults (10-10 lrelu MLP, SGD lr 0.1 momentum
0.9, batch 10, 100 epochs) and predicts a 64x64 mesh after every epoch (and before the first):
- jaxviz.sweep over a grid of 1, 16 and 256 learning rates (training + surfaces, one program);
- scikit-learn MLPClassifier, one model at a time: partial_fit per epoch + predict_proba on the mesh;
- the seed's Keras loop (Keras 3, JAX backend): fit with a per-epoch callback that predicts the mesh.
The loops cost the same per model, so they are timed on a few models and reported per model-epoch.

    python benchmarks/train_throughput.py            # prints the table
    python benchmarks/train_throughput.py --write    # and appends it to benchmarks/RESULTS.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

os.environ.setdefault("KERAS_BACKEND", "jax")

import numpy as np  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import jaxviz  # noqa: E402
from common import append_results  # noqa: E402
from jaxviz.data import load_dataset  # noqa: E402
from jaxviz.engine.surfaces import mesh  # noqa: E402

RESOLUTION = 64


def bench_jaxviz(n_models: int, epochs: int, repeats: int = 2) -> tuple[float, float]:
    """(seconds with compile, seconds steady: the best of ``repeats`` runs) for a grid of n_models learning rates."""
    def once(offset):
        lrs = list(np.linspace(0.01, 0.5, n_models) + offset) if n_models > 1 else 0.1 + offset
        t = time.perf_counter()
        run = jaxviz.sweep(lr=lrs, epochs=epochs, resolution=RESOLUTION, progress=False)
        assert run.surfaces.shape == (n_models, epochs + 1, RESOLUTION, RESOLUTION)
        return time.perf_counter() - t

    first = once(0.0)
    steady = min(once(k * 1e-3) for k in range(1, repeats + 1))  # new values, same program
    return first, steady


def bench_sklearn(n_models: int, epochs: int) -> float:
    from sklearn.neural_network import MLPClassifier

    ds = load_dataset("moons")
    points = mesh(ds.extent, RESOLUTION)
    warnings.simplefilter("ignore")  # partial_fit warns that one epoch does not converge
    t = time.perf_counter()
    for m in range(n_models):
        clf = MLPClassifier(hidden_layer_sizes=(10, 10), solver="sgd", learning_rate_init=0.1, momentum=0.9,
                            nesterovs_momentum=False, batch_size=10, alpha=0.0, random_state=m)
        clf.partial_fit(ds.x_train, ds.y_train, classes=[0.0, 1.0])  # sklearn needs one fit to build
        clf.predict_proba(points)
        for _ in range(epochs - 1):
            clf.partial_fit(ds.x_train, ds.y_train)
            clf.predict_proba(points)
    return time.perf_counter() - t


def bench_keras(n_models: int, epochs: int) -> float | None:
    try:
        import keras
    except ImportError:
        return None
    ds = load_dataset("moons")
    points = mesh(ds.extent, RESOLUTION)

    class PredictMesh(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            self.model.predict(points, verbose=0)

    t = time.perf_counter()
    for _ in range(n_models):
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(10), keras.layers.LeakyReLU(0.3),
                                  keras.layers.Dense(10), keras.layers.LeakyReLU(0.3),
                                  keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", metrics=["accuracy"],
                      optimizer=keras.optimizers.SGD(learning_rate=0.1, momentum=0.9))
        model.predict(points, verbose=0)
        model.fit(ds.x_train, ds.y_train, validation_data=(ds.x_test, ds.y_test), batch_size=10,
                  epochs=epochs, verbose=0, callbacks=[PredictMesh()])
    return time.perf_counter() - t


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="1,16,256", help="grid sizes for jaxviz")
    parser.add_argument("--epochs", type=int, default=100)
    parser.add_argument("--sklearn-models", type=int, default=4, help="models timed in the sklearn loop")
    parser.add_argument("--keras-models", type=int, default=1, help="models timed in the Keras loop")
    parser.add_argument("--write", action="store_true", help="append the results to benchmarks/RESULTS.md")
    args = parser.parse_args()
    epochs = args.epochs

    sk = args.sklearn_models * epochs / bench_sklearn(args.sklearn_models, epochs)
    ke_t = bench_keras(args.keras_models, epochs)
    ke = args.keras_models * epochs / ke_t if ke_t else None
    rows = [
        "| contender | models | model-epochs/s (steady) | with compile | x sklearn loop | x Keras loop |",
        "|---|---:|---:|---:|---:|---:|",
        f"| scikit-learn MLPClassifier loop | {args.sklearn_models} | {sk:,.0f} | - | 1.0 | "
        f"{sk / ke if ke else float('nan'):.2f} |",
    ]
    if ke:
        rows.append(f"| seed's Keras loop (Keras 3, JAX) | {args.keras_models} | {ke:,.0f} | - | {ke / sk:.2f} | 1.0 |")
    for n in (int(s) for s in args.sizes.split(",")):
        first, steady = bench_jaxviz(n, epochs)
        rate, rate_first = n * epochs / steady, n * epochs / first
        rows.append(f"| jaxviz.sweep, one program | {n} | {rate:,.0f} | {rate_first:,.0f} | {rate / sk:.1f} | "
                    f"{rate / ke if ke else float('nan'):.1f} |")
        print(rows[-1], flush=True)
    table = "\n".join(rows)
    print(table)
    if args.write:
        note = (f"Moons, seed defaults, {epochs} epochs, {RESOLUTION}x{RESOLUTION} surfaces before training and "
                "after every epoch. 'steady' = best of two runs with new values reusing the compiled "
                "program; 'with compile' = the first run in a fresh process.")
        append_results("Training throughput (train_throughput.py)",
                       "python benchmarks/train_throughput.py --write", f"{note}\n\n{table}")


if __name__ == "__main__":
    main()
