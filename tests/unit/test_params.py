"""SimParams validation: wrong types, out-of-range values and rule combinations name the field."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sim.params import SimParams, parse_params


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        (dict(N="many"), "N"),
        (dict(N=5), "N"),
        (dict(T=-1.0), "T"),
        (dict(p_ee=1.5), "p_ee"),
        (dict(jei=10.0), "jei"),
        (dict(rx=0.0), "rx"),
        (dict(cx=1.2), "cx"),
        (dict(rule_ee="stdp"), "rule_ee"),
        (dict(integrator="rk4"), "integrator"),
        (dict(record=dict(cells=-1)), "cells"),
        (dict(analysis=dict(window=0)), "window"),
        (dict(unknown_field=1), "unknown_field"),
    ],
)
def test_bad_values_name_the_field(fields, name):
    with pytest.raises(ValidationError) as err:
        SimParams(**fields)
    assert name in str(err.value)


@pytest.mark.parametrize(
    ("fields", "needle"),
    [
        (dict(eta_ee_hebb=1e-3, eta_ee_koh=1e-3), "eta_ee_koh"),
        (dict(eta_ie_homeo=1e-3, eta_ie_hebb=1e-3), "eta_ie_hebb"),
        (dict(eta_ee=1e-3), "rule_ee"),
        (dict(rule_ee="hebb", eta_ee=1e-3, jmin_ee=5.0, jmax_ee=5.0), "jmin_ee"),
        (dict(rule_ei="homeo", eta_ei=1e-3, jnorm_ei=0.0), "jnorm_ei"),
        (dict(rule_ii="oja", eta_ii=1e-3, p_ii=0.0), "p_ii"),
        (dict(Vre=-40.0), "Vre"),
        (dict(stim_on=100.0, stim_off=50.0), "stim_off"),
        (dict(taue=0.05), "taue"),
        (dict(T=100.0, analysis=dict(start=200.0)), "analysis.start"),
        (dict(N=10, frac_exc=0.99), "frac_exc"),
        (dict(eta_ee_hebb=1e-3, rule_ee="kohonen"), "rule_ee"),
    ],
)
def test_incompatible_combinations_are_refused(fields, needle):
    with pytest.raises(ValidationError) as err:
        SimParams(**fields)
    assert needle in str(err.value)


def test_legacy_names_map_onto_blocks():
    p = SimParams(eta_ee_koh=0.01, beta=3.0, eta_ei=1e-4, numrecord=7, nJrecord0=9, winsize=100.0)
    assert (p.rule_ee, p.eta_ee, p.beta_ee) == ("kohonen", 0.01, 3.0)
    assert p.rule_ei == "homeo" and p.plastic_blocks == ("ee", "ei")
    assert p.record.cells == 7 and p.record.weights == 9 and p.analysis.window == 100.0


def test_parse_params_accepts_dict_and_model_only():
    assert parse_params({"N": 100}).N == 100
    p = SimParams(N=200)
    assert parse_params(p) is p
    with pytest.raises(TypeError, match="expected SimParams or dict"):
        parse_params("N=100")  # type: ignore[arg-type]


def test_derived_sizes_keep_ne_plus_ni_equal_n():
    p = SimParams(N=101, frac_exc=0.5)
    assert p.Ne + p.Ni == 101 and p.Nt == round(p.T / p.dt)
