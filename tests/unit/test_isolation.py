"""Isolation on a real server: browser sessions (not tokens) in cookies, CSRF, admin-only cluster addresses,
and single-user mode answering only loopback requests that name this machine."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from distributed import LocalCluster

from service.settings import Settings
from tests.service_live import LiveServer, free_port, small_sweep, wait_for

ALICE, ROOT = "alice-token-0001", "root-token-00003"


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        yield c


@pytest.fixture(scope="module")
def server(cluster, tmp_path_factory):
    settings = Settings(
        data=tmp_path_factory.mktemp("iso-data"),
        scheduler=cluster.scheduler_address,
        tokens=f"{ALICE}=alice,{ROOT}=root:admin",
        max_N=2000,
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def local_server(cluster, tmp_path_factory):
    """Single-user mode: no tokens."""
    settings = Settings(data=tmp_path_factory.mktemp("iso-local"), scheduler=cluster.scheduler_address)
    with LiveServer(settings) as live:
        yield live


def sign_in(live: LiveServer, browser: httpx.Client, token: str) -> None:
    r = browser.post("/login", data={"token": token}, headers={"Origin": live.url}, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_session_cookie_holds_a_random_id_not_the_token(server):
    with server.http() as browser:
        r = browser.post(
            "/login", data={"token": ALICE}, headers={"Origin": server.url}, follow_redirects=False
        )
        cookie = r.headers["set-cookie"]
        assert r.status_code == 303 and r.headers["location"] == "/"
        assert ALICE not in cookie and "pbn_session=" in cookie
        attrs = cookie.lower()
        assert "httponly" in attrs and "samesite=strict" in attrs and "max-age=43200" in attrs
        session_id = browser.cookies["pbn_session"]
        assert len(session_id) >= 40
        assert browser.get("/sweeps").status_code == 200
    with server.http() as forger:  # a guessed or remembered-token cookie is no session
        forger.cookies.set("pbn_session", ALICE)
        assert forger.get("/sweeps").status_code == 401


def test_login_refuses_get_tokens_and_foreign_or_silent_origins(server):
    with server.http() as browser:
        r = browser.get("/", params={"token": ALICE}, follow_redirects=False)
        assert r.status_code == 401 and "set-cookie" not in r.headers
        assert browser.get("/login").status_code == 200 and 'method="post"' in browser.get("/login").text
        for headers in ({}, {"Origin": "https://attacker.example"}, {"Origin": "null"}):
            r = browser.post("/login", data={"token": ALICE}, headers=headers, follow_redirects=False)
            assert r.status_code == 403 and "set-cookie" not in r.headers, (headers, r.text)


def test_logout_ends_the_session_on_the_server(server):
    with server.http() as browser:
        sign_in(server, browser, ALICE)
        session_id = browser.cookies["pbn_session"]
        r = browser.post("/logout", headers={"Origin": server.url}, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login"
    with server.http() as replay:  # the old id, replayed, is dead
        replay.cookies.set("pbn_session", session_id)
        r = replay.get("/sweeps")
        assert r.status_code == 401 and "signed out" in r.text


def test_cookie_writes_need_this_servers_origin(server):
    with server.http() as browser, server.http(ALICE) as alice:
        sign_in(server, browser, ALICE)
        sweep_id = alice.post("/sweeps", json=small_sweep("csrf")).raise_for_status().json()["id"]
        wait_for(alice, sweep_id)
        foreign = (
            {},
            {"Origin": "https://attacker.example"},
            {"Sec-Fetch-Site": "cross-site"},
            {"Referer": "http://["},
        )
        for headers in foreign:
            r = browser.delete(f"/sweeps/{sweep_id}", headers=headers)
            assert r.status_code == 403, (headers, r.text)
            r = browser.post("/sweeps", json=small_sweep("forged"), headers=headers)
            assert r.status_code == 403, (headers, r.text)
        r = browser.delete(f"/sweeps/{sweep_id}", headers={"Origin": server.url})
        assert r.status_code == 200 and r.json()["id"] == sweep_id


def test_cluster_addresses_and_dashboard_for_admins_only(server):
    with server.http(ALICE) as alice, server.http(ROOT) as root:
        user_view, admin_view = alice.get("/cluster").json(), root.get("/cluster").json()
        sweep_id = alice.post("/sweeps", json=small_sweep("dash")).raise_for_status().json()["id"]
        status = alice.get(f"/sweeps/{sweep_id}").json()
    assert user_view["scheduler"] is None and user_view["dashboard_url"] is None
    assert all(w["address"] is None for w in user_view["workers"]) and user_view["n_workers"] == 1
    assert admin_view["scheduler"] and admin_view["workers"][0]["address"]
    assert admin_view["scheduler"] not in str(user_view) and admin_view["scheduler"] not in str(status)
    assert status["dashboard_url"] is None  # nothing configured: the client's link names the scheduler host


@pytest.mark.parametrize("host", ["attacker.example", "attacker.example:80", "127.0.0.1.evil.example", ""])
def test_single_user_mode_refuses_foreign_host_headers(local_server, host):
    with local_server.http() as client:
        sweep_id = client.post("/sweeps", json=small_sweep("local")).raise_for_status().json()["id"]
    conn = http.client.HTTPConnection("127.0.0.1", local_server.port, timeout=30)
    for method, path in (
        ("GET", "/sweeps"),
        ("GET", f"/sweeps/{sweep_id}"),
        ("DELETE", f"/sweeps/{sweep_id}"),
    ):
        conn.putrequest(method, path, skip_host=True)
        conn.putheader("Host", host)
        conn.endheaders()
        response = conn.getresponse()
        body = response.read().decode()
        assert response.status == 400 and "DNS rebinding" in body, (method, path, body)
    conn.close()
    with local_server.http() as client:
        assert client.get(f"/sweeps/{sweep_id}").json()["state"] != "cancelled"


def test_single_user_mode_accepts_loopback_names_and_refuses_cross_site_writes(local_server):
    port = local_server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
        r = httpx.get(f"{local_server.url}/sweeps", headers={"Host": host}, timeout=30)
        assert r.status_code == 200, (host, r.text)
    with local_server.http() as client:
        r = client.post("/sweeps", json=small_sweep("x-site"), headers={"Origin": "https://attacker.example"})
        assert r.status_code == 403 and "origin" in r.text
        r = client.post("/sweeps", json=small_sweep("script"))  # scripts send no Origin
        assert r.status_code == 201


def outside_address() -> str | None:
    """An address of this machine that is not loopback (None if it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            address = s.getsockname()[0]
        except OSError:
            return None
    return None if address.startswith("127.") else address


def test_single_user_mode_bound_to_all_interfaces_answers_only_loopback(tmp_path: Path):
    """`uvicorn --factory --host 0.0.0.0` without tokens: the setting says loopback, the socket does not."""
    address = outside_address()
    if address is None:
        pytest.skip("this machine has no non-loopback address")
    port = free_port()
    env = {**os.environ, "PBN_DATA": str(tmp_path), "PBN_N_WORKERS": "1", "PBN_TOKENS": ""}
    args = ["-m", "uvicorn", "service.app:create_app", "--factory", "--host", "0.0.0.0", "--port", str(port)]
    proc = subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.3)
        for path in ("/sweeps", "/health", "/cluster"):
            r = httpx.get(f"http://{address}:{port}{path}", headers={"Host": f"127.0.0.1:{port}"}, timeout=30)
            assert r.status_code == 403 and "loopback" in r.text, (path, r.text)
        assert httpx.get(f"http://127.0.0.1:{port}/sweeps", timeout=30).status_code == 200
    finally:
        proc.terminate()
        proc.wait(60)
