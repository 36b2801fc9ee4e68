"""The metrics table as notebooks and terminals show it (see :meth:`jaxviz.results.Run.table`)."""

from __future__ import annotations

from typing import Any, NamedTuple

__all__ = ["MetricsTable"]


class MetricsTable(NamedTuple):
    """Rows of values under named columns (see :meth:`Run.table`); HTML in notebooks.

    Example:
        >>> print(MetricsTable(["model", "loss"], [[0, 0.25]]))
        model  loss
            0  0.25
    """

    columns: list[str]
    rows: list[list[Any]]

    def _cells(self) -> list[list[str]]:
        fmt = lambda v: f"{v:.4g}" if isinstance(v, float) else str(v)  # noqa: E731
        return [[fmt(v) for v in row] for row in self.rows]

    def __str__(self) -> str:
        cells = [self.columns, *self._cells()]
        widths = [max(len(r[j]) for r in cells) for j in range(len(self.columns))]
        return "\n".join("  ".join(v.rjust(w) for v, w in zip(r, widths)).rstrip() for r in cells)

    def _repr_html_(self) -> str:
        from html import escape

        head = "".join(f"<th>{escape(c)}</th>" for c in self.columns)
        body = "".join("<tr>" + "".join(f"<td>{escape(v)}</td>" for v in r) + "</tr>" for r in self._cells())
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
