"""Web app and remote data timings: `python bench/webapp.py [--sweeps 1000] [--runs 1000]`.

Starts a real server (uvicorn in a thread, an in-process Dask cluster, a fresh store), then
1. submits `--sweeps` one-run sweeps (all but the first reuse the first's result) and times the sweep list:
   `GET /` (server-rendered HTML), the list's poll `GET /ui/api/sweeps`, and a full page load in headless
   Chromium (navigation start to the load event, after sign-in);
2. runs one sweep of `--runs` runs and times `Client.dataset()` over HTTP (lazy open, then `.load()` of
   everything) against `worker.results.open_sweep` on the local store.
Prints medians of a few repeats; the numbers depend on the machine's load (printed too).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from distributed import LocalCluster

from service.client import Client
from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for
from worker.results import open_sweep

TOKEN = "bench-token-0001"


def median_s(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fill_registry(live: LiveServer, n: int) -> None:
    with live.http(TOKEN) as http:
        if http.get("/ui/api/sweeps?q=bench-0").json()["count"] >= n:
            print(f"registry already holds {n} bench sweeps (--data reused)")
            return
        t = time.perf_counter()
        last = ""
        for i in range(n):
            last = http.post("/sweeps", json=small_sweep(f"bench-{i:04d}", n_values=(100,), T=100.0)).json()[
                "id"
            ]
        wait_for(http, last, timeout=3600)
        print(f"submitted {n} sweeps in {time.perf_counter() - t:.1f} s")


def time_list(live: LiveServer, repeat: int) -> None:
    from playwright.sync_api import sync_playwright

    from tests.e2e.chromium import ARGS, executable

    with live.http(TOKEN) as http:
        html = median_s(lambda: http.get("/", cookies={"pbn_token": TOKEN}).raise_for_status(), repeat)
        poll = median_s(lambda: http.get("/ui/api/sweeps").raise_for_status(), repeat)
        count = http.get("/sweeps").json()["count"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable(), args=ARGS)
        page = browser.new_page()
        page.goto(f"{live.url}/")
        page.fill("input[name=token]", TOKEN)
        page.click("button[type=submit]")
        page.wait_for_selector("#sweeps")
        loads = []
        for _ in range(repeat):
            page.reload(wait_until="load")
            loads.append(
                page.evaluate(
                    "(() => { const t = performance.getEntriesByType('navigation')[0];"
                    " return t.loadEventEnd - t.startTime; })()"
                )
            )
        browser.close()
    print(
        f"sweep list with {count} sweeps: GET / {1000 * html:.1f} ms, poll {1000 * poll:.1f} ms, "
        f"page load in Chromium {statistics.median(loads):.0f} ms (median of {repeat})"
    )


def time_dataset(live: LiveServer, runs: int, repeat: int) -> None:
    with live.http(TOKEN) as http:
        name = f"bench-big-{runs}"
        found = [s for s in http.get("/sweeps", params={"limit": 200}).json()["data"] if s["name"] == name]
        if found and found[0]["state"] == "done":
            sweep_id = found[0]["id"]
        else:
            definition = small_sweep(name, n_values=(100,), T=200.0) | {"replicates": runs}
            t = time.perf_counter()
            sweep_id = http.post("/sweeps", json=definition).raise_for_status().json()["id"]
            wait_for(http, sweep_id, timeout=7200)
            print(f"ran a {runs}-run sweep in {time.perf_counter() - t:.1f} s")
    local = median_s(lambda: open_sweep(live.settings.data, sweep_id), repeat)
    with Client(live.url, token=TOKEN) as pbn:
        sweep = pbn.sweep(sweep_id)
        lazy = median_s(lambda: sweep.dataset(direct=False), repeat)
        full = median_s(lambda: sweep.dataset(direct=False).load(), repeat)
        eager = median_s(lambda: sweep.dataset(direct=False, lazy=False), repeat)
        ds = sweep.dataset(direct=False)
        one = median_s(lambda: ds["current_e"].isel(replicate=17).values, repeat)
    print(
        f"{runs}-run sweep: local open_sweep {local:.2f} s; over HTTP: lazy open {lazy:.2f} s, "
        f"open + load everything {full:.2f} s (lazy=False: {eager:.2f} s), "
        f"one run's currents after open {1000 * one:.0f} ms "
        f"(median of {repeat})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweeps", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--data", type=Path, help="Keep the store here (a second run reuses its sweeps)")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory() as tmp,
        LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster,
    ):
        data = args.data or Path(tmp)
        settings = Settings(data=data, scheduler=cluster.scheduler_address, tokens=f"{TOKEN}=bench")
        with LiveServer(settings) as live:
            if args.runs:
                time_dataset(live, args.runs, args.repeat)
            if args.sweeps:
                fill_registry(live, args.sweeps)
                time_list(live, args.repeat)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
