"""Per-user fairness: each user's sweeps run one after another (FIFO) with a cap on runs in flight.

One user cannot starve the lab: different users' sweeps run side by side, a user's extra sweeps wait
in that user's queue (they are queued, never dropped), and unfinished work per user is bounded in
estimated core-seconds (sim.cost; a new sweep beyond the bound is refused with 429 and a message saying why).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from service.errors import QuotaExceededError

RETRY_AFTER_S = 30
"""Retry-After of a submission refused for quota that waiting can free (runs finish, quota returns)."""

log = logging.getLogger("pbn.service")


@dataclass
class Job:
    """One sweep waiting for or holding its user's slot; `run` blocks until the sweep stops."""

    sweep_id: str
    owner: str
    cost_core_s: float
    run: Callable[[], None]
    cancelled: threading.Event = field(default_factory=threading.Event)


class UserScheduler:
    """One FIFO and one daemon thread per user with work; tracks each user's unfinished core-seconds."""

    def __init__(self, max_queued_core_s: float) -> None:
        self.max_queued_core_s = max_queued_core_s
        self._lock = threading.Lock()
        self._queues: dict[str, queue.Queue[Job | None]] = {}
        self._threads: dict[str, threading.Thread] = {}
        self._outstanding: dict[str, float] = {}
        self._jobs: dict[str, Job] = {}

    def outstanding(self, owner: str) -> float:
        """Neuron-seconds of the user's sweeps that have not finished."""
        with self._lock:
            return self._outstanding.get(owner, 0.0)

    def reserve(self, owner: str, cost_core_s: float) -> None:
        """Hold `cost_core_s` of the user's quota, or refuse (429) if it would go over the limit; check
        and hold are one step, so concurrent submissions cannot all pass the same check."""
        with self._lock:
            have = self._outstanding.get(owner, 0.0)
            limit = self.max_queued_core_s
            if cost_core_s > limit:  # waiting cannot help: no Retry-After
                raise QuotaExceededError(
                    f"user {owner!r}: this sweep alone is estimated at {cost_core_s:.3g} core-seconds, "
                    f"over the limit {limit:.3g} of unfinished work per user: split it into smaller sweeps",
                    field="user_max_queued_core_s",
                )
            if have + cost_core_s > limit:
                raise QuotaExceededError(
                    f"user {owner!r} has {have:.3g} core-seconds unfinished; this sweep adds "
                    f"{cost_core_s:.3g} and the limit is {limit:.3g}: wait for running sweeps or cancel one",
                    field="user_max_queued_core_s",
                    retry_after_s=RETRY_AFTER_S,
                )
            self._outstanding[owner] = have + cost_core_s

    def release(self, owner: str, cost_core_s: float) -> None:
        """Give back a reservation whose sweep was never queued."""
        with self._lock:
            self._outstanding[owner] = max(self._outstanding.get(owner, 0.0) - cost_core_s, 0.0)

    def submit(self, job: Job, reserved: bool = False) -> None:
        """Queue `job` behind the user's earlier sweeps (started at once when the user is idle); `reserved`:
        its cost was already held by `reserve`."""
        with self._lock:
            if not reserved:
                self._outstanding[job.owner] = self._outstanding.get(job.owner, 0.0) + job.cost_core_s
            self._jobs[job.sweep_id] = job
            q = self._queues.setdefault(job.owner, queue.Queue())
            thread = self._threads.get(job.owner)
            if thread is None or not thread.is_alive():
                thread = threading.Thread(
                    target=self._drain, args=(job.owner, q), name=f"pbn-user-{job.owner}"
                )
                thread.daemon = True
                self._threads[job.owner] = thread
                thread.start()
        q.put(job)

    def position(self, sweep_id: str) -> bool:
        """True while the sweep is known to the scheduler (queued or running)."""
        with self._lock:
            return sweep_id in self._jobs

    def cancel(self, sweep_id: str) -> None:
        """Mark a queued job so it is skipped (a running one is cancelled by its runner)."""
        with self._lock:
            job = self._jobs.get(sweep_id)
        if job is not None:
            job.cancelled.set()

    def _drain(self, owner: str, q: queue.Queue[Job | None]) -> None:
        while True:
            try:
                job = q.get(timeout=5.0)
            except queue.Empty:
                with self._lock:
                    if q.empty():
                        self._threads.pop(owner, None)
                        return
                continue
            if job is None:
                return
            try:
                if not job.cancelled.is_set():
                    job.run()
            except Exception:  # a failing sweep must not stop the user's queue
                log.exception("sweep %s stopped with an error", job.sweep_id)
            finally:
                self._finish(job)

    def _finish(self, job: Job) -> None:
        with self._lock:
            self._jobs.pop(job.sweep_id, None)
            left = self._outstanding.get(job.owner, 0.0) - job.cost_core_s
            self._outstanding[job.owner] = max(left, 0.0)

    def stop(self) -> None:
        """Wake every user thread so it exits after its current job."""
        with self._lock:
            queues = list(self._queues.values())
            for job in self._jobs.values():
                job.cancelled.set()
        for q in queues:
            q.put(None)
