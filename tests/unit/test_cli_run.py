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
