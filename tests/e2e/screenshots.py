"""Regenerate the web app's screenshots in docs/screenshots/: `python -m tests.e2e.screenshots`.

Starts a real server (uvicorn, an in-process Dask cluster, a fresh store in a temporary folder), runs a few
small sweeps — one finished, one with diverged runs, one cancelled — and photographs each page in
Debian's headless Chromium.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import httpx
from distributed import LocalCluster
from playwright.sync_api import Page, sync_playwright

from service.settings import Settings
from tests.e2e.chromium import ARGS, executable
from tests.service_live import LiveServer, wait_for

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
TOKEN = "screenshot-token-1"
RECORD = {"weights": 10, "cells": 20, "dt": 10.0}
SWEEPS = {
    "finished": {
        "name": "istdp-vs-N",
        "base": {"T": 3000, "rule_ei": "homeo", "eta_ei": 2.0e-3, "rho_ei": 0.010},
        "grid": {"N": [400, 800, 1200], "cx": [0.0, 0.1]},
        "replicates": 2,
        "record": RECORD,
        "analysis": {"start": 1000, "window": 100, "rate_bin": 10},
    },
    "diverged": {
        "name": "rate-guard",
        "base": {"T": 1000, "N": 400},
        "grid": {"rate_max_hz": [2, 50], "jee": [20, 25]},
        "record": RECORD,
        "analysis": {"window": 100, "rate_bin": 10},
    },
    "cancelled": {
        "name": "long-scan",
        "base": {"T": 3000},
        "grid": {"N": list(range(500, 1500, 100))},
        "record": RECORD,
        "analysis": {"window": 100, "rate_bin": 10},
    },
}


def make_sweeps(http: httpx.Client) -> dict[str, str]:
    """Submit the example sweeps; wait for the first two, cancel the third after two runs."""
    ids = {}
    for key, definition in SWEEPS.items():
        r = http.post("/sweeps", json=definition)
        if r.status_code != 201:
            raise RuntimeError(f"{key}: {r.text}")
        ids[key] = r.json()["id"]
    for key in ("finished", "diverged"):
        wait_for(http, ids[key], timeout=900)
    wait_for(http, ids["cancelled"], lambda s: s["counts"]["done"] >= 2, timeout=900)
    http.delete(f"/sweeps/{ids['cancelled']}").raise_for_status()
    wait_for(http, ids["cancelled"], timeout=300)
    return ids


def shoot(page: Page, url: str, name: str, wait: str | None = None) -> None:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    if wait:
        page.wait_for_selector(wait)
    page.screenshot(path=OUT / f"{name}.png", full_page=True)
    print("wrote", OUT / f"{name}.png")


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory() as data,
        LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
    ):
        settings = Settings(data=Path(data), scheduler=cluster.scheduler_address, tokens=f"{TOKEN}=ada")
        with LiveServer(settings) as live, live.http(TOKEN) as http, sync_playwright() as p:
            ids = make_sweeps(http)
            browser = p.chromium.launch(executable_path=executable(), args=ARGS)
            page = browser.new_page(viewport={"width": 1360, "height": 860})
            page.goto(f"{live.url}/")
            page.fill("input[name=token]", TOKEN)
            page.click("button[type=submit]")
            shoot(page, f"{live.url}/", "list", "#sweeps")
            shoot(page, f"{live.url}/ui/submit", "submit", "#n-runs")
            page.fill(
                "#definition", "name: typo\nbase:\n  T: 1000\ngrid:\n  N: [200, 400]\n  cx: [0.0, 1.5]\n"
            )
            page.wait_for_selector("#errors .error")
            page.screenshot(path=OUT / "submit-error.png", full_page=True)
            print("wrote", OUT / "submit-error.png")
            shoot(page, f"{live.url}/ui/sweeps/{ids['finished']}", "sweep", "#results tbody tr")
            page.goto(f"{live.url}/ui/sweeps/{ids['diverged']}")
            page.wait_for_selector("#problems li")
            page.select_option("#x", "jee")
            page.wait_for_function("document.querySelector('#summary-plot').src.includes('x=jee')")
            page.wait_for_load_state("networkidle")
            page.screenshot(path=OUT / "sweep-diverged.png", full_page=True)
            shoot(page, f"{live.url}/ui/sweeps/{ids['finished']}/runs/5", "run", "#currents svg")
            shoot(page, f"{live.url}/docs", "api-docs", ".swagger-ui .opblock")
            browser.close()


if __name__ == "__main__":
    sys.exit(main())
