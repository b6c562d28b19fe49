"""The coordinator: plan a sweep (run, reuse, skip), feed runs to Dask in bounded batches, report progress."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from distributed import Client, Future, wait
from distributed.client import FuturesCancelledError

from sim import SimParams
from worker import threads as thread_policy
from worker.errors import StoreUnwritableError
from worker.status import FINISHED, RUN_STATUSES, UNFINISHED, RunStatus
from worker.status import counts as status_counts
from worker.store import SweepStore
from worker.store.locks import sweep_lock
from worker.tasks import run_point

POLL_S = 0.5
"""How often the coordinator wakes up without a completion (cancel requests, progress)."""
MAX_LOST = 5
"""Resubmissions of one run after its task was cancelled by a lost scheduler, beyond the retries."""
OFFER_S = 10.0
"""How often the workers' `threads` offer is read again (workers come and go)."""


@dataclass
class SweepProgress:
    """Counts of runs by status (`p.done`, `p.counts["done"]`), with an ETA from this session's completion
    rate."""

    sweep_id: str
    total: int
    counts: dict[RunStatus, int] = field(default_factory=lambda: status_counts(()))
    eta_s: float | None = None
    elapsed_s: float = 0.0
    dashboard: str | None = None

    def __getattr__(self, name: str) -> int:
        if name in RUN_STATUSES:
            return self.counts[name]  # type: ignore[index]
        raise AttributeError(name)

    @property
    def finished(self) -> int:
        """Runs with a result (done, reused or diverged)."""
        return sum(self.counts[s] for s in FINISHED)

    @property
    def complete(self) -> bool:
        """Nothing left pending or running."""
        return not any(self.counts[s] for s in UNFINISHED)

    def to_dict(self) -> dict[str, Any]:
        return {
            **{k: v for k, v in asdict(self).items() if k != "counts"},
            **{str(k): v for k, v in self.counts.items()},
            "finished": self.finished,
            "complete": self.complete,
        }


@dataclass
class PlanItem:
    """What `run` will do with one run, and why (`pbn sweep --explain`)."""

    index: int
    action: Literal["run", "reuse", "skip"]
    reason: str
    source: tuple[str, int] | None = None


def count_statuses(sweep_id: str, statuses: list[RunStatus]) -> SweepProgress:
    """A SweepProgress from a list of run statuses."""
    return SweepProgress(sweep_id=sweep_id, total=len(statuses), counts=status_counts(statuses))


def plan_runs(
    store: SweepStore,
    cache_keys: list[str],
    owner: str,
    statuses: list[RunStatus] | None = None,
    exclude: str | None = None,
) -> list[PlanItem]:
    """What a coordinator would do with each run and why (also for a sweep not created yet)."""
    statuses = statuses or ["pending"] * len(cache_keys)
    items = []
    for index, (status, key) in enumerate(zip(statuses, cache_keys, strict=True)):
        if status in FINISHED:
            items.append(PlanItem(index, "skip", f"already {status}"))
        elif (source := store.lookup_cache(key, owner, exclude=exclude)) is not None:
            why = f"same parameters, seed and model version as run {source[1]} of sweep {source[0]}"
            items.append(PlanItem(index, "reuse", why, source))
        else:
            why = "not computed yet" if status == "pending" else f"previous attempt {status}"
            items.append(PlanItem(index, "run", f"{why}; no stored run has the same cache key"))
    return items


def plan_stored(store: SweepStore, sweep_id: str) -> list[PlanItem]:
    """The plan of a stored sweep: its own finished runs are skipped, its owner's cache is searched."""
    attrs = store.attrs(sweep_id)
    keys, owner = attrs["expansion"]["cache_keys"], str(attrs.get("owner", "anonymous"))
    return plan_runs(store, keys, owner, store.statuses(sweep_id), exclude=sweep_id)


def progress_from_store(store: SweepStore, sweep_id: str) -> SweepProgress:
    """Progress as stored (callable from any process, with or without a running coordinator)."""
    return count_statuses(sweep_id, store.statuses(sweep_id))


class SweepRunner:
    """Runs sweeps of one store on one Dask client; resumable, cancellable, dedupes by the store's status."""

    def __init__(self, client: Client, store: SweepStore, max_retries: int = 2) -> None:
        self.client, self.store, self.max_retries = client, store, max_retries
        self._cancel: set[str] = set()
        self._active: set[str] = set()
        self._lock = threading.Lock()

    def plan(self, sweep_id: str) -> list[PlanItem]:
        """Per run: skip (already finished), reuse (same params + seed + model version stored), or run."""
        return plan_stored(self.store, sweep_id)

    def progress(self, sweep_id: str) -> SweepProgress:
        """Stored progress plus the dashboard link."""
        p = progress_from_store(self.store, sweep_id)
        p.dashboard = dashboard_of(self.client)
        return p

    def cancel(self, sweep_id: str) -> None:
        """Stop a sweep: pending runs become `cancelled`, finished runs stay (any thread or process)."""
        self.store.request_cancel(sweep_id)
        with self._lock:
            self._cancel.add(sweep_id)
            active = sweep_id in self._active
        if not active:
            self._mark_unfinished(sweep_id, "cancelled")

    def run(
        self,
        sweep_id: str,
        progress: Callable[[SweepProgress], None] | None = None,
        max_in_flight: int | None = None,
        should_stop: Callable[[], bool] | None = None,
        plan: list[PlanItem] | None = None,
    ) -> SweepProgress:
        """Run every unfinished run of a sweep and block until done, cancelled or stopped (`should_stop`:
        runs left stay `pending`). `plan`: one computed at submission (else it is computed now). One
        coordinator per sweep: another process (or thread) running it raises HeldError naming it."""
        with sweep_lock(self.store.root, sweep_id):
            return self._run_locked(sweep_id, progress, max_in_flight, should_stop, plan)

    def _run_locked(
        self,
        sweep_id: str,
        progress: Callable[[SweepProgress], None] | None,
        max_in_flight: int | None,
        should_stop: Callable[[], bool] | None,
        plan: list[PlanItem] | None,
    ) -> SweepProgress:
        self.store.clear_cancel(sweep_id)
        with self._lock:
            self._cancel.discard(sweep_id)
            self._active.add(sweep_id)
        try:
            limit = max_in_flight or self._default_in_flight()
            session = _Session(self, sweep_id, progress, limit, should_stop, plan)
            session.execute()
        finally:
            with self._lock:
                self._active.discard(sweep_id)
        return self.progress(sweep_id)

    def stop_requested(self, sweep_id: str, should_stop: Callable[[], bool] | None) -> str | None:
        """ "cancel" (runs left become `cancelled`), "stop" (they stay `pending`), or None to go on."""
        with self._lock:
            flagged = sweep_id in self._cancel
        if flagged or self.store.cancel_requested(sweep_id):
            return "cancel"
        return "stop" if should_stop is not None and should_stop() else None

    def _default_in_flight(self) -> int:
        """Two tasks per worker thread keep workers busy without flooding the scheduler."""
        threads = sum(self.client.nthreads().values())
        return max(2 * threads, 2)

    def _mark_unfinished(self, sweep_id: str, status: RunStatus) -> None:
        for index, current in enumerate(self.store.statuses(sweep_id)):
            if current in UNFINISHED:
                self.store.set_status(sweep_id, index, status)


class _Session:
    """One call of SweepRunner.run: bounded submission, completion handling, retries, progress."""

    def __init__(
        self,
        runner: SweepRunner,
        sweep_id: str,
        progress: Any,
        limit: int,
        should_stop: Any,
        plan: list[PlanItem] | None,
    ) -> None:
        self.r, self.sweep_id, self.callback, self.should_stop = runner, sweep_id, progress, should_stop
        self.limit, self.plan = max(1, limit), plan
        self.store = runner.store
        self.statuses = self.store.statuses(sweep_id)
        self.in_flight: dict[Future, tuple[int, int]] = {}
        self.todo: deque[int] = deque()
        self.attempts: dict[int, int] = {}
        self.tries: dict[int, int] = {}  # submissions of each run in this session
        self.lost: dict[int, int] = {}  # of them, cancelled by a scheduler that went away
        self.params: dict[int, SimParams] = {}
        self.started = time.monotonic()
        self.completed_here = 0
        self.root = str(self.store.root.resolve())
        self.dashboard = dashboard_of(runner.client)
        self.offer: int = 0
        self.offer_at: float | None = None
        self.thread_settings = thread_policy.ThreadSettings()

    def execute(self) -> None:
        """Reuse what the cache holds, then keep `limit` tasks in flight until nothing is left."""
        for item in self.plan if self.plan is not None else self.r.plan(self.sweep_id):
            source = item.source  # plan() sets it for every reuse
            if (
                item.action == "reuse"
                and source is not None
                and self.store.reuse_run(self.sweep_id, item.index, source)
            ):
                self.statuses[item.index] = "reused"
            elif item.action != "skip":
                self.todo.append(item.index)
        if self.todo:
            runs = self.store.runs(self.sweep_id)
            self.params = {i: runs[i].params for i in self.todo}
        self._report()
        while self.todo or self.in_flight:
            if (why := self.r.stop_requested(self.sweep_id, self.should_stop)) is not None:
                self._stop("cancelled" if why == "cancel" else "pending")
                break
            self._fill()
            self._collect()
        self._report()

    def _fill(self) -> None:
        while self.todo and len(self.in_flight) < self.limit:
            index = self.todo.popleft()
            self._submit(index, self._next_attempt(index))

    def _next_attempt(self, index: int) -> int:
        """Attempts increase across sessions too, so a task key is never reused (distributed#8789)."""
        if index not in self.attempts:
            previous = 0
            if self.statuses[index] != "pending":
                previous = int(self.store.run_info(self.sweep_id, index).get("attempt", 0))
            self.attempts[index] = previous
        self.attempts[index] += 1
        return self.attempts[index]

    def _offer(self) -> int:
        """The workers' `threads` offer (worker.threads), refreshed every OFFER_S while workers change."""
        now = time.monotonic()
        if self.offer_at is None or now - self.offer_at > OFFER_S:
            self.offer = thread_policy.offered(self.r.client.scheduler_info(n_workers=-1).get("workers", {}))
            self.offer_at = now
        return self.offer

    def _submit(self, index: int, attempt: int) -> None:
        key = f"run-{self.sweep_id}-{index}-a{attempt}"
        params, offer = self.params[index], self._offer()
        cores = thread_policy.threads_for(params.N, offer, self.thread_settings)
        fut = self.r.client.submit(
            run_point,
            self.root,
            self.sweep_id,
            index,
            params,
            attempt,
            cores,
            key=key,
            pure=False,
            resources=thread_policy.resources(cores, offer),
        )
        self.in_flight[fut] = (index, attempt)
        self.tries[index] = self.tries.get(index, 0) + 1
        self.statuses[index] = "running"

    def _collect(self) -> None:
        """Wait for at least one completion (or the poll interval) and handle what finished."""
        # a scheduler lost and back cancels the tasks it had: _handle resubmits them
        with contextlib.suppress(TimeoutError, FuturesCancelledError):
            wait(list(self.in_flight), timeout=POLL_S, return_when="FIRST_COMPLETED")
        for fut in [f for f in self.in_flight if f.done()]:
            index, attempt = self.in_flight.pop(fut)
            self._handle(fut, index, attempt)
        self._report()

    def _handle(self, fut: Future, index: int, attempt: int) -> None:
        """A finished task reports its stored status; a lost one (KilledWorker...) is retried or failed."""
        if fut.status == "finished":
            result = fut.result()
            status = result["status"]
            if status == "store_error":  # nothing more can be stored: stop, leaving runs unfinished
                self._abandon()
                raise StoreUnwritableError(self.sweep_id, str(result["error"]).splitlines()[0])
            self.statuses[index] = result.get("stored", status) if status == "skipped" else status
            self.completed_here += 1
        elif fut.status == "cancelled" and self.lost.get(index, 0) < MAX_LOST:  # not our cancel: a lost
            self.lost[index] = self.lost.get(index, 0) + 1  # scheduler; not the run's fault, not a try
            self.tries[index] -= 1
            self._submit(index, self._next_attempt(index))
        elif self.tries.get(index, 0) <= self.r.max_retries:
            self._submit(index, self._next_attempt(index))
        else:
            exc = fut.exception() if fut.status == "error" else None
            text = f"{type(exc).__name__}: {exc}" if exc else f"task {fut.status}"
            self.store.set_status(self.sweep_id, index, "failed", error=f"attempt {attempt}: {text}")
            self.statuses[index] = "failed"
        fut.release()

    def _abandon(self) -> None:
        """Cancel in-flight tasks and forget the rest without writing anything (the store refuses writes)."""
        self.r.client.cancel(list(self.in_flight))
        self.in_flight.clear()
        self.todo.clear()

    def _stop(self, status: RunStatus) -> None:
        """Cancel in-flight tasks; runs that did not finish get `status`, finished ones stay."""
        futures = list(self.in_flight)
        self.r.client.cancel(futures)
        self.in_flight.clear()
        self.todo.clear()
        time.sleep(POLL_S)  # let tasks that were already finishing store their result
        stored = self.store.statuses(self.sweep_id)
        for index, current in enumerate(stored):
            if current in UNFINISHED:
                self.store.set_status(self.sweep_id, index, status)
                stored[index] = status
        self.statuses = stored

    def _report(self) -> None:
        if self.callback is None:
            return
        view = list(self.statuses)
        for index in self.todo:
            view[index] = "pending"
        p = count_statuses(self.sweep_id, view)
        p.elapsed_s = time.monotonic() - self.started
        left = len(self.todo) + len(self.in_flight)
        if self.completed_here and left:
            p.eta_s = p.elapsed_s / self.completed_here * left
        p.dashboard = self.dashboard
        self.callback(p)


def dashboard_of(client: Client) -> str | None:
    """The Dask dashboard link, or None when the cluster has none."""
    try:
        return (
            str(client.dashboard_link)
            if client.scheduler_info().get("services", {}).get("dashboard")
            else None
        )
    except Exception:
        return None
