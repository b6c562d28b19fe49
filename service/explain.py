"""Sentences for what a bare status or a NaN does not say: why a run diverged, why a statistic is NaN."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from service.units import WINDOW_STATS


def _num(value: Any) -> float | None:
    """A finite float, or None (missing, NaN, not a number)."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _hz(value: float) -> str:
    return f"{value:.0f} Hz" if value >= 10 else f"{value:.3g} Hz"


def divergence_words(summary: Mapping[str, Any], guard_hz: float | None = None) -> str:
    """'E rate 212 Hz above the 50 Hz guard at t = 127.7 ms' from a diverged run's summary.

    Uses `reason`, `t_stop_ms`, the guard (`rate_max_hz` in the summary or `guard_hz`) and the rates of
    the last rate bin before the stop (`stop_rate_e_hz`, `stop_rate_i_hz`) when the summary has them.
    """
    reason = str(summary.get("reason") or summary.get("error") or "")
    t_stop = _num(summary.get("t_stop_ms"))
    at = f" at t = {t_stop:.1f} ms" if t_stop is not None else ""
    if reason == "nonfinite":
        return f"non-finite voltage or current (numerical blow-up){at}"
    if reason != "rate":
        return f"{reason}{at}" if reason else f"diverged{at}"
    guard = _num(summary.get("rate_max_hz")) or _num(guard_hz)
    guard_text = f"the {_hz(guard)} guard" if guard is not None else "the runaway guard"
    e, i = _num(summary.get("stop_rate_e_hz")), _num(summary.get("stop_rate_i_hz"))
    if e is None or i is None:
        return f"network rate above {guard_text}{at}"
    lead, other = ("E", e), ("I", i)
    if i > e:
        lead, other = other, lead
    if guard is not None and lead[1] > guard:
        return (
            f"{lead[0]} rate {_hz(lead[1])} above {guard_text}{at} "
            f"({other[0]} {_hz(other[1])}; rates of the last bin before the stop)"
        )
    return f"network rate above {guard_text}{at} (last bin before the stop: E {_hz(e)}, I {_hz(i)})"


def convergence_note(summary: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> str | None:
    """Why a plastic run's weights sit away from their theory: they had not settled (sim.convergence), with
    the weights' time constant against the run's length and the remaining time the trajectory suggests."""
    if _num(summary.get("weights_converged")) != 0.0:
        return None
    tau, remaining = _num(summary.get("theory_tau_w_s")), _num(summary.get("weight_remaining_s"))
    T = _num((params or {}).get("T")) or _num(summary.get("t_stop_ms"))
    said = "weights not converged"
    if tau is not None and T is not None:
        said += f" (τ_w ≈ {tau:.0f} s {'>' if tau > T / 1000 else '≤'} T = {T / 1000:g} s)"
    if remaining is not None:
        said += f"; ≈{remaining:.0f} s more by the trajectory's power-law fit"
    return said + ": the theory_j values are where they are heading, not where they are"


def window_note(summary: Mapping[str, Any], params: Mapping[str, Any] | None = None) -> str | None:
    """Why covariances/correlations are NaN: fewer than two analysis windows fit, or None if they are fine."""
    nan = [k for k, v in summary.items() if k.startswith(WINDOW_STATS) and _num(v) is None]
    if not nan:
        return None
    n_windows = _num(summary.get("n_windows"))
    if n_windows is not None and n_windows >= 2:
        return None  # NaN for another reason (e.g. silent neurons give NaN correlations)
    fitted = "no" if not n_windows else f"only {n_windows:.0f}"
    shown = ", ".join(nan[:3]) + (" …" if len(nan) > 3 else "")
    text = f"{shown} {'is' if len(nan) == 1 else 'are'} nan: {fitted} analysis window fitted (two are needed"
    params = params or {}
    analysis = params.get("analysis") or {}
    window, start = _num(analysis.get("window")), _num(analysis.get("start"))
    end = _num(summary.get("t_stop_ms")) or _num(params.get("T"))
    if start is None and _num(params.get("T")) is not None:
        start = float(params["T"]) / 2  # the default burn-in
    if window is None or start is None or end is None:
        if summary.get("status") == "diverged" and end is not None:
            return text + f"; the run stopped at t = {end:g} ms)"
        return text + "; lower analysis.window or analysis.start, or raise T)"
    if end <= start:
        return text + f"; the run stopped at t = {end:g} ms, before the analysis start {start:g} ms)"
    return text + f": {window:g} ms windows from {start:g} ms to {end:g} ms)"
