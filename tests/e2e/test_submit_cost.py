"""`POST /sweeps` never simulates: the summary keys are declared (sim.vocabulary), so submitting the longest
allowed run with a huge analysis window costs the API process no CPU and no memory to speak of.

Before, a probe simulation ran inside the request (29 s and 5.9 GB RSS at T=1e6 ms). The scheduler here has
no workers, so the accepted run never starts anywhere; the sweep is purged afterwards."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.e2e.conftest import Api, Cluster

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s_and_rss(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and resident bytes of a process and its children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICKS
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
    return cpu, rss


def test_submitting_a_long_run_with_a_huge_window_costs_no_simulation(tmp_path):
    cluster = Cluster(tmp_path)  # a scheduler without workers: nothing accepted here ever runs
    try:
        api = Api(cluster, tmp_path / "data", tmp_path)
        try:
            with api.http() as http:
                assert http.get("/sweeps").status_code == 200  # warm: routes, auth, registry
                cpu0, rss0 = _cpu_s_and_rss(api.proc.popen.pid)
                body = {"name": "long", "base": {"N": 2000, "T": 3.6e6}, "analysis": {"window": 1.0e6}}
                created = http.post("/sweeps", json=body)
                cpu1, rss1 = _cpu_s_and_rss(api.proc.popen.pid)
                assert created.status_code == 201, created.text
                assert (
                    http.delete(f"/sweeps/{created.json()['id']}", params={"purge": True}).status_code == 200
                )
        finally:
            api.proc.stop()
    finally:
        cluster.close()
    # a probe run of this definition took ~30 s of CPU and GBs; the submission itself needs milliseconds
    assert cpu1 - cpu0 < 1.0, f"the API spent {cpu1 - cpu0:.2f} CPU s on one submission"
    assert rss1 - rss0 < 100e6, f"the API grew by {(rss1 - rss0) / 1e6:.0f} MB on one submission"
