"""The sweep registry: which sweeps exist, whose they are, and which are running — rebuilt from the store.

The store is the source of truth (owner, definition and per-run status live in each sweep's Zarr group);
this class only keeps a cache of the sweeps' metadata, the live progress of running sweeps, and one
coordinator thread per user (service.fairness). On start, sweeps with unfinished runs are resumed:
the runner resubmits only runs that are not finished, so no finished run is recomputed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from distributed import Client

from service.auth import User
from service.errors import ConflictError, NotFoundError
from service.fairness import Job, UserScheduler
from service.metrics import ServiceMetrics
from service.settings import Settings
from sim.cost import DEFAULT_MODEL, CostModel, cpu_seconds
from worker import calibration
from worker.admission import SweepEstimate, estimate_sweep, memory_budget, worker_threads
from worker.errors import StoreUnwritableError
from worker.runner import PlanItem, SweepProgress, SweepRunner, plan_runs, progress_from_store
from worker.status import UNFINISHED, SweepState
from worker.store import SweepStore
from worker.store.locks import HeldError, held_elsewhere, sweep_lock
from worker.sweep import RunSpec, SweepDefinition, prepare_sweep

log = logging.getLogger("pbn.service")
MAX_ERRORS = 50
MAX_RETRIES = 5
RETRY_AFTER_S = 30.0
STORE_RETRY_S = (2.0, 300.0)
"""First and longest pause between checks of a store that cannot be written (doubling in between)."""


@dataclass
class SweepEntry:
    """What the registry remembers about one sweep (metadata is immutable; progress is live)."""

    sweep_id: str
    owner: str
    name: str
    created: datetime | None
    n_runs: int
    cost_core_s: float
    state: SweepState = "stopped"
    cancel_requested: bool = False
    errors: list[dict[str, Any]] = field(default_factory=list)  # failed runs (index, status, error), first 50
    failed_seen: int = 0
    retries: int = 0  # coordinator crashes retried so far
    version: int = 0  # bumped whenever `progress` changes (keys the cached public JSON)
    public_cache: tuple[tuple[int, str], bytes] | None = None
    progress: SweepProgress | None = None
    finished: set[int] = field(default_factory=set)
    plan: list[PlanItem] | None = None  # computed at submission, used by the first coordinator
    problem: str | None = None  # why it cannot go on now (shown in its status), None when all is well


def entry_from_runs(
    sweep_id: str, attrs: dict[str, Any], runs: list[RunSpec], model: CostModel = DEFAULT_MODEL
) -> SweepEntry:
    """A registry entry from a sweep's attributes and its runs."""
    created = attrs.get("created")
    return SweepEntry(
        sweep_id=sweep_id,
        owner=str(attrs.get("owner", "anonymous")),
        name=str(attrs.get("definition", {}).get("name", sweep_id)),
        created=datetime.fromisoformat(created) if isinstance(created, str) else None,
        n_runs=len(runs),
        cost_core_s=sum(cpu_seconds(r.params, model) for r in runs),
    )


class Registry:
    """Submit, list, watch, cancel and resume sweeps for many users on one Dask client."""

    def __init__(
        self, settings: Settings, store: SweepStore, client: Client, metrics: ServiceMetrics
    ) -> None:
        self.settings, self.store, self.client, self.metrics = settings, store, client, metrics
        self.scheduler = UserScheduler(settings.user_max_queued_core_s)
        self._lock = threading.Lock()
        self._entries: dict[str, SweepEntry] = {}
        self._runners: dict[str, SweepRunner] = {}
        self._stopping = threading.Event()
        self.on_foreign: Callable[[SweepEntry], None] | None = None  # set by service.store_watch

    def _set_progress(self, entry: SweepEntry, progress: SweepProgress) -> None:
        """Store live counts; re-read the failed runs' messages only when the number of failures changed."""
        if progress.failed != entry.failed_seen:
            entry.failed_seen = progress.failed
            statuses, messages = self.store.statuses(entry.sweep_id), self.store.errors(entry.sweep_id)
            failed = [i for i, s in enumerate(statuses) if s == "failed"][:MAX_ERRORS]
            entry.errors = [{"index": i, "status": "failed", "error": messages[i]} for i in failed]
        entry.progress = progress
        entry.version += 1

    # ---- building the registry from the store -------------------------------------------------
    def load(self) -> list[str]:
        """Read every sweep in the store; queue unfinished ones again (oldest first); return their ids."""
        resumed = []
        for sweep_id in self.store.sweep_ids():
            try:
                entry = self.entry_from_store(sweep_id)
            except Exception:  # one broken group must not keep the server down
                log.exception("cannot read sweep %s; skipped", sweep_id)
                continue
            statuses = self.store.statuses(sweep_id)
            self._set_progress(entry, progress_from_store(self.store, sweep_id))
            with self._lock:
                self._entries[sweep_id] = entry
            if any(s in UNFINISHED for s in statuses):
                resumed.append(entry)
            else:
                entry.state = _final_state(entry.progress)
        for entry in sorted(resumed, key=lambda e: e.created or datetime.min):
            log.info("resuming sweep %s of %s", entry.sweep_id, entry.owner)
            self._queue(entry)
        return [e.sweep_id for e in resumed]

    def entry_from_store(self, sweep_id: str) -> SweepEntry:
        model = calibration.load(self.settings.data)
        return entry_from_runs(sweep_id, self.store.attrs(sweep_id), self.store.runs(sweep_id), model)

    # ---- sweeps another process coordinates (service.store_watch) -----------------------------
    def known(self, sweep_id: str) -> bool:
        with self._lock:
            return sweep_id in self._entries

    def current(self, sweep_id: str) -> SweepEntry | None:
        with self._lock:
            return self._entries.get(sweep_id)

    def adopt(self, entry: SweepEntry) -> bool:
        """Show a sweep created by another process (False if it became known meanwhile)."""
        with self._lock:
            if entry.sweep_id in self._entries:
                return False
            self._entries[entry.sweep_id] = entry
        return True

    def follow(self, entry: SweepEntry, progress: SweepProgress) -> None:
        """Stored progress of a sweep another process runs: `running` while its coordinator holds the
        sweep's lock (or a run is running), else final or stopped."""
        self._set_progress(entry, progress)
        coordinated = held_elsewhere(sweep_lock(self.store.root, entry.sweep_id))
        entry.state = (
            "running"
            if (coordinated or progress.running) and not progress.complete
            else _final_state(progress)
        )

    # ---- submitting and running ---------------------------------------------------------------
    def submit(self, defn: SweepDefinition, user: User) -> tuple[SweepEntry, int, SweepEstimate]:
        """Count, expand once, check limits and quota, create the store group, plan once, queue."""
        runs, model = self._prepare(defn)
        cost = sum(cpu_seconds(r.params, model) for r in runs)
        self.scheduler.reserve(user.name, cost)
        try:
            sweep_id = self.store.create_sweep(defn, runs, owner=user.name)
            entry = entry_from_runs(sweep_id, self.store.attrs(sweep_id), runs, model)
            entry.plan = SweepRunner(self.client, self.store).plan(sweep_id)
        except BaseException:
            self.scheduler.release(user.name, cost)
            raise
        n_reused = sum(item.action == "reuse" for item in entry.plan)
        estimate = estimate_sweep(runs, worker_threads(self.client), model)
        self._set_progress(entry, progress_from_store(self.store, sweep_id))
        with self._lock:
            self._entries[sweep_id] = entry
        self._queue(entry, reserved=True)
        self.metrics.sweeps_submitted.inc()
        return entry, n_reused, estimate

    def _prepare(self, defn: SweepDefinition) -> tuple[list[RunSpec], CostModel]:
        """The one submission path (worker.sweep.prepare_sweep) with this server's limits, calibration and
        the cluster's memory budget."""
        model = calibration.load(self.settings.data)
        return prepare_sweep(defn, self.settings, model, memory_budget(self.client)), model

    def preview(
        self, defn: SweepDefinition, user: User
    ) -> tuple[list[RunSpec], list[PlanItem], SweepEstimate]:
        """What `submit` would do, creating nothing: the runs, the plan (run or reuse) and the estimate."""
        runs, model = self._prepare(defn)
        plan = plan_runs(self.store, [r.cache_key for r in runs], user.name)
        return runs, plan, estimate_sweep(runs, worker_threads(self.client), model)

    def _queue(self, entry: SweepEntry, reserved: bool = False) -> None:
        entry.state = "queued"
        job = Job(entry.sweep_id, entry.owner, entry.cost_core_s, lambda: self._run(entry))
        self.scheduler.submit(job, reserved=reserved)

    def _run(self, entry: SweepEntry) -> None:
        """Body of a user's coordinator thread: run the sweep to its end, its cancellation or shutdown."""
        runner = SweepRunner(self.client, self.store)
        with self._lock:
            if self._stopping.is_set() or entry.cancel_requested:
                return
            self._runners[entry.sweep_id] = runner
        entry.state = "running"
        entry.finished = {i for i, s in enumerate(self.store.statuses(entry.sweep_id)) if s not in UNFINISHED}
        finished_before = len(entry.finished)
        try:
            plan, entry.plan = entry.plan, None
            final = runner.run(
                entry.sweep_id,
                progress=lambda p: self._on_progress(entry, runner, p),
                max_in_flight=self.settings.user_max_concurrent_runs,
                should_stop=self._stopping.is_set,
                plan=plan,
            )
            if self._stopping.is_set():
                log.info("sweep %s left resumable at shutdown", entry.sweep_id)
            elif entry.cancel_requested:  # a cancel that raced with the start: mark what is left
                runner.cancel(entry.sweep_id)
                final = progress_from_store(self.store, entry.sweep_id)
            self._on_progress(entry, runner, final)
        except HeldError as exc:  # another process (`pbn sweep`) runs it: show it, do not fight over it
            log.info("%s; following it from the store", exc)
            if self.on_foreign is not None:
                self.on_foreign(entry)
        except (StoreUnwritableError, OSError) as exc:
            self._store_problem(entry, exc, STORE_RETRY_S[0])
        except Exception:  # the cluster went away, the store hiccuped...: try again later, a few times
            if len(entry.finished) > finished_before:
                entry.retries = 0  # it made progress: the retry budget is for failures in a row
            log.exception(
                "coordinating sweep %s failed; retry %d of %d in %g s",
                entry.sweep_id,
                entry.retries + 1,
                MAX_RETRIES,
                RETRY_AFTER_S,
            )
            self._retry_later(entry)
        finally:
            with self._lock:
                self._runners.pop(entry.sweep_id, None)
            if entry.state == "running":
                entry.state = "stopped" if self._stopping.is_set() else _final_state(entry.progress)

    def _store_problem(self, entry: SweepEntry, exc: BaseException, delay: float) -> None:
        """Pause the sweep in state `error` with the OS error; check the store again with backoff and resume
        (from the store: nothing finished is lost or recomputed) as soon as it can be written."""
        reason = exc.reason if isinstance(exc, StoreUnwritableError) else f"{type(exc).__name__}: {exc}"
        entry.state, entry.problem = (
            "error",
            f"the store cannot be written: {reason}; retrying in {delay:.0f} s",
        )
        entry.version += 1
        log.error("sweep %s paused: %s", entry.sweep_id, entry.problem)

        def check() -> None:
            if self._stopping.is_set() or entry.cancel_requested:
                return
            still = self.store.write_problem()
            if still is not None:
                self._store_problem(entry, still, min(2 * delay, STORE_RETRY_S[1]))
                return
            log.info("sweep %s: the store can be written again; resuming", entry.sweep_id)
            entry.problem = None
            self._queue(entry)

        timer = threading.Timer(delay, check)
        timer.daemon = True
        timer.start()

    def _retry_later(self, entry: SweepEntry) -> None:
        """Queue a sweep whose coordinator crashed again after a pause (it resumes from the store)."""
        if entry.retries >= MAX_RETRIES:
            return
        entry.retries += 1
        entry.state = "queued"  # a retry is scheduled: the sweep is not final (clients keep waiting)

        def again() -> None:
            if not (self._stopping.is_set() or entry.cancel_requested):
                self._queue(entry)

        timer = threading.Timer(RETRY_AFTER_S, again)
        timer.daemon = True
        timer.start()

    def _on_progress(self, entry: SweepEntry, runner: SweepRunner, progress: SweepProgress) -> None:
        """Keep the live counts and run durations; pass on a cancel."""
        if entry.cancel_requested:
            runner.cancel(entry.sweep_id)
        self._set_progress(entry, progress)
        if progress.finished + progress.failed <= len(entry.finished):
            return
        statuses = self.store.statuses(entry.sweep_id)
        for index, status in enumerate(statuses):
            if status in UNFINISHED or index in entry.finished:
                continue
            entry.finished.add(index)
            if status in ("done", "diverged"):
                wall = self.store.run_info(entry.sweep_id, index).get("wall_s")
                if isinstance(wall, int | float) and wall >= 0:
                    self.metrics.run_duration.observe(wall)

    # ---- reading and cancelling ---------------------------------------------------------------
    def get(self, sweep_id: str, user: User) -> SweepEntry:
        """The sweep if the caller may see it; others' sweeps answer 404 exactly like missing ones."""
        with self._lock:
            entry = self._entries.get(sweep_id)
        if entry is None or not (user.admin or entry.owner == user.name):
            raise NotFoundError(f"sweep {sweep_id!r} not found", field="sweep_id")
        return entry

    def visible(self, user: User, owner: str | None = None) -> list[SweepEntry]:
        """The caller's sweeps (admin: everyone's, or one owner's), newest first."""
        with self._lock:
            entries = list(self._entries.values())
        if not user.admin:
            entries = [e for e in entries if e.owner == user.name]
        if owner is not None:
            entries = [e for e in entries if e.owner == owner]
        return sorted(entries, key=lambda e: (e.created or datetime.min, e.sweep_id), reverse=True)

    def cancel(self, entry: SweepEntry, purge: bool = False) -> None:
        """Stop the sweep's pending runs (finished ones stay); `purge` also deletes its data."""
        with self._lock:
            entry.cancel_requested = True
            runner = self._runners.get(entry.sweep_id)
        self.scheduler.cancel(entry.sweep_id)
        (runner or SweepRunner(self.client, self.store)).cancel(entry.sweep_id)
        progress = progress_from_store(self.store, entry.sweep_id)
        self._set_progress(entry, progress)
        if runner is not None or progress.cancelled or entry.state == "queued":
            entry.state = "cancelled"
        if purge:
            if not _wait_until(lambda: entry.sweep_id not in self._runners, 30.0):
                raise ConflictError(
                    f"sweep {entry.sweep_id!r} is still stopping; retry the purge in a moment"
                )
            self.store.delete(entry.sweep_id)
            with self._lock:
                self._entries.pop(entry.sweep_id, None)

    def active(self) -> int:
        with self._lock:
            return sum(e.state in ("queued", "running") for e in self._entries.values())

    def entries(self) -> list[SweepEntry]:
        with self._lock:
            return list(self._entries.values())

    def shutdown(self, timeout_s: float = 20.0) -> None:
        """Stop coordinating (runs stay pending in the store and resume on the next start)."""
        self._stopping.set()
        self.scheduler.stop()
        _wait_until(lambda: not self._runners, timeout_s)


def _final_state(progress: SweepProgress | None) -> SweepState:
    if progress is None:
        return "stopped"
    if progress.pending or progress.running:
        return "stopped"
    return "cancelled" if progress.cancelled else "done"


def _wait_until(predicate: Any, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True
