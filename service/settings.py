"""Service settings from `PBN_*` environment variables (pydantic-settings); `pbn serve` options override."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field

from worker.limits import SweepLimits


class Settings(SweepLimits):
    """Everything the API server needs to know; each field is also `PBN_<NAME>` in the environment.

    The per-sweep limits (max_runs, max_N, max_T_ms, max_neuron_seconds) are worker.limits.SweepLimits,
    the same model `pbn sweep` reads."""

    data: Path = Field(Path("pbn-data"), description="Store directory (Zarr groups under <data>/sweeps)")
    scheduler: str | None = Field(None, description="Dask scheduler address; None = embedded LocalCluster")
    n_workers: int | None = Field(None, ge=1, description="LocalCluster workers (None = one per core)")
    cluster: str | None = Field(
        None,
        description="Cluster spec (YAML file, 'local' or an address; docs/service.md); wins over scheduler",
    )
    host: str = Field("127.0.0.1", description="Bind address of `pbn serve`")
    port: int = Field(8000, ge=0, le=65535, description="Bind port of `pbn serve`")
    tokens_file: Path | None = Field(None, description="YAML/JSON file: token -> {user, admin}")
    tokens: str | None = Field(None, description="Inline tokens: 'token=user[:admin],token2=user2'")
    dashboard_url: str | None = Field(None, description="Public Dask dashboard link (overrides the client's)")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest accepted request body (bytes)")
    user_max_concurrent_runs: int = Field(4, ge=1, description="Runs of one user in flight at once")
    user_max_queued_core_s: float = Field(
        3.6e6,
        gt=0,
        description="Estimated core-seconds (sim.cost) of one user's unfinished sweeps; a new sweep "
        "beyond it: 429 (reserved atomically at submission)",
    )
    page_size_max: int = Field(200, ge=1, description="Largest page of GET /sweeps")
    # secure (issue 8): expensive reads (results, plots, runs), see service/read_limits.py
    user_max_concurrent_reads: int = Field(
        4, ge=1, description="Expensive reads of one user computed at once (more: 429 with Retry-After)"
    )
    max_concurrent_reads: int = Field(2, ge=1, description="Expensive reads computed at once, all users")
    read_cache_bytes: int = Field(
        64 * 2**20, ge=0, description="Cache of results and plots per sweep version"
    )
    access_log: bool = Field(False, description="Log every request (uvicorn's access log; CPU per request)")

    @property
    def sweeps_dir(self) -> Path:
        return self.data / "sweeps"


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings from the environment (`create_app` stores its own in `app.state`)."""
    return Settings()


def is_loopback(host: str) -> bool:
    """True when `host` only listens on this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
