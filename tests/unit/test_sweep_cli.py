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


SMALL = (
    "name: cli\nbase: {N: 200, T: 200}\nzip: {jee: [25, 400], jei: [-150, -1], jii: [-250, -1]}\n"
    "record: {dt: 10, weights: 2, cells: 2}\nanalysis: {window: 50}\n"
)


def _computed(tmp_path) -> tuple[SweepStore, str, object]:
    """A stored sweep whose runs were computed in this process (worker.tasks.run_point, no Dask)."""
    from worker.sweep import expand_sweep, load_definition
    from worker.tasks import run_point

    path = tmp_path / "s.yaml"
    path.write_text(SMALL)
    store = SweepStore(tmp_path / "data")
    runs = expand_sweep(load_definition(path))
    sweep_id = store.create_sweep(load_definition(path), runs, owner="lab")
    for run in runs:
        run_point(str(store.root), sweep_id, run.index, run.params, 1)
    return store, sweep_id, path


@pytest.fixture
def no_cluster(monkeypatch):
    """Starting a Dask client fails the test: these sweeps must finish without one."""
    import worker.cluster

    def refuse(*args, **kwargs):
        raise AssertionError("a cluster was started")

    monkeypatch.setattr(worker.cluster, "make_client", refuse)


@pytest.fixture
def narrow(monkeypatch):
    """The CLI's console as an 80-column terminal."""
    from service.console import console

    monkeypatch.setattr(console, "width", 80)


def test_finished_sweep_in_80_columns_theory_beside_and_divergence_in_words(
    runner, tmp_path, no_cluster, narrow
):
    store, sweep_id, _ = _computed(tmp_path)
    assert store.statuses(sweep_id) == ["done", "diverged"]
    result = runner.invoke(app, ["sweep", "--resume", sweep_id, "--data", str(store.root)])
    assert result.exit_code == 0, result.output
    assert "no cluster started" in result.output
    lines = result.output.splitlines()
    table = [line for line in lines if line.startswith(("┃", "│", "┏", "└"))]
    assert table and max(len(line) for line in table) <= 80
    header = " ".join(line for line in table if line.startswith("┃"))
    assert "rate_e_hz" in header and "theory" in header and "Hz" in header
    assert any(line.startswith("not shown to fit 80 columns:") for line in lines)
    words = " ".join(lines)
    assert "run 1 diverged: " in words and "above the 50 Hz guard at t = " in words
    assert "Traceback" not in result.output


def test_fully_reused_sweep_starts_no_cluster(runner, tmp_path, no_cluster):
    store, first, path = _computed(tmp_path)
    path.write_text(
        SMALL.replace("[25, 400], jei: [-150, -1], jii: [-250, -1]", "[25], jei: [-150], jii: [-250]")
    )
    result = runner.invoke(app, ["sweep", str(path), "--data", str(store.root), "--owner", "lab"])
    assert result.exit_code == 0, result.output
    assert "every run has a result (1 reused from the store, 1 in all); no cluster started" in result.output
    second = next(s for s in store.sweep_ids() if s != first)
    assert store.statuses(second) == ["reused"]


def test_unknown_parameter_gets_a_did_you_mean(runner, tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text("base: {Nn: 200}\n")
    result = runner.invoke(app, ["sweep", str(path), "--data", str(tmp_path / "data")])
    assert result.exit_code == 2 and "(did you mean N?)" in result.output
    path.write_text("gird: {N: [200]}\n")
    result = runner.invoke(app, ["sweep", str(path), "--data", str(tmp_path / "data")])
    assert result.exit_code == 2 and "(did you mean grid?)" in result.output
