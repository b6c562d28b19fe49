"""service/cluster_watch.py against a real `dask scheduler` process that is killed and started again on
the same port: the degraded reason appears, then the client reconnects by itself, or a new one is built."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from distributed import Client

from service.cluster_watch import ClusterWatch
from tests.cluster_procs import child_env, stop_process
from tests.deploy.conftest import free_port, wait_for

pytestmark = pytest.mark.deploy


def start_scheduler(port: int, log: Path) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        [*cmd, "--no-dashboard"], stdout=log.open("ab"), stderr=subprocess.STDOUT, env=child_env()
    )


class FakeRegistry:
    """What the watch uses of the registry: `client` (replaced on rebuild) and `entries()`."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.entry = SimpleNamespace(version=0)

    def entries(self) -> list[Any]:
        return [self.entry]


def test_deploy_watch_reports_loss_and_recovers_by_reconnect_and_by_rebuild(tmp_path: Path) -> None:
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp_path / "scheduler.log"
    scheduler = start_scheduler(port, log)
    reconnected: list[Client] = []
    Client(address, timeout=60).close()  # the scheduler is up
    first = Client(address, timeout=15)  # the client's timeout is also how long it tries to reconnect
    registry = FakeRegistry(first)

    def build() -> Client:
        return Client(address, timeout=2)

    watch = ClusterWatch(registry, build, on_reconnect=reconnected.append, poll_s=0.2).start()
    try:
        assert watch.reason is None
        # 1. killed and back within the client's reconnect window: the same client reconnects
        scheduler.kill()
        scheduler.wait(30)
        reason = wait_for(lambda: watch.reason, 30, "the degraded reason")
        assert address in reason and "reconnecting" in reason, reason
        assert registry.entry.version > 0  # cached sweep views go stale, so they show the reason
        scheduler = start_scheduler(port, log)
        wait_for(lambda: watch.reason is None, 60, "the reconnect")
        assert registry.client is first and first.status == "running" and reconnected == [first]
        # 2. down longer than the window: the client closes and the watch builds a new one
        scheduler.kill()
        scheduler.wait(30)
        wait_for(lambda: first.status in ("closed", "closing"), 60, "the old client to give up")
        wait_for(lambda: "cannot reconnect yet" in (watch.reason or ""), 60, "a failed rebuild")
        scheduler = start_scheduler(port, log)
        wait_for(lambda: registry.client is not first and watch.reason is None, 60, "a new client")
        assert registry.client.status == "running" and watch.reconnects == 1
        assert registry.client.scheduler_info()["address"] == address
    finally:
        watch.stop()
        registry.client.close()
        first.close()
        stop_process(scheduler)
