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
        user_max_queued_neuron_s=100.0,
    )
    with LiveServer(settings) as live:
        yield live


def test_concurrent_submissions_cannot_overrun_the_quota(server):
    """Ten POSTs of 60 neuron-s at once against a quota of 100: one is accepted, nine get 429."""
    body = small_sweep("quota", n_values=(200,), T=300.0)  # 200 neurons x 0.3 s = 60 neuron-s

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
