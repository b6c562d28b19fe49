"""No 5xx and no debris on a real server: non-finite numbers, dotted point keys and degenerate plots are 4xx
whose bodies are strict JSON; nothing is written for a refused sweep; every answered status is declared."""

from __future__ import annotations

import json
from typing import Any

import pytest
from distributed import LocalCluster
from pydantic import ValidationError

from service.settings import Settings
from sim.params import SimParams
from tests.service_live import LiveServer, small_sweep, wait_for

TOKEN = "nofive-token-01"


def strict_json(text: str) -> Any:
    """Parse as JSON proper (RFC 8259): NaN and Infinity are not JSON."""

    def refuse(name: str) -> None:
        raise ValueError(f"{name} in a JSON body")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        settings = Settings(
            data=tmp_path_factory.mktemp("nofive"), scheduler=cluster.scheduler_address, tokens=f"{TOKEN}=eve"
        )
        with LiveServer(settings) as live:
            yield live


@pytest.fixture(scope="module")
def done_sweep(server):
    with server.http(TOKEN) as http:
        definition = small_sweep("two-axes") | {"grid": {"N": [100, 120], "cx": [0.0, 0.1]}}
        sweep_id = http.post("/sweeps", json=definition).raise_for_status().json()["id"]
        wait_for(http, sweep_id)
    return sweep_id


def groups(server: LiveServer) -> list[str]:
    sweeps = server.settings.sweeps_dir
    return sorted(p.name for p in sweeps.iterdir()) if sweeps.exists() else []


NON_FINITE = [
    ('{"base": {"T": Infinity}}', "T"),
    ('{"base": {"T": 1e400}}', "T"),
    ('{"base": {"Vth": NaN, "Vre": NaN, "VT": NaN}}', "Vth"),
    ('{"base": {"EL": NaN}}', "EL"),
    ('{"base": {"T": "inf"}}', "T"),
    ('{"grid": {"EL": [-70, NaN]}}', "EL"),
    ('{"zip": {"jee": [NaN], "jie": [1]}}', "jee"),
    ('{"points": [{"cx": -Infinity}]}', "cx"),
    ('{"record": {"dt": NaN}}', "record.dt"),
    ('{"analysis": {"window": Infinity}}', "analysis.window"),
    ('{"base": {"eta_ee_hebb": NaN}}', "eta_ee_hebb"),
]


@pytest.mark.parametrize("body, field", NON_FINITE, ids=[b for b, _ in NON_FINITE])
def test_non_finite_numbers_are_422_naming_the_field_and_write_nothing(server, body, field):
    before = groups(server)
    with server.http(TOKEN) as http:
        r = http.post("/sweeps", content=body.encode(), headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    detail = strict_json(r.text)["detail"][0]
    assert "must be finite" in detail["msg"] and detail["loc"] == [field], detail
    assert groups(server) == before  # no orphan group


def test_nan_cannot_pass_the_consistency_checks():
    nan = float("nan")
    for fields in ({"Vth": nan, "Vre": nan, "VT": nan}, {"Vre": nan}, {"taue": nan}, {"stim_off": nan}):
        with pytest.raises(ValidationError, match="must be finite"):
            SimParams(**fields)


def test_dotted_point_key_outside_record_or_analysis_is_422(server):
    with server.http(TOKEN) as http:
        r = http.post("/sweeps", json={"points": [{"x.y": 1}]})
        assert r.status_code == 422 and "points[0].x.y" in r.text and "dotted" in r.text
        r = http.post("/sweeps", json=small_sweep("dotted-ok") | {"points": [{"record.dt": 20.0}]})
        assert r.status_code == 201, r.text


@pytest.mark.parametrize("stat, x", [("cx", "cx"), ("N", "N"), ("N", None), ("cx", "N"), ("rate_e_hz", "cx")])
def test_summary_plot_of_a_column_against_itself_is_4xx(server, done_sweep, stat, x):
    params = {"stat": stat} | ({"x": x} if x else {})
    with server.http(TOKEN) as http:
        r = http.get(f"/sweeps/{done_sweep}/plots/summary.png", params=params)
    if stat == (x or "N"):
        assert r.status_code == 400 and "against another" in strict_json(r.text)["detail"][0]["msg"]
    else:
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"


def test_openapi_declares_the_errors_each_operation_gives(server):
    with server.http() as http:
        paths = http.get("/openapi.json").json()["paths"]
    declared = {(m.upper(), p): set(op["responses"]) for p, ops in paths.items() for m, op in ops.items()}
    assert {"201", "400", "401", "403", "409", "413", "422", "429"} <= declared[("POST", "/sweeps")]
    for key in (("GET", "/sweeps/{sweep_id}/results"), ("GET", "/sweeps/{sweep_id}/plots/{name}.png")):
        assert {"400", "401", "403", "404", "422", "429"} <= declared[key]
    assert {"401", "403", "404", "409"} <= declared[("DELETE", "/sweeps/{sweep_id}")]
    error = paths["/sweeps"]["post"]["responses"]["429"]
    assert error["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert paths["/cluster"]["get"]["security"] == [{"HTTPBearer": []}]
