"""Route of the `cluster` resource: the Dask workers behind the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from service.api.deps import ClientDep
from service.auth import CurrentUser
from service.schemas import AUTHENTICATED, ClusterPublic, WorkerInfo, error_responses
from worker.cluster import backend_info

router = APIRouter(tags=["cluster"])


def worker_info(address: str, w: dict[str, Any], position: int, admin: bool) -> WorkerInfo:
    """One worker from `scheduler_info()` (fields differ a little across distributed versions); its address
    and name (often the address) only for admins: a worker runs code sent to it, like the scheduler."""
    metrics = w.get("metrics") or {}
    task_counts = metrics.get("task_counts")
    counts: dict[str, Any] = task_counts if isinstance(task_counts, dict) else {}
    executing = metrics.get("executing", counts.get("executing", 0))
    return WorkerInfo(
        address=address if admin else None,
        name=str(w.get("name", address)) if admin else f"worker-{position}",
        threads=int(w.get("nthreads", 0)),
        memory_limit_bytes=int(w.get("memory_limit") or 0),
        memory_used_bytes=int(metrics["memory"]) if isinstance(metrics.get("memory"), int | float) else None,
        tasks_processing=int(executing or 0),
    )


@router.get("/cluster", response_model=ClusterPublic, responses=error_responses(*AUTHENTICATED))
def read_cluster(request: Request, client: ClientDep, user: CurrentUser) -> ClusterPublic:
    """Workers, threads, memory and tasks of the Dask cluster, its backend and batch jobs; to admins also the
    scheduler's address and the dashboard link (the scheduler runs any code it is sent)."""
    info = client.scheduler_info(n_workers=-1)
    items = sorted(info.get("workers", {}).items())
    workers = [worker_info(addr, w, i, user.admin) for i, (addr, w) in enumerate(items)]
    return ClusterPublic(
        scheduler=str(info.get("address", client.scheduler.address)) if user.admin else None,
        n_workers=len(workers),
        threads=sum(w.threads for w in workers),
        memory_bytes=sum(w.memory_limit_bytes for w in workers),
        tasks_processing=sum(w.tasks_processing for w in workers),
        dashboard_url=cluster_dashboard(request, user.admin),
        workers=workers,
        **backend_info(client),
    )


def cluster_dashboard(request: Request, admin: bool) -> str | None:
    """The configured public dashboard link (`PBN_DASHBOARD_URL`: the operator chose to publish it) for
    everyone; the one the Dask client reported (the scheduler's own host) for admins only."""
    return request.app.state.settings.dashboard_url or (request.app.state.dashboard if admin else None)
