"""What a Dask worker executes: run one sweep point and write it into its own chunks of the store."""

from __future__ import annotations

import contextlib
import os
import socket
import time
import traceback
from typing import Any

from worker.store import FINISHED, SweepStore

ERROR_CHARS = 4000
"""Error text kept per run (the tail of the traceback, where the cause is)."""


def run_point(store_root: str, sweep_id: str, index: int, params_json: str, attempt: int) -> dict[str, Any]:
    """Simulate one point and store it; failures are stored as `failed` with their traceback, never raised.

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
    }
    try:
        current = store.statuses_of(sweep_id, [index])[0]
        if current in FINISHED:
            return _outcome(index, "skipped", attempt, started, stored=current)
        store.mark_running(sweep_id, index, info)
        sim_start = time.perf_counter()
        result = _simulate(params_json)
        sim_wall = time.perf_counter() - sim_start
        info.update(finished_at=time.time(), sim_wall_s=sim_wall)
        info["wall_s"] = info["finished_at"] - started
        status = store.write_result(sweep_id, index, result, info)
        return _outcome(index, status, attempt, started, sim_wall_s=sim_wall)
    except Exception as exc:  # a bad point must not vanish into worker logs
        text = f"{type(exc).__name__}: {exc}"[:500] + "\n" + traceback.format_exc()[-ERROR_CHARS:]
        with contextlib.suppress(Exception):  # store unreachable: the coordinator records the error
            store.set_status(sweep_id, index, "failed", error=text)
        return _outcome(index, "failed", attempt, started, error=text)


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


def _simulate(params_json: str) -> Any:
    """Parse the parameters and run the simulator (imported lazily: compiling happens once per process)."""
    from sim import SimParams
    from sim.driver import simulate  # sim exports it lazily (module __getattr__), which mypy cannot see

    return simulate(SimParams.model_validate_json(params_json))


def _worker_name() -> str:
    """The Dask worker's address when running inside one, else the process id."""
    try:
        from distributed import get_worker

        return str(get_worker().address)
    except (ImportError, ValueError):
        return f"pid-{os.getpid()}"
