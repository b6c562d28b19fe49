"""The finite-N predictions against the real kernel at the N a lab runs (issue 12).

Tolerance 10 %: the accuracy the finite-N mean field claims (docs/theory.md: diffusion approximation,
filtering correction with kappa calibrated to +-0.05, DC gains), far above the seed-to-seed spread of
population rates over 5 s (< 1.5 % at N >= 2000). Where the N->inf prediction is off by more than
twice that, the finite-N one must also be at least 3x closer.
"""

from __future__ import annotations

import math

import pytest

import sim

P05 = {f"p_{b}": 0.05 for b in ("ee", "ei", "ie", "ii", "ex", "ix")}
TOL = 0.10


def _rel(a: float, b: float) -> float:
    return abs(a - b) / abs(b)


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [
        dict(N=2000),
        dict(N=5000, frac_exc=0.75, **P05),
        dict(N=2000, jee=10.0, jei=-100.0, rx=0.015),
    ],
    ids=["defaults", "sparse", "strong-drive"],
)
def test_static_rates_match_the_finite_n_prediction(kw):
    s = sim.simulate(dict(cx=0.0, T=10_000.0, seed=11, record=dict(weights=0, cells=0), **kw)).summary
    for pop in ("e", "i"):
        measured, fin, inf = (s[f"{k}rate_{pop}_hz"] for k in ("", "theory_finite_", "theory_"))
        assert _rel(fin, measured) < TOL, (pop, measured, fin)
        if _rel(inf, measured) > 2 * TOL:
            assert abs(fin - measured) * 3 < abs(inf - measured)


@pytest.mark.slow
def test_istdp_weight_sits_at_the_finite_n_fixed_point_and_is_declared_converged():
    """iSTDP I->E with tau_w ~ 0.5 s over 10 s: j_ei settles near its finite-N value with Cov(J, r)."""
    r = sim.simulate(
        dict(N=4000, T=10_000.0, cx=0.0, frac_exc=0.75, eta_ei=0.02, seed=3, record=dict(dt=100.0), **P05)
    )
    s = r.summary
    assert s["weights_converged"] == 1.0 and s["weight_remaining_s"] == 0.0
    assert _rel(s["j_ei"], s["theory_finite_j_ei"]) < TOL
    assert _rel(s["j_ei"], s["theory_j_ei"]) > 2 * TOL  # the N->inf value is far: the finite one matters
    assert s["rate_e_hz"] == pytest.approx(10.0, rel=TOL)


@pytest.mark.slow
def test_slow_kohonen_run_is_declared_not_converged():
    """Kohonen at eta = 1e-3 over 10 s (tau_w of the rate ODE ~ 14 s, real approach far slower)."""
    s = sim.simulate(
        dict(
            N=2000,
            T=10_000.0,
            cx=0.0,
            rule_ee="kohonen",
            eta_ee=1e-3,
            beta_ee=2.0,
            jee=1.0,
            jei=-100.0,
            seed=2,
            record=dict(dt=100.0),
        )
    ).summary
    assert s["weights_converged"] == 0.0
    assert s["weight_drift_ee"] > 0  # rising from j = 1 towards its fixed point
    assert math.isnan(s["weight_remaining_s"]) or s["weight_remaining_s"] > 0


# Spike-count correlations at c > 0 (theory_finite_corr_* against corr_*, issue 12).
# Tolerance: a run's mean correlation over its 40 windows of 250 ms spreads by 16-20 % (s.d.) between
# seeds in these two cases (bench/finite_n_corr.json, 6 seeds), so the mean of 2 seeds carries ~14 %
# (1 s.d.). The theory neglects the second-order response to the shared input (it grows with c and N:
# the 6-seed means are +17 to +24 % off at c = 0.2, N = 2000, and 0 to -6 % for the strong-drive case)
# and the count variance of filtered input beyond CV² + L² P (single-neuron check: up to 43 % of the
# excess Fano left, i.e. a few per cent of the correlation). Bias <= 25 % plus 2 s.d. of the 2-seed
# mean: 50 %. And the N->inf value (Fano factor 1, one rate; +45 to +160 % here) must be farther from
# the measurement, pair by pair.
CORR_TOL = 0.50


@pytest.mark.slow
@pytest.mark.parametrize(
    "kw",
    [dict(N=2000, cx=0.2), dict(N=2000, cx=0.1, jee=10.0, jei=-100.0, rx=0.015)],
    ids=["defaults-c0.2", "strong-drive-c0.1"],
)
def test_correlations_match_the_finite_n_prediction_better_than_n_inf(kw):
    runs = [
        sim.simulate(dict(T=20_000.0, seed=seed, record=dict(weights=0, cells=0), **kw)).summary
        for seed in (21, 22)
    ]
    for pair in ("ee", "ei", "ii"):
        measured = sum(s[f"corr_{pair}"] for s in runs) / len(runs)
        fin, inf = (runs[0][f"theory_{k}corr_{pair}"] for k in ("finite_", ""))
        assert _rel(fin, measured) < CORR_TOL, (pair, measured, fin)
        assert abs(fin - measured) < abs(inf - measured), (pair, measured, fin, inf)
