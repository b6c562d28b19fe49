"""Route of the `cluster` resource: the Dask workers behind the service."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from service.api.deps import ClientDep
from service.api.routes.sweeps import dashboard_url
from service.auth import CurrentUser
from service.schemas import ClusterPublic, WorkerInfo
from worker.cluster import backend_info

router = APIRouter(tags=["cluster"])


def worker_info(address: str, w: dict[str, Any]) -> WorkerInfo:
    """One worker from `scheduler_info()` (fields differ a little across distributed versions)."""
    metrics = w.get("metrics") or {}
    task_counts = metrics.get("task_counts")
    counts: dict[str, Any] = task_counts if isinstance(task_counts, dict) else {}
    executing = metrics.get("executing", counts.get("executing", 0))
    return WorkerInfo(
        address=address,
        name=str(w.get("name", address)),
        threads=int(w.get("nthreads", 0)),
        memory_limit_bytes=int(w.get("memory_limit") or 0),
        memory_used_bytes=int(metrics["memory"]) if isinstance(metrics.get("memory"), int | float) else None,
        tasks_processing=int(executing or 0),
    )


@router.get("/cluster", response_model=ClusterPublic)
def read_cluster(request: Request, client: ClientDep, user: CurrentUser) -> ClusterPublic:
    """Workers, threads, memory and tasks of the Dask cluster, its backend and batch jobs, the dashboard."""
    info = client.scheduler_info(n_workers=-1)
    workers = [worker_info(addr, w) for addr, w in sorted(info.get("workers", {}).items())]
    return ClusterPublic(
        scheduler=str(info.get("address", client.scheduler.address)),
        n_workers=len(workers),
        threads=sum(w.threads for w in workers),
        memory_bytes=sum(w.memory_limit_bytes for w in workers),
        tasks_processing=sum(w.tasks_processing for w in workers),
        dashboard_url=dashboard_url(request),
        workers=workers,
        **backend_info(client),
    )
