"""Status queries per second and latency percentiles of GET /sweeps/{id} with 50 concurrent clients while a
sweep runs (target: p99 < 50 ms), beside a reference: a one-route FastAPI app under the same uvicorn and load.

    python bench/api.py [--clients 50] [--procs 5] [--seconds 10] [--embedded]

It starts a `dask scheduler`, one `dask worker` and `pbn serve` (or `pbn serve` alone with its embedded
LocalCluster, --embedded) on free ports with a temporary store, submits a sweep that keeps the worker busy,
and drives the API from `--procs` client processes, each running clients/procs httpx.AsyncClient loops
(one connection per client: a single process with 50 connections measures httpx's pool, not the server).
Everything it starts is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import numpy as np

SWEEP = {
    "name": "bench-api",
    "base": {"T": 60000, "eta_ei": 1.5e-5},
    "grid": {"N": [1000, 1200, 1400, 1600, 1800, 2000]},
    "replicates": 4,
    "record": {"weights": 10, "cells": 10, "dt": 10.0},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Child processes in their own sessions, stopped (SIGTERM, then SIGKILL) in reverse order."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "/tmp/numba-cache")}

    def start(self, args: list[str], env: dict[str, str] | None = None) -> None:
        self.procs.append(
            subprocess.Popen(
                args,
                env={**self.env, **(env or {})},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
            )
        )

    def stop(self) -> None:
        for proc in reversed(self.procs):
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(10)
        self.procs.clear()


def exe(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def wait_ok(url: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def start_pbn(procs: Processes, data: Path, embedded: bool) -> str:
    """`pbn serve` with its own LocalCluster (embedded) or against a separate scheduler and worker."""
    port = free_port()
    serve = [exe("pbn"), "serve", "--port", str(port), "--data", str(data)]
    if not embedded:
        sched = free_port()
        procs.start(
            [
                exe("dask"),
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(sched),
                "--dashboard-address",
                ":0",
            ]
        )
        procs.start(
            [exe("dask"), "worker", f"tcp://127.0.0.1:{sched}", "--nthreads", "1", "--host", "127.0.0.1"]
        )
        serve += ["--scheduler", f"tcp://127.0.0.1:{sched}"]
    procs.start(serve, env={"PBN_N_WORKERS": "1"})
    url = f"http://127.0.0.1:{port}"
    wait_ok(f"{url}/health")
    return url


def serve_reference(port: int) -> None:
    """The reference: one async route returning a small JSON object, under uvicorn like `pbn serve`."""
    import uvicorn
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="info")


async def _client(url: str, path: str, stop_at: float, latencies: list[float], errors: list[int]) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                response = await http.get(path)
            except httpx.HTTPError:  # counted, not fatal: the bench reports errors
                errors.append(-1)
                continue
            latencies.append(time.perf_counter() - t0)
            if response.status_code != 200:
                errors.append(response.status_code)


def _load_process(url: str, path: str, n: int, start_at: float, seconds: float, out: mp.Queue) -> None:
    async def run() -> tuple[list[float], list[int]]:
        while time.time() < start_at:
            await asyncio.sleep(0.005)
        latencies: list[float] = []
        errors: list[int] = []
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_client(url, path, stop_at, latencies, errors) for _ in range(n)))
        return latencies, errors

    try:
        out.put(asyncio.run(run()))
    except BaseException as exc:  # always answer, so the parent never waits for a dead client process
        out.put(([], [f"{type(exc).__name__}: {exc}"]))
        raise


def drive(url: str, path: str, clients: int, procs: int, seconds: float) -> dict[str, Any]:
    """Run `clients` concurrent request loops spread over `procs` processes; latency stats in ms."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    start_at = time.time() + 3.0  # all processes start together, after their imports
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    workers = [ctx.Process(target=_load_process, args=(url, path, n, start_at, seconds, out)) for n in shares]
    for w in workers:
        w.start()
    results = [out.get(timeout=seconds + 120) for _ in workers]
    for w in workers:
        w.join(30)
    ms = np.array([x for lat, _ in results for x in lat]) * 1000
    return {
        "requests": float(len(ms)),
        "qps": len(ms) / seconds,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "errors": float(sum(len(e) for _, e in results)),
        "error_kinds": sorted({str(x) for _, e in results for x in e})[:5],
    }


def line(name: str, r: dict[str, Any]) -> str:
    return (
        f"  {name:<34} {r['qps']:7.0f} q/s   p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms"
        f"   errors {r['errors']:.0f} {' '.join(r['error_kinds'])}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--procs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--embedded", action="store_true", help="LocalCluster inside the API process")
    parser.add_argument("--serve-reference", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_reference:
        serve_reference(opts.serve_reference)
        return
    procs, reference_proc = Processes(), Processes()
    with tempfile.TemporaryDirectory(prefix="pbn-bench-api-") as tmp:
        try:
            url = start_pbn(procs, Path(tmp), opts.embedded)
            sweep_id = httpx.post(f"{url}/sweeps", json=SWEEP, timeout=120).raise_for_status().json()["id"]
            time.sleep(2.0)  # the sweep is running from here on, for both measurements
            port = free_port()
            reference_proc.start([sys.executable, __file__, "--serve-reference", str(port)])
            wait_ok(f"http://127.0.0.1:{port}/ping")
            reference = drive(f"http://127.0.0.1:{port}", "/ping", opts.clients, opts.procs, opts.seconds)
            reference_proc.stop()
            ours = drive(url, f"/sweeps/{sweep_id}", opts.clients, opts.procs, opts.seconds)
            state = httpx.get(f"{url}/sweeps/{sweep_id}", timeout=30).json()
            httpx.delete(f"{url}/sweeps/{sweep_id}", timeout=60)
        finally:
            reference_proc.stop()
            procs.stop()
    where = "embedded LocalCluster" if opts.embedded else "separate dask scheduler + 1 worker"
    print(f"{opts.clients} concurrent clients in {opts.procs} processes, {opts.seconds:g} s each")
    print(f"  cluster: {where}")
    print(line("reference: FastAPI GET /ping", reference))
    print(line("pbn GET /sweeps/{id}, sweep running", ours))
    print(f"  sweep at the end: {state['state']}, {state['progress']:.0%} done")
    qps_ratio, p99_ratio = ours["qps"] / reference["qps"], ours["p99_ms"] / reference["p99_ms"]
    print(f"  ratio pbn/reference: throughput {qps_ratio:.2f}, p99 {p99_ratio:.2f}")
    verdict = "met" if ours["p99_ms"] < 50 else "missed"
    print(f"  p99 / target (50 ms) = {ours['p99_ms'] / 50:.2f} ({verdict})")
    print(
        f"  machine: {os.cpu_count()} cores, shared with other work (load average {os.getloadavg()[0]:.2f})"
    )


if __name__ == "__main__":
    main()
