"""Settings layered one over another (preset, config file, command line; or ``hp`` and keyword
overrides): later wins, with a note for each value replaced."""

from __future__ import annotations

from typing import Any

__all__ = ["merge_settings"]


def _show(value: Any) -> str:
    return repr(list(value)) if isinstance(value, (list, tuple)) else repr(value)


def merge_settings(layers: list[tuple[str, dict[str, Any]]]) -> tuple[dict[str, Any], list[str]]:
    """Merge settings layer by layer, later wins: ``(merged, notes)``.

    ``layers`` are ``(source, settings)`` from first to last (for the CLI: preset, config file,
    ``--set`` / ``--grid`` in the order typed; in Python: ``hp``, then keyword overrides). A later
    value replaces an earlier one whatever their kinds (a value replaces an axis, an axis a value
    or another axis) and moves the key to the end of the axis order. ``notes`` has one line per
    key whose value was replaced by a different one, for stderr.

    Example:
        >>> merged, notes = merge_settings([("hp", {"lr": [0.1, 0.5], "n1": 4}), ("overrides", {"lr": 0.3})])
        >>> merged
        {'n1': 4, 'lr': 0.3}
        >>> notes
        ['jaxviz: note: lr=0.3 overrides lr=[0.1, 0.5] (overrides over hp)']
    """
    merged: dict[str, Any] = {}
    source: dict[str, str] = {}
    replaced: dict[str, tuple[Any, str]] = {}
    for name, settings in layers:
        for key, value in (settings or {}).items():
            if key in merged and not _same(merged[key], value):
                replaced[key] = (merged[key], source[key])
            merged.pop(key, None)
            merged[key], source[key] = value, name
    notes = []
    for key, (old, old_source) in replaced.items():
        where = f" ({source[key]} over {old_source})" if source[key] and old_source else ""
        notes.append(f"jaxviz: note: {key}={_show(merged[key])} overrides {key}={_show(old)}{where}")
    return merged, notes


def _same(a: Any, b: Any) -> bool:
    try:
        return type(a) is type(b) and bool(a == b)
    except (TypeError, ValueError):  # e.g. arrays compare elementwise
        return False
