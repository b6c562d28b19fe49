"""GET /sweeps/{id}/asymptotics over a real server, cluster and store: the fit of the /results rows."""

from __future__ import annotations

import pytest

from service.settings import Settings
from sim.asymptotics import fit_asymptote
from tests.service_live import LiveServer, small_sweep, wait_for


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    settings = Settings(data=tmp_path_factory.mktemp("asym"), scheduler=local_cluster.scheduler_address)
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def sweep(server):
    definition = small_sweep("asym", n_values=(100, 150, 200), T=300.0) | {
        "replicates": 2,
        "zip": {"cx": [0.0]},
    }
    with server.http() as http:
        created = http.post("/sweeps", json=definition).raise_for_status().json()
        assert wait_for(http, created["id"])["state"] == "done"
    return created["id"]


def test_asymptotics_fits_the_results_rows(server, sweep):
    with server.http() as http:
        rows = http.get(f"/sweeps/{sweep}/results").raise_for_status().json()
        body = (
            http.get(f"/sweeps/{sweep}/asymptotics", params={"stat": "rate_e_hz"}).raise_for_status().json()
        )
    [group] = body["groups"]
    expected = fit_asymptote([r["N"] for r in rows], [r["rate_e_hz"] for r in rows])
    assert group["fit"]["s_inf"] == pytest.approx(expected.s_inf, rel=1e-12)
    assert group["fit"]["n_points"] == 6 and [s["N"] for s in group["sizes"]] == [100, 150, 200]
    assert group["theory_rate_e_hz"] == pytest.approx(rows[0]["theory_rate_e_hz"])


def test_asymptotics_bad_requests_are_4xx(server, sweep):
    with server.http() as http:
        assert http.get(f"/sweeps/{sweep}/asymptotics", params={"stat": "nonsense"}).status_code == 400
        assert (
            http.get(f"/sweeps/{sweep}/asymptotics", params={"stat": "rate_e_hz", "power": -1}).status_code
            == 422
        )
        assert http.get(f"/sweeps/{sweep}/asymptotics").status_code == 422
        assert http.get("/sweeps/no-such-sweep/asymptotics", params={"stat": "rate_e_hz"}).status_code == 404


def test_parameters_zipped_with_n_do_not_split_the_fit():
    from sim.asymptotics import split_keys

    rows = [{"N": n, "jnorm_ei": j, "cx": cx} for n, j in ((1000, -150), (4000, -300)) for cx in (0, 1)]
    assert split_keys(rows, ["N", "jnorm_ei", "cx"]) == ["cx"]
