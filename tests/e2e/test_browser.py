"""The web app in headless Chromium (Debian's /usr/bin/chromium via Playwright; no browser download):
submit a sweep on the page and watch it finish without reload, open a run, cancel another, see a validation
error at its field, filter and page the list, and the API docs with no network beyond the server."""

from __future__ import annotations

import json
from urllib.parse import urlparse

import httpx
import pytest
import yaml

from service.settings import Settings
from tests.e2e.chromium import ARGS, executable
from tests.service_live import LiveServer, small_sweep, wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
TOKEN, OTHER = "browser-token-01", "browser-token-02"


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api")
    path = executable()
    if path is None:
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    data = tmp_path_factory.mktemp("browser-data")
    settings = Settings(
        data=data,
        scheduler=local_cluster.scheduler_address,
        tokens=f"{TOKEN}=erin,{OTHER}=zed",
        user_max_concurrent_runs=1,
    )
    with LiveServer(settings) as live:
        yield live


def signed_in(browser, server, token: str = TOKEN):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(f"{server.url}/")
    assert "API token" in page.content()  # not signed in yet
    page.fill("input[name=token]", token)
    page.click("button[type=submit]")
    page.wait_for_selector("#sweeps")
    return page


def loaded(page, selector: str) -> bool:
    return bool(page.eval_on_selector(selector, "img => img.complete && img.naturalWidth > 0"))


def test_browser_submits_a_sweep_watches_it_finish_and_opens_a_run(browser, server):
    page = signed_in(browser, server)
    page.click("text=New sweep")
    page.wait_for_selector("#n-runs")  # the example definition is checked as soon as the page opens
    definition = small_sweep("in-the-browser", n_values=tuple(range(300, 420, 20)), T=3000.0)
    page.fill("#definition", yaml.safe_dump(definition, sort_keys=False))
    page.wait_for_function("document.querySelector('#submit').textContent === 'Submit 6 runs'")
    assert page.inner_text("#n-runs").startswith("6") and page.inner_text("#n-to-run").startswith("6")
    page.click("#submit")
    page.wait_for_url("**/ui/sweeps/in-the-browser-*")
    page.evaluate("window.__same_document = true")
    page.wait_for_selector("#state .badge.state-done", timeout=180_000)  # live: the page polls
    assert page.evaluate("window.__same_document") is True  # no reload happened
    assert "6 done" in page.inner_text("#counts") and "6/6 with results" in page.inner_text("#counts")
    page.wait_for_function("document.querySelectorAll('#results tbody tr').length === 6")
    page.wait_for_function(
        "(() => { const i = document.querySelector('#summary-plot'); "
        "return i.complete && i.naturalWidth > 0; })()"
    )
    assert page.is_disabled("#cancel")
    page.click("#results thead th[data-key=rate_e_hz]")
    page.click("#results thead th[data-key=rate_e_hz]")  # twice: descending
    column = page.eval_on_selector_all(
        "#results tbody tr",
        "rows => rows.map(r => r.children[r.parentNode.parentNode.tHead.querySelector("
        "'[data-key=rate_e_hz]').cellIndex].textContent)",
    )
    values = [float(v) for v in column]
    assert values == sorted(values, reverse=True) and len(set(values)) > 1
    assert page.get_attribute("a[download]", "href").endswith("results?format=csv")
    page.click("#results tbody tr:first-child td a")
    page.wait_for_selector("#currents svg polyline")
    assert "rate_e_hz" in page.inner_text("#summary") and "theory" in page.inner_text("#summary thead")
    assert page.locator("#currents svg polyline").count() == 3
    assert loaded(page, "#rates-plot") or page.wait_for_function(
        "document.querySelector('#rates-plot').naturalWidth > 0"
    )
    assert "N" in page.inner_text("#params tr.swept th")
    page.close()


def test_browser_cancels_a_running_sweep(browser, server):
    with server.http(TOKEN) as http:
        definition = small_sweep("to-cancel", n_values=tuple(range(300, 700, 40)), T=4000.0)
        sweep_id = http.post("/sweeps", json=definition).raise_for_status().json()["id"]
    page = signed_in(browser, server)
    page.goto(f"{server.url}/ui/sweeps/{sweep_id}")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#cancel")
    page.wait_for_selector("#state .badge.state-cancelled", timeout=120_000)
    page.wait_for_selector("#cancel:disabled", timeout=120_000)  # settled: nothing pending or running
    finished = page.inner_text("#counts")
    assert "cancelled" in finished and "/10 with results" in finished and "10/10" not in finished
    assert page.locator("#bar .seg.s-cancelled").count() == 1
    page.goto(f"{server.url}/")
    assert "cancelled" in page.inner_text(f"#sweep-{sweep_id}")
    page.close()


def test_browser_shows_a_validation_error_at_its_field(browser, server):
    page = signed_in(browser, server)
    page.goto(f"{server.url}/ui/submit")
    page.fill("#definition", "name: typo\nbase:\n  T: 1000\ngrid:\n  N: [200, 400]\n  cx: [0.0, 1.5]\n")
    error = page.wait_for_selector("#errors .error[data-field=cx]")
    assert error.inner_text().startswith("line 6 · cx") and "1.5" in error.inner_text()
    assert page.inner_text("#gutter .bad").strip() == "6"
    assert page.is_disabled("#submit")
    page.fill("#definition", "name: typo\ngrid:\n  N: [200, 400\n")
    page.wait_for_selector("#errors .error[data-field=definition]")
    assert "line" in page.inner_text("#errors")
    uploaded = small_sweep("uploaded", n_values=(100, 120, 140)) | {"replicates": 3}
    page.set_input_files(
        "#file",
        files=[{"name": "s.json", "mimeType": "application/json", "buffer": json.dumps(uploaded).encode()}],
    )
    page.wait_for_function("document.querySelector('#submit').textContent === 'Submit 9 runs'")
    assert page.inner_text("#errors") == "" and "uploaded" in page.input_value("#definition")
    page.close()


def test_browser_list_filters_and_pages(browser, server):
    with server.http(OTHER) as http:
        ids = [
            http.post("/sweeps", json=small_sweep(f"page-{i:02d}", n_values=(100,), T=100.0)).json()["id"]
            for i in range(53)
        ]
        wait_for(http, ids[-1])
    with httpx.Client(base_url=server.url) as web:  # a signed-in browser without scripts
        assert web.post("/login", data={"token": OTHER}, headers={"Origin": server.url}).status_code == 303
        html = web.get("/").text  # rendered before any script
    assert html.count('<tr id="sweep-') == 50 and "1–50 of 53 sweeps" in html
    page = signed_in(browser, server, OTHER)
    assert page.locator("#sweeps tbody tr").count() == 50
    page.click("text=older →")
    page.wait_for_selector("text=51–53 of 53 sweeps")
    assert page.locator("#sweeps tbody tr").count() == 3
    page.fill("input[name=q]", "page-07")
    page.click("#filter button")
    page.wait_for_selector("text=1–1 of 1 sweeps")
    assert page.inner_text("#sweeps tbody").count("page-07") == 2  # name and id
    page.select_option("select[name=state]", "failed")
    page.wait_for_selector("text=No sweeps match.")
    page.close()


def test_api_docs_work_with_no_network_beyond_the_server(browser, server):
    page = browser.new_page()
    outside: list[str] = []

    def only_the_server(route):
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_server)
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".swagger-ui .opblock-tag", timeout=60_000)
    assert "/sweeps/{sweep_id}/zarr/{key}" in page.inner_text(".swagger-ui")
    page.goto(f"{server.url}/redoc")
    page.wait_for_selector("text=Dry run of", timeout=60_000)
    assert outside == []
    page.close()
