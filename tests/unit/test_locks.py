"""One coordinator per sweep and one server per data directory, with locks that a crashed holder cannot leave
stuck: real processes hold them, and SIGKILL frees them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from service.cli import app as cli_app
from service.settings import Settings
from tests.service_live import LiveServer
from worker.store import SweepStore
from worker.store.locks import HeldError, server_lock, sweep_lock
from worker.sweep import expand_sweep, load_definition

HOLD = """
import sys, time
from pathlib import Path
from worker.store.locks import sweep_lock
lock = sweep_lock(Path(sys.argv[1]), sys.argv[2]).acquire()
print("held", flush=True)
time.sleep(600)
"""


def _holder(root: Path, sweep_id: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(root), sweep_id], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def test_a_second_coordinator_is_refused_naming_the_holder_and_a_crash_frees_the_lock(tmp_path):
    from distributed import Client

    from worker.runner import SweepRunner

    store = SweepStore(tmp_path)
    defn = load_definition({"base": {"N": 100, "T": 50.0}, "analysis": {"window": 10.0}})
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    proc = _holder(tmp_path, sweep_id)
    try:
        with Client(processes=False, n_workers=1, threads_per_worker=1, dashboard_address=None) as client:
            runner = SweepRunner(client, store)
            with pytest.raises(HeldError, match=rf"already coordinated by pid {proc.pid} on "):
                runner.run(sweep_id)
            assert store.statuses(sweep_id) == ["pending"]  # refused before touching anything
            proc.send_signal(signal.SIGKILL)
            proc.wait(10)
            assert runner.run(sweep_id).done == 1  # the dead holder left nothing stuck
    finally:
        if proc.poll() is None:
            proc.kill()


def test_the_same_sweep_cannot_be_coordinated_twice_in_one_process(tmp_path):
    with sweep_lock(tmp_path, "s1"), pytest.raises(HeldError, match=f"by pid {os.getpid()} on"):
        sweep_lock(tmp_path, "s1").acquire()
    with sweep_lock(tmp_path, "s1"):  # released on exit
        pass


def test_a_second_server_on_one_data_directory_is_refused(local_cluster, tmp_path):
    settings = Settings(data=tmp_path, scheduler=local_cluster.scheduler_address)
    with LiveServer(settings):
        result = CliRunner().invoke(cli_app, ["serve", "--data", str(tmp_path), "--port", "1"])
        said = " ".join(result.output.split())
        assert result.exit_code == 2, said
        assert f"data directory {tmp_path}: already coordinated by pid {os.getpid()} on" in said
    deadline = time.monotonic() + 10
    while True:  # the stopped server gave it back
        try:
            server_lock(tmp_path).acquire().release()
            break
        except HeldError:
            assert time.monotonic() < deadline
            time.sleep(0.1)
