"""The per-user scheduler: FIFO per user, users side by side, quota in core-seconds, skip on cancel."""

from __future__ import annotations

import threading
import time

import pytest

from service.errors import QuotaExceededError
from service.fairness import Job, UserScheduler


def recorder(log: list[tuple[str, str]], name: str, hold: threading.Event | None = None):
    def run() -> None:
        log.append(("start", name))
        if hold is not None:
            hold.wait(10)
        log.append(("end", name))

    return run


def wait_until(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_scheduler_runs_one_users_sweeps_in_order_and_users_side_by_side():
    sched, log, hold = UserScheduler(max_queued_core_s=100.0), [], threading.Event()
    sched.submit(Job("a1", "alice", 10, recorder(log, "a1", hold)))
    sched.submit(Job("a2", "alice", 10, recorder(log, "a2")))
    sched.submit(Job("b1", "bob", 10, recorder(log, "b1")))
    wait_until(lambda: ("end", "b1") in log)  # bob is not blocked by alice's running sweep
    assert ("start", "a2") not in log  # alice's second sweep waits for her first
    assert sched.outstanding("alice") == 20 and sched.outstanding("bob") == 0
    hold.set()
    wait_until(lambda: ("end", "a2") in log)
    assert log.index(("end", "a1")) < log.index(("start", "a2"))
    wait_until(lambda: sched.outstanding("alice") == 0)
    sched.stop()


def test_scheduler_quota_counts_unfinished_work_only():
    sched, log, hold = UserScheduler(max_queued_core_s=25.0), [], threading.Event()
    sched.reserve("alice", 25.0)  # exactly at the limit is allowed
    with pytest.raises(QuotaExceededError, match=r"alice.*25 core-seconds unfinished.*adds 1") as busy:
        sched.reserve("alice", 1.0)
    assert busy.value.headers == {"Retry-After": "30"}  # waiting frees quota
    sched.release("alice", 25.0)
    with pytest.raises(QuotaExceededError, match=r"alone is estimated at 26 core-seconds") as alone:
        sched.reserve("alice", 26.0)
    assert alone.value.headers is None  # waiting cannot help
    sched.submit(Job("a1", "alice", 20, recorder(log, "a1", hold)))
    with pytest.raises(QuotaExceededError, match="20 core-seconds unfinished"):
        sched.reserve("alice", 10.0)
    sched.reserve("bob", 25.0)  # quotas are per user
    hold.set()
    wait_until(lambda: sched.outstanding("alice") == 0)
    sched.reserve("alice", 25.0)
    sched.stop()


def test_concurrent_reservations_never_exceed_the_quota():
    """Ten threads reserve 60 of a 100 quota at once: exactly one gets it (check and hold are one step)."""
    sched = UserScheduler(max_queued_core_s=100.0)
    start, won, lost = threading.Barrier(10), [], []

    def submit() -> None:
        start.wait()
        try:
            sched.reserve("alice", 60.0)
            won.append(1)
        except QuotaExceededError:
            lost.append(1)

    threads = [threading.Thread(target=submit) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert (len(won), len(lost), sched.outstanding("alice")) == (1, 9, 60.0)


def test_scheduler_cancelled_job_is_skipped_and_failures_do_not_stop_the_queue():
    sched, log, hold = UserScheduler(max_queued_core_s=100.0), [], threading.Event()

    def boom() -> None:
        raise RuntimeError("coordinator crashed")

    sched.submit(Job("a1", "alice", 1, recorder(log, "a1", hold)))
    sched.submit(Job("a2", "alice", 1, recorder(log, "a2")))
    sched.submit(Job("a3", "alice", 1, boom))
    sched.submit(Job("a4", "alice", 1, recorder(log, "a4")))
    sched.cancel("a2")
    hold.set()
    wait_until(lambda: ("end", "a4") in log)
    assert ("start", "a2") not in log
    wait_until(lambda: sched.outstanding("alice") == 0)
    sched.stop()
