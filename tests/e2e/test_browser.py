"""The browser page `/` in headless Chromium (Debian's /usr/bin/chromium via Playwright; no download)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from service.settings import Settings
from tests.service_live import LiveServer, small_sweep

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TOKEN = "browser-token-01"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    executable = CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")
    if executable is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(executable), args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    data = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        data=data,
        scheduler=local_cluster.scheduler_address,
        tokens=f"{TOKEN}=erin",
        user_max_concurrent_runs=1,
    )
    with LiveServer(settings) as live:
        yield live


def test_browser_page_shows_a_submitted_sweep_with_live_progress(browser, server):
    page = browser.new_page()
    page.goto(f"{server.url}/")
    assert "API token" in page.content()  # not signed in yet
    page.fill("input[name=token]", TOKEN)
    page.click("button[type=submit]")
    page.wait_for_selector("#sweeps")
    assert "erin" in page.inner_text("#user")
    with server.http(TOKEN) as http:
        sweep = small_sweep("in-the-browser", n_values=tuple(range(300, 420, 20)), T=3000.0)
        sweep_id = http.post("/sweeps", json=sweep).raise_for_status().json()["id"]
    row = f"#sweep-{sweep_id}"
    page.wait_for_selector(row, timeout=20_000)  # appears without reloading (the page polls)
    first = float(page.get_attribute(f"{row} td[data-progress]", "data-progress"))
    page.wait_for_function(
        f"document.querySelector('{row} td[data-progress]').dataset.progress === '1'", timeout=120_000
    )
    assert first < 1.0 or "done" in page.inner_text(row)
    text = page.inner_text(row)
    assert "100%" in text and "done" in text and "6/6" in text
    assert page.get_attribute(f"{row} a[href$='format=csv']", "href").endswith("results?format=csv")
    assert page.get_attribute("#dashboard", "href")
    page.close()
