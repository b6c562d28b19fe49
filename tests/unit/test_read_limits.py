"""Expensive reads on a real server: a user over their limit gets 429 with Retry-After (others do not), and
results/plots are answered from a cache that follows the sweep's progress."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from distributed import LocalCluster

from service.read_limits import ByteCache
from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for

ALICE, BOB = "alice-token-0001", "bob-token-00002"
READS = ("results", "results?format=csv", "runs/0", "plots/summary.png", "plots/rates.png?run=1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        settings = Settings(
            data=tmp_path_factory.mktemp("reads"),
            scheduler=cluster.scheduler_address,
            tokens=f"{ALICE}=alice,{BOB}=bob",
            user_max_concurrent_reads=1,
            user_max_concurrent_runs=1,
        )
        with LiveServer(settings) as live:
            yield live


@pytest.fixture(scope="module")
def sweeps(server):
    ids = {}
    for token, name in ((ALICE, "alice"), (BOB, "bob")):
        with server.http(token) as http:
            ids[name] = http.post("/sweeps", json=small_sweep(name)).raise_for_status().json()["id"]
            wait_for(http, ids[name])
    return ids


def test_reads_over_the_users_limit_are_429_with_retry_after(server, sweeps):
    reads = server.app.state.reads
    reads.acquire("alice")  # alice's one slot is taken (as by a long plot in flight)
    try:
        with server.http(ALICE) as alice, server.http(BOB) as bob:
            for path in READS:
                r = alice.get(f"/sweeps/{sweeps['alice']}/{path}", params={"fresh": path})
                assert r.status_code == 429, (path, r.text)
                assert (
                    r.headers["retry-after"] == "1" and "limit is 1" in json.loads(r.text)["detail"][0]["msg"]
                )
                assert bob.get(f"/sweeps/{sweeps['bob']}/{path}").status_code == 200  # bob is not slowed
            assert alice.get(f"/sweeps/{sweeps['alice']}").status_code == 200  # status polls are not limited
    finally:
        reads.release("alice")
    with server.http(ALICE) as alice:
        for path in READS:
            assert alice.get(f"/sweeps/{sweeps['alice']}/{path}").status_code == 200, path
    assert reads.in_flight("alice") == 0


def test_identical_concurrent_reads_share_one_computation(server, sweeps):
    """Ten connections asking for the same new plot at once, with a limit of one read: none is refused."""
    url = f"/sweeps/{sweeps['bob']}/plots/summary.png"
    with server.http(BOB) as bob, ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: bob.get(url, params={"stat": "rate_i_hz"}), range(10)))
    assert [r.status_code for r in answers] == [200] * 10
    assert len({r.content for r in answers}) == 1


def test_cached_results_follow_the_sweeps_progress(server):
    """Results read while a sweep is queued are not served once it has run (the cache key is its version)."""
    with server.http(ALICE) as alice:
        first = alice.post("/sweeps", json=small_sweep("long", n_values=(1500, 1600), T=2000.0)).json()
        later = alice.post("/sweeps", json=small_sweep("later", n_values=(110,))).json()
        early = alice.get(f"/sweeps/{later['id']}/results").json()
        if alice.get(f"/sweeps/{later['id']}").json()["state"] != "queued":
            pytest.fail(f"not queued: {alice.get('/sweeps/' + later['id']).json()}")
        assert [row["status"] for row in early] == ["pending"]
        assert alice.get(f"/sweeps/{later['id']}/results").json() == early  # served again from the cache
        wait_for(alice, later["id"], timeout=300)
        assert [row["status"] for row in alice.get(f"/sweeps/{later['id']}/results").json()] == ["done"]
        wait_for(alice, first["id"], timeout=300)


def test_byte_cache_keeps_its_size_bound():
    cache = ByteCache(1000)
    for i in range(50):
        cache.put(i, b"x" * 100, 100)
    assert cache.size <= 1000 and cache.get(49) == b"x" * 100 and cache.get(0) is None
    cache.put("big", b"y" * 300, 300)  # over a quarter of the cache: not kept
    assert cache.get("big") is None
