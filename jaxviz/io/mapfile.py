"""A trainability map on disk: ``map.npz`` (scores, converged, last metrics, axis values),
``config.toml`` (the grid that re-makes it: ``jaxviz map --config``) and ``map.png`` (its figure).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import numpy as np

from jaxviz.io.files import atomic_path, read_config, write_config, write_npz

__all__ = ["MAP_FILES", "write_map", "read_map", "holds_map"]

#: The files of a map folder.
MAP_FILES = ("map.npz", "config.toml", "map.png")


def holds_map(directory) -> bool:
    """Whether ``directory`` holds a saved map (its ``map.npz``).

    Example:
        >>> import tempfile
        >>> holds_map(tempfile.mkdtemp())
        False
    """
    return (Path(directory) / "map.npz").is_file()


def write_map(directory, arrays: dict[str, np.ndarray], hp: dict[str, Any], options: dict[str, Any],
              draw_png: Callable[[Path], Any] | None = None) -> Path:
    """Write a map folder: ``arrays`` to ``map.npz``, ``hp`` and ``options`` to ``config.toml``
    and, with ``draw_png(path)``, ``map.png``; each file atomically. Returns the folder.

    Example:
        >>> import tempfile
        >>> d = write_map(tempfile.mkdtemp(), {"score": np.zeros((2, 3))}, {"lr": [0.1, 0.2, 0.3]}, {"x": "lr"})
        >>> sorted(p.name for p in d.iterdir())
        ['config.toml', 'map.npz']
    """
    d = Path(directory)
    if d.exists() and not d.is_dir():
        raise ValueError(f"directory must be a folder for the map. Got {str(d)!r} (a file) instead.")
    d.mkdir(parents=True, exist_ok=True)
    write_npz(d / "map.npz", arrays)
    write_config(d / "config.toml", hp, options)
    if draw_png is not None:
        with atomic_path(d / "map.png") as tmp:
            draw_png(tmp)
    return d


def read_map(directory) -> tuple[dict[str, np.ndarray], dict[str, Any], dict[str, Any]]:
    """``(arrays, hp, options)`` of a map folder; a folder without ``map.npz`` and
    ``config.toml`` is refused in one line.

    Example:
        >>> import tempfile
        >>> d = write_map(tempfile.mkdtemp(), {"score": np.zeros((2, 3))}, {"lr": [0.1, 0.2, 0.3]}, {"x": "lr"})
        >>> arrays, hp, options = read_map(d)
        >>> arrays["score"].shape, hp, options
        ((2, 3), {'lr': [0.1, 0.2, 0.3]}, {'x': 'lr'})
    """
    d = Path(directory)
    npz, toml = d / "map.npz", d / "config.toml"
    if not npz.is_file() or not toml.is_file():
        raise ValueError(f"directory must hold a saved map (map.npz and config.toml). Got {str(d)!r} instead.")
    config = read_config(toml, str(toml))
    try:
        with np.load(npz, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
    except (OSError, ValueError) as e:
        raise ValueError(f"{npz} must be a map.npz written by jaxviz. Got an unreadable file ({e}) instead.") from None
    return arrays, dict(config["hp"]), dict(config.get("options", {}))
