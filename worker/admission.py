"""Admission figures of a prepared sweep on a cluster: the memory budget of its workers and what the sweep
will cost there (core-hours, the largest run's peak memory, the expected wall time)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from sim.cost import DEFAULT_MODEL, CostModel, estimate


@dataclass(frozen=True)
class SweepEstimate:
    """What `--explain` and the submit answer show."""

    n_runs: int
    core_hours: float
    peak_memory_gb_per_run: float
    expected_wall_s: float | None  # None when the cluster has no worker threads yet
    threads: int
    model: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def memory_budget(client: Any) -> float | None:
    """The smallest memory limit of the cluster's workers (bytes), or None when none reports one."""
    try:
        workers = client.scheduler_info().get("workers", {}).values()
    except Exception:  # a lost scheduler: no budget known, the configured limit still applies
        return None
    limits = [float(w["memory_limit"]) for w in workers if w.get("memory_limit")]
    return min(limits) if limits else None


def worker_threads(client: Any) -> int:
    try:
        return int(sum(client.nthreads().values()))
    except Exception:
        return 0


def estimate_sweep(runs: list[Any], threads: int, model: CostModel = DEFAULT_MODEL) -> SweepEstimate:
    """Totals over runs (`runs[i].params`), with the wall time if the runs spread over `threads` cores."""
    costs = [estimate(r.params, model) for r in runs]
    core_s = sum(c.cpu_s for c in costs)
    return SweepEstimate(
        n_runs=len(runs),
        core_hours=core_s / 3600.0,
        peak_memory_gb_per_run=max((c.memory_bytes for c in costs), default=0.0) / 1e9,
        expected_wall_s=core_s / threads if threads > 0 else None,
        threads=threads,
        model=model.measured_on,
    )
