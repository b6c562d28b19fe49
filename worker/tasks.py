"""What a Dask worker executes: run one sweep point and write it into its own chunks of the store."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from typing import Any

from sim import SimParams
from worker.status import FINISHED
from worker.store import SweepStore

ERROR_CHARS = 4000
"""Error text kept per run (the tail of the traceback, where the cause is)."""


def run_point(
    store_root: str, sweep_id: str, index: int, params: SimParams, attempt: int, threads: int = 1
) -> dict[str, Any]:
    """Simulate one point on `threads` cores and store it; failures are stored as `failed` with their
    traceback, never raised.
    A store that cannot be written (OSError) is reported as `store_error`: the run stays unfinished, so it
    runs again once the store is writable.

    Idempotent: a run already finished in the store is skipped, and rewriting a run writes the same chunks.
    """
    store = SweepStore(store_root)
    started = time.time()
    info: dict[str, Any] = {
        "attempt": attempt,
        "started_at": started,
        "worker": _worker_name(),
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),  # the batch job the run executed in (None outside)
        "threads": threads,
    }
    try:
        current = store.statuses_of(sweep_id, [index])[0]
        if current in FINISHED:
            return _outcome(index, "skipped", attempt, started, stored=current)
        store.mark_running(sweep_id, index, info)
    except OSError as exc:
        return _outcome(index, "store_error", attempt, started, error=_error_text(exc))
    try:
        sim_start = time.perf_counter()
        result = _simulate(params, threads)
        info.update(finished_at=time.time(), sim_wall_s=time.perf_counter() - sim_start)
        info["wall_s"] = info["finished_at"] - started
        return _store_result(store, sweep_id, index, result, info)
    except OSError as exc:
        return _outcome(index, "store_error", attempt, started, error=_error_text(exc))
    except Exception as exc:  # a bad point must not vanish into worker logs
        text = _error_text(exc)
        with contextlib.suppress(Exception):  # store unreachable: the coordinator records the error
            store.set_status(sweep_id, index, "failed", error=text)
        return _outcome(index, "failed", attempt, started, error=text)


def _store_result(store: SweepStore, sweep_id: str, index: int, result: Any, info: dict[str, Any]) -> dict:
    """Write the run (status last), then point the cache at it: only at runs whose data is all written."""
    status = store.write_result(sweep_id, index, result, info)
    if status == "done":
        store.record_cache(sweep_id, index)
    return _outcome(index, status, info["attempt"], info["started_at"], sim_wall_s=info["sim_wall_s"])


def _error_text(exc: BaseException) -> str:
    """The message first, then the tail of the traceback, where the cause is."""
    return f"{type(exc).__name__}: {exc}"[:500] + "\n" + traceback.format_exc()[-ERROR_CHARS:]


def _outcome(index: int, status: str, attempt: int, started: float, **extra: Any) -> dict[str, Any]:
    """The small dict a task hands back to the coordinator."""
    return {
        "index": index,
        "status": status,
        "attempt": attempt,
        "wall_s": time.time() - started,
        "error": "",
        **extra,
    }


def _simulate(params: SimParams, threads: int = 1) -> Any:
    """Run the simulator on parameters validated once, at expansion (the driver is imported lazily:
    compiling happens once per process); `threads` cores do not change the result (sim.kernel_threads)."""
    from sim.driver import simulate

    return simulate(params, threads=threads) if threads > 1 else simulate(params)


def _worker_name() -> str:
    """The Dask worker's address when running inside one, else the process id."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid-{os.getpid()}"
