"""Security of the REST service: tokens, cross-user isolation, limits, body size, ids, loopback-only mode."""

from __future__ import annotations

import asyncio
import http.client
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from service.app import create_app
from service.auth import load_token_file, parse_inline_tokens
from service.cli import app as cli_app
from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for

ALICE, BOB, ROOT = "alice-token-0001", "bob-token-00002", "root-token-00003"
TOKENS = f"{ALICE}=alice,{BOB}=bob,{ROOT}=root:admin"


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    settings = Settings(
        data=tmp_path_factory.mktemp("auth-data"),
        scheduler=local_cluster.scheduler_address,
        tokens=TOKENS,
        max_body_bytes=20_000,
        max_runs=8,
        max_N=2000,
        user_max_queued_core_s=2.0,
        user_max_concurrent_runs=1,
    )
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def alice_sweep(server):
    with server.http(ALICE) as http:
        created = http.post("/sweeps", json=small_sweep("alice-s")).raise_for_status().json()
        wait_for(http, created["id"])
    return created["id"]


def test_auth_inline_tokens_parse_users_and_admin_flag():
    users = parse_inline_tokens(TOKENS)
    assert {u.name for u in users.values()} == {"alice", "bob", "root"}
    assert users[ROOT].admin and not users[ALICE].admin


@pytest.mark.parametrize(
    "text", ["short=alice", "no-equals-sign-here", "longenough1=alice:superuser", "longenough1=../x"]
)
def test_auth_inline_tokens_reject_bad_entries(text):
    with pytest.raises(ValueError, match="PBN_TOKENS"):
        parse_inline_tokens(text)


def test_auth_token_file_yaml(tmp_path: Path):
    path = tmp_path / "tokens.yaml"
    path.write_text("abcdefgh12: {user: carol, admin: true}\nijklmnop34: dave\n")
    users = load_token_file(path)
    assert users["abcdefgh12"].admin and users["ijklmnop34"].name == "dave"


def test_auth_missing_or_bad_token_is_401(server):
    with server.http() as anon:
        assert anon.get("/health").status_code == 200  # liveness needs no token
        for method, path in (
            ("GET", "/sweeps"),
            ("POST", "/sweeps"),
            ("GET", "/cluster"),
            ("GET", "/metrics"),
        ):
            r = anon.request(method, path, json={} if method == "POST" else None)
            assert r.status_code == 401, (method, path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"
        assert anon.get("/sweeps", headers={"Authorization": "Basic abc"}).status_code == 401
    with server.http("not-a-known-token") as wrong:
        r = wrong.get("/sweeps")
        assert r.status_code == 401 and "unknown token" in r.text


def test_auth_other_users_sweep_is_404_and_admin_sees_all(server, alice_sweep):
    with server.http(BOB) as bob, server.http(ALICE) as alice, server.http(ROOT) as root:
        for method, path in (
            ("GET", f"/sweeps/{alice_sweep}"),
            ("DELETE", f"/sweeps/{alice_sweep}"),
            ("GET", f"/sweeps/{alice_sweep}/results"),
            ("GET", f"/sweeps/{alice_sweep}/runs/0"),
            ("GET", f"/sweeps/{alice_sweep}/plots/rates.png"),
        ):
            r = bob.request(method, path)
            assert r.status_code == 404, (method, path, r.text)
            assert "not found" in r.text
        assert alice_sweep not in [s["id"] for s in bob.get("/sweeps").json()["data"]]
        assert alice.get(f"/sweeps/{alice_sweep}").json()["state"] == "done"
        assert alice_sweep in [s["id"] for s in root.get("/sweeps").json()["data"]]
        assert root.get(f"/sweeps/{alice_sweep}").status_code == 200
        r = bob.get("/sweeps", params={"owner": "alice"})
        assert r.status_code == 403 and "admin" in r.text
        assert [s["owner"] for s in root.get("/sweeps", params={"owner": "alice"}).json()["data"]] == [
            "alice"
        ]


def test_auth_browser_signs_in_by_post_only(server, alice_sweep):
    """`?token=` in a URL signs nobody in; the posted form does, with a session id in the cookie."""
    with server.http() as browser:
        r = browser.get("/", params={"token": ALICE}, follow_redirects=False)
        assert r.status_code == 401 and "set-cookie" not in r.headers
        origin = {"Origin": server.url}
        r = browser.post("/login", data={"token": BOB}, headers=origin, follow_redirects=False)
        assert r.status_code == 303 and BOB not in r.headers["set-cookie"]
        assert browser.get("/sweeps").status_code == 200
        assert alice_sweep not in browser.get("/").text  # bob's session sees bob's sweeps only
        assert browser.post("/login", data={"token": "wrong-token-xyz"}, headers=origin).status_code == 401


def test_limits_over_limit_sweeps_refused_with_reason(server):
    with server.http(ALICE) as alice:
        before = len(alice.get("/sweeps").json()["data"])
        r = alice.post("/sweeps", json=small_sweep("big", n_values=tuple(range(100, 120))))
        assert r.status_code == 422 and "max_runs" in r.text and "20" in r.text
        r = alice.post("/sweeps", json=small_sweep("wide", n_values=(5000,)))
        assert r.status_code == 422 and "max_N" in r.text and "5000" in r.text
        huge = {"name": "huge", "grid": {"N": list(range(100, 1100)), "cx": [i / 1000 for i in range(1000)]}}
        r = alice.post("/sweeps", json=huge)  # 10^6 runs: refused before expanding anything
        assert r.status_code == 422 and "max_runs" in r.text and "1000000" in r.text
        r = alice.post("/sweeps", json=small_sweep("costly", n_values=(1000,), T=60_000.0))
        assert r.status_code == 429 and "core-seconds" in r.text and "alice" in r.text
        assert len(alice.get("/sweeps").json()["data"]) == before  # nothing was created


def test_limits_bad_input_is_422_naming_the_field(server):
    with server.http(ALICE) as alice:
        r = alice.post("/sweeps", json=small_sweep("neg") | {"base": {"T": -5}})
        assert r.status_code == 422 and "T" in r.text
        r = alice.post("/sweeps", json=small_sweep("typo") | {"replicatez": 2})
        assert r.status_code == 422 and "replicatez" in r.text
        r = alice.post("/sweeps", json=small_sweep("bad-rule") | {"base": {"eta_ee": 1e-3}})
        assert r.status_code == 422 and "eta_ee" in r.text
        r = alice.post("/sweeps", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422


def test_limits_queued_sweeps_wait_for_the_users_earlier_sweep(server):
    """A user's second sweep queues behind the first (never dropped, never run beside it)."""
    with server.http(BOB) as bob:
        first = bob.post("/sweeps", json=small_sweep("first", n_values=(200, 220, 240), T=300.0)).json()
        second = bob.post("/sweeps", json=small_sweep("second", n_values=(100,))).json()
        assert second["state"] == "queued"
        seen = []
        for _ in range(600):
            a = bob.get(f"/sweeps/{first['id']}").json()["state"]
            b = bob.get(f"/sweeps/{second['id']}").json()["state"]
            seen.append((a, b))
            if b == "done":
                break
            asyncio.run(asyncio.sleep(0.05))
        assert ("running", "running") not in seen and ("queued", "running") not in seen
        assert seen[-1][1] == "done" and bob.get(f"/sweeps/{first['id']}").json()["counts"]["done"] == 3


def test_body_size_limit_is_413(server):
    with server.http(ALICE) as alice:
        big = small_sweep("padded") | {"name": "x" * 50, "base": {"T": 200.0, "comment": "y" * 30_000}}
        r = alice.post("/sweeps", json=big)
        assert r.status_code == 413 and "larger than 20000" in r.text

        def chunks():
            for _ in range(30):
                yield b" " * 1000

        r = alice.post("/sweeps", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


@pytest.mark.parametrize(
    "path",
    ["/sweeps/..", "/sweeps/.hidden", "/sweeps/..%2F..%2Fetc", "/sweeps/%2e%2e/results", "/sweeps/a%00b"],
)
def test_ids_with_path_tricks_are_rejected(server, path):
    """Sent raw (http.client does not normalise dot segments the way httpx does)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    conn.request("GET", path, headers={"Authorization": f"Bearer {ROOT}"})
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status in (404, 422), body
    assert "root:" not in body and "zarr.json" not in body


def test_run_index_and_plot_name_validated(server, alice_sweep):
    with server.http(ALICE) as alice:
        assert alice.get(f"/sweeps/{alice_sweep}/runs/-1").status_code == 422
        r = alice.get(f"/sweeps/{alice_sweep}/runs/99")
        assert r.status_code == 404 and "99" in r.text
        assert alice.get(f"/sweeps/{alice_sweep}/plots/..%2Fsecret.png").status_code in (404, 422)
        assert alice.get(f"/sweeps/{alice_sweep}/plots/evil.png").status_code == 422


def test_tokenless_server_refuses_non_loopback(tmp_path):
    app = create_app(Settings(data=tmp_path, host="0.0.0.0"))

    async def start() -> None:
        async with app.router.lifespan_context(app):
            pass

    with pytest.raises(RuntimeError, match="loopback"):
        asyncio.run(start())
    result = CliRunner().invoke(cli_app, ["serve", "--host", "0.0.0.0", "--data", str(tmp_path)])
    assert result.exit_code == 2
    assert "loopback" in result.output


def test_tokenless_mode_is_single_user_admin(tmp_path):
    app = create_app(Settings(data=tmp_path))
    assert not app.state.tokens.enabled
    transport = httpx.ASGITransport(app=app)

    async def health() -> int:
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
            return (await c.get("/openapi.json")).status_code

    assert asyncio.run(health()) == 200


@pytest.mark.parametrize(
    "env, expected",
    [
        ({"PBN_TOKENS_FILE": "/nonexistent/tokens.yaml"}, "No such file"),
        ({"PBN_TOKENS": "short=bob"}, "at least 8"),
    ],
)
def test_serve_bad_token_configuration_exits_2(tmp_path, env, expected):
    result = CliRunner().invoke(cli_app, ["serve", "--data", str(tmp_path)], env=env)
    assert result.exit_code == 2 and expected in result.output
