"""Which epoch program a small grid's run uses: the shared one, or the exact one for a cold start.

A grid of at most ``SHARED_MODELS`` models trains in a *shared* program, compiled with every
activation, three hidden slots and every Keras optimiser, so that changing one of them reuses
it (:meth:`jaxviz.spec.grid.Grid.static`). That program is also the slowest to compile, and a
process's first picture waits for it. The *exact* program
(:func:`exact_static`) computes only what the grid's models use; it has the
same inputs and outputs and gives the same bits (a test checks), and the demo's compiles in about 0.6x
the time (``benchmarks/compile_profile.py``: 1.69 s against 2.77 s).

So a process's first run, when the shared program is neither compiled nor in the store, trains
with the exact program, and then builds the shared one in the background for the changes that
follow (this is :func:`choose`). Later runs take whichever of the two is built, the shared one
while it is still building, else build the shared one, as before.

Example:
    >>> set_fast_start(exact=True, background=True)
"""

from __future__ import annotations

import threading

import numpy as np

from jaxviz.spec.grid import HParams, Static

__all__ = ["exact_static", "live_arrays", "set_fast_start", "choose", "build_later", "start_later", "wait"]

_SETTINGS = {"exact": True, "background": True}
_FIRST = [True]  # no epoch program has been chosen in this process yet
_THREADS: list[threading.Thread] = []
_LATER: list = []  # (program, args) to build once the run that chose them is complete


def set_fast_start(exact: bool = True, background: bool = True) -> None:
    """Whether a process's first run may train with its exact program (``exact``), and whether
    the shared program is then built in the background (``background``; a command-line run,
    which ends after one run, does without).

    Example:
        >>> set_fast_start(exact=True, background=False)
        >>> set_fast_start()
    """
    _SETTINGS.update(exact=exact, background=background)


def choose(shared, exact, args):
    """``(program, later)``: the epoch program (a :class:`~jaxviz.engine.programs.Program`) a run
    with arguments ``args`` uses, and the one to build in the background after it, or None.

    Example:
        >>> from jaxviz.engine.programs import Program
        >>> import jax.numpy as jnp
        >>> shared, exact = Program(lambda x: x, "doc-shared", ()), Program(lambda x: x, "doc-exact", ())
        >>> choose(shared, None, (jnp.ones(2),)) == (shared, None)
        True
    """
    start_later()  # what an earlier run left to build (a run not made by jaxviz.sweep)
    if exact is None or not _SETTINGS["exact"]:
        return shared, None
    first, _FIRST[0] = _FIRST[0], False
    mine, theirs = shared.status(*args), exact.status(*args)
    if mine == "built":
        return shared, None
    if theirs == "built":
        return exact, None
    if mine == "building" or not first:
        return shared, None
    return exact, shared if _SETTINGS["background"] else None


def build_later(program, args) -> None:
    """Build ``program`` for ``args`` after the run: at :func:`start_later` (``jaxviz.sweep`` calls
    it when its Run is complete, so the build does not slow the run itself), else at the next
    :func:`choose`.

    Example:
        >>> import jax
        >>> from jaxviz.engine.programs import Program
        >>> later = Program(lambda x: x + 1, "doc-later", ())
        >>> build_later(later, (jax.ShapeDtypeStruct((2,), "float32"),)); start_later(); wait()
        >>> later.status(jax.ShapeDtypeStruct((2,), "float32")) in ("built", "building")
        True
    """
    _LATER.append((program, args))


def start_later() -> None:
    """Start the builds :func:`build_later` holds, each in a background thread (tracing there,
    then compiling in the compile pool); :func:`wait` waits for them.

    Example:
        >>> start_later()
    """
    while _LATER:
        program, args = _LATER.pop(0)
        thread = threading.Thread(target=_build, args=(program, args), name="jaxviz-shared-program")
        thread.start()
        _THREADS.append(thread)


def _build(program, args) -> None:
    try:
        program.prepare(*args)
    except RuntimeError as err:
        # the process is exiting (concurrent.futures takes no new work once the interpreter shuts
        # down): the build is dropped quietly, a later process compiles the program when it needs it
        if "after shutdown" not in str(err) and "after interpreter shutdown" not in str(err):
            raise


def wait() -> None:
    """Wait until every program started by :func:`build_later` is traced (its compile may still run).

    Example:
        >>> wait()
    """
    while _THREADS:
        _THREADS.pop().join()


def exact_static(static: Static, hp: HParams) -> Static | None:
    """The static fields of a program that computes only what the models ``hp`` use: their
    activations and Keras optimisers (the others ``None``: left out, indices unchanged) and their
    hidden slots (``live_slots``); ``None`` when that is all of ``static`` already. Its results
    are those of ``static``'s program, bit for bit, and it has the same inputs and outputs: a
    small grid's first run compiles it, quicker than the shared program (see
    :func:`jaxviz.engine.train.train_grid`).

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> g = make_grid(lr=[0.1, 0.5])
        >>> s = exact_static(g.static([60]), g.hparams([60]))
        >>> s.activations, s.optimizers, s.live_slots
        ((None, 'lrelu', None, None, None), ('sgd', None, None, None), 2)
    """
    def used(names, index):
        taken = set(np.asarray(index).tolist())
        return tuple(n if n and (i in taken or n.startswith("optax:")) else None for i, n in enumerate(names))

    widths = np.asarray(hp.widths)
    slots = 3 if widths[:, 2:].any() else 2 if widths[:, 1:].any() else 1
    exact = static._replace(activations=used(static.activations, hp.activation),
                            optimizers=used(static.optimizers, hp.optimizer), live_slots=min(slots, static.slots))
    return None if exact._replace(live_slots=0) == static and slots >= static.slots else exact


def live_arrays(arrays: list, static: Static) -> list:
    """The arrays a program computes with: all, or without the hidden slots past
    ``static.live_slots`` (no model of that program has those layers: they hold zeros and pass
    their input on, so leaving them out changes no bit of any result).

    Example:
        >>> from jaxviz.spec.grid import make_grid
        >>> static = make_grid(n1=4, n2=0).static([60])
        >>> len(live_arrays(list(range(8)), static)), live_arrays(list(range(8)), static._replace(live_slots=1))
        (8, [0, 1, 6, 7])
    """
    if not static.live_slots or static.live_slots >= static.slots:
        return arrays
    return arrays[:2 * static.live_slots] + arrays[-2:]
