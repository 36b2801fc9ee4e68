"""The progress bar of a sweep or a map: "compiling" until the first chunk of work is done, then
"training" with its rate (model-epochs or models per second), in a terminal or a notebook."""

from __future__ import annotations

__all__ = ["progress_bar", "advance"]


def progress_bar(total: int, enabled: bool, unit: str = " model-epochs"):
    """A tqdm bar over ``total`` units of work, or ``None`` when not ``enabled``.

    Example:
        >>> bar = progress_bar(10, True, " models")
        >>> advance(bar, 4); bar.desc.startswith("training"), bar.n
        (True, 4)
        >>> bar.close(); progress_bar(10, False) is None
        True
    """
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="compiling", unit=unit, unit_scale=True, leave=False, dynamic_ncols=True,
                smoothing=0.1)


def advance(bar, done) -> None:
    """Move ``bar`` to ``done`` units; the first call ends the compile."""
    if bar.desc == "compiling":
        bar.set_description("training", refresh=False)
    bar.update(min(done, bar.total) - bar.n)
