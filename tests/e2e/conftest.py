"""Real processes for the e2e tests: `dask scheduler`, `dask worker`s and `pbn serve` on 127.0.0.1.

The command lines live here once (SCHEDULER_CMD, WORKER_CMD, SERVE_CMD) so tests/unit/test_deploy.py can
check that docker-compose.yml runs the same commands.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.service_live import free_port

BIN = Path(sys.executable).parent
SCHEDULER_CMD = [
    "dask",
    "scheduler",
    "--host",
    "{host}",
    "--port",
    "{port}",
    "--dashboard-address",
    "{dashboard}",
]
WORKER_CMD = [
    "dask",
    "worker",
    "{scheduler}",
    "--nthreads",
    "1",
    "--memory-limit",
    "4GiB",
    "--host",
    "{host}",
]
SERVE_CMD = [
    "pbn",
    "serve",
    "--host",
    "{host}",
    "--port",
    "{port}",
    "--scheduler",
    "{scheduler}",
    "--data",
    "{data}",
]
TOKEN = "e2e-token-00001"
ADMIN_TOKEN = "e2e-admin-00001"  # sees worker names in GET /cluster (users see worker-0, ...)


def command(template: list[str], **values: object) -> list[str]:
    """Fill a command template; the executable comes from this environment's bin directory."""
    args = [part.format(**values) for part in template]
    return [str(BIN / args[0]), *args[1:]]


class Proc:
    """A child process in its own session (so SIGKILL takes its children, e.g. a worker's nanny + worker)."""

    def __init__(self, args: list[str], log: Path, env: dict[str, str] | None = None) -> None:
        self.log = log
        self.handle = log.open("ab")
        full_env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "/tmp/numba-cache")}
        self.popen = subprocess.Popen(
            args,
            stdout=self.handle,
            stderr=subprocess.STDOUT,
            env={**full_env, **(env or {})},
            start_new_session=True,
        )

    def signal(self, sig: int) -> None:
        if self.popen.poll() is None:
            os.killpg(self.popen.pid, sig)

    def stop(self, timeout: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after `timeout`; always reaps the process."""
        self.signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.signal(signal.SIGKILL)
            self.popen.wait(10)
        self.handle.close()

    def kill(self) -> None:
        self.signal(signal.SIGKILL)
        self.popen.wait(10)
        self.handle.close()


def wait_http(url: str, proc: Proc, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.popen.poll() is not None:
            raise RuntimeError(f"process exited early; see {proc.log}:\n{proc.log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer; see {proc.log}")


def wait_workers(dashboard: str, n: int, timeout: float = 90.0) -> None:
    """Wait until the scheduler reports `n` workers (dashboard JSON of the scheduler)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            info = httpx.get(f"{dashboard}/info/main/workers.html", timeout=2)
            if info.status_code == 200 and info.text.count("tcp://127.0.0.1") >= n:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"fewer than {n} workers joined")


class Cluster:
    """A scheduler and named workers, each a real process."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.port, dash = free_port(), free_port()
        self.address = f"tcp://127.0.0.1:{self.port}"
        self.dashboard = f"http://127.0.0.1:{dash}"
        args = command(SCHEDULER_CMD, host="127.0.0.1", port=self.port, dashboard=f"127.0.0.1:{dash}")
        self.scheduler = Proc(args, logs / "scheduler.log")
        wait_http(f"{self.dashboard}/health", self.scheduler)
        self.workers: dict[str, Proc] = {}

    def add_worker(self, name: str) -> Proc:
        args = [*command(WORKER_CMD, scheduler=self.address, host="127.0.0.1"), "--name", name]
        self.workers[name] = Proc(args, self.logs / f"worker-{name}.log")
        return self.workers[name]

    def close(self) -> None:
        for worker in self.workers.values():
            worker.stop()
        self.scheduler.stop()


class Api:
    """`pbn serve` against the cluster, on a fresh port, with one token."""

    def __init__(self, cluster: Cluster, data: Path, logs: Path, name: str = "api") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = command(SERVE_CMD, host="127.0.0.1", port=self.port, scheduler=cluster.address, data=data)
        env = {"PBN_TOKENS": f"{TOKEN}=e2e,{ADMIN_TOKEN}=ops:admin", "PBN_USER_MAX_CONCURRENT_RUNS": "2"}
        self.proc = Proc(args, logs / f"{name}.log", env=env)
        wait_http(f"{self.url}/health", self.proc)

    def http(self, token: str = TOKEN) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=60)


@pytest.fixture(scope="module")
def logs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("e2e-logs")


@pytest.fixture(scope="module")
def cluster(logs) -> Iterator[Cluster]:
    c = Cluster(logs)
    try:
        c.add_worker("a")
        c.add_worker("b")
        wait_workers(c.dashboard, 2)
        yield c
    finally:
        c.close()
