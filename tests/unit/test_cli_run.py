"""`pbn run`: parameters from YAML and --set, the summary table, bad input -> exit code 2."""

from __future__ import annotations

import numpy as np
from typer.testing import CliRunner

from service.cli import app

runner = CliRunner()


def test_run_prints_measured_beside_theory_and_writes_npz(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text("N: 300\nT: 300\nrecord:\n  cells: 3\nanalysis:\n  window: 50\n")
    out = tmp_path / "r.npz"
    res = runner.invoke(app, ["run", str(f), "--set", "seed=2", "--set", "record.dt=5", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "rate_e_hz" in res.output and "theory" in res.output
    data = np.load(out)
    assert data["current_e"].shape == (6, 60)


def test_bad_parameters_exit_2_naming_the_field(tmp_path):
    res = runner.invoke(app, ["run", "--set", "N=2000", "--set", "p_ee=3"])
    assert res.exit_code == 2 and "p_ee" in res.output and "Traceback" not in res.output
    res = runner.invoke(app, ["run", "--set", "oops"])
    assert res.exit_code == 2 and "NAME=VALUE" in res.output
    (tmp_path / "bad.yaml").write_text("- 1\n- 2\n")
    res = runner.invoke(app, ["run", str(tmp_path / "bad.yaml")])
    assert res.exit_code == 2 and "mapping" in res.output


def test_numbers_as_written_units_and_window_note():
    res = runner.invoke(app, ["run", "--set", "N=3e2", "--set", "T=1e2", "--set", "record.dt=5"])
    assert res.exit_code == 0, res.output
    assert "theory" in res.output and "Hz" in res.output  # N=3e2, T=1e2 were read as numbers
    assert "no analysis window fitted (two are needed: 250 ms windows from 50 ms to 100 ms)" in res.output


def test_nonfinite_and_unknown_names_exit_2_with_words():
    res = runner.invoke(app, ["run", "--set", "T=nan"])
    assert res.exit_code == 2 and "T='nan': must be finite" in res.output
    res = runner.invoke(app, ["run", "--set", "Nn=300"])
    assert res.exit_code == 2 and "Nn: Extra inputs are not permitted" in res.output
    assert "(did you mean N?)" in res.output


def test_diverged_run_says_why_and_exits_1():
    sets = ["N=300", "T=500", "jee=400", "jei=-1", "jii=-1", "record.dt=5", "analysis.window=50"]
    res = runner.invoke(app, ["run", *[x for s in sets for x in ("--set", s)]])
    assert res.exit_code == 1, res.output
    assert "diverged: " in res.output and "above the 50 Hz guard at t = " in res.output
