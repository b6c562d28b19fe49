"""Response models of the REST API (schema family per resource: Created / Public / list of Public)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from worker.status import SweepState

EXAMPLE_DEFINITION: dict[str, Any] = {
    "name": "istdp-vs-N",
    "base": {"T": 1000, "eta_ei": 1.5e-5, "eta_ii": 1.5e-5},
    "grid": {"N": [200, 400], "cx": [0.0, 0.1]},
    "replicates": 1,
    "seed": 2538,
    "record": {"weights": 10, "spikes": False, "dt": 10.0},
    "analysis": {"window": 100, "rate_bin": 10},
}


class SweepCreated(BaseModel):
    """What `POST /sweeps` answers: the new sweep's id and size."""

    id: str = Field(examples=["istdp-vs-N-3f2a9c1b"])
    name: str = Field(examples=["istdp-vs-N"])
    n_runs: int = Field(description="Runs the definition expands to", examples=[4])
    n_reused: int = Field(description="Runs whose results are reused from earlier sweeps", examples=[0])
    state: SweepState = Field(examples=["queued"])
    url: str = Field(description="Path of the sweep's status", examples=["/sweeps/istdp-vs-N-3f2a9c1b"])
    estimate: dict[str, Any] = Field(
        default_factory=dict,
        description="Estimated cost (sim.cost): core_hours, peak_memory_gb_per_run, expected_wall_s on the "
        "cluster's current threads, and which calibration the model comes from",
        examples=[{"n_runs": 4, "core_hours": 0.001, "peak_memory_gb_per_run": 0.23, "expected_wall_s": 2.1}],
    )


class RunError(BaseModel):
    """Why one run failed (the message the worker raised)."""

    index: int
    status: str
    error: str


class SweepPublic(BaseModel):
    """A sweep's progress: counts by run status, ETA, errors of failed runs."""

    id: str
    name: str
    owner: str
    state: SweepState
    created: datetime | None = None
    n_runs: int
    counts: dict[str, int] = Field(
        description="Runs by status", examples=[{"pending": 1, "running": 1, "done": 2, "failed": 0}]
    )
    progress: float = Field(ge=0, le=1, description="Fraction of runs finished (done, failed, cancelled...)")
    eta_s: float | None = Field(None, description="Estimated seconds to completion (None when unknown)")
    errors: list[RunError] = Field(default_factory=list, description="Failed runs (first 50)")
    problem: str | None = Field(
        None,
        description="Why the sweep cannot go on right now (e.g. the store cannot be written), and when "
        "it is retried; None when all is well",
    )
    dashboard_url: str | None = None
    degraded: str | None = Field(
        None, description="Set while the sweep waits for a lost Dask scheduler: what happened and since when"
    )
    store_path: str | None = Field(None, description="Zarr group on the server (read it directly if mounted)")
    links: dict[str, str] = Field(default_factory=dict)


class SweepCancelled(BaseModel):
    """What `DELETE /sweeps/{id}` answers."""

    id: str
    state: SweepState
    purged: bool


class SweepsPublic(BaseModel):
    """A page of the caller's sweeps, newest first."""

    data: list[SweepPublic]
    count: int = Field(description="Sweeps in total (all pages)")


class RunPublic(BaseModel):
    """One run: its parameters, its summary scalars and its recorded time series."""

    sweep_id: str
    index: int
    status: str
    error: str | None = None
    params: dict[str, Any]
    summary: dict[str, Any]
    series: dict[str, list[float | None]] = Field(
        default_factory=dict, description="Time series keyed by name; their time axes are series too"
    )


class WorkerInfo(BaseModel):
    """One Dask worker as the scheduler sees it."""

    address: str | None = Field(description="Worker address (admins only)")
    name: str
    threads: int
    memory_limit_bytes: int
    memory_used_bytes: int | None = None
    tasks_processing: int


class ClusterPublic(BaseModel):
    """The Dask cluster behind the service (addresses and the dashboard link: admins only)."""

    scheduler: str | None = Field(description="Scheduler address (admins only: it runs any code sent to it)")
    n_workers: int
    threads: int
    memory_bytes: int
    tasks_processing: int
    dashboard_url: str | None
    workers: list[WorkerInfo]
    backend: str = Field(
        "address", description="local | address | slurm | pbs | sge | lsf (the cluster spec)"
    )
    jobs_pending: list[str] = Field(default_factory=list, description="Batch jobs submitted, no worker yet")
    jobs_running: list[str] = Field(default_factory=list, description="Batch jobs whose worker is connected")


class Health(BaseModel):
    """Liveness: the app answers and whether the cluster answers."""

    status: Literal["ok", "degraded"]
    version: str
    cluster: bool
    sweeps_active: int
    reason: str | None = Field(None, description="Why the service is degraded (scheduler lost...), else None")


class ErrorItem(BaseModel):
    """One reason a request was refused: where (`loc`), why (`msg`), and the value given when known."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str
    type: str


class ErrorBody(BaseModel):
    """Every 4xx answer: `{"detail": [ErrorItem, ...]}`."""

    detail: list[ErrorItem]


ERRORS: dict[int, dict[str, Any]] = {
    400: {
        "description": "Bad request (a filter or plot option that does not fit the sweep; single-user mode: "
        "a Host other than 127.0.0.1/localhost/[::1])"
    },
    401: {
        "description": "Missing or unknown token, or an expired browser session",
        "headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer"}},
    },
    403: {
        "description": "Not allowed (another user's listing; a cross-site browser request; single-user mode "
        "reached over the network)"
    },
    404: {"description": "No such sweep or run for this caller (another user's sweep looks absent too)"},
    409: {"description": "The request does not fit the sweep's current state"},
    413: {"description": "Request body larger than the configured limit"},
    422: {
        "description": "Invalid input: the field, the value and the reason (over a limit, not finite, ...)"
    },
    429: {
        "description": "Too much at once: the user's quota of queued work, or of expensive reads in progress",
        "headers": {
            "Retry-After": {"schema": {"type": "integer"}, "description": "Seconds (expensive reads)"}
        },
    },
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these statuses, all with the `ErrorBody` schema."""
    return {code: {"model": ErrorBody, **ERRORS[code]} for code in codes}


AUTHENTICATED = (400, 401, 403, 422)
"""What every authenticated operation may answer besides its success (400/403: single-user guard, CSRF)."""
