"""Another user's status-poll latency while one user hammers the expensive reads (results table and summary
plot) with many connections, on 127.0.0.1, bounded in time.

    python bench/reads.py [--results 20] [--plots 30] [--seconds 20] [--before DIR]

It starts a `dask scheduler`, one `dask worker` and `pbn serve` with two users' tokens (bench/api.py's
helpers), lets alice's sweep finish, then measures bob's status polls (5 clients, each polling and then
waiting 100-250 ms) twice: alone, and while alice runs `--results` closed-loop connections on
`/results` and `--plots` on `plots/summary.png`. `--before DIR` serves the code of another checkout (e.g.
`git archive <commit> | tar -x -C DIR`) to compare before and after a change. Prints p50/p99 of bob's polls
and alice's answers by status.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from api import PACE_S, Processes, start_pbn  # bench/ is a folder of scripts, not a package

ALICE, BOB = "alice-bench-token-01", "bob-bench-token-0002"
SWEEP = {
    "name": "bench-reads",
    "base": {"T": 2000},
    "grid": {"N": [200, 300, 400, 500], "cx": [0.0, 0.05, 0.1, 0.2]},
    "replicates": 2,
    "record": {"weights": 10, "cells": 10, "dt": 10.0},
}
POLLERS = 5


async def _loop(url: str, token: str, path: str, stop_at: float, paced: bool, out: list) -> None:
    """One connection asking for `path` until `stop_at`: (latency s, status) per answer (-1: no answer)."""
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        while time.perf_counter() < stop_at:
            t0 = time.perf_counter()
            try:
                status = (await c.get(path)).status_code
            except httpx.HTTPError:
                status = -1
            out.append((time.perf_counter() - t0, status))
            if paced:
                await asyncio.sleep(random.uniform(*PACE_S))
            elif status == 429:
                await asyncio.sleep(0.001)  # a client that ignores Retry-After: the worst case


def _generator(
    url: str, jobs: list[tuple[str, str, int, bool]], seconds: float, start_at: float, q: Any
) -> None:
    """A process running `jobs` (token, path, connections, paced) together; puts {path: [(s, status)]}."""

    async def run() -> dict[str, list]:
        while time.time() < start_at:
            await asyncio.sleep(0.005)
        stop_at = time.perf_counter() + seconds
        results: dict[str, list] = {path: [] for _, path, _, _ in jobs}
        loops = [
            _loop(url, token, path, stop_at, paced, results[path])
            for token, path, n, paced in jobs
            for _ in range(n)
        ]
        await asyncio.gather(*loops)
        return results

    q.put(asyncio.run(run()))


def drive(url: str, groups: list[list[tuple[str, str, int, bool]]], seconds: float) -> dict[str, list]:
    """Each group of jobs in its own process, all starting together; merged answers by path."""
    ctx = mp.get_context("spawn")
    q: mp.Queue = ctx.Queue()
    start_at = time.time() + 3.0
    procs = [ctx.Process(target=_generator, args=(url, g, seconds, start_at, q)) for g in groups]
    for p in procs:
        p.start()
    merged: dict[str, list] = {}
    for _ in procs:
        merged.update(q.get(timeout=seconds + 120))
    for p in procs:
        p.join(30)
    return merged


def summary(answers: list[tuple[float, int]], seconds: float) -> str:
    ms = np.array([s for s, _ in answers]) * 1000
    statuses = dict(sorted(Counter(st for _, st in answers).items()))
    if not len(ms):
        return "no answers"
    p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
    return f"{len(ms) / seconds:7.1f} q/s  p50 {p50:8.1f} ms  p99 {p99:8.1f} ms  statuses {statuses}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=int, default=20, help="alice's connections on /results")
    parser.add_argument("--plots", type=int, default=30, help="alice's connections on plots/summary.png")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--before", type=Path, help="serve the code of this checkout instead")
    opts = parser.parse_args()
    assert opts.results + opts.plots <= 50 and opts.seconds <= 120, "bounded load only"
    procs = Processes()
    with tempfile.TemporaryDirectory(prefix="pbn-bench-reads-") as tmp:
        try:
            tokens = f"{ALICE}=alice,{BOB}=bob"
            url = start_pbn(procs, Path(tmp), embedded=False, tokens=tokens, source=opts.before)
            with httpx.Client(base_url=url, timeout=120) as http:
                alice_id = _submit(http, ALICE, SWEEP)
                bob_id = _submit(http, BOB, SWEEP | {"name": "bob", "grid": {"N": [250]}})
            poll = (BOB, f"/sweeps/{bob_id}", POLLERS, True)
            quiet = drive(url, [[poll]], opts.seconds)
            hammer = [
                (ALICE, f"/sweeps/{alice_id}/results", opts.results, False),
                (ALICE, f"/sweeps/{alice_id}/plots/summary.png?stat=rate_e_hz&x=N", opts.plots, False),
            ]
            loud = drive(url, [[poll], hammer], opts.seconds)
        finally:
            procs.stop()
    print(f"code: {opts.before or 'this checkout'}; {opts.seconds:g} s per measurement, 127.0.0.1")
    print(f"  bob's status polls, alone ({POLLERS} paced clients):  {summary(quiet[poll[1]], opts.seconds)}")
    print(f"  bob's status polls, alice hammering:            {summary(loud[poll[1]], opts.seconds)}")
    for _, path, n, _ in hammer:
        print(f"  alice, {n} connections on {path.split('/', 3)[-1]}: {summary(loud[path], opts.seconds)}")
    print(f"  machine: {os.cpu_count()} cores, shared (load average {os.getloadavg()[0]:.2f})")


def _submit(http: httpx.Client, token: str, definition: dict[str, Any]) -> str:
    """Submit and wait until the sweep is finished; its id."""
    headers = {"Authorization": f"Bearer {token}"}
    sweep_id = http.post("/sweeps", json=definition, headers=headers).raise_for_status().json()["id"]
    deadline = time.monotonic() + 600
    while http.get(f"/sweeps/{sweep_id}", headers=headers).json()["state"] not in ("done", "stopped"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"sweep {sweep_id} did not finish")
        time.sleep(0.5)
    return sweep_id


if __name__ == "__main__":
    main()
