"""`POST /sweeps/validate`: the dry run of `POST /sweeps` (JSON or YAML), with a real server and store."""

from __future__ import annotations

import httpx
import pytest
import yaml

from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for

TOKEN = "validate-token-1"


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    data = tmp_path_factory.mktemp("validate-data")
    settings = Settings(
        data=data, scheduler=local_cluster.scheduler_address, tokens=f"{TOKEN}=val", max_runs=20
    )
    with LiveServer(settings) as live, live.http(TOKEN) as http:
        yield live, http


def test_validate_previews_runs_and_cost_and_creates_nothing(server):
    live, http = server
    definition = small_sweep("preview", n_values=(100, 120, 140), T=200.0) | {"replicates": 2}
    preview = http.post("/sweeps/validate", json=definition).raise_for_status().json()
    assert (preview["n_runs"], preview["n_reused"], preview["n_to_run"]) == (6, 0, 6)
    assert preview["neuron_seconds"] == pytest.approx(2 * (100 + 120 + 140) * 200.0 / 1000)
    assert preview["axes"] == {"N": [100, 120, 140]}
    assert [r["action"] for r in preview["runs"]] == ["run"] * 6
    assert http.get("/sweeps").json()["count"] == 0
    assert not list(live.settings.data.glob("sweeps/*.zarr"))


def test_validate_says_which_runs_would_be_reused(server):
    _, http = server
    definition = small_sweep("reuse-me", n_values=(100,), T=200.0)
    created = http.post("/sweeps", json=definition).raise_for_status().json()
    wait_for(http, created["id"])
    bigger = small_sweep("reuse-me", n_values=(100, 120), T=200.0)
    preview = http.post("/sweeps/validate", json=bigger).raise_for_status().json()
    assert (preview["n_reused"], preview["n_to_run"]) == (1, 1)
    assert preview["runs"][0]["action"] == "reuse" and created["id"] in preview["runs"][0]["reason"]
    assert preview["neuron_seconds_to_run"] == pytest.approx(120 * 200.0 / 1000)


def test_validate_takes_yaml_and_names_the_field_of_an_error(server):
    _, http = server
    good = yaml.safe_dump(small_sweep("yaml", n_values=(100, 120)))
    preview = http.post("/sweeps/validate", content=good, headers={"Content-Type": "text/yaml"})
    assert preview.status_code == 200 and preview.json()["definition"]["grid"] == {"N": [100, 120]}
    bad = "name: bad\nbase:\n  T: 200\ngrid:\n  cx: [0.0, 1.5]\n"
    r = http.post("/sweeps/validate", content=bad, headers={"Content-Type": "text/yaml"})
    assert r.status_code == 422
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["cx"] and "1.5" in detail["msg"] and detail["point"] == 1


def test_validate_points_at_the_line_of_a_yaml_syntax_error(server):
    _, http = server
    r = http.post(
        "/sweeps/validate", content="name: x\ngrid:\n  N: [100, 200\n", headers={"Content-Type": "text/yaml"}
    )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["definition"] and "line " in r.json()["detail"][0]["msg"]


def test_validate_refuses_what_submit_refuses(server):
    _, http = server
    too_many = small_sweep("big", n_values=tuple(range(100, 130))) | {"replicates": 2}
    for path in ("/sweeps/validate", "/sweeps"):
        r = http.post(path, json=too_many)
        assert r.status_code == 422 and "max_runs" in r.text, (path, r.text)
    r = http.post("/sweeps/validate", json={"name": "x", "grid": {"N": [100]}, "colour": "red"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["colour"]


def test_validate_needs_a_token(server):
    live, _ = server
    assert httpx.post(f"{live.url}/sweeps/validate", json=small_sweep()).status_code == 401
