"""After a sweep over N: the fit s∞ + a/√N of each headline statistic beside the theory, and its plots.

`pbn sweep` prints the fits under the run table and writes the summary plots (measurement per run, the
finite-N prediction per size, the N→∞ line, the fit and s∞ with its interval) as PNGs next to the store,
so the main job shows the paper's claim without a server.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table

from service.tables import cell
from sim import BLOCKS
from sim.asymptotics import fit_groups, split_keys

RATES = ("rate_e_hz", "rate_i_hz")
COMPLETE = ("done", "reused")
"""Runs that reached T (a diverged run's statistics describe its stop, not the network)."""


def _finished(table: pd.DataFrame) -> pd.DataFrame:
    """The runs with results (done or reused), or every row of a table without statuses."""
    return table[table["status"].isin(COMPLETE)] if "status" in table.columns else table


def _varies(values: pd.Series | list[float]) -> bool:
    """More than rounding between the smallest and the largest finite value."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    return bool(finite) and max(finite) - min(finite) > 1e-9 * max(1.0, *(abs(v) for v in finite))


def fitted_stats(table: pd.DataFrame) -> list[str]:
    """The rates, and the mean weight of every block whose weights moved in some finished run."""
    done = _finished(table)
    stats = [s for s in RATES if s in done.columns and done[s].notna().any()]
    return stats + [f"j_{b}" for b in BLOCKS if f"j_{b}" in done.columns and _varies(done[f"j_{b}"])]


def _fits(table: pd.DataFrame, stat: str, swept: list[str]) -> list[dict[str, Any]]:
    done = _finished(table)
    rows = done.to_dict(orient="records")
    return fit_groups(rows, stat, split_keys(rows, [k for k in swept if k in done.columns]))


def _settled(table: pd.DataFrame, group: dict[str, Any]) -> str:
    """'k/n' runs of the group whose weights converged, '' for static groups."""
    if "weights_converged" not in table.columns:
        return ""
    sel = _finished(table)
    for key, value in group.items():
        sel = sel[sel[key] == value]
    verdicts = sel["weights_converged"].dropna()
    return f"{int((verdicts == 1).sum())}/{len(verdicts)}" if len(verdicts) else ""


def fit_rows(table: pd.DataFrame, swept: list[str]) -> list[dict[str, Any]]:
    """One row per (statistic, group) that varies: s∞ and interval, the theories, the largest N's values."""
    out = []
    for stat in fitted_stats(table):
        for entry in _fits(table, stat, swept):
            sizes = [s for s in entry["sizes"] if s["mean"] is not None]
            fit = entry.get("fit")
            if not sizes or fit is None:
                continue
            if not _varies([s["mean"] for s in sizes]):  # e.g. the static group of a plastic sweep
                continue
            last = sizes[-1]
            group = ", ".join(f"{k}={cell(v)}" for k, v in entry["group"].items())
            out.append(
                {
                    "stat": stat,
                    "group": group,
                    "s_inf": fit["s_inf"],
                    "ci": fit["s_inf_ci"],
                    "theory": entry.get(f"theory_{stat}"),
                    "N_max": last["N"],
                    "measured": last["mean"],
                    "finite": last["theory_finite"],
                    "settled": _settled(table, entry["group"]),
                }
            )
    return out


def print_fits(console: Console, table: pd.DataFrame, swept: list[str]) -> list[dict[str, Any]]:
    """The fit table (nothing when the sweep does not vary N over at least two sizes)."""
    if "N" not in table.columns or table["N"].nunique() < 2:
        return []
    rows = fit_rows(table, swept)
    if not rows:
        return []
    n_max = {r["N_max"] for r in rows}
    at = f"N={n_max.pop():.0f}" if len(n_max) == 1 else "largest N"
    out = Table(title="fit over N: stat = s∞ + a/√N (± 95 % interval)", title_justify="left")
    for name in ("stat", "group", "s∞", "N→∞", f"{at}\nmeas.", f"{at}\nfinite", "weights\nsettled"):
        left = name in ("stat", "group")
        out.add_column(name, justify="left" if left else "right", overflow="fold", no_wrap=name == "s∞")
    for r in rows:
        lo, hi = r["ci"]
        s_inf = f"{r['s_inf']:.4g} ± {(hi - lo) / 2:.2g}" if math.isfinite(lo) else cell(r["s_inf"])
        out.add_row(
            r["stat"],
            r["group"],
            s_inf,
            cell(r["theory"]),
            cell(r["measured"]),
            cell(r["finite"]),
            r["settled"],
        )
    console.print(out)
    return rows


def write_plots(table: pd.DataFrame, swept: list[str], directory: Path) -> list[Path]:
    """The summary plot over N of every fitted statistic as `<directory>/<stat>.png`."""
    from service import plots

    if "N" not in table.columns or table["N"].nunique() < 2:
        return []
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for stat in fitted_stats(table):
        path = directory / f"{stat}.png"
        path.write_bytes(plots.summary_png(table, stat, "N", swept))
        written.append(path)
    return written
