"""End to end with real processes: `dask scheduler`, two `dask worker`s, `pbn serve`, HTTP only.

Faults: a worker SIGKILLed mid-sweep (the sweep still completes, every run done exactly once) and the
API SIGKILLed mid-sweep and restarted (the sweep resumes; runs finished before the kill keep their
stored attempt number and start time, i.e. they were not recomputed).
"""

from __future__ import annotations

import math
import signal
import time

import pandas as pd
import pytest

from tests.e2e.conftest import ADMIN_TOKEN, Api, wait_workers
from tests.service_live import wait_for
from worker.results import summary_table
from worker.store import SweepStore

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]


def definition(name: str, n_values: list[int], T: float, **extra) -> dict:
    return {
        "name": name,
        "base": {"T": T, "eta_ei": 1.5e-5},
        "grid": {"N": n_values},
        "record": {"weights": 10, "cells": 10, "dt": 10.0},
        "analysis": {"window": 100, "rate_bin": 10},
        **extra,
    }


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return tmp_path_factory.mktemp("e2e-data")


@pytest.fixture(scope="module")
def api(cluster, data, logs):
    server = Api(cluster, data, logs)
    yield server
    server.proc.stop()


def test_e2e_sweep_completes_and_results_equal_the_store(api, data):
    sweep = definition("e2e", [200, 300, 400], T=500.0, zip={"cx": [0.0, 0.1]})
    with api.http() as http:
        created = http.post("/sweeps", json=sweep).raise_for_status().json()
        assert created["n_runs"] == 6
        status = wait_for(http, created["id"], timeout=120)
        rows = http.get(f"/sweeps/{created['id']}/results").raise_for_status().json()
        cluster_info = http.get("/cluster").json()
    assert status["state"] == "done" and status["counts"]["done"] == 6, status
    assert cluster_info["n_workers"] == 2
    stored = summary_table(SweepStore(data), created["id"])
    over_http = pd.DataFrame(rows)
    assert list(over_http.columns) == list(stored.columns)
    for column in stored.columns:
        for x, y in zip(stored[column], over_http[column], strict=True):
            if isinstance(x, float) and math.isnan(x):
                assert y is None or math.isnan(y)
            elif isinstance(x, float):
                assert y == pytest.approx(x, rel=1e-12), column
            else:
                assert x == y, column


def test_e2e_api_killed_mid_sweep_resumes_without_recomputing(cluster, tmp_path, logs):
    data = tmp_path  # its own data directory: one `pbn serve` per data directory (the module's API has one)
    store = SweepStore(data)
    first = Api(cluster, data, logs, name="api-first")
    try:
        with first.http() as http:
            sweep_id = http.post(
                "/sweeps", json=definition("restart", list(range(300, 540, 20)), T=8000.0)
            ).json()["id"]
            wait_for(http, sweep_id, until=lambda s: s["counts"]["done"] >= 3, timeout=120)
    finally:
        first.proc.signal(signal.SIGKILL)
        first.proc.popen.wait(10)
    statuses = store.statuses(sweep_id)
    assert statuses.count("done") < len(statuses), "the sweep finished before the kill: make it longer"
    before = {i: store.run_info(sweep_id, i) for i, s in enumerate(statuses) if s == "done"}
    second = Api(cluster, data, logs, name="api-second")
    try:
        with second.http() as http:
            status = wait_for(http, sweep_id, timeout=180)
    finally:
        second.proc.stop()
    assert status["state"] == "done" and status["counts"]["done"] == 12, status
    for index, info in before.items():
        after = store.run_info(sweep_id, index)
        assert (after["attempt"], after["started_at"], after["finished_at"]) == (
            info["attempt"],
            info["started_at"],
            info["finished_at"],
        ), index


def busy_worker(http, cluster, timeout: float = 20.0) -> str:
    """Name of a live worker the scheduler reports executing a task (so the kill lands mid-task)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in http.get("/cluster").json()["workers"]:
            if worker["tasks_processing"] > 0 and worker["name"] in cluster.workers:
                return worker["name"]
        time.sleep(0.1)
    print("no worker reported a running task; killing one anyway")
    return next(iter(cluster.workers))


def test_e2e_worker_killed_mid_sweep_completes(cluster, api, data):
    store = SweepStore(data)
    with api.http() as http:
        sweep_id = http.post(
            "/sweeps", json=definition("kill", list(range(300, 540, 20)), T=8000.0, seed=7)
        ).json()["id"]
        wait_for(http, sweep_id, until=lambda s: s["counts"]["done"] >= 2, timeout=120)
        with api.http(ADMIN_TOKEN) as ops:  # worker names: admins only
            victim = busy_worker(ops, cluster)
        cluster.workers[victim].kill()
        assert store.statuses(sweep_id).count("done") < 12, "finished before the kill: make it longer"
        status = wait_for(http, sweep_id, timeout=180)
    assert status["state"] == "done", status
    assert status["counts"]["done"] == 12 and status["counts"]["failed"] == 0, status
    assert store.statuses(sweep_id) == ["done"] * 12
    del cluster.workers[victim]
    cluster.add_worker("c")  # leave two workers for anything after this test
    wait_workers(cluster.dashboard, 2)
