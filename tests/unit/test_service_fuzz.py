"""Fuzzing: schemathesis drives every operation of the OpenAPI schema against a live server; no 5xx."""

from __future__ import annotations

import urllib.parse

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for

TOKEN = "fuzz-token-0001"


@pytest.fixture(scope="module")
def fuzz_server(local_cluster, tmp_path_factory):
    data = tmp_path_factory.mktemp("fuzz-data")
    limits = {"max_runs": 4, "max_N": 300, "max_T_ms": 300.0, "user_max_queued_core_s": 30.0}
    settings = Settings(
        data=data, scheduler=local_cluster.scheduler_address, tokens=f"{TOKEN}=fuzzer", **limits
    )
    with LiveServer(settings) as live, live.http(TOKEN) as http:
        http.post("/sweeps", json=small_sweep("seed-sweep")).raise_for_status()  # something to find
        yield live


OPERATIONS = [
    ("POST", "/sweeps"),
    ("POST", "/sweeps/validate"),
    ("GET", "/sweeps"),
    ("GET", "/sweeps/{sweep_id}"),
    ("DELETE", "/sweeps/{sweep_id}"),
    ("GET", "/sweeps/{sweep_id}/results"),
    ("GET", "/sweeps/{sweep_id}/runs/{index}"),
    ("GET", "/sweeps/{sweep_id}/plots/{name}.png"),
    ("GET", "/sweeps/{sweep_id}/zarr/{key}"),
    ("GET", "/cluster"),
    ("GET", "/health"),
    ("GET", "/metrics"),
]


@pytest.fixture(scope="module")
def api_schema(fuzz_server):
    return schemathesis.openapi.from_url(f"{fuzz_server.url}/openapi.json")


@pytest.mark.parametrize("method, path", OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_fuzz_no_server_errors(api_schema, method, path):
    """25 generated requests per operation (bodies, paths and queries from the schema): never a 5xx."""
    operation = api_schema[path][method]
    seen: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case) -> None:
        response = case.call(headers={"Authorization": f"Bearer {TOKEN}"}, timeout=60)
        seen.append(response.status_code)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:500])

    check()
    assert seen, "no request was generated"


def test_fuzz_schema_documents_every_endpoint(fuzz_server):
    with fuzz_server.http() as http:
        paths = http.get("/openapi.json").json()["paths"]
    expected = {
        "/sweeps",
        "/sweeps/{sweep_id}",
        "/sweeps/{sweep_id}/results",
        "/sweeps/{sweep_id}/runs/{index}",
        "/sweeps/{sweep_id}/plots/{name}.png",
        "/cluster",
        "/health",
        "/metrics",
    }
    assert expected <= set(paths)
    post = paths["/sweeps"]["post"]
    assert post["requestBody"]["content"]["application/json"]["examples"]["small"]["value"]["grid"]


@pytest.fixture(scope="module")
def seed_sweep(fuzz_server):
    with fuzz_server.http(TOKEN) as http:
        data = http.get("/sweeps", params={"limit": 1000}).json()["data"]
        sweep_id = next(s["id"] for s in data if s["name"] == "seed-sweep")
        wait_for(http, sweep_id)
    return sweep_id


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@given(
    filters=st.dictionaries(
        st.sampled_from(["N", "status", "seed", "rate_e_hz", "nope", "format"]), TEXT, max_size=3
    )
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
def test_fuzz_results_filters_on_a_real_sweep(fuzz_server, seed_sweep, filters):
    with fuzz_server.http(TOKEN) as http:
        response = http.get(f"/sweeps/{seed_sweep}/results", params=filters)
    assert response.status_code < 500, (filters, response.text[:300])


@given(
    name=st.sampled_from(["rates", "weights", "summary"]),
    stat=st.one_of(st.sampled_from(["rate_e_hz", "status", "seed", "error"]), TEXT),
    x=st.one_of(st.none(), st.sampled_from(["N", "status", "seed", "replicate"]), TEXT),
    run=st.integers(-3, 5),
)
@settings(
    max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
def test_fuzz_plots_on_a_real_sweep(fuzz_server, seed_sweep, name, stat, x, run):
    params = {"stat": stat, "run": run} | ({"x": x} if x is not None else {})
    with fuzz_server.http(TOKEN) as http:
        response = http.get(f"/sweeps/{seed_sweep}/plots/{name}.png", params=params)
    assert response.status_code < 500, (params, response.text[:300])


KEY_PART = st.sampled_from(["zarr.json", "status", "c.0", "c.0.0", "..", ".", "", "%2e%2e", "summary", "x"])


@given(parts=st.lists(st.one_of(KEY_PART, TEXT), min_size=1, max_size=4))
@settings(
    max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None
)
def test_fuzz_zarr_keys_on_a_real_sweep(fuzz_server, seed_sweep, parts):
    key = "/".join(urllib.parse.quote(p, safe="%") for p in parts)
    with fuzz_server.http(TOKEN) as http:
        response = http.get(f"/sweeps/{seed_sweep}/zarr/{key}")
    assert response.status_code in (200, 307, 404, 422), (key, response.status_code, response.text[:300])
