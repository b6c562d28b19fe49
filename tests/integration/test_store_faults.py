"""A store that cannot be written, for real: the data directory is a small tmpfs remounted read-only in the
middle of a sweep. The sweep is shown in state `error` with the OS error, and resumes by itself once the
filesystem is writable again; nothing finished is lost or recomputed."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for
from worker.store import SweepStore

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 64 MB tmpfs (mounting needs root, as CI and the dev machines have)."""
    mount = tmp_path / "data"
    mount.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)], check=True)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def test_a_read_only_store_pauses_the_sweep_visibly_and_it_heals(local_cluster, tmpfs):
    settings = Settings(data=tmpfs, scheduler=local_cluster.scheduler_address, user_max_concurrent_runs=1)
    body = small_sweep("ro", n_values=(400, 420, 440, 460, 480, 500), T=1500.0)
    with LiveServer(settings) as live, live.http() as http:
        sweep_id = http.post("/sweeps", json=body).raise_for_status().json()["id"]
        wait_for(http, sweep_id, until=lambda s: s["counts"]["done"] >= 2)
        _remount(tmpfs, "ro")
        try:
            paused = wait_for(http, sweep_id, until=lambda s: s["state"] == "error", timeout=60)
        finally:
            time.sleep(1.0)  # let the check after the pause find the store still read-only once
            _remount(tmpfs, "rw")
        assert "Read-only file system" in paused["problem"] and "retrying in" in paused["problem"]
        done_before = {i for i in range(6) if SweepStore(tmpfs).statuses(sweep_id)[i] == "done"}
        final = wait_for(http, sweep_id, timeout=120)
    assert final["state"] == "done" and final["counts"]["done"] == 6 and final["problem"] is None
    assert final["errors"] == []
    store = SweepStore(tmpfs)
    for index in done_before:  # finished before the pause: kept, not recomputed
        assert store.run_info(sweep_id, index)["attempt"] == 1
