"""Files of a run: atomic writes, ``.npz`` arrays, the metrics CSV and the config TOML.

Every file is written under a temporary name in the same folder and renamed when complete, so
a reader never sees a half-written file.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import Any

import numpy as np

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib
import tomli_w


__all__ = ["hp_table", "hp_hash", "table_hash", "atomic_path", "write_metrics_csv", "write_config", "read_config", "write_npz", "versions"]


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike):
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds.

    Example:
        >>> import tempfile
        >>> d = tempfile.mkdtemp()
        >>> with atomic_path(f"{d}/a.txt") as tmp:
        ...     _ = open(tmp, "w").write("done")
        >>> open(f"{d}/a.txt").read()
        'done'
    """
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def hp_table(configs: list[dict[str, Any]]) -> str:
    """Every model's full config as canonical JSON: what ``run.npz`` and checkpoints were trained with.

    Example:
        >>> hp_table([{"lr": 0.1, "epochs": 5}])
        '[{"epochs":5,"lr":0.1}]'
    """
    return json.dumps(list(configs), sort_keys=True, separators=(",", ":"))  # a lazy Configs sequence too


def hp_hash(configs: list[dict[str, Any]]) -> str:
    """SHA-256 of :func:`hp_table`: stored in ``run.npz`` and checkpoints, checked when read back.

    Example:
        >>> len(hp_hash([{"lr": 0.1}]))
        64
    """
    return table_hash(hp_table(configs))


def table_hash(table: str) -> str:
    """SHA-256 of an :func:`hp_table` already built (it is O(models) to build: build it once).

    Example:
        >>> table_hash(hp_table([{"lr": 0.1}])) == hp_hash([{"lr": 0.1}])
        True
    """
    return hashlib.sha256(table.encode()).hexdigest()


def write_npz(path, arrays: dict[str, np.ndarray]) -> Path:
    """Save arrays to ``path`` (``.npz``, no pickle) atomically.

    Example:
        >>> import tempfile
        >>> p = write_npz(f"{tempfile.mkdtemp()}/a.npz", {"x": np.arange(3)})
        >>> np.load(p)["x"].tolist()
        [0, 1, 2]
    """
    path = Path(path)
    with atomic_path(path) as tmp:
        np.savez(tmp, **arrays)
    return path


def write_metrics_csv(path, run) -> Path:
    """One row per model and epoch: model, the varied hp, epoch, the History metrics,
    ``diverged`` (1 from the epoch the model's loss became NaN or inf) and ``exploded`` (1 from
    the epoch its loss jumped and stuck at the saturated outputs; see ``Run.exploded_epoch``).

    Example:
        >>> import jaxviz, tempfile
        >>> run = jaxviz.sweep(lr=[0.1, 0.5], epochs=2, resolution=8, progress=False)
        >>> p = write_metrics_csv(f"{tempfile.mkdtemp()}/m.csv", run)
        >>> len(open(p).read().splitlines())
        5
    """
    from jaxviz.analysis import csv_rows

    path = Path(path)
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as f:
        csv.writer(f).writerows(csv_rows(run))
    return path


def write_config(path, hp: dict[str, Any], options: dict[str, Any]) -> Path:
    """The TOML that re-runs a sweep: ``[hp]`` (lists are axes) and ``[options]``.

    Example:
        >>> import tempfile
        >>> p = write_config(f"{tempfile.mkdtemp()}/c.toml", {"lr": [0.1, 0.5]}, {"resolution": 8})
        >>> read_config(p)
        {'hp': {'lr': [0.1, 0.5]}, 'options': {'resolution': 8}}
    """
    path = Path(path)
    doc = {"hp": hp, "options": {k: v for k, v in options.items() if v is not None}, "versions": versions()}
    with atomic_path(path) as tmp, open(tmp, "wb") as f:
        f.write(b"# jaxviz run config: `jaxviz run --config THIS_FILE` runs it again.\n"
                b"# [versions] records what produced it (read back for information only).\n")
        tomli_w.dump(doc, f)
    return path


def versions() -> dict[str, str]:
    """Versions of the packages that decide a run's numbers.

    Example:
        >>> sorted(versions())
        ['flax', 'jax', 'jaxlib', 'jaxviz', 'numpy', 'optax']
    """
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("jaxviz", "jax", "jaxlib", "flax", "optax", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:  # pragma: no cover - running from a source tree
            out[name] = "unknown"
    return out


def read_config(path, what: str = "config") -> dict[str, Any]:
    """Read a config TOML with ``[hp]`` and optional ``[options]``; refuse anything else.

    Example:
        >>> import tempfile
        >>> p = Path(tempfile.mkdtemp()) / "c.toml"
        >>> _ = p.write_text("[hp]\\nlr = 0.5\\n")
        >>> read_config(p)
        {'hp': {'lr': 0.5}, 'options': {}}
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            doc = tomllib.load(f)
    except FileNotFoundError:
        raise ValueError(f"{what} must be an existing TOML file. Got {str(path)!r} instead.") from None
    except IsADirectoryError:
        raise ValueError(f"{what} must be an existing TOML file. Got {str(path)!r} (a folder) instead.") from None
    except OSError as e:
        raise ValueError(f"{what} must be a readable TOML file. Got {str(path)!r} ({e.strerror or e}) instead.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} {str(path)!r} is not valid TOML: {e}.") from None
    from jaxviz.spec.config import unknown_key

    for key in doc:
        if key not in ("hp", "options", "versions"):
            raise unknown_key("config table", key, ["hp", "options", "versions"])
    for key in ("hp", "options"):
        if not isinstance(doc.get(key, {}), dict):
            raise ValueError(f"config [{key}] must be a table. Got {doc[key]!r} instead.")
    return {"hp": doc.get("hp", {}), "options": doc.get("options", {})}
