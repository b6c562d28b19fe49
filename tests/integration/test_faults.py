"""Faults on a real cluster: a worker SIGKILLed mid-sweep, and the coordinating process SIGKILLed mid-sweep
then resumed. Either way every run ends `done` exactly once with the results of an undisturbed sweep
(= a direct simulation of the same point and seed, as test_cluster_sweep shows), and finished runs are
never recomputed."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time

import pytest
import yaml
from distributed import Client

from sim import simulate
from tests.cluster_procs import DaskProcs, child_env, stop_process
from tests.sweep_checks import assert_same_result
from worker.cluster import WarmUpPlugin
from worker.runner import SweepRunner
from worker.store import SweepStore
from worker.sweep import expand_sweep, load_definition

DEFINITION = {
    "name": "faults",
    "base": {"T": 6000.0, "N": 1000},
    "grid": {"cx": [0.0, 0.05, 0.1, 0.15, 0.2]},
    "replicates": 2,
    "seed": 99,
    "record": {"dt": 20.0, "weights": 5, "cells": 3},
}
TIMEOUT_S = 120.0


@pytest.fixture(scope="module")
def procs(tmp_path_factory):
    """This module's own cluster, whose workers get killed. With no allowed failures, a task lost with its
    worker comes back as KilledWorker at once, so our own retry (a new attempt and key) finishes it."""
    env = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}
    with DaskProcs(tmp_path_factory.mktemp("dask-faults"), n_workers=2, env=env) as procs:
        with Client(procs.address) as client:
            client.register_plugin(WarmUpPlugin())
        yield procs


def wait_for(condition, what: str, timeout: float = TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.02)


def wait_for_victim_busy(store: SweepStore, sweep_id: str, victim: str, fresh_s: float | None = None) -> int:
    """Wait until `victim` is running a run — after some run is done, or one it started less than `fresh_s`
    ago (so a kill now surely lands before it finishes); return that run's index."""
    found: list[int] = []

    def victim_busy() -> bool:
        statuses = store.statuses(sweep_id)
        running = [i for i, s in enumerate(statuses) if s == "running"]
        infos = {i: store.run_info(sweep_id, i) for i in running}
        found[:] = [i for i in running if infos[i].get("worker") == victim]
        if fresh_s is not None:
            found[:] = [i for i in found if time.time() - infos[i]["started_at"] < fresh_s]
            return bool(found)
        return bool(found) and "done" in statuses

    wait_for(victim_busy, f"worker {victim} never ran a task")
    return found[0]


def assert_all_equal_direct(store: SweepStore, sweep_id: str, runs) -> None:
    assert store.statuses(sweep_id) == ["done"] * len(runs)
    for r in runs:
        assert_same_result(store.read_run(sweep_id, r.index), simulate(r.params))


def test_sigkill_worker_mid_sweep_completes_with_identical_results(procs, tmp_path):
    store = SweepStore(tmp_path)
    defn = load_definition(DEFINITION)
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    with Client(procs.address) as client:
        victim = {w["name"]: a for a, w in client.scheduler_info()["workers"].items()}["w0"]
        outcome: dict = {}
        thread = threading.Thread(
            target=lambda: outcome.update(final=SweepRunner(client, store).run(sweep_id, max_in_flight=2))
        )
        thread.start()

        outcome["lost"] = wait_for_victim_busy(store, sweep_id, victim)
        killed_at = time.time()
        procs.kill_worker(0)
        thread.join(TIMEOUT_S)
        assert not thread.is_alive()
    assert outcome["final"].done == len(runs) and outcome["final"].failed == 0
    lost = store.run_info(sweep_id, outcome["lost"])
    if lost["finished_at"] > killed_at:  # (it may have finished in the instant before the kill)
        assert lost["worker"] != victim and lost["attempt"] >= 2  # retried by us under a new key, elsewhere
    assert_all_equal_direct(store, sweep_id, runs)
    procs.add_worker()
    procs.wait_for_workers(2)


def test_sigkill_coordinator_then_resume_recomputes_nothing_finished(procs, tmp_path):
    data, sweep_id = tmp_path / "data", "coordinator-kill"
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(DEFINITION))
    cli = [sys.executable, "-m", "service.cli", "sweep"]
    common = ["--scheduler", procs.address, "--data", str(data), "--max-in-flight", "2"]
    coordinator = subprocess.Popen(
        [*cli, str(path), *common, "--id", sweep_id],
        env=child_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    store = SweepStore(data)
    try:
        wait_for(
            lambda: store.exists(sweep_id) and store.statuses(sweep_id).count("done") >= 2, "no progress"
        )
        coordinator.send_signal(signal.SIGKILL)
        coordinator.wait(timeout=30)
    finally:
        stop_process(coordinator)
    statuses = store.statuses(sweep_id)
    finished = {i: store.run_info(sweep_id, i) for i, s in enumerate(statuses) if s == "done"}
    assert 2 <= len(finished) < len(statuses)
    resumed = subprocess.run(
        [*cli, "--resume", sweep_id, *common],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    for index, info in finished.items():
        assert store.run_info(sweep_id, index) == info  # same attempt, same timestamps: not recomputed
    runs = expand_sweep(load_definition(DEFINITION))
    assert_all_equal_direct(store, sweep_id, runs)


def test_worker_lost_beyond_retries_is_stored_failed_with_the_dask_error(procs, tmp_path):
    """With no retries left, a run lost with its worker is stored `failed` with the KilledWorker text (it
    never vanishes into worker logs); every other run still finishes `done`."""
    store = SweepStore(tmp_path)
    defn = load_definition(DEFINITION | {"base": {"T": 30000.0, "N": 1000}})  # runs of ~1 s
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    with Client(procs.address) as client:
        name, victim = min((w["name"], a) for a, w in client.scheduler_info()["workers"].items())
        outcome: dict = {}
        runner = SweepRunner(client, store, max_retries=0)
        thread = threading.Thread(target=lambda: outcome.update(final=runner.run(sweep_id, max_in_flight=2)))
        thread.start()
        lost = wait_for_victim_busy(store, sweep_id, victim, fresh_s=0.2)
        procs.kill_worker(int(name.removeprefix("w")))  # workers are named w<index> by DaskProcs
        thread.join(TIMEOUT_S)
        assert not thread.is_alive()
    statuses, errors = store.statuses(sweep_id), store.errors(sweep_id)
    failed = [i for i, s in enumerate(statuses) if s == "failed"]
    assert lost in failed and "KilledWorker" in errors[lost]
    assert all(s == "done" for i, s in enumerate(statuses) if i not in failed)
    assert all("KilledWorker" in errors[i] for i in failed)
    assert outcome["final"].failed == len(failed) and outcome["final"].done == len(runs) - len(failed)
    procs.add_worker()
    procs.wait_for_workers(2)
