"""Real Dask processes for tests: a `dask scheduler` and `dask worker`s on 127.0.0.1 (random free ports).

Importable from any test package (integration, e2e); every process is stopped by `DaskProcs.close`.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STARTUP_S = 60.0


def child_env() -> dict[str, str]:
    """Environment for child processes: the shared Numba cache, no dashboards, unbuffered output."""
    env = dict(os.environ)
    env.setdefault("NUMBA_CACHE_DIR", "/tmp/numba-cache")
    env["PYTHONUNBUFFERED"] = "1"
    env["DASK_DISTRIBUTED__WORKER__DAEMON"] = "False"
    return env


class DaskProcs:
    """A scheduler process plus worker processes; `address` is the scheduler's tcp address."""

    def __init__(
        self, workdir: Path, n_workers: int = 2, nthreads: int = 1, env: dict[str, str] | None = None
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.nthreads = nthreads
        self.env = {**child_env(), **(env or {})}
        self.workers: list[subprocess.Popen] = []
        self.scheduler, self.address = self._start_scheduler()
        for _ in range(n_workers):
            self.add_worker()
        self.wait_for_workers(n_workers)

    def _start_scheduler(self) -> tuple[subprocess.Popen, str]:
        info = self.workdir / "scheduler.json"
        info.unlink(missing_ok=True)
        cmd = [
            sys.executable,
            "-m",
            "distributed.cli.dask_scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--no-dashboard",
            "--scheduler-file",
            str(info),
        ]
        proc = self._spawn(cmd, "scheduler")
        deadline = time.monotonic() + STARTUP_S
        while time.monotonic() < deadline:
            if info.exists():
                try:
                    return proc, json.loads(info.read_text())["address"]
                except (ValueError, KeyError):
                    pass
            if proc.poll() is not None:
                raise RuntimeError(f"dask scheduler exited with {proc.returncode}; see {self.workdir}")
            time.sleep(0.1)
        raise TimeoutError("dask scheduler did not start")

    def add_worker(self) -> subprocess.Popen:
        """Start one more worker process (no nanny: killing it really removes it)."""
        name = f"w{len(self.workers)}"
        cmd = [
            sys.executable,
            "-m",
            "distributed.cli.dask_worker",
            self.address,
            "--host",
            "127.0.0.1",
            "--nthreads",
            str(self.nthreads),
            "--nworkers",
            "1",
            "--no-nanny",
            "--no-dashboard",
            "--name",
            name,
            "--local-directory",
            str(self.workdir / name),
        ]
        proc = self._spawn(cmd, name)
        self.workers.append(proc)
        return proc

    def _spawn(self, cmd: list[str], name: str) -> subprocess.Popen:
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        return subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )

    def wait_for_workers(self, n: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=STARTUP_S) as client:
            client.wait_for_workers(n, timeout=STARTUP_S)

    def kill_worker(self, i: int) -> None:
        """SIGKILL one worker process (as the OOM killer or a crash would)."""
        self.workers[i].send_signal(signal.SIGKILL)
        self.workers[i].wait(timeout=30)

    def close(self) -> None:
        """Stop every process this object started (workers first)."""
        for proc in [*self.workers, self.scheduler]:
            stop_process(proc)

    def __enter__(self) -> DaskProcs:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM, then SIGKILL if it lingers; always reaped."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)
