"""The summary vocabulary is the whole truth: every run reports exactly its keys, whatever its rules."""

from __future__ import annotations

import pytest

import sim
from sim.theory import PREDICT_KEYS
from sim.vocabulary import SUMMARY_KEYS, TEXT, label, stat, unit_of

VARIANTS = [
    {},
    {"rule_ee": "kohonen", "eta_ee": 1e-3, "record": {"spikes": True}},
    {"rule_ei": "homeo", "eta_ei": 1e-3, "rule_ii": "homeo", "eta_ii": 1e-3},
    {"rule_ie": "soft_hebb", "eta_ie": 1e-3, "integrator": "reference"},
    {"T": 30.0, "analysis": {"window": 100.0}},  # the analysis window does not fit: NaN, same keys
]


@pytest.mark.parametrize("extra", VARIANTS)
def test_runs_report_exactly_the_declared_keys(extra):
    summary = sim.simulate({"N": 100, "T": 200.0, "analysis": {"window": 50.0}, **extra}).summary
    assert sorted(k for k in summary if k not in TEXT) == sorted(SUMMARY_KEYS)
    assert all(isinstance(summary[k], str) for k in TEXT)


def test_theory_partners_units_and_labels():
    assert stat("rate_e_hz").theory == "theory_rate_e_hz" and stat("j_ei").theory == "theory_j_ei"
    assert stat("wall_s").theory is None
    assert set(PREDICT_KEYS) <= set(SUMMARY_KEYS)
    assert unit_of("rate_i_hz") == "Hz" and label("rate_i_hz") == "rate_i_hz [Hz]"
    assert label("corr_ee") == "corr_ee"
    with pytest.raises(KeyError, match="not a summary statistic"):
        stat("rate_x_hz")


def test_the_store_schema_declares_the_vocabulary(tmp_path):
    from worker.store import SweepStore
    from worker.sweep import expand_sweep, load_definition

    defn = load_definition({"base": {"N": 100, "T": 1e6}, "analysis": {"window": 4e5}})
    store = SweepStore(tmp_path)
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    assert store.attrs(sweep_id)["summary_keys"] == list(SUMMARY_KEYS)


def test_the_summary_table_in_docs_is_current():
    from pathlib import Path

    from sim.vocabulary import summary_table_markdown

    doc = Path(__file__).parents[2] / "docs" / "summary.md"
    assert doc.read_text() == summary_table_markdown(), (
        "regenerate: python -m sim.vocabulary > docs/summary.md"
    )
    assert "| `rate_e_hz` | Hz |" in doc.read_text() and "`theory_finite_rate_e_hz`" in doc.read_text()
