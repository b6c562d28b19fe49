"""What a scientist reads from the CLI: units, theory partners, fitted tables, numbers, hints, reasons."""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
from rich.console import Console

from service.explain import divergence_words, window_note
from service.inputs import NonFiniteError, as_number, did_you_mean, normalize_numbers, suggest_parameter
from service.tables import fit_table
from service.units import label, theory_partner, unit_of, with_theory

HEAVY = ("distributed", "pandas", "zarr", "numba", "numpy", "xarray", "httpx", "matplotlib", "pydantic")


def test_cli_import_loads_no_heavy_module():
    code = f"import sys, service.cli; print([m for m in {HEAVY!r} if m in sys.modules])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_units_and_theory_partners():
    assert unit_of("rate_e_hz") == unit_of("theory_rate_e_hz") == "Hz"
    assert unit_of("j_ei") == "j = √N·J" and unit_of("cov_ee") == "spikes²" and unit_of("corr_ee") == ""
    assert unit_of("stop_rate_e_hz") == "Hz" and unit_of("not_a_stat") == ""
    assert theory_partner("corr_ei") == "theory_corr_ei" and theory_partner("wall_s") is None
    assert with_theory(["rate_e_hz", "wall_s"], ["rate_e_hz", "wall_s"]) == ["rate_e_hz", "wall_s"]
    assert with_theory(["rate_e_hz", "wall_s"]) == ["rate_e_hz", "theory_rate_e_hz", "wall_s"]
    assert label("T", parameter=True) == "T [ms]" and label("jee", parameter=True) == "jee [scaled mV]"
    assert label("N", parameter=True) == "N" and label("record.dt", parameter=True) == "record.dt [ms]"
    assert label("rate_e_hz") == "rate_e_hz [Hz]"


def _render(table, width):
    console = Console(width=width, record=True, color_system=None)
    console.print(table)
    return console.export_text()


def test_fit_table_drops_whole_pairs_never_cuts_numbers():
    rows = [
        {"index": i, "status": "done", "N": 1000 + i, "rate_e_hz": 5.123456 + i, "theory_rate_e_hz": 5.8237}
        | {"j_ei": -123.456789, "theory_j_ei": -119.66, "wall_s": 12.345}
        for i in range(3)
    ]
    optional = ["rate_e_hz", "theory_rate_e_hz", "j_ei", "theory_j_ei", "wall_s"]
    fitted = fit_table(rows, ["index", "status", "N"], optional, width=60)
    text = _render(fitted.table, 60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert fitted.dropped == ["j_ei", "theory_j_ei", "wall_s"]  # the pair goes together, then the rest
    for value in ("5.123", "7.123", "5.824", "1002"):
        assert value in text
    assert "theory" in text and "Hz" in text
    wide = fit_table(rows, ["index", "status", "N"], optional, width=200)
    assert wide.dropped == [] and "-123.5" in _render(wide.table, 200)


def test_numbers_as_written_and_nonfinite_refused():
    assert as_number("1e3", "N") == 1000 and isinstance(as_number("1e3", "N"), int)
    assert (
        as_number("2.5e-5", "eta_ei") == pytest.approx(2.5e-5) and as_number("kohonen", "rule") == "kohonen"
    )
    assert normalize_numbers({"grid": {"N": ["1e3", 2000]}}) == {"grid": {"N": [1000, 2000]}}
    for bad in ("nan", "-inf", math.inf, math.nan):
        with pytest.raises(NonFiniteError, match="must be finite"):
            normalize_numbers({"base": {"T": bad}})
    with pytest.raises(NonFiniteError) as err:
        normalize_numbers({"grid": {"cx": [0.1, math.nan]}})
    assert err.value.field == "grid.cx[1]"


def test_did_you_mean_over_parameter_names():
    assert suggest_parameter("Nn") == " (did you mean N?)"
    assert suggest_parameter("eta_ie_hom") == " (did you mean eta_ie_homeo?)"
    assert suggest_parameter("record.dtt") == " (did you mean dt?)"
    assert suggest_parameter("n") == " (did you mean N?)"
    assert did_you_mean("zzzzzz", ["N", "T"]) == ""


def test_divergence_in_words():
    summary = {"reason": "rate", "t_stop_ms": 127.7, "stop_rate_e_hz": 212.3, "stop_rate_i_hz": 80.0}
    words = divergence_words({**summary, "rate_max_hz": 200.0})
    assert words.startswith("E rate 212 Hz above the 200 Hz guard at t = 127.7 ms")
    assert divergence_words({**summary, "stop_rate_e_hz": 150.0}, guard_hz=200.0).startswith(
        "network rate above the 200 Hz guard at t = 127.7 ms"
    )
    assert (
        divergence_words({"error": "rate", "t_stop_ms": 5.0})
        == "network rate above the runaway guard at t = 5.0 ms"
    )
    assert divergence_words({"reason": "nonfinite", "t_stop_ms": 3.0}).startswith("non-finite")


def test_window_note_only_when_windows_did_not_fit():
    nan = float("nan")
    params = {"T": 300.0, "analysis": {"window": 250.0, "start": None}}
    note = window_note({"cov_ee": nan, "corr_ee": nan, "n_windows": 0, "t_stop_ms": 300.0}, params)
    assert note == (
        "cov_ee, corr_ee are nan: no analysis window fitted "
        "(two are needed: 250 ms windows from 150 ms to 300 ms)"
    )
    assert window_note({"corr_ee": nan, "n_windows": 5}, params) is None  # silent cells, not the window
    assert window_note({"corr_ee": 0.1, "n_windows": 0}, params) is None
    stopped = window_note({"cov_ee": nan, "n_windows": 0, "t_stop_ms": 20.0}, params)
    assert stopped is not None and "stopped at t = 20 ms, before the analysis start 150 ms" in stopped
    early = window_note({"status": "diverged", "cov_ee": nan, "n_windows": 0, "t_stop_ms": 29.3})
    assert early is not None and early.endswith("; the run stopped at t = 29.3 ms)")
