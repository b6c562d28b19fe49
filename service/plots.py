"""PNG plots of a sweep (matplotlib's object API on Agg: no pyplot state, safe in request threads)."""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from service.errors import ServiceError
from sim import BLOCKS


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _figure(title: str) -> tuple[Figure, Any]:
    fig = Figure(figsize=(7, 4), layout="constrained")
    ax = fig.add_subplot()
    ax.set_title(title, fontsize=10)
    return fig, ax


def _need(run: dict[str, Any], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    arrays = run["arrays"]
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ServiceError(f"run {run['index']} has no {missing[0]} yet (status {run['status']!r})", "run")
    return {n: np.asarray(arrays[n], dtype=float) for n in names}


def rates_png(run: dict[str, Any]) -> bytes:
    """E and I population rates over time, with the balanced-state prediction as dashed lines."""
    a = _need(run, ("rate_time_ms", "rate_e_hz_t", "rate_i_hz_t"))
    fig, ax = _figure(f"run {run['index']}: population rates")
    ax.plot(a["rate_time_ms"], a["rate_e_hz_t"], color="tab:red", lw=1, label="E")
    ax.plot(a["rate_time_ms"], a["rate_i_hz_t"], color="tab:blue", lw=1, label="I")
    summary = run.get("summary", {})
    for key, color in (("theory_rate_e_hz", "tab:red"), ("theory_rate_i_hz", "tab:blue")):
        value = summary.get(key)
        if isinstance(value, int | float) and np.isfinite(value):
            ax.axhline(value, color=color, ls="--", lw=1, label=f"{key} (mean field)")
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("rate (Hz)")
    ax.legend(fontsize=8)
    return _png(fig)


def weights_png(run: dict[str, Any]) -> bytes:
    """Block-mean scaled weights over time, one panel per recurrent block (their scales differ a lot)."""
    a = _need(run, ("time_ms", "weight_mean"))
    fig = Figure(figsize=(8, 5), layout="constrained")
    fig.suptitle(f"run {run['index']}: block-mean weights (scaled j)", fontsize=10)
    axes = fig.subplots(2, 2, sharex=True)
    weights = np.atleast_2d(a["weight_mean"])
    for ax, block, row in zip(axes.flat, BLOCKS, weights, strict=False):
        n = min(len(row), len(a["time_ms"]))
        ax.plot(a["time_ms"][:n], row[:n], lw=1)
        ax.set_title(f"j_{block}", fontsize=9)
        ax.ticklabel_format(axis="y", useOffset=False)
    for ax in axes[1]:
        ax.set_xlabel("time (ms)")
    return _png(fig)


def summary_png(table: pd.DataFrame, stat: str, x: str | None, swept: list[str]) -> bytes:
    """`stat` of finished runs against swept parameter `x` (mean per value), `theory_<stat>` beside it."""
    if stat not in table.columns or not pd.api.types.is_numeric_dtype(table[stat]):
        numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        raise ServiceError(f"stat={stat!r}: expected a numeric summary column, one of {numeric}", "stat")
    x = x or (swept[0] if swept else None)
    if x is None or x not in table.columns:
        raise ServiceError(f"x={x!r}: expected a swept parameter, one of {swept}", "x")
    if not pd.api.types.is_numeric_dtype(table[x]):
        raise ServiceError(f"x={x!r}: expected a numeric parameter", "x")
    rows = table[table[stat].notna()]
    fig, ax = _figure(f"{stat} vs {x}")
    ax.plot(rows[x], rows[stat], "o", color="tab:gray", alpha=0.5, ms=4, label="runs")
    means = rows.groupby(x)[stat].mean()
    ax.plot(means.index, means.values, "-", color="black", lw=1.5, label="mean")
    theory = f"theory_{stat}"
    if theory in rows.columns and rows[theory].notna().any():
        predicted = rows.groupby(x)[theory].mean()
        ax.plot(
            predicted.index, predicted.values, "--s", color="tab:green", ms=4, label=f"{theory} (mean field)"
        )
    ax.set_xlabel(x)
    ax.set_ylabel(stat)
    ax.legend(fontsize=8)
    return _png(fig)
