"""Plain-text tables whose columns fit their content: no name is ever cut."""

from __future__ import annotations

from collections.abc import Sequence


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], align: str = "") -> list[str]:
    """Lines of a table; `align` holds one `<` or `>` per column (default `<`).

    Each column is as wide as its widest cell; the last one is not padded.
    """
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    aligns = align.ljust(len(headers), "<")
    lines = []
    for row in [headers, *rows]:
        cells = [
            f"{cell:{a}{w}}" if i < len(headers) - 1 else cell
            for i, (cell, a, w) in enumerate(zip(row, aligns, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    return lines


def number(value: float | None, digits: int = 3) -> str:
    """A metric value, or `-` where nothing was measured."""
    return "-" if value is None else f"{value:.{digits}f}"
