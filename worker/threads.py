"""How many cores one run gets: large runs take several when the cluster's workers offer them.

A worker offers cores to multi-threaded runs through the Dask resource `threads`, e.g.
`dask worker --nthreads 2 --resources threads=2`: two one-thread runs side by side, or one run on both
cores. When every worker offers it, each run asks for `threads` = the cores it will use (so a two-thread
run never shares its cores), and runs of N >= `PBN_THREADS_MIN_N` use as many as the largest offer (the
kernel's results do not depend on it: sim.kernel_threads). Without the resource every run uses one core,
as the workers' own thread count assumes.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

RESOURCE = "threads"


class ThreadSettings(BaseSettings):
    """`PBN_THREADS_MIN_N`, `PBN_THREADS_MAX`."""

    model_config = SettingsConfigDict(env_prefix="PBN_", extra="ignore")

    threads_min_n: int = Field(20_000, ge=1, description="Smallest N whose runs use several cores")
    threads_max: int = Field(8, ge=1, description="Most cores one run uses")


def offered(workers: dict[str, Any]) -> int:
    """The largest `threads` resource of the workers (scheduler_info()['workers']), 0 unless all offer one."""
    amounts = [float((w.get("resources") or {}).get(RESOURCE, 0)) for w in workers.values()]
    if not amounts or min(amounts) < 1:
        return 0
    return int(max(amounts))


def threads_for(N: int, offer: int, settings: ThreadSettings | None = None) -> int:
    """Cores for a run of N cells when the workers offer `offer` (0: no resource, one core)."""
    settings = settings or ThreadSettings()
    if offer < 2 or settings.threads_min_n > N:
        return 1
    return min(offer, settings.threads_max)


def resources(threads: int, offer: int) -> dict[str, float] | None:
    """The Dask resource restriction of a task using `threads` cores (None when workers offer none)."""
    return {RESOURCE: float(threads)} if offer else None
