"""The per-run summary table of `pbn sweep` and `pbn results`: theory beside each measured column, fitted
to the terminal, then one line per divergence, failure and NaN statistic that a bare cell cannot explain."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.console import Console

from service.explain import convergence_note, divergence_words, window_note
from service.tables import fit_table
from service.units import with_theory

HEADLINE = ("rate_e_hz", "rate_i_hz", "j_ei", "j_ii", "j_ee", "corr_ee", "cov_ee", "wall_s")
"""Statistics shown in priority order (each with its theory partner); the rest are in the CSV / store."""


def optional_columns(available: list[str]) -> list[str]:
    """Headline statistics present in the table, each followed by its theory column."""
    return with_theory([c for c in HEADLINE if c in available], available)


def run_notes(
    rows: list[dict[str, Any]], params_of: Callable[[int], Mapping[str, Any]] | None = None
) -> list[str]:
    """Divergence reasons in words, failure messages (first line), and NaN notes grouped by text."""
    notes: list[str] = []
    nan_groups: dict[str, list[str]] = {}
    for row in rows:
        index = row.get("index")
        status = row.get("status")
        params = params_of(int(index)) if params_of is not None and index is not None else None
        if status == "diverged":
            guard = (params or {}).get("rate_max_hz")
            notes.append(f"run {index} diverged: {divergence_words(row, guard)}")
        elif status == "failed":
            text = str(row.get("error") or "").strip().splitlines()
            notes.append(f"run {index} failed: {text[-1] if text else 'no message stored'}")
        if status in ("done", "diverged", "reused") and (note := window_note(row, params)):
            nan_groups.setdefault(note, []).append(str(index))
        if status in ("done", "reused") and (note := convergence_note(row, params)):
            nan_groups.setdefault(note, []).append(str(index))
    for note, indices in nan_groups.items():
        which = ", ".join(indices[:10]) + (" …" if len(indices) > 10 else "")
        notes.append(f"run{'s' if len(indices) > 1 else ''} {which}: {note}")
    return notes


def print_runs(
    console: Console,
    rows: list[dict[str, Any]],
    columns: list[str],
    swept: list[str],
    title: str,
    all_columns_hint: str,
    params_of: Callable[[int], Mapping[str, Any]] | None = None,
    max_rows: int = 200,
) -> None:
    """Print the table (at most `max_rows`), what it left out, and the notes of the runs."""
    required = [c for c in ("index", "status", *swept, "replicate") if c in columns]
    fitted = fit_table(rows[:max_rows], required, optional_columns(columns), console.width, title)
    console.print(fitted.table)
    if len(rows) > max_rows:
        console.print(f"... {len(rows) - max_rows} more rows")
    if fitted.dropped:
        console.print(f"not shown to fit {console.width} columns: {', '.join(fitted.dropped)}")
    console.print(all_columns_hint, soft_wrap=True)
    for note in run_notes(rows, params_of):
        console.print(note, soft_wrap=False, overflow="fold", markup=False)
