"""`pbn sweep` at the edges: bad input gives one clear line and exit code 2; --explain creates nothing."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from service.cli import app
from worker.store import SweepStore


@pytest.fixture
def runner():
    return CliRunner()


def test_invalid_point_is_refused_with_exit_code_2(runner, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("grid: {N: [200, 3]}\n")
    result = runner.invoke(app, ["sweep", str(path), "--data", str(tmp_path / "data")])
    assert result.exit_code == 2
    assert "point 1: N=3" in result.output and "Traceback" not in result.output
    assert SweepStore(tmp_path / "data").sweep_ids() == []


def test_limits_and_missing_things_exit_2(runner, tmp_path, monkeypatch):
    path = tmp_path / "s.yaml"
    path.write_text("base: {N: 200, T: 100}\ngrid: {cx: [0.0, 0.1]}\n")
    monkeypatch.setenv("PBN_MAX_RUNS", "1")
    result = runner.invoke(app, ["sweep", str(path), "--data", str(tmp_path)])
    assert result.exit_code == 2 and "max_runs" in result.output
    result = runner.invoke(app, ["sweep", "--resume", "nope", "--data", str(tmp_path)])
    assert result.exit_code == 2 and "not found" in result.output
    result = runner.invoke(app, ["sweep", str(tmp_path / "missing.yaml"), "--data", str(tmp_path)])
    assert result.exit_code == 2 and "no such file" in result.output


def test_a_million_point_grid_is_refused_by_its_count(runner, tmp_path, monkeypatch):
    """Counted from the axes, never expanded (expanding it took 4 min 54 s of CPU before the refusal)."""
    import worker.sweep

    def never(*_: object) -> None:
        raise AssertionError("pbn sweep expanded a sweep over the run limit")

    monkeypatch.setattr(worker.sweep, "expand_sweep", never)
    path = tmp_path / "huge.yaml"
    n = ", ".join(str(100 + i) for i in range(1000))
    cx = ", ".join(f"{i / 1000:g}" for i in range(1000))
    path.write_text(f"grid: {{N: [{n}], cx: [{cx}]}}\n")
    result = runner.invoke(app, ["sweep", str(path), "--data", str(tmp_path / "data")])
    assert result.exit_code == 2 and "max_runs: 1e+06 exceeds the limit 10000" in result.output
    assert SweepStore(tmp_path / "data").sweep_ids() == []


def test_explain_lists_every_run_and_creates_nothing(runner, tmp_path):
    path = tmp_path / "s.yaml"
    path.write_text("base: {N: 200, T: 100}\ngrid: {cx: [0.0, 0.1]}\nreplicates: 2\n")
    result = runner.invoke(app, ["sweep", str(path), "--data", str(tmp_path / "data"), "--explain"])
    assert result.exit_code == 0, result.output
    assert "4 to run, 0 reused" in result.output
    assert SweepStore(tmp_path / "data").sweep_ids() == []
