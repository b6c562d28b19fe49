"""Summary tables that fit the terminal: whole columns are dropped (and named), numbers are never cut."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from rich.table import Table

from service.units import theory_partner, unit_of


def cell(value: Any) -> str:
    """Four significant digits for floats, 'nan' for missing numbers, str() otherwise."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else f"{value:.4g}"
    if value is None:
        return ""
    return str(value)


def header(key: str, beside_measured: bool = False) -> str:
    """Column name over its unit; a theory column beside its measured one is just 'theory'."""
    name = "theory" if beside_measured else key
    unit = unit_of(key)
    return f"{name}\n{unit}" if unit else name


@dataclass
class FittedTable:
    """A rich table and the columns left out to fit the width."""

    table: Table
    dropped: list[str] = field(default_factory=list)


def _width(widths: Sequence[int]) -> int:
    """Rendered width of a table with these column widths (padding 1 each side, vertical rules)."""
    return sum(w + 2 for w in widths) + len(widths) + 1


def _group(columns: list[str]) -> list[list[str]]:
    """Optional columns in droppable groups: a measured column travels with its theory partner."""
    groups: list[list[str]] = []
    for key in columns:
        if key.startswith("theory_") and groups and theory_partner(groups[-1][0]) == key:
            groups[-1].append(key)
        else:
            groups.append([key])
    return groups


def fit_table(
    rows: list[dict[str, Any]],
    required: list[str],
    optional: list[str],
    width: int,
    title: str | None = None,
) -> FittedTable:
    """Required columns always; optional ones (in priority order, pairs kept together) while they fit."""
    text = [{k: cell(r.get(k)) for k in (*required, *optional)} for r in rows]

    def col_width(key: str, beside: bool) -> int:
        head = header(key, beside).split("\n")
        return max([len(h) for h in head] + [len(t[key]) for t in text])

    chosen = [(k, False) for k in required]
    dropped: list[str] = []
    for group in _group(optional):
        candidate = [(k, i > 0) for i, k in enumerate(group)]
        if not dropped and _width([col_width(k, b) for k, b in chosen + candidate]) <= width:
            chosen += candidate
        else:
            dropped += group  # keep priority order: once one group is out, the rest are too
    table = Table(title=title, title_justify="left")
    numeric = {k for k in (*required, *optional) if any(isinstance(r.get(k), int | float) for r in rows)}
    for key, beside in chosen:
        justify: Literal["right", "left"] = "right" if key in numeric else "left"
        table.add_column(header(key, beside), justify=justify, overflow="fold")
    for t in text:
        table.add_row(*(t[k] for k, _ in chosen))
    return FittedTable(table, dropped)
