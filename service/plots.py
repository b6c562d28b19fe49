"""PNG plots of a sweep (matplotlib's object API on Agg: no pyplot state, safe in request threads).

Every axis says its unit, every title says which point of the sweep it shows, legends sit outside the data,
and a diverged run is marked where it stopped, with the reason in words.
"""

from __future__ import annotations

import io
import textwrap
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from service.errors import ServiceError
from service.explain import divergence_words
from service.units import label
from sim import BLOCKS

COLORS = ("black", "tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple", "tab:brown", "tab:pink")
"""Colours of the groups of the summary plot (groups beyond these are not drawn)."""
FINISHED = ("done", "reused")
"""Runs whose statistics are drawn as results; diverged runs are marked apart."""
BLOCK_NAMES = {"ee": "E→E", "ei": "I→E", "ie": "E→I", "ii": "I→I"}
OUTSIDE = {"loc": "upper left", "bbox_to_anchor": (1.01, 1.0), "fontsize": 8, "frameon": False}
"""Legend to the right of the axes: it can never cover data."""


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100)
    return buf.getvalue()


def _value(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def run_title(run: dict[str, Any], what: str) -> str:
    """'population rates: jee=400, cx=0.1 (replicate 1, run 7)'; no swept parameters -> 'run 7'."""
    point = run.get("point") or {}
    swept = ", ".join(f"{k}={_value(v)}" for k, v in point.items())
    where = f"replicate {run.get('replicate', 0)}, run {run['index']}"
    return f"{what}: {swept} ({where})" if swept else f"{what}: run {run['index']}"


def _divergence(run: dict[str, Any]) -> tuple[float, str] | None:
    """(stop time ms, reason in words) of a diverged run, else None."""
    summary = run.get("summary", {})
    if run.get("status") != "diverged" and summary.get("status") != "diverged":
        return None
    t_stop = summary.get("t_stop_ms")
    guard = (run.get("params") or {}).get("rate_max_hz")
    words = divergence_words({**summary, "reason": summary.get("reason") or run.get("error")}, guard)
    return (float(t_stop) if isinstance(t_stop, int | float) else float("nan")), words


def _with_stop(title: str, stop: tuple[float, str] | None, width: int) -> str:
    """The title, and for a diverged run the reason on the next line(s), wrapped to the figure."""
    if stop is None:
        return title
    return title + "\n" + textwrap.fill(f"diverged: {stop[1]}", width)


def _mark_stop(ax: Any, stop: tuple[float, str] | None, legend: bool = True) -> None:
    if stop is not None and np.isfinite(stop[0]):
        ax.axvline(stop[0], color="0.3", ls=":", lw=1.2, label="diverged: run stopped" if legend else None)


def _need(run: dict[str, Any], names: tuple[str, ...]) -> dict[str, np.ndarray]:
    arrays = run["arrays"]
    missing = [n for n in names if n not in arrays]
    if missing:
        raise ServiceError(f"run {run['index']} has no {missing[0]} yet (status {run['status']!r})", "run")
    return {n: np.asarray(arrays[n], dtype=float) for n in names}


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and bool(np.isfinite(value))


def rates_png(run: dict[str, Any]) -> bytes:
    """E and I population rates over time, with the balanced-state prediction as dashed lines."""
    return _png(rates_figure(run))


def rates_figure(run: dict[str, Any]) -> Figure:
    """The figure of `rates_png`."""
    a = _need(run, ("rate_time_ms", "rate_e_hz_t", "rate_i_hz_t"))
    stop = _divergence(run)
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.add_subplot()
    title = run_title(run, "population rates")
    ax.set_title(_with_stop(title, stop, 95), fontsize=9)
    ax.plot(a["rate_time_ms"], a["rate_e_hz_t"], color="tab:red", lw=1, label="E (simulation)")
    ax.plot(a["rate_time_ms"], a["rate_i_hz_t"], color="tab:blue", lw=1, label="I (simulation)")
    summary = run.get("summary", {})
    for pop, color in (("e", "tab:red"), ("i", "tab:blue")):
        value = summary.get(f"theory_rate_{pop}_hz")
        if _finite(value):
            ax.axhline(value, color=color, ls="--", lw=1, label=f"{pop.upper()} theory (mean field)")
        else:
            ax.plot([], [], ls="none", label=f"{pop.upper()} theory: no prediction")
    _mark_stop(ax, stop)
    ax.set_xlabel("time [ms]")
    ax.set_ylabel("population rate [Hz]")
    ax.legend(**OUTSIDE)
    return fig


def weights_png(run: dict[str, Any]) -> bytes:
    """Block-mean scaled weights over time, one panel per recurrent block (their scales differ a lot)."""
    return _png(weights_figure(run))


def weights_figure(run: dict[str, Any]) -> Figure:
    """The figure of `weights_png`."""
    a = _need(run, ("time_ms", "weight_mean"))
    stop = _divergence(run)
    fig = Figure(figsize=(9, 5), layout="constrained")
    title = run_title(run, "block-mean weights")
    fig.suptitle(_with_stop(title, stop, 100), fontsize=10)
    axes = fig.subplots(2, 2, sharex=True)
    weights = np.atleast_2d(a["weight_mean"])
    summary = run.get("summary", {})
    for ax, block, row in zip(axes.flat, BLOCKS, weights, strict=False):
        n = min(len(row), len(a["time_ms"]))
        ax.plot(a["time_ms"][:n], row[:n], lw=1, label="simulation (block mean)")
        predicted = summary.get(f"theory_j_{block}")
        if _finite(predicted):
            ax.axhline(predicted, color="tab:green", ls="--", lw=1, label="mean-field fixed point")
        _mark_stop(ax, stop)
        ax.set_title(f"{BLOCK_NAMES.get(block, block)}: j_{block}", fontsize=9)
        ax.set_ylabel(label(f"j_{block}"), fontsize=8)
        ax.ticklabel_format(axis="y", useOffset=False)
    handles: dict[str, Any] = {}
    for ax in axes.flat:
        for handle, text in zip(*ax.get_legend_handles_labels(), strict=True):
            handles.setdefault(text, handle)
    fig.legend(list(handles.values()), list(handles), loc="outside lower center", ncols=3, fontsize=8)
    for ax in axes[1]:
        ax.set_xlabel("time [ms]")
    return fig


def _grouped(table: pd.DataFrame, stat: str, x: str, swept: list[str]) -> list[tuple[str, pd.DataFrame]]:
    """Finished runs with a value of `stat` (status done/reused, when the table has a status), per value
    of the other swept parameters: (label, rows)."""
    rows = table[table[stat].notna()]
    if "status" in rows.columns:
        rows = rows[rows["status"].isin(FINISHED)]
    others = _others(rows, x, swept)
    groups = rows.groupby(others, sort=True) if others else [((), rows)]
    return [
        (", ".join(f"{k}={v}" for k, v in zip(others, np.atleast_1d(key), strict=False)), group)
        for key, group in groups
    ]


def _others(rows: pd.DataFrame, x: str, swept: list[str]) -> list[str]:
    """Swept parameters that make groups: they vary, and not in step with x (zipped with it)."""
    from sim.asymptotics import split_keys

    varied = [k for k in swept if k != x and k in rows.columns and rows[k].nunique() > 1]
    return split_keys(rows[[x, *varied]].to_dict(orient="records"), varied, along=x)


def summary_groups(
    table: pd.DataFrame, stat: str, x: str, swept: list[str]
) -> list[tuple[str, pd.Series, pd.Series, pd.Series | None]]:
    """Per value of the other swept parameters: (label, stat per run by x, mean by x, theory by x or None).

    Only finished runs (status done/reused, when the table has a status) count; diverged runs are drawn
    apart by `summary_png`.
    """
    out = []
    for name, group in _grouped(table, stat, x, swept):
        out.append(
            (name, group.set_index(x)[stat], group.groupby(x)[stat].mean(), _by_x(group, x, f"theory_{stat}"))
        )
    return out


def _by_x(group: pd.DataFrame, x: str, column: str) -> pd.Series | None:
    """Mean of `column` per value of x, or None when the column has no value."""
    if column in group.columns and group[column].notna().any():
        return group.groupby(x)[column].mean()
    return None


def _draw_asymptote(ax: Any, group: pd.DataFrame, stat: str, name: str, color: str) -> None:
    """Over N: the finite-N prediction per size, and the fit stat = s∞ + a/√N over the replicates with s∞ and
    its 95 % interval (sim.asymptotics), beside the N → ∞ theory already drawn."""
    from sim.asymptotics import fit_asymptote

    finite = _by_x(group, "N", f"theory_finite_{stat}")
    if finite is not None:
        ax.plot(finite.index, finite.values, ":^", color=color, ms=4, label=f"{name} finite-N theory".strip())
    if group[stat].nunique() < 2:  # a static weight: nothing approaches anything
        return
    try:
        fit = fit_asymptote(group["N"].to_numpy(float), group[stat].to_numpy(float))
    except ValueError:
        return
    n_max = float(group["N"].max())
    n = np.geomspace(float(group["N"].min()), n_max, 50)
    lo, hi = fit.s_inf_ci
    said = f"{name} fit s∞ + a/√N: s∞ = {fit.s_inf:.3g} [{lo:.3g}, {hi:.3g}] (95 %)".strip()
    ax.plot(n, fit.s_inf + fit.a * n**-0.5, "-.", color=color, lw=1, alpha=0.8, label=said)
    if np.isfinite(lo) and np.isfinite(hi):  # s∞ with its interval, to the right of the largest N
        ax.errorbar(
            [n_max * 1.25],
            [fit.s_inf],
            yerr=[[fit.s_inf - lo], [hi - fit.s_inf]],
            fmt="D",
            color=color,
            ms=5,
            capsize=3,
        )
        ax.annotate(
            "s∞",
            (n_max * 1.25, fit.s_inf),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            color=color,
            fontsize=8,
        )


def _check_axes(table: pd.DataFrame, stat: str, x: str | None, swept: list[str]) -> str:
    if stat not in table.columns or not pd.api.types.is_numeric_dtype(table[stat]):
        numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c])]
        raise ServiceError(f"stat={stat!r}: expected a numeric summary column, one of {numeric}", "stat")
    x = x or (swept[0] if swept else None)
    if x is None or x not in table.columns:
        raise ServiceError(f"x={x!r}: expected a swept parameter, one of {swept}", "x")
    if not pd.api.types.is_numeric_dtype(table[x]):
        raise ServiceError(f"x={x!r}: expected a numeric parameter", "x")
    return x


def summary_png(table: pd.DataFrame, stat: str, x: str | None, swept: list[str]) -> bytes:
    """`stat` of finished runs against swept parameter `x`: a dot per run (replicate), a line of means per
    value of the other swept parameters, `theory_<stat>` dashed beside each in the same colour, and
    diverged runs marked with a cross at their value at the stop."""
    return _png(summary_figure(table, stat, x, swept))


def summary_figure(table: pd.DataFrame, stat: str, x: str | None, swept: list[str]) -> Figure:
    """The figure of `summary_png`."""
    x = _check_axes(table, stat, x, swept)
    groups = summary_groups(table, stat, x, swept)
    others = _others(table, x, swept)
    fig = Figure(figsize=(8, 4), layout="constrained")
    ax = fig.add_subplot()
    by = f", one colour per {', '.join(others)}" if others and len(groups) > 1 else ""
    ax.set_title(f"{stat} vs {x}{by}", fontsize=10)
    rows = dict(_grouped(table, stat, x, swept))
    for color, (name, points, means, predicted) in zip(COLORS, groups, strict=False):
        ax.plot(points.index, points.values, "o", color=color, alpha=0.4, ms=4)
        mean = f"{name} mean of replicates".strip()
        ax.plot(means.index, means.values, "-", color=color, lw=1.5, label=mean)
        if predicted is not None:
            theory = f"{name} theory (mean field)".strip()
            ax.plot(predicted.index, predicted.values, "--s", color=color, ms=3, label=theory)
        if x == "N":
            _draw_asymptote(ax, rows[name], stat, name, color)
    ax.plot([], [], "o", color="0.4", alpha=0.4, ms=4, label="one run (replicate)")
    _mark_diverged(ax, table, stat, x)
    _mark_unsettled(ax, table, stat, x)
    ax.set_xlabel(label(x, parameter=True))
    ax.set_ylabel(label(stat))
    values = table[x].dropna().astype(float)
    if len(values) and values.min() > 0 and values.max() / values.min() >= 10:
        ax.set_xscale("log")
    ax.legend(**OUTSIDE)
    return fig


def _mark_diverged(ax: Any, table: pd.DataFrame, stat: str, x: str) -> None:
    """Crosses at the value a diverged run had when it stopped; the count of those with no value."""
    if "status" not in table.columns:
        return
    diverged = table[table["status"] == "diverged"]
    if diverged.empty:
        return
    shown = diverged[diverged[stat].notna()]
    text = f"diverged ({len(diverged)} runs"
    text += f", {len(diverged) - len(shown)} without a value)" if len(shown) < len(diverged) else ")"
    ax.plot(shown[x], shown[stat], "x", color="tab:red", ms=6, label=text)


def _mark_unsettled(ax: Any, table: pd.DataFrame, stat: str, x: str) -> None:
    """Red rings round the runs whose weights had not converged (sim.convergence): the theory line is where
    they were heading, not where they were; the legend says τ_w against the run's length."""
    if not stat.startswith("j_") or "weights_converged" not in table.columns:
        return
    rows = table[table["status"].isin(FINISHED)] if "status" in table.columns else table
    rows = rows[(rows["weights_converged"] == 0) & rows[stat].notna()]
    if rows.empty:
        return
    text = f"weights not converged ({len(rows)} run{'s' if len(rows) > 1 else ''}"
    tau = rows["theory_tau_w_s"].median() if "theory_tau_w_s" in rows.columns else np.nan
    T = rows["t_stop_ms"].max() / 1000 if "t_stop_ms" in rows.columns else np.nan
    if np.isfinite(tau) and np.isfinite(T):
        text += f"; τ_w ≈ {tau:.3g} s {'>' if tau > T else 'vs'} T = {T:g} s"
    ax.plot(rows[x], rows[stat], "o", mfc="none", mec="tab:red", ms=9, mew=1.2, label=text + ")")
