"""Admission on a shared server: quotas reserved atomically, and reuse that never crosses users."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for
from worker.store import SweepStore

ALICE, BOB = "alice-token-0001", "bob-token-00002"


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    settings = Settings(
        data=tmp_path_factory.mktemp("admission-data"),
        scheduler=local_cluster.scheduler_address,
        tokens=f"{ALICE}=alice,{BOB}=bob",
        user_max_queued_core_s=0.7,
        max_run_memory_bytes=4e9,
    )
    with LiveServer(settings) as live:
        yield live


def test_concurrent_submissions_cannot_overrun_the_quota(server):
    """Ten POSTs of ~0.37 estimated core-s at once against a quota of 0.7: one is accepted, nine get 429."""
    body = small_sweep("quota", n_values=(2000,), T=1000.0)

    def post(_: int) -> int:
        with server.http(ALICE) as http:
            return http.post("/sweeps", json=body).status_code

    with ThreadPoolExecutor(10) as pool:
        codes = sorted(pool.map(post, range(10)))
    assert codes == [201] + [429] * 9
    with server.http(ALICE) as http:
        for sweep in http.get("/sweeps").json()["data"]:
            wait_for(http, sweep["id"])


def test_reuse_never_crosses_users(server):
    body = small_sweep("shared", n_values=(100, 120))
    with server.http(ALICE) as alice, server.http(BOB) as bob:
        first = alice.post("/sweeps", json=body).json()
        wait_for(alice, first["id"])
        again = alice.post("/sweeps", json=body).json()
        assert again["n_reused"] == 2  # her own runs are reused
        wait_for(alice, again["id"])
        theirs = bob.post("/sweeps", json=body).json()
        assert theirs["n_reused"] == 0  # nothing of alice's: no ids, no oracle of what others ran
        wait_for(bob, theirs["id"])
        for index in range(2):
            run = bob.get(f"/sweeps/{theirs['id']}/runs/{index}").json()
            assert run["status"] == "done" and first["id"] not in str(run)
    store = SweepStore(server.settings.data)
    assert store.statuses(theirs["id"]) == ["done", "done"]
    assert store.run_info(again["id"], 0)["reused_from"]["sweep_id"] == first["id"]


def test_a_run_over_the_memory_budget_is_refused_naming_it(server):
    """N=100,000 (1.2e9 synapses): inside every size limit, but ~19 GB against a 4 GB worker budget."""
    with server.http(ALICE) as http:
        before = http.get("/sweeps").json()["count"]
        r = http.post("/sweeps", json={"name": "huge", "base": {"N": 100_000, "T": 100_000}})
        assert r.status_code == 422, r.text
        detail = r.json()["detail"][0]
        assert detail["loc"] == ["max_run_memory_bytes"] and detail["maximum"] == 4e9
        assert (
            "point 0 (N=100000, T=100000)" in detail["msg"]
            and "exceeds the worker memory budget 4.00" in detail["msg"]
        )
        assert http.get("/sweeps").json()["count"] == before  # nothing was created
        ok = http.post("/sweeps", json=small_sweep("fits"))
        assert ok.status_code == 201 and 0 < ok.json()["estimate"]["peak_memory_gb_per_run"] < 4
        assert ok.json()["estimate"]["threads"] == 1 and ok.json()["estimate"]["expected_wall_s"] > 0
        wait_for(http, ok.json()["id"])


def test_the_budget_is_the_smallest_workers_memory_limit():
    from distributed import Client, LocalCluster

    from worker.admission import memory_budget

    with (
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, memory_limit="1.5GiB") as cluster,
        Client(cluster) as client,
    ):
        assert memory_budget(client) == 1.5 * 2**30


def test_spike_buffers_count_and_have_a_hard_bound():
    from pydantic import ValidationError

    from sim import SimParams
    from worker.errors import MemoryBudgetError
    from worker.limits import SweepLimits
    from worker.sweep import load_definition, prepare_sweep

    with pytest.raises(ValidationError, match="max_spikes"):
        SimParams(record={"spikes": True, "max_spikes": 2**62})
    defn = load_definition({"base": {"N": 200, "T": 100.0}, "record": {"spikes": True, "max_spikes": 2**30}})
    with pytest.raises(
        MemoryBudgetError, match=r"point 0 \(N=200, T=100\): estimated peak memory 2[5-7]\.\d\d GB"
    ):
        prepare_sweep(defn, SweepLimits(), memory_budget=4e9)
    assert len(prepare_sweep(defn, SweepLimits())) == 1  # no budget known: only the hard bound applies


def test_a_sweep_written_by_another_process_appears_within_seconds(server):
    """`pbn sweep --data <the server's dir>` creates and runs a sweep the server did not start: it is listed
    (no restart) with its progress read from the store."""
    import time

    from worker.store.locks import sweep_lock
    from worker.sweep import expand_sweep, load_definition
    from worker.tasks import run_point

    store = SweepStore(server.settings.data)
    defn = load_definition(small_sweep("from-cli", n_values=(100, 120)))
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs, owner="alice")  # as `pbn sweep` does, in this process
    with server.http(ALICE) as http:
        deadline = time.monotonic() + 15
        while sweep_id not in [s["id"] for s in http.get("/sweeps").json()["data"]]:
            assert time.monotonic() < deadline, "the sweep written into the data dir never appeared"
            time.sleep(0.2)
        assert http.get(f"/sweeps/{sweep_id}").json()["counts"]["pending"] == 2
        with sweep_lock(store.root, sweep_id):  # its coordinator, as `pbn sweep` holds it
            run_point(str(store.root), sweep_id, 0, runs[0].params, 1)
            time.sleep(2.5)  # a scan in between: half done, its coordinator alive -> running, not stopped
            half = http.get(f"/sweeps/{sweep_id}").json()
            assert (half["state"], half["counts"]["done"]) == ("running", 1)
            run_point(str(store.root), sweep_id, 1, runs[1].params, 1)
        final = wait_for(http, sweep_id, timeout=30)
    assert final["state"] == "done" and final["counts"]["done"] == 2
