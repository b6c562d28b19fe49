"""Cluster specs: where a sweep's Dask workers come from, as configuration (`--cluster FILE` / PBN_CLUSTER).

`local` (an embedded LocalCluster), `address` (an existing scheduler), or a dask-jobqueue batch system
(`slurm`, `pbs`, `sge`, `lsf`) whose jobs the service scales with its queue (`adapt`). The YAML is one
mapping; `backend` may be left out when `address` is given. Examples in examples/clusters/.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, model_validator

CLUSTER_ENV = "PBN_CLUSTER"
JOBQUEUE_CLASSES = {"slurm": "SLURMCluster", "pbs": "PBSCluster", "sge": "SGECluster", "lsf": "LSFCluster"}


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LocalSpec(_Spec):
    """A LocalCluster of worker processes on this machine (the default)."""

    backend: Literal["local"] = "local"
    n_workers: int | None = Field(None, ge=1, description="Worker processes (None = one per core)")
    threads_per_worker: int = Field(1, ge=1, description="Threads of each worker process")


class AddressSpec(_Spec):
    """An existing Dask scheduler (compose, Kubernetes, a cluster started by hand)."""

    backend: Literal["address"] = "address"
    address: str = Field(pattern=r"^\S+$", description="Scheduler address, tcp://host:8786")


class AdaptSpec(_Spec):
    """Bounds of dask-jobqueue's adaptive scaling, in batch jobs."""

    minimum: int = Field(0, ge=0, description="Jobs kept even when the queue is empty")
    maximum: int = Field(4, ge=1, description="Jobs at most, however long the queue")

    @model_validator(mode="after")
    def _ordered(self) -> AdaptSpec:
        if self.minimum > self.maximum:
            raise ValueError(f"adapt: expected minimum <= maximum, got {self.minimum} > {self.maximum}")
        return self


class JobqueueSpec(_Spec):
    """Workers started as batch jobs by dask-jobqueue; each job runs `processes` workers on `cores` cores."""

    backend: Literal["slurm", "pbs", "sge", "lsf"]
    queue: str | None = Field(None, description="Partition (SLURM) or queue (PBS, SGE, LSF)")
    account: str | None = Field(None, description="Account / project charged for the jobs")
    cores: int = Field(1, ge=1, description="Cores per job")
    processes: int = Field(1, ge=1, description="Dask worker processes per job (cores split among them)")
    memory: str = Field("2GB", description="Memory per job, e.g. 4GB")
    walltime: str | None = Field(None, description="Job time limit, e.g. 01:00:00")
    job_script_prologue: list[str] = Field(
        default_factory=list, description="Shell lines run before the worker (module load, venv, env vars)"
    )
    job_extra_directives: list[str] = Field(default_factory=list, description="Extra #SBATCH/#PBS lines")
    python: str | None = Field(None, description="Python that starts the workers (default: this one)")
    worker_extra_args: list[str] = Field(default_factory=list, description="Extra `dask worker` arguments")
    scheduler_options: dict[str, Any] = Field(
        default_factory=dict, description="Options of the scheduler the service runs, e.g. host, port"
    )
    log_directory: str | None = Field(None, description="Where the jobs' stdout/stderr go")
    local_directory: str | None = Field(None, description="Workers' scratch directory (node-local disk)")
    adapt: AdaptSpec = Field(default_factory=AdaptSpec, description="Scale the jobs with the queue")

    def cluster_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of the dask-jobqueue cluster class (unset options keep its defaults)."""
        return self.model_dump(exclude={"backend", "adapt"}, exclude_none=True, exclude_defaults=False)


ClusterSpec = Annotated[LocalSpec | AddressSpec | JobqueueSpec, Field(discriminator="backend")]
_ADAPTER: TypeAdapter[LocalSpec | AddressSpec | JobqueueSpec] = TypeAdapter(ClusterSpec)


def parse_cluster_spec(raw: Any) -> LocalSpec | AddressSpec | JobqueueSpec:
    """A spec from a mapping, `"local"`, or a scheduler address string; errors name the field."""
    if raw is None or raw == "local":
        return LocalSpec()
    if isinstance(raw, str):
        raw = {"address": raw}
    if not isinstance(raw, dict):
        raise ValueError(f"cluster spec: expected a mapping, 'local' or an address, got {type(raw).__name__}")
    if "backend" not in raw and "address" in raw:
        raw = {"backend": "address", **raw}
    return _ADAPTER.validate_python(raw)


def load_cluster_spec(source: str | Path) -> LocalSpec | AddressSpec | JobqueueSpec:
    """A spec from a YAML file, or `local` / `tcp://host:port` given directly (as on the command line)."""
    text = str(source)
    if text == "local" or "://" in text:
        return parse_cluster_spec(text)
    return parse_cluster_spec(yaml.safe_load(Path(source).read_text()))
