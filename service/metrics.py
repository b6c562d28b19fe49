"""Prometheus metrics of one app: sweeps and runs by status (read at scrape time), run durations."""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from worker.status import SWEEP_STATES

RUN_BUCKETS_S = (0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 10000)


class _StateCollector(Collector):
    """Gauges computed from the registry's entries when Prometheus scrapes."""

    def __init__(self, entries: Callable[[], Iterable[Any]]) -> None:
        self.entries = entries

    def collect(self) -> Iterator[GaugeMetricFamily]:
        sweeps = GaugeMetricFamily("pbn_sweeps", "Sweeps known to the service by state", labels=["state"])
        runs = GaugeMetricFamily("pbn_runs", "Runs of known sweeps by status", labels=["status"])
        by_state: Tally[str] = Tally()
        by_status: Tally[str] = Tally()
        for entry in self.entries():
            by_state[entry.state] += 1
            progress = entry.progress
            if progress is not None:
                by_status.update(progress.counts)
        for state in SWEEP_STATES:
            sweeps.add_metric([state], by_state[state])
        for status, n in sorted(by_status.items()):
            runs.add_metric([status], n)
        yield sweeps
        yield runs


class ServiceMetrics:
    """A private Prometheus registry per app (no global state shared between apps in one process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.sweeps_submitted = Counter(
            "pbn_sweeps_submitted", "Sweeps accepted by POST /sweeps", registry=self.registry
        )
        self.run_duration = Histogram(
            "pbn_run_duration_seconds",
            "Wall time of finished runs",
            buckets=RUN_BUCKETS_S,
            registry=self.registry,
        )

    def watch(self, entries: Callable[[], Iterable[Any]]) -> None:
        """Report sweeps and runs by status from `entries()` at every scrape."""
        self.registry.register(_StateCollector(entries))

    def render(self) -> bytes:
        return generate_latest(self.registry)
