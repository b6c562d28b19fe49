"""The Python client and the `pbn submit | status | results | cancel` commands against a live server."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import xarray as xr
import yaml
from typer.testing import CliRunner

from service.cli import app as cli_app
from service.client import ApiError, Client, DefinitionError, NonFiniteValueError, load_definition
from service.settings import Settings
from tests.service_live import LiveServer, free_port, small_sweep
from worker.results import summary_table
from worker.store import SweepStore

TOKEN = "client-token-01"


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    data = tmp_path_factory.mktemp("client-data")
    settings = Settings(data=data, scheduler=local_cluster.scheduler_address, tokens=f"{TOKEN}=carol")
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def finished(server, tmp_path_factory):
    path = tmp_path_factory.mktemp("defs") / "sweep.yaml"
    path.write_text(yaml.safe_dump(small_sweep("client", n_values=(100, 140, 180))))
    with Client(server.url, TOKEN) as client:
        sweep = client.submit(path)
        final = sweep.wait(progress=False, poll_s=0.2, timeout=120)
    assert final["state"] == "done"
    return sweep.id


def test_client_results_match_store(server, finished):
    with Client(server.url, TOKEN) as client:
        table = client.sweep(finished).results()
    stored = summary_table(SweepStore(server.settings.data), finished)
    assert list(table["N"]) == [100, 140, 180]
    pd.testing.assert_series_equal(table["rate_e_hz"], stored["rate_e_hz"], check_exact=False, rtol=1e-12)
    with Client(server.url, TOKEN) as client:
        only = client.sweep(finished).results(N=140)
        either = client.sweep(finished).results(N=[100, 180])
    assert list(only["index"]) == [1]
    assert list(either["index"]) == [0, 2]  # a repeated filter means any of its values


def test_client_dataset_direct_and_over_http(server, finished):
    with Client(server.url, TOKEN) as client:
        direct = client.sweep(finished).dataset()
        remote = client.sweep(finished).dataset(direct=False)
    assert "N" in direct.dims and float(direct.rate_e_hz.sel(N=140, replicate=0)) > 0
    xr.testing.assert_identical(remote.load(), direct)  # over HTTP: the same labelled dataset


def test_client_errors_carry_status_and_reason(server):
    with Client(server.url, TOKEN) as client:
        with pytest.raises(ApiError) as err:
            client.submit({"name": "bad", "base": {"N": 3}})
        assert err.value.status_code == 422 and "N" in str(err.value)
        with pytest.raises(ApiError) as err:
            client.sweep("no-such-sweep").status()
        assert err.value.status_code == 404
    with Client(server.url, "wrong-token-99") as client, pytest.raises(ApiError) as err:
        client.sweeps()
    assert err.value.status_code == 401


def test_cli_submit_wait_status_results_cancel(server, tmp_path):
    path = tmp_path / "cli.yaml"
    path.write_text(yaml.safe_dump(small_sweep("cli", n_values=(110, 130))))
    runner = CliRunner()
    env = {"PBN_URL": server.url, "PBN_TOKEN": TOKEN, "COLUMNS": "200"}
    result = runner.invoke(cli_app, ["submit", str(path), "--wait"], env=env)
    assert result.exit_code == 0, result.output
    sweep_id = result.output.split("submitted ")[1].split(":")[0].strip()
    assert "done 100%" in result.output
    listing = runner.invoke(cli_app, ["status"], env=env)
    assert listing.exit_code == 0 and "cli" in listing.output
    one = runner.invoke(cli_app, ["status", sweep_id], env=env)
    assert one.exit_code == 0 and "done 100%" in one.output
    csv = runner.invoke(cli_app, ["results", sweep_id, "--csv"], env=env)
    assert csv.exit_code == 0 and list(pd.read_csv(io.StringIO(csv.stdout))["N"]) == [110, 130]
    table = runner.invoke(cli_app, ["results", sweep_id], env=env)
    assert table.exit_code == 0 and "rate_e_hz" in table.output
    assert "theory" in table.output
    cancel = runner.invoke(cli_app, ["cancel", sweep_id], env=env)
    assert cancel.exit_code == 0 and f"{sweep_id}: already done, nothing to cancel" in cancel.output
    refused = runner.invoke(cli_app, ["cancel", sweep_id, "--purge"], env=env, input="n\n")
    assert refused.exit_code == 1 and "nothing deleted" in refused.output
    assert runner.invoke(cli_app, ["status", sweep_id], env=env).exit_code == 0  # still there
    purged = runner.invoke(cli_app, ["cancel", sweep_id, "--purge", "--yes"], env=env)
    assert purged.exit_code == 0 and "purged" in purged.output
    assert "HTTP 404" in runner.invoke(cli_app, ["status", sweep_id], env=env).output


@pytest.mark.parametrize(
    "args, expected",
    [
        (["status", "no-such-sweep"], "HTTP 404"),
        (["submit", "/nonexistent/sweep.yaml"], "No such file"),
        (["results", "x", "--token", "bad-token-123"], "HTTP 401"),
    ],
)
def test_cli_errors_exit_2_with_message(server, args, expected):
    result = CliRunner().invoke(cli_app, [*args, "--url", server.url], env={"PBN_TOKEN": TOKEN})
    assert result.exit_code == 2, result.output
    assert expected in result.output


def test_cli_unreachable_server_exit_2():
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(cli_app, ["status", "--url", url])
    assert result.exit_code == 2 and "error" in result.output.lower()


def test_client_dataset_direct_refuses_an_unreachable_store(server, finished, tmp_path):
    with Client(server.url, TOKEN) as client:
        sweep = client.sweep(finished)
        real = sweep.status()
        sweep.status = lambda: {
            **real,
            "store_path": str(tmp_path / "elsewhere" / "x.zarr"),
        }  # another host's path
        with pytest.raises(ValueError, match="store_path"):
            sweep.dataset(direct=True)
        assert sweep.dataset().sizes["N"] == 3  # the default falls back to HTTP (the same labelled dataset)


def test_client_bad_files_raise_definition_errors_with_the_line(tmp_path):
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: x\ngrid:\n  N: [100, 200\nreplicates: 2\n")
    with pytest.raises(DefinitionError) as err:
        load_definition(bad_yaml)
    assert err.value.field == "file" and err.value.line == 4 and "line 4" in str(err.value)
    bad_json = tmp_path / "bad.json"
    bad_json.write_text('{"name": "x",\n "grid": {"N": [100,]}}\n')
    with pytest.raises(DefinitionError) as err:
        load_definition(bad_json)
    assert err.value.line == 2 and "not valid JSON" in str(err.value)
    with pytest.raises(DefinitionError, match="expected a mapping"):
        (tmp_path / "list.yaml").write_text("- 1\n")
        load_definition(tmp_path / "list.yaml")


def test_client_nonfinite_values_named_and_exponents_read_as_numbers(tmp_path):
    with pytest.raises(NonFiniteValueError) as err:
        load_definition({"name": "x", "base": {"T": float("nan")}})
    assert err.value.field == "base.T" and "must be finite" in str(err.value)
    path = tmp_path / "s.yaml"
    path.write_text("name: 1e3 runs\nbase: {T: 1e3}\ngrid: {N: [1e3, 2e3]}\n")
    assert load_definition(path) == {"name": "1e3 runs", "base": {"T": 1000}, "grid": {"N": [1000, 2000]}}
    with Client("http://127.0.0.1:9") as client, pytest.raises(NonFiniteValueError, match=r"grid\.cx\[1\]"):
        client.submit({"name": "x", "grid": {"cx": [0.0, float("inf")]}})  # refused before any request
