"""The REST service end to end in one process: a real uvicorn server, a real Dask cluster, a real store."""

from __future__ import annotations

import asyncio
import io
import json
import math

import numpy as np
import pandas as pd
import pytest

from service.api.fastpath import StatusFastPath
from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for
from worker.results import summary_table
from worker.store import SweepStore
from worker.sweep import SweepDefinition, expand_sweep

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("service-data")


@pytest.fixture(scope="module")
def server(local_cluster, data):
    settings = Settings(data=data, scheduler=local_cluster.scheduler_address, user_max_concurrent_runs=2)
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def done_sweep(server):
    definition = small_sweep("grid", n_values=(100, 150), T=300.0) | {
        "zip": {"cx": [0.0, 0.2]},
        "replicates": 2,
    }
    with server.http() as http:
        created = http.post("/sweeps", json=definition).raise_for_status().json()
        assert (created["n_runs"], created["n_reused"], created["state"]) == (8, 0, "queued")
        status = wait_for(http, created["id"])
    assert status["state"] == "done" and status["counts"]["done"] == 8, status
    return created["id"]


def test_service_results_json_equal_the_store(server, data, done_sweep):
    with server.http() as http:
        rows = http.get(f"/sweeps/{done_sweep}/results").raise_for_status().json()
    over_http = pd.DataFrame(rows)
    stored = summary_table(SweepStore(data), done_sweep)
    assert list(over_http.columns) == list(stored.columns)
    assert len(over_http) == 8
    for column in stored.columns:
        a, b = stored[column].tolist(), over_http[column].tolist()
        for x, y in zip(a, b, strict=True):
            if isinstance(x, float) and math.isnan(x):
                assert y is None or (isinstance(y, float) and math.isnan(y)), column
            elif isinstance(x, float):
                assert y == pytest.approx(x, rel=1e-12), column
            else:
                assert x == y, column


def test_service_status_fast_path_answers_polls_and_passes_the_rest_on(server, done_sweep):
    """A visible sweep's poll is answered without the app behind; anything else reaches it untouched."""
    reached, sent = [], []

    async def behind(scope, receive, send):
        reached.append(scope["path"])

    async def send(message):
        sent.append(message)

    async def receive():
        return {"type": "http.request", "body": b"", "more_body": False}

    def call(path: str, method: str = "GET") -> None:
        scope = {"type": "http", "method": method, "path": path, "headers": [], "app": server.app}
        asyncio.run(StatusFastPath(behind)(scope, receive, send))

    call(f"/sweeps/{done_sweep}")
    assert reached == [] and sent[0]["status"] == 200
    status = json.loads(sent[1]["body"])
    assert status["id"] == done_sweep and status["state"] == "done" and status["counts"]["done"] == 8
    with server.http() as http:
        assert http.get(f"/sweeps/{done_sweep}").json() == status
    others = ["/sweeps/no-such-sweep", f"/sweeps/{done_sweep}/results", "/sweeps/../x", "/sweeps/", "/health"]
    for path in others:
        call(path)
    call(f"/sweeps/{done_sweep}", method="DELETE")
    assert reached == [*others, f"/sweeps/{done_sweep}"] and len(sent) == 2


def test_service_results_csv_filtered_by_parameter(server, done_sweep):
    with server.http() as http:
        text = http.get(f"/sweeps/{done_sweep}/results", params={"format": "csv", "N": 150, "cx": "0.2"}).text
        table = pd.read_csv(io.StringIO(text))
        assert len(table) == 2 and set(table["N"]) == {150} and np.allclose(table["cx"], 0.2)
        assert set(table["replicate"]) == {0, 1}
        r = http.get(f"/sweeps/{done_sweep}/results", params={"nonsense": 1})
        assert r.status_code == 400 and "nonsense" in r.text
        r = http.get(f"/sweeps/{done_sweep}/results", params={"N": "many"})
        assert r.status_code == 400 and "expected a number" in r.text


def test_service_run_has_params_summary_and_series(server, done_sweep):
    with server.http() as http:
        run = http.get(f"/sweeps/{done_sweep}/runs/3").raise_for_status().json()
    assert run["status"] == "done" and run["params"]["N"] == 100 and run["params"]["cx"] == 0.2
    assert run["summary"]["rate_e_hz"] > 0 and "theory_rate_e_hz" in run["summary"]
    series = run["series"]
    assert len(series["rate_time_ms"]) == len(series["rate_e_hz_t"]) > 10
    assert len(series["time_ms"]) == len(series["weight_mean_ee"])


@pytest.mark.parametrize("name", ["rates", "weights", "summary"])
def test_service_plots_are_png(server, done_sweep, name):
    with server.http() as http:
        r = http.get(f"/sweeps/{done_sweep}/plots/{name}.png", params={"x": "N"} if name == "summary" else {})
    assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content.startswith(PNG)


def test_service_summary_plot_bad_stat_is_4xx(server, done_sweep):
    with server.http() as http:
        r = http.get(f"/sweeps/{done_sweep}/plots/summary.png", params={"stat": "nope"})
        assert r.status_code == 400 and "stat='nope'" in r.text
        r = http.get(f"/sweeps/{done_sweep}/plots/summary.png", params={"x": "status"})
        assert r.status_code == 400 and "x='status'" in r.text


def test_service_metrics_cluster_health_page(server, done_sweep):
    with server.http() as http:
        metrics = http.get("/metrics").text
        assert 'pbn_runs{status="done"}' in metrics and "pbn_run_duration_seconds_count" in metrics
        assert 'pbn_sweeps{state="done"}' in metrics
        cluster = http.get("/cluster").json()
        assert cluster["n_workers"] == 1 and cluster["threads"] == 1
        assert http.get("/health").json()["status"] == "ok"
        page = http.get("/").text
        assert done_sweep in page and "8/8 with results" in page
        listed = http.get("/sweeps", params={"limit": 1}).json()
        assert listed["count"] >= 1 and len(listed["data"]) == 1


def test_service_resubmission_reuses_runs(server, done_sweep):
    definition = small_sweep("grid", n_values=(100, 150), T=300.0) | {
        "zip": {"cx": [0.0, 0.2]},
        "replicates": 2,
    }
    with server.http() as http:
        created = http.post("/sweeps", json=definition).json()
        assert created["n_reused"] == 8
        status = wait_for(http, created["id"])
    assert status["counts"]["reused"] == 8 and status["state"] == "done"


def test_service_cancel_keeps_finished_runs_then_purge(server, data):
    store = SweepStore(data)
    with server.http() as http:
        # 60 runs of ~50 ms each: the cancel lands long before the last run could have finished
        definition = small_sweep("long", n_values=tuple(range(200, 440, 20)), T=2000.0) | {"replicates": 5}
        created = http.post("/sweeps", json=definition).json()
        wait_for(http, created["id"], until=lambda s: s["counts"]["done"] >= 1)
        answer = http.delete(f"/sweeps/{created['id']}").json()
        assert answer == {"id": created["id"], "state": "cancelled", "purged": False}
        status = wait_for(
            http, created["id"], until=lambda s: s["counts"]["running"] + s["counts"]["pending"] == 0
        )
        assert status["state"] == "cancelled" and status["counts"]["cancelled"] >= 1
        done = [i for i, s in enumerate(store.statuses(created["id"])) if s == "done"]
        assert len(done) == status["counts"]["done"] >= 1
        assert http.delete(f"/sweeps/{created['id']}", params={"purge": True}).json()["purged"] is True
        assert http.get(f"/sweeps/{created['id']}").status_code == 404
    assert not store.exists(created["id"])


def test_service_graceful_restart_resumes_without_recomputing(local_cluster, tmp_path):
    """Stop the server mid-sweep (as SIGTERM does) and start a new one on the same store."""
    settings = Settings(data=tmp_path, scheduler=local_cluster.scheduler_address, user_max_concurrent_runs=1)
    store = SweepStore(tmp_path)
    with LiveServer(settings) as first, first.http() as http:
        definition = small_sweep("resume", n_values=tuple(range(400, 520, 20)), T=8000.0)
        sweep_id = http.post("/sweeps", json=definition).json()["id"]
        wait_for(http, sweep_id, until=lambda s: s["counts"]["done"] >= 2)
    statuses = store.statuses(sweep_id)
    assert "cancelled" not in statuses and "pending" in statuses
    before = {i: store.run_info(sweep_id, i) for i, s in enumerate(statuses) if s == "done"}
    with LiveServer(settings) as second, second.http() as http:
        status = wait_for(http, sweep_id)
    assert status["state"] == "done" and status["counts"]["done"] == 6
    for index, info in before.items():
        after = store.run_info(sweep_id, index)
        assert (after["attempt"], after["started_at"]) == (info["attempt"], info["started_at"])


def test_service_start_reads_the_store_and_lists_failed_runs(local_cluster, tmp_path):
    """The registry is rebuilt from the store: owner, states and the errors of failed runs."""
    store = SweepStore(tmp_path)
    defn = SweepDefinition.model_validate(small_sweep("from-store", n_values=(100, 120, 140)))
    sweep_id = store.create_sweep(defn, expand_sweep(defn), owner="local")
    store.set_status(sweep_id, 0, "failed", error="ValueError: boom at t=12 ms")
    store.set_status(sweep_id, 1, "cancelled")
    store.set_status(sweep_id, 2, "cancelled")
    settings = Settings(data=tmp_path, scheduler=local_cluster.scheduler_address)
    with LiveServer(settings) as live, live.http() as http:
        status = http.get(f"/sweeps/{sweep_id}").json()
        metrics = http.get("/metrics").text
    assert status["state"] == "cancelled" and status["owner"] == "local"
    assert status["counts"]["failed"] == 1 and status["counts"]["cancelled"] == 2
    assert status["errors"] == [{"index": 0, "status": "failed", "error": "ValueError: boom at t=12 ms"}]
    assert 'pbn_runs{status="failed"} 1.0' in metrics and 'pbn_sweeps{state="cancelled"} 1.0' in metrics
