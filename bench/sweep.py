"""Sweep engine benchmark: throughput with 1 and 2 workers, per-task overhead beyond the simulation,
store size per run, and the cost of expanding + creating a 10,000-run sweep. Prints ratios; asserts nothing.

    NUMBA_CACHE_DIR=/tmp/numba-cache python bench/sweep.py [--runs 8] [--N 2000] [--T 16000]

The in-task overhead is measured for runs of ~1 s and ~3 s on this machine (T scaled by a reference run).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from pathlib import Path

from distributed import Client, LocalCluster

from sim import simulate
from worker import tasks
from worker.cluster import warm_up
from worker.runner import SweepRunner
from worker.store import SweepStore
from worker.sweep import expand_sweep, load_definition
from worker.tasks import run_point


def definition(runs: int, N: int, T: float) -> dict:
    """`runs` independent replicates of one point (identical cost per run)."""
    return {
        "name": "bench",
        "base": {"N": N, "T": T},
        "replicates": runs,
        "seed": 1,
        "record": {"dt": 10.0, "weights": 100, "cells": 20},
    }


def run_with(workers: int, defn: dict, root: Path) -> dict:
    """Run the sweep on a fresh LocalCluster of `workers` single-threaded processes; time only the sweep."""
    store = SweepStore(root)
    d = load_definition(defn)
    sweep_id = store.create_sweep(d, expand_sweep(d))
    with (
        LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, host="127.0.0.1"
        ) as cluster,
        Client(cluster) as client,
    ):
        warm_up(client)
        t0 = time.perf_counter()
        final = SweepRunner(client, store).run(sweep_id)
        wall = time.perf_counter() - t0
    sim = sum(float(store.run_info(sweep_id, i)["sim_wall_s"]) for i in range(final.total))
    size = sum(p.stat().st_size for p in store.path(sweep_id).rglob("*") if p.is_file())
    return {
        "workers": workers,
        "runs": final.total,
        "done": final.done,
        "wall_s": wall,
        "runs_per_s": final.total / wall,
        "sim_s": sim,
        "total_overhead": (wall * workers - sim) / sim,
        "store_bytes_per_run": size / final.total,
    }


def in_task_overhead(defn: dict, root: Path, n: int = 4) -> dict:
    """run_point in this process: (task wall - simulate() wall) / simulate() wall over runs 2..n, and the same
    in CPU seconds of this process (steadier when other jobs share the cores); the first run of a sweep in a
    process also opens the sweep's array handles (once), reported apart."""
    store = SweepStore(root)
    d = load_definition({**defn, "replicates": n})
    runs = expand_sweep(d)
    sweep_id = store.create_sweep(d, runs)
    sim_cpu: list[float] = []
    simulate_one = tasks._simulate

    def timed(params_json: str) -> object:
        c0 = time.process_time()
        try:
            return simulate_one(params_json)
        finally:
            sim_cpu.append(time.process_time() - c0)

    outs, task_cpu = [], []
    tasks._simulate = timed
    try:
        for r in runs:
            c0 = time.process_time()
            outs.append(run_point(str(root), sweep_id, r.index, r.params, 1))
            task_cpu.append(time.process_time() - c0)
    finally:
        tasks._simulate = simulate_one
    extras = [o["wall_s"] - o["sim_wall_s"] for o in outs]
    sim = sum(o["sim_wall_s"] for o in outs[1:])
    return {
        "sim_s": sim / (n - 1),
        "overhead_ms": 1000 * sum(extras[1:]) / (n - 1),
        "ratio": sum(extras[1:]) / sim,
        "cpu_ratio": (sum(task_cpu[1:]) - sum(sim_cpu[1:])) / sum(sim_cpu[1:]),
        "first_extra_ms": 1000 * (extras[0] - sum(extras[1:]) / (n - 1)),
    }


def bench_expansion(root: Path, n: int = 10_000) -> dict:
    """Expand and create a sweep of `n` runs (metadata only, nothing runs)."""
    d = load_definition(
        {"name": "big", "base": {"N": 1000, "T": 1000.0}, "grid": {"cx": [i / n for i in range(n)]}}
    )
    t0 = time.perf_counter()
    runs = expand_sweep(d)
    t1 = time.perf_counter()
    store = SweepStore(root)
    sweep_id = store.create_sweep(d, runs)
    t2 = time.perf_counter()
    store.statuses(sweep_id)
    t3 = time.perf_counter()
    return {"runs": n, "expand_s": t1 - t0, "create_s": t2 - t1, "read_statuses_s": t3 - t2}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8)
    parser.add_argument("--N", type=int, default=2000)
    parser.add_argument("--T", type=float, default=16000.0)
    args = parser.parse_args()
    defn = definition(args.runs, args.N, args.T)
    run0 = expand_sweep(load_definition(defn))[0]
    simulate(run0.params.model_copy(update={"T": 100.0}))  # compile / load cache
    t0 = time.perf_counter()
    simulate(run0.params)
    reference = time.perf_counter() - t0
    print(f"reference: one run in this process (N={args.N}, T={args.T:g} ms): {reference:.3f} s")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for workers in (1, 2):
            results.append(run_with(workers, defn, Path(tmp) / f"w{workers}"))
            print(json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in results[-1].items()}))
        expansion = bench_expansion(Path(tmp) / "big")
        in_task = [  # runs of ~1 s and ~3 s here (T scaled by the reference run)
            in_task_overhead({**defn, "base": {"N": args.N, "T": t_ms}}, Path(tmp) / f"in-task-{k}", n)
            for k, n in ((1, 5), (3, 3))
            if (t_ms := 1000.0 * math.ceil(k * args.T / reference / 1000.0))
        ]
    one, two = results
    print(
        f"throughput: 1 worker {one['runs_per_s']:.3f} runs/s, 2 workers {two['runs_per_s']:.3f} runs/s, "
        f"speed-up {two['runs_per_s'] / one['runs_per_s']:.2f}x (target >= 1.8x)"
    )
    print(
        "overhead beyond the simulation (1 worker, sweep wall incl. scheduling): "
        f"{100 * one['total_overhead']:.2f}%"
    )
    for o in in_task:
        print(
            f"overhead inside the task (store I/O), {o['sim_s']:.2f}-s runs: {100 * o['ratio']:.2f}% of wall "
            f"({o['overhead_ms']:.1f} ms per run), {100 * o['cpu_ratio']:.2f}% of CPU time; target < 2% for "
            f"runs >= 1 s (the first run of a sweep in a process adds {o['first_extra_ms']:.0f} ms once)"
        )
    print(f"mean simulation time per run: {one['sim_s'] / one['runs']:.3f} s")
    slow = (two["sim_s"] / two["runs"]) / (one["sim_s"] / one["runs"])
    print(f"simulation time per run, 2 workers vs 1: {slow:.2f}x (1.0 on idle cores, above: shared cores)")
    print(f"load average at the end: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"store size per run: {one['store_bytes_per_run'] / 1024:.1f} KiB")
    print(
        f"10,000 runs: expand {expansion['expand_s']:.2f} s, create store {expansion['create_s']:.2f} s, "
        f"read all statuses {expansion['read_statuses_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
