"""The coordinator on an embedded LocalCluster: make_client, warm-up, plan, cancel, progress counts."""

from __future__ import annotations

import pytest

from worker.cluster import cluster_info, make_client, warm_up
from worker.runner import SweepRunner, count_statuses, plan_runs, progress_from_store
from worker.store import SweepStore
from worker.sweep import expand_sweep, load_definition


@pytest.fixture(scope="module")
def client():
    client = make_client(n_workers=1, dashboard_address=None)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


def definition(**grid):
    return load_definition(
        {"name": "runner", "base": {"N": 100, "T": 200.0}, "grid": grid, "record": {"dt": 10.0, "weights": 2}}
    )


def test_make_client_local_cluster_and_warm_up(client):
    info = cluster_info(client)
    assert len(info["workers"]) == 1 and info["nthreads"] == 1
    assert info["scheduler"].startswith("tcp://127.0.0.1:")
    assert len(warm_up(client)) == len(client.scheduler_info()["workers"]) >= 1


def test_make_client_connects_to_pbn_scheduler(client, monkeypatch):
    monkeypatch.setenv("PBN_SCHEDULER", client.scheduler.address)
    other = make_client()
    try:
        assert other.scheduler.address == client.scheduler.address
        assert getattr(other, "cluster", None) is None
    finally:
        other.close()


def test_plan_explains_run_reuse_and_skip(client, tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(cx=[0.0, 0.1])
    runs = expand_sweep(defn)
    assert [i.action for i in plan_runs(store, [r.cache_key for r in runs], "anonymous")] == ["run", "run"]
    first = store.create_sweep(defn, runs)
    final = SweepRunner(client, store).run(first, max_in_flight=1)
    assert final.done == 2
    bigger = definition(cx=[0.0, 0.1, 0.2])
    second = store.create_sweep(bigger, expand_sweep(bigger))
    plan = SweepRunner(client, store).plan(second)
    assert [i.action for i in plan] == ["reuse", "reuse", "run"]
    assert plan[0].source == (first, 0) and first in plan[0].reason
    assert {i.action for i in SweepRunner(client, store).plan(first)} == {"skip"}


def test_cancel_without_active_run_marks_pending_cancelled(client, tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(cx=[0.0, 0.1, 0.2])
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    store.set_status(sweep_id, 0, "done")
    SweepRunner(client, store).cancel(sweep_id)
    assert store.statuses(sweep_id) == ["done", "cancelled", "cancelled"]
    assert store.cancel_requested(sweep_id)
    progress = progress_from_store(store, sweep_id)
    assert (progress.done, progress.cancelled, progress.complete) == (1, 2, True)


def test_progress_counts():
    p = count_statuses("s", ["done", "reused", "diverged", "failed", "pending", "running", "cancelled"])
    assert (p.total, p.finished, p.failed, p.pending, p.running, p.complete) == (7, 3, 1, 1, 1, False)
    assert p.to_dict()["finished"] == 3


def test_should_stop_leaves_unfinished_runs_pending_for_a_resume(client, tmp_path):
    store = SweepStore(tmp_path)
    defn = load_definition(
        {
            "name": "stop",
            "base": {"N": 1000, "T": 3000.0},
            "replicates": 6,
            "record": {"dt": 10.0, "weights": 2},
        }
    )
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    runner = SweepRunner(client, store)
    final = runner.run(sweep_id, max_in_flight=1, should_stop=lambda: "done" in store.statuses(sweep_id))
    statuses = store.statuses(sweep_id)
    assert set(statuses) <= {"done", "pending"} and "pending" in statuses
    assert final.cancelled == 0 and not store.cancel_requested(sweep_id)
    assert runner.run(sweep_id).done == 6


def test_tasks_cancelled_under_the_coordinator_are_resubmitted_not_failed(client, tmp_path):
    """What a scheduler that went away and came back does to tasks in flight: they end `cancelled`. The
    coordinator resubmits them under new keys (not counted as tries) and the sweep finishes."""
    import threading
    import time

    from distributed import Future

    store = SweepStore(tmp_path)
    defn = load_definition({"name": "lost", "base": {"N": 300, "T": 1500.0}, "grid": {"cx": [0.0, 0.1, 0.2]}})
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    runner = SweepRunner(client, store, max_retries=0)  # a cancel counted as a try would fail the run
    outcome: dict = {}
    thread = threading.Thread(target=lambda: outcome.update(p=runner.run(sweep_id, max_in_flight=3)))
    thread.start()
    cancelled: set[str] = set()
    deadline = time.monotonic() + 60
    while not cancelled and time.monotonic() < deadline:
        keys = [k for k in client.processing().get(next(iter(client.scheduler_info()["workers"])), [])]
        keys += [k for k, s in client.run_on_scheduler(_task_states).items() if s == "queued"]
        for key in {str(k) for k in keys if str(k).startswith(f"run-{sweep_id}-") and str(k).endswith("-a1")}:
            client.cancel([Future(key, client)])
            cancelled.add(key)
        time.sleep(0.01)
    thread.join(120)
    assert cancelled and not thread.is_alive()
    assert outcome["p"].done == 3 and store.statuses(sweep_id) == ["done"] * 3  # no exception, no failure


def _task_states(dask_scheduler) -> dict:
    return {k: ts.state for k, ts in dask_scheduler.tasks.items()}
