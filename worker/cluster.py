"""Dask clients for sweeps: an embedded LocalCluster, a scheduler address, or dask-jobqueue batch jobs.

Library code never creates a client implicitly: the CLI and the service call `make_client` once and pass
the client in. Numba compiles once per worker process (`warm_up`, also installed as a worker plugin);
point NUMBA_CACHE_DIR at local disk so workers share the on-disk cache.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin

from worker.cluster_spec import AddressSpec, JobqueueSpec, LocalSpec, parse_cluster_spec
from worker.threads import RESOURCE

SCHEDULER_ENV = "PBN_SCHEDULER"


class WarmUpPlugin(WorkerPlugin):
    """Compile the simulator's kernels when a worker starts (once per process, not once per task)."""

    name = "pbn-warm-up"

    async def setup(self, worker: Any) -> None:
        """In a thread: a first compile can take a minute and must not block the worker's event loop."""
        await asyncio.to_thread(warm_up_here, worker)


def warm_up_here(dask_worker: Any = None) -> None:
    """Compile (or load from the on-disk cache) the kernels in this process; the threaded one too when
    the worker offers cores to multi-threaded runs (worker.threads)."""
    from sim.driver import warm_up

    resources = getattr(getattr(dask_worker, "state", None), "total_resources", None) or {}
    warm_up(threads=int(resources.get(RESOURCE, 1)))


def make_client(
    address: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    dashboard_address: str | None = "127.0.0.1:0",
    spec: LocalSpec | AddressSpec | JobqueueSpec | None = None,
) -> Client:
    """A client for `spec`; without one: `address` (or $PBN_SCHEDULER), else a LocalCluster on 127.0.0.1."""
    address = address or os.environ.get(SCHEDULER_ENV) or None
    if spec is None:
        spec = parse_cluster_spec(address) if address else LocalSpec(n_workers=n_workers)
    if isinstance(spec, AddressSpec):
        client = Client(spec.address)
    elif isinstance(spec, JobqueueSpec):
        client = Client(start_jobqueue(spec))
    else:
        threads = spec.threads_per_worker if spec.threads_per_worker != 1 else threads_per_worker
        n = spec.n_workers or n_workers or max(1, (os.cpu_count() or 1) // threads)
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=threads,
            resources={RESOURCE: threads} if threads > 1 else None,  # cores for a large run (worker.threads)
            processes=True,
            host="127.0.0.1",
            dashboard_address=dashboard_address,
        )
        client = Client(cluster)
    client.register_plugin(WarmUpPlugin())
    return client


def import_backend(spec: LocalSpec | AddressSpec | JobqueueSpec | None) -> None:
    """Import dask-jobqueue now when `spec` needs it: its import sets a signal handler, so it must happen
    in the main thread (the service starts its client in a worker thread)."""
    if isinstance(spec, JobqueueSpec):
        import dask_jobqueue  # noqa: F401


def start_jobqueue(spec: JobqueueSpec) -> Any:
    """The dask-jobqueue cluster of `spec`, adapting between its minimum and maximum number of jobs."""
    import dask_jobqueue

    from worker.cluster_spec import JOBQUEUE_CLASSES

    cls = getattr(dask_jobqueue, JOBQUEUE_CLASSES[spec.backend])
    cluster = cls(**spec.cluster_kwargs())
    cluster.adapt(minimum_jobs=spec.adapt.minimum, maximum_jobs=spec.adapt.maximum)
    return cluster


def backend_info(client: Client) -> dict[str, Any]:
    """Backend name and batch jobs (pending: submitted, no worker yet; running: a worker connected)."""
    cluster = getattr(client, "cluster", None)
    if cluster is None:
        return {"backend": "address", "jobs_pending": [], "jobs_running": []}
    if isinstance(cluster, LocalCluster):
        return {"backend": "local", "jobs_pending": [], "jobs_running": []}
    connected = {
        str(w.get("name", "")) for w in client.scheduler_info(n_workers=-1).get("workers", {}).values()
    }
    pending: list[str] = []
    running: list[str] = []
    for name, job in dict(cluster.workers).items():
        job_id = getattr(job, "job_id", None)
        if job_id is None:
            continue
        alive = any(w == str(name) or w.startswith(f"{name}-") for w in connected)
        (running if alive else pending).append(str(job_id))
    backend = type(cluster).__name__.removesuffix("Cluster").lower()
    return {"backend": backend, "jobs_pending": sorted(pending), "jobs_running": sorted(running)}


def warm_up(client: Client) -> dict[str, None]:
    """Compile the kernels on every current worker now (later workers get the plugin)."""
    return client.run(warm_up_here)


def dashboard_link(client: Client) -> str | None:
    """The dashboard URL, or None if the scheduler runs without one."""
    from worker.runner import dashboard_of

    return dashboard_of(client)


def cluster_info(client: Client) -> dict[str, Any]:
    """Scheduler address, dashboard link and workers (for GET /cluster)."""
    info = client.scheduler_info()
    workers = [
        {
            "address": addr,
            "nthreads": w.get("nthreads"),
            "memory_limit": w.get("memory_limit"),
            "name": w.get("name"),
        }
        for addr, w in info.get("workers", {}).items()
    ]
    return {
        "scheduler": info.get("address"),
        "dashboard": dashboard_link(client),
        "workers": workers,
        "nthreads": sum(w["nthreads"] or 0 for w in workers),
    }
