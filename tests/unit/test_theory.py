"""sim.theory reproduces the numbers derived in MODEL.md §4 (each one a test)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.params import SimParams
from sim.theory import (
    PREDICT_KEYS,
    _predict,
    balanced_rates,
    correlations,
    covariances,
    fixed_point,
    kohonen_beta_c,
    predict,
)


def _p(**kw) -> SimParams:
    return SimParams(**{"cx": 0.0, **kw})


def test_balanced_rates_defaults():
    r_e, r_i = balanced_rates(_p())
    assert r_e * 1000 == pytest.approx(9.9 / 17 * 10, abs=1e-9)  # 5.824 Hz
    assert r_i * 1000 == pytest.approx(27 / 17 * 10, abs=1e-9)  # 15.882 Hz


def test_balanced_rates_euler_charge_loss():
    r_e, r_i = balanced_rates(_p(integrator="reference"))
    assert (r_e * 1000, r_i * 1000) == pytest.approx((5.897, 16.290), abs=5e-4)
    assert balanced_rates(_p(), euler=True) == pytest.approx((r_e, r_i))


def test_balanced_rates_none_without_balance():
    # W_x,e/W_x,i > W_ei/W_ii > W_ee/W_ie fails when inhibition onto E dominates: no positive solution.
    assert all(math.isnan(x) for x in balanced_rates(_p(jei=-400.0)))


@pytest.mark.parametrize(
    ("cx", "N", "expected"),
    [
        (0.1, 5000, (0.0848, 0.2312, 0.6306)),
        (0.0, 1000, (4.24e-3, 1.16e-2, 3.15e-2)),
        (0.0, 5000, (8.48e-4, 2.31e-3, 6.31e-3)),
        (0.0, 10000, (4.24e-4, 1.16e-3, 3.15e-3)),
    ],
)
def test_covariances_table(cx, N, expected):
    C = covariances(SimParams(cx=cx, N=N), 250.0)
    # MODEL prints 3-4 significant digits: allow half a unit of the last one (rel 5e-3).
    assert (C[0, 0], C[0, 1], C[1, 1]) == pytest.approx(expected, rel=5e-3)
    assert C[0, 1] == C[1, 0]


@pytest.mark.parametrize("N", [1000, 10000])
def test_covariances_kohonen_fixed_point(N):
    C = covariances(_p(N=N, jee=3.0, jei=-100.0), 250.0)
    scale = 1000 / N
    assert (C[0, 0], C[0, 1], C[1, 1]) == pytest.approx(
        (7.03e-3 * scale, 1.77e-2 * scale, 4.47e-2 * scale), rel=3e-3
    )


def test_covariances_soft_hebb_correlated():
    C = covariances(SimParams(cx=0.75, jee=25.0, jei=-100.0), 250.0)
    assert (C[0, 0], C[0, 1], C[1, 1]) == pytest.approx((4.65, 9.97, 21.36), rel=2e-3)


def test_correlations_rank_one_and_invalid_above_one():
    R = correlations(SimParams(cx=0.1), 250.0)
    r_e, r_i = balanced_rates(SimParams(cx=0.1))
    assert R[0, 1] == pytest.approx(0.1 * math.sqrt(r_e * r_i) / 0.01)
    assert np.all(np.isnan(correlations(SimParams(cx=0.75, jei=-100.0), 250.0)))


def test_ei_istdp_fixed_point():
    out = predict(_p(eta_ei=1e-3))
    assert out["theory_j_ei"] == pytest.approx(-28 / 0.234, abs=1e-6)  # -119.658
    assert out["theory_rate_e_hz"] == pytest.approx(10.0, abs=1e-9)
    assert out["theory_rate_i_hz"] == pytest.approx(23.40, abs=5e-3)
    assert out["theory_stable"] == 1.0


@pytest.mark.parametrize(("tau", "j_ei", "r_e"), [(200.0, -120.88, 9.756), (50.0, -124.48, 9.091)])
def test_ei_istdp_correlation_corrected(tau, j_ei, r_e):
    out = predict(SimParams(cx=0.1, eta_ei=1e-3, tauSTDP=tau))
    assert out["theory_j_ei"] == pytest.approx(j_ei, abs=5e-3)
    assert out["theory_rate_e_hz"] == pytest.approx(r_e, abs=5e-4)


def test_ei_ii_istdp_joint_fixed_point_and_stability():
    fp = fixed_point(_p(eta_ei=1.5e-5, eta_ii=1.5e-5, N=5000))
    assert fp.weights[0, 1] == pytest.approx(-140.0, abs=1e-6)
    assert fp.weights[1, 1] == pytest.approx(-292.5, abs=1e-6)
    assert fp.rates * 1000 == pytest.approx([10.0, 20.0])
    # MODEL §4.3: a stable focus, eigenvalues (-3.9e-7 +- 8.8e-7 i) per ms at N = 5000.
    assert fp.stable == 1.0
    assert sorted(fp.eigenvalues.imag) == pytest.approx([-8.8e-7, 8.8e-7], rel=0.01)
    assert fp.eigenvalues.real == pytest.approx([-3.9e-7, -3.9e-7], rel=0.01)


def test_ii_istdp_ten_times_faster_is_unstable():
    assert fixed_point(_p(eta_ei=1.5e-5, eta_ii=1.5e-4)).stable == 0.0
    assert fixed_point(_p(eta_ei=1.5e-4, eta_ii=1.5e-5)).stable == 1.0


def test_kohonen_python_defaults():
    out = predict(_p(eta_ee_koh=1e-3))
    assert out["theory_j_ee"] == pytest.approx(1.5, abs=1e-6)  # stable root; 66.0 is the unstable one
    assert (out["theory_rate_e_hz"], out["theory_rate_i_hz"]) == pytest.approx((3.75, 12.15))
    assert out["theory_tau_w_s"] == pytest.approx(273, rel=0.01)  # MODEL: tau_w ~ 273/eta ms
    beta_c, j_c = kohonen_beta_c(_p())
    assert beta_c == pytest.approx(23.0, abs=0.02)
    assert j_c == pytest.approx(33.75, abs=1e-3)


def test_kohonen_matlab_set():
    out = predict(_p(eta_ee_koh=1e-3, jei=-100.0))
    assert out["theory_j_ee"] == pytest.approx(3.0, abs=1e-6)
    assert (out["theory_rate_e_hz"], out["theory_rate_i_hz"]) == pytest.approx((7.5, 18.9))
    assert kohonen_beta_c(_p(jei=-100.0))[0] == pytest.approx(2025 / 252, abs=1e-6)  # 8.04


def test_kohonen_beyond_saddle_node_has_no_fixed_point():
    out = predict(_p(eta_ee_koh=1e-3, jei=-100.0, beta=9.0))
    assert math.isnan(out["theory_j_ee"]) and math.isnan(out["theory_rate_e_hz"])


def test_kohonen_plus_ei_joint():
    out = predict(_p(eta_ee_koh=0.1, beta=6.0, eta_ei=1e-3, jee=10.0))
    assert out["theory_j_ee"] == pytest.approx(12.0, abs=1e-6)
    assert out["theory_j_ei"] == pytest.approx(-97.44, abs=5e-3)
    assert out["theory_rate_i_hz"] == pytest.approx(23.4, abs=0.05)


def test_soft_hebb_goes_to_jmax():
    out = predict(_p(eta_ee_hebb=1e-3))
    assert out["theory_j_ee"] == 30.0
    assert (out["theory_rate_e_hz"], out["theory_rate_i_hz"]) == pytest.approx((6.600, 17.280))
    assert out["theory_tau_w_s"] == pytest.approx(115, rel=0.01)


def test_ie_homeostatic_fixed_point_is_unstable():
    out = predict(_p(eta_ie_homeo=1e-3))
    assert out["theory_j_ie"] == pytest.approx(76.04, abs=5e-3)
    assert out["theory_rate_e_hz"] == pytest.approx(12.0)
    assert out["theory_stable"] == 0.0


def test_ie_hebb_multiplicative_form():
    out = predict(_p(eta_ie_hebb=1e-3))
    assert out["theory_j_ie"] == 125.0
    assert (out["theory_rate_e_hz"], out["theory_rate_i_hz"]) == pytest.approx((4.95, 15.30))


def test_oja_and_triplet():
    oja = predict(_p(rule_ee="oja", eta_ee=1e-3, beta_ee=25.0, jei=-100.0))
    assert oja["theory_j_ee"] == 25.0
    assert (oja["theory_rate_e_hz"], oja["theory_rate_i_hz"]) == pytest.approx((15.75, 33.75))
    triplet = predict(_p(rule_ee="triplet", eta_ee=1e-3, jei=-100.0))
    assert triplet["theory_j_ee"] == pytest.approx(3.0, abs=1e-6)
    assert triplet["theory_rate_e_hz"] == pytest.approx(7.5)


def test_additive_hebb_has_no_prediction():
    out = predict(_p(rule_ee="hebb", eta_ee=1e-3))
    assert math.isnan(out["theory_j_ee"]) and math.isnan(out["theory_rate_e_hz"])
    assert out["theory_j_ei"] == -150.0  # static blocks keep their weight


def test_predict_static_keys_and_stimulus():
    out = predict(_p())
    assert set(out) == set(PREDICT_KEYS)
    assert math.isnan(out["theory_stable"])
    # A stimulus on during the whole analysis window enters the balance equations.
    stim = predict(_p(jestim=0.1))
    assert stim["theory_rate_e_hz"] > out["theory_rate_e_hz"]
    half = predict(_p(jestim=0.1, stim_on=7500.0))  # on for half of [T/2, T)
    assert half["theory_rate_e_hz"] == pytest.approx((stim["theory_rate_e_hz"] + out["theory_rate_e_hz"]) / 2)


def test_two_rules_pinning_one_rate_give_rates_but_no_unique_weights():
    out = predict(_p(rule_ee="homeo", eta_ee=1e-3, rho_ee=0.01, eta_ei=1e-3))
    assert out["theory_rate_e_hz"] == pytest.approx(10.0)
    assert math.isnan(out["theory_j_ee"]) and math.isnan(out["theory_j_ei"])
    assert math.isnan(out["theory_stable"]) and out["theory_j_ie"] == 112.5


@pytest.mark.parametrize(
    "kw",
    [
        {"rule_ee": "homeo", "eta_ee": 1e-3, "rule_ei": "homeo", "eta_ei": 1e-3, "rho_ee": 0.02},
        {"rule_ii": "kohonen", "eta_ii": 1.0, "rule_ie": "triplet", "eta_ie": 1.0},
        {"rule_ei": "oja", "eta_ei": 1e-3, "beta_ei": 0.0},
        {"jee": 0.0, "jei": 0.0, "jie": 0.0, "jii": 0.0},
        {"p_ee": 0.0, "p_ei": 0.0, "p_ie": 0.0, "p_ii": 0.0},
    ],
)
def test_predict_never_raises(kw):
    out = predict(_p(**kw))
    assert set(out) == set(PREDICT_KEYS)
    assert all(isinstance(v, float) for v in out.values())


RULE_CHOICES = ("static", "soft_hebb", "hebb", "kohonen", "oja", "triplet", "homeo")


@settings(max_examples=30, deadline=None, derandomize=True)
@given(
    rules=st.lists(st.sampled_from(RULE_CHOICES), min_size=4, max_size=4),
    weights=st.tuples(
        st.floats(0, 100), st.floats(-400, 0), st.floats(0, 300), st.floats(-600, 0), st.floats(0, 400)
    ),
    cx=st.sampled_from([0.0, 1e-6, 0.1, 1.0]),
    stim=st.floats(-1, 1),
)
def test_predict_never_raises_property(rules, weights, cx, stim):
    fields = {f"rule_{b}": r for b, r in zip(("ee", "ei", "ie", "ii"), rules, strict=True)}
    fields |= {f"eta_{b}": 1e-3 for b in ("ee", "ei", "ie", "ii") if fields[f"rule_{b}"] != "static"}
    fields |= dict(zip(("jee", "jei", "jie", "jii", "jex"), weights, strict=True))
    params = SimParams(cx=cx, jestim=stim, **fields)
    with np.errstate(all="ignore"):
        out = _predict(params)  # without predict()'s safety net, so internal errors surface here
    assert set(out) == set(PREDICT_KEYS)
    assert all(isinstance(v, float) for v in out.values())
    if not math.isnan(out["theory_rate_e_hz"]):
        assert out["theory_rate_e_hz"] > 0 and out["theory_rate_i_hz"] > 0
