"""Which runs get several cores: only where every worker offers the `threads` resource, only large N."""

from worker.threads import ThreadSettings, offered, resources, threads_for


def test_offer_needs_every_worker_to_offer_threads():
    assert offered({}) == 0
    assert offered({"a": {"resources": {}}, "b": {"resources": {"threads": 2}}}) == 0
    assert offered({"a": {"resources": {"threads": 2.0}}, "b": {"resources": {"threads": 4}}}) == 4
    assert offered({"a": {"resources": {"threads": 1}}}) == 1
    assert offered({"a": {}}) == 0


def test_large_runs_take_the_offer_small_runs_one_core():
    s = ThreadSettings(threads_min_n=20_000, threads_max=3)
    assert threads_for(50_000, 0, s) == 1  # no resource: one core
    assert threads_for(50_000, 1, s) == 1
    assert threads_for(19_999, 4, s) == 1
    assert threads_for(20_000, 2, s) == 2
    assert threads_for(50_000, 8, s) == 3  # capped by threads_max


def test_resources_only_when_workers_offer_them(monkeypatch):
    assert resources(1, 0) is None
    assert resources(1, 2) == {"threads": 1.0}  # a one-core run still books its core
    assert resources(2, 2) == {"threads": 2.0}
    monkeypatch.setenv("PBN_THREADS_MIN_N", "500")
    assert ThreadSettings().threads_min_n == 500
