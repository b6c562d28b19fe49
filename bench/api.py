"""Status queries per second and latency percentiles of GET /sweeps/{id} with 50 concurrent clients while a
sweep runs (target: p99 < 50 ms), beside a reference: a one-route FastAPI app under the same uvicorn and load.

    python bench/api.py [--clients 50] [--seconds 10] [--embedded] [--httpx [--procs 5]]

It starts a `dask scheduler`, one `dask worker` and `pbn serve` (with an API token, so every request is
authenticated; or `pbn serve` alone with its embedded LocalCluster, --embedded) on free ports with a temporary
store, submits a sweep that keeps the worker busy, and measures two load patterns on both apps:
closed loop (each client asks again as soon as it has its answer: the most the server can take) and the lab
pattern (each client polls, then waits 100-250 ms, as a script or a browser watching progress does).
The load generator is `wrk` (native, `apt-get install wrk`; 2 threads, one connection per client) when it
is installed, else httpx.AsyncClient loops spread over `--procs` processes (a Python generator on the same
cores costs more CPU than the server: its numbers are upper bounds). Everything it starts is stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
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


TOKEN = os.environ.setdefault("PBN_BENCH_TOKEN", "bench-" + secrets.token_urlsafe(16))  # spawned clients
HEADERS = {"Authorization": f"Bearer {TOKEN}"}
PACE_S = (0.100, 0.250)  # the lab pattern: each client waits 100-250 ms between status polls
KINDS = {
    "closed": "closed loop (each client asks again as soon as it has the answer)",
    "paced": "lab pattern (each client polls, then waits 100-250 ms)",
}


@dataclass(frozen=True)
class Load:
    """How the load generator runs: clients, processes (httpx only), seconds, pause between polls."""

    clients: int
    procs: int
    seconds: float
    pace_s: tuple[float, float] | None
    use_wrk: bool


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Processes:
    """Child processes in their own sessions, stopped (SIGTERM, then SIGKILL) in reverse order."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen] = []
        self.env = {**os.environ, "NUMBA_CACHE_DIR": os.environ.get("NUMBA_CACHE_DIR", "/tmp/numba-cache")}

    def start(self, args: list[str], env: dict[str, str] | None = None, cwd: str | None = None) -> None:
        self.procs.append(
            subprocess.Popen(
                args,
                env={**self.env, **(env or {})},
                cwd=cwd,
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


def start_pbn(
    procs: Processes, data: Path, embedded: bool, tokens: str = f"{TOKEN}=bench", source: Path | None = None
) -> str:
    """`pbn serve` with its own LocalCluster (embedded) or against a separate scheduler and worker;
    `source`: serve the code of that checkout instead (PYTHONPATH), to compare before and after a change."""
    port = free_port()
    serve = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--data", str(data)]
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
    env = {"PBN_N_WORKERS": "1", "PBN_TOKENS": tokens} | ({"PYTHONPATH": str(source)} if source else {})
    procs.start(serve, env=env, cwd=str(source) if source else None)
    url = f"http://127.0.0.1:{port}"
    wait_ok(f"{url}/health")
    return url


def serve_reference(port: int) -> None:
    """The reference: one async route returning a small JSON object, under uvicorn like `pbn serve`."""
    import uvicorn
    from fastapi import FastAPI

    from service.cli_client import UVICORN_OPTIONS

    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    uvicorn.run(app, host="127.0.0.1", port=port, **UVICORN_OPTIONS)


async def _client(
    url: str, path: str, stop_at: float, pace_s: tuple[float, float] | None, out: tuple[list, list]
) -> None:
    """One connection polling `path` until `stop_at`; with `pace_s` it waits that long between polls."""
    latencies, errors = out
    rng = random.Random()
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=30) as http:
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
            if pace_s is not None:
                await asyncio.sleep(rng.uniform(*pace_s))


def _load_process(
    url: str, path: str, n: int, start_at: float, opts: tuple[float, Any], out: mp.Queue
) -> None:
    seconds, pace_s = opts

    async def run() -> tuple[list[float], list[int]]:
        while time.time() < start_at:
            await asyncio.sleep(0.005)
        result: tuple[list[float], list[int]] = ([], [])
        stop_at = time.perf_counter() + seconds
        await asyncio.gather(*(_client(url, path, stop_at, pace_s, result) for _ in range(n)))
        return result

    try:
        out.put(asyncio.run(run()))
    except BaseException as exc:  # always answer, so the parent never waits for a dead client process
        out.put(([], [f"{type(exc).__name__}: {exc}"]))
        raise


def drive_httpx(url: str, path: str, load: Load) -> dict[str, Any]:
    """The Python fallback: `clients` request loops of httpx spread over `procs` processes."""
    ctx = mp.get_context("spawn")
    out: mp.Queue = ctx.Queue()
    start_at = time.time() + 3.0  # all processes start together, after their imports
    shares = [load.clients // load.procs + (i < load.clients % load.procs) for i in range(load.procs)]
    args = (load.seconds, load.pace_s)
    workers = [ctx.Process(target=_load_process, args=(url, path, n, start_at, args, out)) for n in shares]
    for w in workers:
        w.start()
    results = [out.get(timeout=load.seconds + 120) for _ in workers]
    for w in workers:
        w.join(30)
    ms = np.array([x for lat, _ in results for x in lat]) * 1000
    return {
        "qps": len(ms) / load.seconds,
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "errors": float(sum(len(e) for _, e in results)),
        "error_kinds": sorted({str(x) for _, e in results for x in e})[:5],
    }


WRK_SCRIPT = """
wrk.headers["Authorization"] = "Bearer %s"
local pace = %s
function delay()
  if pace then return math.random(pace[1], pace[2]) end
  return 0
end
"""


def drive_wrk(url: str, path: str, load: Load) -> dict[str, Any]:
    """wrk (native, event-driven): `clients` connections on 2 threads, latency percentiles from --latency."""
    pace = "{{{}, {}}}".format(*(round(x * 1000) for x in load.pace_s)) if load.pace_s else "nil"
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(WRK_SCRIPT % (TOKEN, pace))
    try:
        args = ["wrk", "-c", str(load.clients), "-t", "2", "-d", f"{load.seconds:g}s", "--latency"]
        text = subprocess.run(
            [*args, "-s", script.name, "--timeout", "30s", url + path],
            capture_output=True,
            text=True,
            check=True,
            timeout=load.seconds + 60,
        ).stdout
    finally:
        os.unlink(script.name)
    return parse_wrk(text)


def parse_wrk(text: str) -> dict[str, Any]:
    """Requests/s, p50, p99 (ms) and error counts from wrk's --latency report."""
    unit = {"us": 1e-3, "ms": 1.0, "s": 1000.0}

    def percentile(p: int) -> float:
        m = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)
        if m is None:
            raise RuntimeError(f"no {p}% line in wrk's output:\n{text}")
        return float(m.group(1)) * unit[m.group(2)]

    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    sock = re.search(r"Socket errors: (.*)", text)
    return {
        "qps": float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)),  # type: ignore[union-attr]
        "p50_ms": percentile(50),
        "p99_ms": percentile(99),
        "errors": float(bad.group(1)) if bad else 0.0,
        "error_kinds": [f"socket errors: {sock.group(1)}"] if sock else [],
    }


def line(name: str, r: dict[str, Any]) -> str:
    return (
        f"  {name:<40} {r['qps']:7.0f} q/s   p50 {r['p50_ms']:7.1f} ms   p99 {r['p99_ms']:7.1f} ms"
        f"   errors {r['errors']:.0f} {' '.join(r['error_kinds'])}"
    )


def measure(url: str, path: str, load: Load, closed: bool) -> dict[str, Any]:
    """Closed loop (every client asks again at once) or paced (each waits 100-250 ms between polls)."""
    load = Load(load.clients, load.procs, load.seconds, None if closed else PACE_S, load.use_wrk)
    return (drive_wrk if load.use_wrk else drive_httpx)(url, path, load)


def measure_reference(load: Load) -> dict[str, dict[str, Any]]:
    """The one-route reference app under the same uvicorn options and load, while the sweep runs."""
    reference_proc, port = Processes(), free_port()
    try:
        reference_proc.start([sys.executable, __file__, "--serve-reference", str(port)])
        wait_ok(f"http://127.0.0.1:{port}/ping")
        url = f"http://127.0.0.1:{port}"
        return {kind: measure(url, "/ping", load, kind == "closed") for kind in KINDS}
    finally:
        reference_proc.stop()


def report(opts: argparse.Namespace, load: Load, reference: dict, ours: dict, state: dict) -> None:
    where = "embedded LocalCluster" if opts.embedded else "separate dask scheduler + 1 worker"
    generator = "wrk -t 2" if load.use_wrk else f"httpx in {load.procs} processes"
    if not load.use_wrk and not opts.httpx:
        generator += " (wrk not installed: apt-get install wrk)"
    print(f"{load.clients} concurrent clients, {load.seconds:g} s per measurement")
    print(f"  load generator: {generator}")
    print(f"  cluster: {where}; a sweep runs throughout")
    for kind, label in KINDS.items():
        print(f"{label}:")
        print(line("reference: FastAPI GET /ping", reference[kind]))
        print(line("pbn GET /sweeps/{id}", ours[kind]))
        qps_ratio = ours[kind]["qps"] / reference[kind]["qps"]
        p99_ratio = ours[kind]["p99_ms"] / reference[kind]["p99_ms"]
        print(f"  ratio pbn/reference: throughput {qps_ratio:.2f}, p99 {p99_ratio:.2f}")
        verdict = "met" if ours[kind]["p99_ms"] < 50 else "missed"
        print(f"  p99 / target (50 ms) = {ours[kind]['p99_ms'] / 50:.2f} ({verdict})")
    print(f"  sweep at the end: {state['state']}, {state['progress']:.0%} done")
    print(
        f"  machine: {os.cpu_count()} cores, shared with other work (load average {os.getloadavg()[0]:.2f})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--procs", type=int, default=5, help="client processes of the httpx generator")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--embedded", action="store_true", help="LocalCluster inside the API process")
    parser.add_argument("--httpx", action="store_true", help="use the httpx generator even if wrk exists")
    parser.add_argument("--serve-reference", type=int, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_reference:
        serve_reference(opts.serve_reference)
        return
    use_wrk = shutil.which("wrk") is not None and not opts.httpx
    load = Load(opts.clients, opts.procs, opts.seconds, None, use_wrk)
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="pbn-bench-api-") as tmp:
        try:
            url = start_pbn(procs, Path(tmp), opts.embedded)
            with httpx.Client(base_url=url, headers=HEADERS, timeout=120) as http:
                sweep_id = http.post("/sweeps", json=SWEEP).raise_for_status().json()["id"]
                time.sleep(2.0)  # the sweep is running from here on, for every measurement
                reference = measure_reference(load)
                path = f"/sweeps/{sweep_id}"
                ours = {kind: measure(url, path, load, kind == "closed") for kind in KINDS}
                state = http.get(path).json()
                http.delete(path)
        finally:
            procs.stop()
    report(opts, load, reference, ours, state)


if __name__ == "__main__":
    main()
