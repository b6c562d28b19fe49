"""sim.convergence: verdicts on synthetic trajectories with known answers."""

from __future__ import annotations

import math

import numpy as np

from sim.convergence import power_law_limit, trend, verdicts
from sim.params import SimParams

P = SimParams(N=100, T=100_000.0, rule_ee="kohonen", eta_ee=1e-3)
T_MS = np.arange(1, 1001) * 100.0


def _wmean(ee: np.ndarray) -> np.ndarray:
    w = np.full((4, T_MS.size), np.nan)
    w[0] = ee
    return w


def _verdict(ee, rates=None, params=P):
    rng = np.random.default_rng(0)
    rates = rng.normal(5.0, 0.2, T_MS.size) if rates is None else rates
    return verdicts(params, T_MS, _wmean(ee), T_MS, rates, rates * 3)


def test_settled_weight_is_converged():
    ee = 3.0 + 2.0 * np.exp(-T_MS / 5000.0) + np.random.default_rng(1).normal(0, 0.01, T_MS.size)
    out = _verdict(ee)
    assert out["weights_converged"] == 1.0 and out["weight_remaining_s"] == 0.0
    assert out["rates_stationary"] == 1.0
    assert math.isnan(out["weight_drift_ei"])


def test_power_law_approach_is_not_converged_and_extrapolates():
    t_s = T_MS / 1000.0
    ee = 3.0 - 2.0 * t_s**-0.5  # still 7 % below its limit at T
    out = _verdict(ee)
    assert out["weights_converged"] == 0.0
    assert out["weight_drift_ee"] > 0
    assert abs(out["weight_limit_fit_ee"] - 3.0) < 0.01
    # |A| t^-alpha < 1 % of 3: t = (2 / 0.03)^2 = 4444 s
    assert abs(out["weight_remaining_s"] - (4444.4 - 100.0)) < 50.0


def test_trend_standard_error_covers_noise_without_trend():
    rng = np.random.default_rng(2)
    t = np.linspace(0, 50, 500)
    hits = sum(
        abs(trend(t, rng.normal(0, 1, t.size))[0]) < 3 * trend(t, rng.normal(0, 1, t.size))[1]
        for _ in range(50)
    )
    assert hits >= 45


def test_static_run_has_no_weight_verdict_and_drifting_rates_are_flagged():
    static = SimParams(N=100, T=100_000.0)
    out = _verdict(np.full(T_MS.size, 25.0), rates=np.linspace(4, 8, T_MS.size), params=static)
    assert math.isnan(out["weights_converged"]) and math.isnan(out["weight_drift_ee"])
    assert out["rates_stationary"] == 0.0


def test_power_law_fit_recovers_parameters():
    t = np.linspace(10, 100, 200)
    y_inf, amp, alpha = power_law_limit(t, 1.5 + 4.0 * t**-0.8)
    assert abs(y_inf - 1.5) < 1e-3 and abs(alpha - 0.8) < 1e-2 and abs(amp - 4.0) < 0.05


def test_a_slow_drift_is_not_settled_when_tau_w_exceeds_the_run():
    """iSTDP with tau_w ~ 1100 s over 3 s: the weight barely moves in the window (0.045 of 150 over 3 s),
    which the window alone would call settled; projected over tau_w it would still move ~17 (> 1 %)."""
    import sim

    s = sim.simulate(
        dict(
            N=400,
            T=3000.0,
            eta_ei=3e-5,
            record=dict(dt=10.0, weights=5, cells=5),
            analysis=dict(window=100.0),
        )
    ).summary
    assert s["theory_tau_w_s"] > 300 * 3.0
    assert s["weights_converged"] == 0.0
