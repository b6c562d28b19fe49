"""Did the run settle? Verdicts from the recorded trajectories of block-mean weights and population rates.

A plastic block has settled when its mean weight moves over the analysis window by less than its
tolerance: 1 % of its value or three standard errors of the fitted trend (in-window noise), whichever
is larger. The remaining approach is extrapolated with j(t) = j_inf + A t^-alpha fitted to the second
half of the run: mean weights relax as a power law when postsynaptic rates are heterogeneous (each
synapse relaxes at a rate set by its own cells), so an exponential with the linear tau_w can be far
off (issue 12). Rates are stationary when their trend over the window is within 5 % or 3 s.e.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from sim.params import BLOCKS, SimParams
from sim.summary_keys import CONVERGENCE_KEYS

WEIGHT_TOL = 0.01
RATE_TOL = 0.05
MAX_EXTRAPOLATION = 100.0
"""A remaining time beyond 100 T is not extrapolated (reported NaN: 'far from its limit')."""


def _mean(y: np.ndarray) -> float:
    """Mean of the finite values; NaN when there is none (a run stopped before the window)."""
    y = y[np.isfinite(y)]
    return float(y.mean()) if y.size else math.nan


def trend(t_s: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """Least-squares slope of y(t) and its standard error, from lag-1-corrected residual noise."""
    ok = np.isfinite(y)
    t_s, y = t_s[ok], y[ok]
    if t_s.size < 4 or np.ptp(t_s) == 0:
        return math.nan, math.nan
    A = np.vstack([t_s - t_s.mean(), np.ones_like(t_s)]).T
    coef, *_ = np.linalg.lstsq(A, y, rcond=None)
    res = y - A @ coef
    rho = float(np.corrcoef(res[:-1], res[1:])[0, 1]) if res.size > 3 and np.std(res) > 0 else 0.0
    rho = min(max(rho, 0.0), 0.99)
    n_eff = t_s.size * (1 - rho) / (1 + rho)
    se = float(
        np.std(res, ddof=2) / math.sqrt(np.sum((t_s - t_s.mean()) ** 2)) * math.sqrt(t_s.size / max(n_eff, 2))
    )
    return float(coef[0]), se


def power_law_limit(t_s: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Fit y = y_inf + A t^-alpha (alpha in [0.05, 4]): (y_inf, A, alpha); NaNs if the fit fails."""
    ok = np.isfinite(y) & (t_s > 0)
    t_s, y = t_s[ok], y[ok]
    if t_s.size < 6:
        return math.nan, math.nan, math.nan
    best = None
    for alpha in np.geomspace(0.05, 4.0, 60):  # linear in (y_inf, A) for fixed alpha
        X = np.vstack([np.ones_like(t_s), t_s**-alpha]).T
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        err = float(np.sum((y - X @ coef) ** 2))
        if best is None or err < best[0]:
            best = (err, coef[0], coef[1], alpha)
    _, y_inf, amp, alpha = best
    try:
        popt, _ = optimize.curve_fit(
            lambda t, a, b, c: a + b * t**-c,
            t_s,
            y,
            p0=(y_inf, amp, alpha),
            bounds=([-np.inf, -np.inf, 0.05], [np.inf, np.inf, 4.0]),
        )
        y_inf, amp, alpha = popt
    except (RuntimeError, ValueError):
        pass
    return float(y_inf), float(amp), float(alpha)


def _remaining(T_s: float, y_inf: float, amp: float, alpha: float, tol: float) -> float:
    """Time after T until |A| t^-alpha < tol (0 if already there)."""
    if not all(math.isfinite(x) for x in (y_inf, amp, alpha)) or tol <= 0:
        return math.nan
    if abs(amp) * T_s**-alpha <= tol:
        return 0.0
    left = (abs(amp) / tol) ** (1 / alpha) - T_s
    return float(left) if left < MAX_EXTRAPOLATION * T_s else math.nan


def verdicts(
    params: SimParams,
    time_ms: np.ndarray,
    weight_mean: np.ndarray,
    rate_time_ms: np.ndarray,
    rate_e_hz: np.ndarray,
    rate_i_hz: np.ndarray,
    tau_w_s: float = math.nan,
) -> dict[str, float]:
    """The convergence keys of `sim.summary_keys` from one run's recorded trajectories. `tau_w_s` (the
    weights' slowest time constant, sim.theory): a drift that would move a weight by more than its tolerance
    over max(window, tau_w) is not settled, however small it looks over a short window."""
    out = dict.fromkeys(CONVERGENCE_KEYS, math.nan)
    start = params.burn_in
    t_s = np.asarray(time_ms, float) / 1000.0
    win = np.asarray(time_ms) >= start
    T_s = params.T / 1000.0
    settled, remaining = [], []
    for b, block in enumerate(BLOCKS):
        if block not in params.plastic_blocks or weight_mean.shape[-1] != t_s.size:
            continue
        y = np.asarray(weight_mean[b], float)
        slope, se = trend(t_s[win], y[win])
        out[f"weight_drift_{block}"] = slope
        span = float(np.ptp(t_s[win])) if win.any() else 0.0
        horizon = max(span, tau_w_s) if math.isfinite(tau_w_s) else span
        level = _mean(y[win])
        tol = max(WEIGHT_TOL * abs(level), 3 * se * horizon) if math.isfinite(se) else math.nan
        if math.isfinite(slope) and math.isfinite(tol):
            settled.append(abs(slope) * horizon <= tol)
        half = t_s >= T_s / 2
        y_inf, amp, alpha = power_law_limit(t_s[half], y[half])
        out[f"weight_limit_fit_{block}"] = y_inf
        remaining.append(_remaining(T_s, y_inf, amp, alpha, WEIGHT_TOL * abs(y_inf)))
    if settled:
        out["weights_converged"] = float(all(settled))
        rem = [r for r in remaining if math.isfinite(r)]
        out["weight_remaining_s"] = 0.0 if all(settled) else (max(rem) if rem else math.nan)
    rt = np.asarray(rate_time_ms, float) / 1000.0
    rwin = np.asarray(rate_time_ms) >= start
    flags = []
    for r in (rate_e_hz, rate_i_hz):
        r = np.asarray(r, float)
        if r.size != rt.size or rwin.sum() < 4:
            continue
        slope, se = trend(rt[rwin], r[rwin])
        span = float(np.ptp(rt[rwin]))
        tol = max(RATE_TOL * abs(_mean(r[rwin])), 3 * se * span)
        if math.isfinite(slope) and math.isfinite(tol):
            flags.append(bool(abs(slope) * span <= tol))
    if flags:
        out["rates_stationary"] = float(all(flags))
    return out
