"""A sweep through a real `dask scheduler` + two `dask worker` processes: every stored run equals a direct
simulation of the same point and seed; bounded submission, readable task keys, resume, cancel, divergence."""

from __future__ import annotations

import threading

import pytest

from sim import simulate
from tests.sweep_checks import assert_same_result
from worker.runner import SweepRunner
from worker.store import SweepStore
from worker.sweep import expand_sweep, load_definition

RECORD = {"dt": 10.0, "weights": 5, "cells": 3}


def definition(**kw):
    data = {"name": "cluster", "base": {"T": 500.0, "N": 200}, "record": RECORD, "seed": 3}
    data.update(kw)
    return load_definition(data)


def scheduler_keys(client) -> set[str]:
    """Every task key the scheduler has seen (its transition log outlives released tasks)."""
    return set(
        client.run_on_scheduler(lambda dask_scheduler: [str(t[0]) for t in dask_scheduler.transition_log])
    )


def live_workers(client) -> set[str]:
    """The scheduler's workers now (the client's `scheduler_info()` is a cached view that can lag behind)."""
    return set(client.run_on_scheduler(lambda dask_scheduler: list(dask_scheduler.workers)))


def test_sweep_on_real_cluster_equals_direct_simulation(dask_client, tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(grid={"N": [200, 300], "cx": [0.0, 0.1]}, replicates=2)
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    seen: list[int] = []
    final = SweepRunner(dask_client, store).run(
        sweep_id, progress=lambda p: seen.append(p.running), max_in_flight=2
    )
    assert final.done == len(runs) and final.complete
    assert max(seen) <= 2  # bounded submission
    keys = scheduler_keys(dask_client)
    assert {f"run-{sweep_id}-{i}-a1" for i in range(len(runs))} <= keys
    workers = live_workers(dask_client)
    for r in runs:
        stored = store.read_run(sweep_id, r.index)
        assert stored["info"]["worker"] in workers
        assert_same_result(stored, simulate(r.params))
    # resume of a finished sweep submits nothing
    before = scheduler_keys(dask_client)
    assert SweepRunner(dask_client, store).run(sweep_id).done == len(runs)
    assert not {k for k in scheduler_keys(dask_client) - before if sweep_id in k}


def test_identical_runs_are_reused_not_recomputed(dask_client, tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(grid={"cx": [0.0, 0.1]})
    first = store.create_sweep(defn, expand_sweep(defn))
    SweepRunner(dask_client, store).run(first)
    bigger = definition(grid={"cx": [0.0, 0.1, 0.2]})
    second = store.create_sweep(bigger, expand_sweep(bigger))
    before = scheduler_keys(dask_client)
    final = SweepRunner(dask_client, store).run(second)
    assert (final.reused, final.done) == (2, 1)
    new_keys = {k for k in scheduler_keys(dask_client) - before if second in k}
    assert new_keys == {f"run-{second}-2-a1"}
    assert store.read_run(second, 0)["info"]["reused_from"] == {"sweep_id": first, "index": 0}


def test_diverging_run_is_stored_and_worker_survives(dask_client, tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(points=[{"rate_max_hz": 1.0}, {"jee": 200.0}, {"jee": 25.0}])
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    dask_client.wait_for_workers(2, timeout=120)
    workers = live_workers(dask_client)
    final = SweepRunner(dask_client, store).run(sweep_id)
    assert store.statuses(sweep_id) == ["diverged", "diverged", "done"]
    assert final.diverged == 2 and store.errors(sweep_id)[:2] == ["rate", "rate"]
    assert len(workers) == 2 and live_workers(dask_client) == workers  # the same processes, none restarted
    assert store.read_run(sweep_id, 0)["arrays"]["rate_e_hz_t"].size > 0


def test_cancel_stops_pending_runs_and_keeps_finished(dask_client, tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(
        base={"T": 3000.0, "N": 1000}, grid={"cx": [0.0, 0.05, 0.1, 0.15, 0.2, 0.25]}, replicates=2
    )
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    runner = SweepRunner(dask_client, store)
    fired = threading.Event()

    def progress(p):
        if p.done >= 1 and not fired.is_set():
            fired.set()
            threading.Thread(target=runner.cancel, args=(sweep_id,)).start()

    final = runner.run(sweep_id, progress=progress, max_in_flight=2)
    statuses = store.statuses(sweep_id)
    assert fired.is_set() and final.cancelled > 0 and final.done >= 1
    assert set(statuses) <= {"done", "cancelled"}
    for index in [i for i, s in enumerate(statuses) if s == "done"][:1]:
        assert_same_result(store.read_run(sweep_id, index), simulate(runs[index].params))
    # resuming finishes exactly the cancelled runs
    final = runner.run(sweep_id)
    assert final.done == len(runs)


@pytest.mark.parametrize("bad", [{"N": "many"}])
def test_failing_run_is_stored_with_its_error(dask_client, tmp_path, bad):
    from worker.tasks import run_point

    store = SweepStore(tmp_path)
    defn = definition()
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    out = dask_client.submit(
        run_point, str(tmp_path), sweep_id, 0, bad, 1, key=f"run-{sweep_id}-0-a1"
    ).result()
    assert out["status"] == "failed"
    assert store.statuses(sweep_id) == ["failed"] and "ValidationError" in store.errors(sweep_id)[0]
