"""Dask clients for sweeps: an embedded LocalCluster sized to the machine, or any scheduler address.

Library code never creates a client implicitly: the CLI and the service call `make_client` once and pass
the client in. Numba compiles once per worker process (`warm_up`, also installed as a worker plugin);
point NUMBA_CACHE_DIR at local disk so workers share the on-disk cache.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from distributed import Client, LocalCluster, WorkerPlugin

SCHEDULER_ENV = "PBN_SCHEDULER"


class WarmUpPlugin(WorkerPlugin):
    """Compile the simulator's kernels when a worker starts (once per process, not once per task)."""

    name = "pbn-warm-up"

    async def setup(self, worker: Any) -> None:
        """In a thread: a first compile can take a minute and must not block the worker's event loop."""
        await asyncio.to_thread(warm_up_here)


def warm_up_here() -> None:
    """Compile (or load from the on-disk cache) the kernels in this process."""
    from sim.driver import warm_up

    warm_up()


def make_client(
    address: str | None = None,
    n_workers: int | None = None,
    threads_per_worker: int = 1,
    dashboard_address: str | None = "127.0.0.1:0",
) -> Client:
    """Connect to `address` (or $PBN_SCHEDULER); else start a LocalCluster of processes on 127.0.0.1."""
    address = address or os.environ.get(SCHEDULER_ENV) or None
    if address:
        client = Client(address)
    else:
        n = n_workers or max(1, (os.cpu_count() or 1) // threads_per_worker)
        cluster = LocalCluster(
            n_workers=n,
            threads_per_worker=threads_per_worker,
            processes=True,
            host="127.0.0.1",
            dashboard_address=dashboard_address,
        )
        client = Client(cluster)
    client.register_plugin(WarmUpPlugin())
    return client


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
