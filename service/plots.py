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

COLORS = ("black", "tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink")
"""Colours of the groups of the summary plot (groups beyond these are not drawn)."""


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
    summary = run.get("summary", {})
    for ax, block, row in zip(axes.flat, BLOCKS, weights, strict=False):
        n = min(len(row), len(a["time_ms"]))
        ax.plot(a["time_ms"][:n], row[:n], lw=1, label="simulation")
        predicted = summary.get(f"theory_j_{block}")
        if isinstance(predicted, int | float) and np.isfinite(predicted):
            ax.axhline(predicted, color="tab:green", ls="--", lw=1, label="mean-field fixed point")
        ax.set_title(f"j_{block}", fontsize=9)
        ax.ticklabel_format(axis="y", useOffset=False)
    axes.flat[0].legend(fontsize=7)
    for ax in axes[1]:
        ax.set_xlabel("time (ms)")
    return _png(fig)


def summary_groups(
    table: pd.DataFrame, stat: str, x: str, swept: list[str]
) -> list[tuple[str, pd.Series, pd.Series, pd.Series | None]]:
    """Per value of the other swept parameters: (label, stat per run by x, mean by x, theory by x or None)."""
    rows = table[table[stat].notna()]
    theory = f"theory_{stat}"
    others = [k for k in swept if k != x and k in rows.columns and rows[k].nunique() > 1]
    groups = rows.groupby(others, sort=True) if others else [((), rows)]
    out = []
    for key, group in groups:
        label = ", ".join(f"{k}={v}" for k, v in zip(others, np.atleast_1d(key), strict=False))
        predicted = None
        if theory in group.columns and group[theory].notna().any():
            predicted = group.groupby(x)[theory].mean()
        out.append((label, group.set_index(x)[stat], group.groupby(x)[stat].mean(), predicted))
    return out


def summary_png(table: pd.DataFrame, stat: str, x: str | None, swept: list[str]) -> bytes:
    """`stat` of finished runs against swept parameter `x`: dots per run, a line of means per value of the
    other swept parameters, and `theory_<stat>` dashed beside each in the same colour."""
    if stat not in table.columns or not pd.api.types.is_numeric_dtype(table[stat]):
        numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        raise ServiceError(f"stat={stat!r}: expected a numeric summary column, one of {numeric}", "stat")
    x = x or (swept[0] if swept else None)
    if x is None or x not in table.columns:
        raise ServiceError(f"x={x!r}: expected a swept parameter, one of {swept}", "x")
    if not pd.api.types.is_numeric_dtype(table[x]):
        raise ServiceError(f"x={x!r}: expected a numeric parameter", "x")
    fig, ax = _figure(f"{stat} vs {x}")
    for color, (label, points, means, predicted) in zip(
        COLORS, summary_groups(table, stat, x, swept), strict=False
    ):
        ax.plot(points.index, points.values, "o", color=color, alpha=0.4, ms=4)
        ax.plot(means.index, means.values, "-", color=color, lw=1.5, label=f"{label or 'mean'} (simulation)")
        if predicted is not None:
            style = dict(color=color, ms=3, label=f"{label or 'theory_' + stat} (mean field)")
            ax.plot(predicted.index, predicted.values, "--s", **style)
    ax.set_xlabel(x)
    ax.set_ylabel(stat)
    ax.legend(fontsize=8)
    return _png(fig)
