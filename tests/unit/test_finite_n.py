"""sim.finite_n / sim.finite_theory: the finite-N mean field is self-consistent and tends to MODEL §4."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import eif, finite_n
from sim.finite_theory import FinitePoint, predict_finite
from sim.params import SimParams
from sim.summary_keys import FINITE_KEYS, SUMMARY_SPEC, THEORY_PARTNERS
from sim.theory import PREDICT_KEYS, balanced_rates, covariances, mean_field


def test_state_is_a_fixed_point_of_its_own_equations():
    """r = W^-1(mu/sqrt N - W_x r_x) and r = the EIF rate averaged over the quenched spread (naive loop)."""
    p = SimParams(N=3000, cx=0.0)
    st = finite_n.solve(p)
    assert st.ok
    mf = mean_field(p)
    j = np.array([[p.jee, p.jei], [p.jie, p.jii]])
    assert mf.W(j) @ st.rates + mf.wx * mf.rx == pytest.approx(st.mu / p.sqrtN, abs=1e-12)
    nrn = eif.Neuron.of(p)
    z = np.linspace(-8, 8, 4001)  # a plain Riemann sum instead of Gauss-Hermite
    dens = np.exp(-(z**2) / 2) / math.sqrt(2 * math.pi) * (z[1] - z[0])
    for a in range(2):
        r = np.array(
            [eif.rate(nrn, st.mu[a] - nrn.gL * st.shift[a] + st.sigma_q[a] * x, st.noise[a]) for x in z[::20]]
        )
        mean = float(np.sum(r * dens[::20] * 20))
        assert mean == pytest.approx(st.rates[a], rel=5e-3)


def test_deviation_from_balance_shrinks_like_one_over_sqrt_n():
    """r - r_inf = W^-1 mu / sqrt(N) with a net input mu that tends to a finite limit as N grows."""
    inf = np.array(balanced_rates(SimParams(N=10_000, cx=0.0)))
    states = {N: finite_n.solve(SimParams(N=N, cx=0.0)) for N in (10_000, 100_000, 1_000_000)}
    assert np.all(states[10_000].rates < inf)  # finite networks fire below the balanced rates (issue 12)
    mu = {N: s.mu for N, s in states.items()}
    assert mu[1_000_000] == pytest.approx(mu[100_000], rel=0.05)
    assert mu[1_000_000] == pytest.approx(mu[10_000], rel=0.1)
    assert (np.abs(states[1_000_000].rates - inf) / inf).max() < 0.01


def test_correlated_covariance_tends_to_the_balanced_rank_one_formula():
    """The finite-N covariance tends to T c r_x v v^T with an O(1/sqrt N) correction (balance of the mean)."""
    dev = {}
    for N in (100_000, 1_000_000):
        p = SimParams(N=N, cx=0.1)
        fp = FinitePoint(p)
        C = finite_n.covariances(p, fp.state, fp.j_eff, 250.0)
        dev[N] = C / covariances(p, 250.0) - 1
    assert np.all(np.abs(dev[1_000_000]) < 0.05)
    ratio = dev[1_000_000] / dev[100_000]
    assert np.all((ratio > 0.2) & (ratio < 0.45))  # 1/sqrt(10) = 0.32


def test_predict_finite_keys_and_nan_where_the_diffusion_approximation_fails():
    out = predict_finite(dict(N=2000, cx=0.0))
    assert tuple(out) == FINITE_KEYS
    assert 5.0 < out["theory_finite_rate_e_hz"] < 5.82 < 15.88
    tiny = predict_finite(dict(N=100))  # p N_x = 2 X synapses per cell
    assert all(math.isnan(v) for v in tiny.values())


def test_key_declaration_is_one_table_with_units_and_partners():
    keys = [k for k, _, _ in SUMMARY_SPEC]
    assert len(keys) == len(set(keys)) and all(unit and text for _, unit, text in SUMMARY_SPEC)
    assert set(THEORY_PARTNERS.values()) <= set(PREDICT_KEYS)


def test_kohonen_fixed_point_has_weight_rate_covariance():
    """Per synapse J = beta tau r_pre: the mean weight is below the rate-weighted weight the balance sees."""
    p = SimParams(N=5000, cx=0.0, rule_ee="kohonen", eta_ee=1e-3, beta_ee=2.0, jee=1.0, jei=-100.0)
    fp = FinitePoint(p)
    m, sd = fp.state.rates[0], fp.state.rate_sd[0]
    assert fp.j_mean[0, 0] == pytest.approx(fp.j_eff[0, 0] * m * m / (m * m + sd * sd), rel=1e-9)
    assert fp.j_mean[0, 0] == pytest.approx(2.0 * p.tauSTDP * m, rel=1e-6)
    assert fp.j_mean[0, 0] < 3.0  # below the N -> inf fixed point (finite networks fire less)


def test_istdp_pins_the_rate_and_its_mean_weight_carries_cov_j_r():
    p = SimParams(N=5000, cx=0.0, rule_ei="homeo", eta_ei=1e-3, rho_ei=0.015)
    fp = FinitePoint(p)
    assert fp.state.rates[0] == pytest.approx(0.015, rel=1e-5) and fp.state.rate_sd[0] == pytest.approx(
        0, abs=1e-6
    )
    # weights shrink fastest onto fast I cells: |mean j| > |rate-weighted j| (MODEL §4.3, issue 12)
    assert fp.j_mean[0, 1] < fp.j_eff[0, 1] < 0
