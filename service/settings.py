"""Service settings from `PBN_*` environment variables (pydantic-settings); `pbn serve` options override."""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the API server needs to know; each field is also `PBN_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="PBN_", extra="ignore")

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
    max_runs_per_sweep: int = Field(10_000, ge=1, description="Runs in one sweep at most")
    max_N: int = Field(100_000, ge=10, description="Largest N of one run")
    max_T_ms: float = Field(1e7, gt=0, description="Longest T of one run (ms)")
    max_sweep_neuron_s: float = Field(1e9, gt=0, description="Total N*T of one sweep (neuron-seconds)")
    user_max_concurrent_runs: int = Field(4, ge=1, description="Runs of one user in flight at once")
    user_max_queued_neuron_s: float = Field(
        1e9,
        gt=0,
        description="Unfinished neuron-seconds one user may have queued (new sweeps beyond it: 429)",
    )
    page_size_max: int = Field(200, ge=1, description="Largest page of GET /sweeps")
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
