"""A sweep's Zarr store over HTTP: `Client.dataset()` from a process that cannot see the data dir gives the
local dataset value for value; the store route keeps the token, the isolation and the store's boundary."""

from __future__ import annotations

import logging
import os
import pickle
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import numpy as np
import pytest
import xarray as xr

from service.client import Client
from service.settings import Settings
from tests.service_live import LiveServer, small_sweep, wait_for
from worker.results import open_sweep

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
ANN, BOB = "remote-token-ann", "remote-token-bob"
CHILD = textwrap.dedent(
    """
    import os, pickle, sys
    url, token, sweep_id, data, out = sys.argv[1:6]
    hidden = os.path.realpath(data)

    def refuse(event, args):  # the data dir is off limits to this process
        if event in ("open", "os.listdir", "os.scandir") and args and isinstance(args[0], (str, bytes)):
            path = os.fsdecode(args[0])
            if os.path.realpath(path).startswith(hidden):
                raise PermissionError(f"this process may not read {path}")

    sys.addaudithook(refuse)
    from service.client import Client

    with Client(url, token=token) as pbn:
        sweep = pbn.sweep(sweep_id)
        store_path = sweep.status()["store_path"]
        ds = sweep.dataset()  # default: direct only if the store_path is visible here
        lazy = type(ds["weight_samples"].data).__module__.startswith("dask")
        loaded = ds.load()
    with open(out, "wb") as f:
        pickle.dump({"ds": loaded, "store_path": store_path, "lazy": lazy,
                     "saw_store": os.path.exists(store_path)}, f)
    """
)


@pytest.fixture(scope="module")
def server(local_cluster, tmp_path_factory):
    data = tmp_path_factory.mktemp("remote-data")
    settings = Settings(data=data, scheduler=local_cluster.scheduler_address, tokens=f"{ANN}=ann,{BOB}=bob")
    with LiveServer(settings) as live:
        yield live


@pytest.fixture(scope="module")
def sweep_id(server):
    definition = small_sweep("remote", n_values=(100, 140), T=300.0) | {
        "zip": {"cx": [0.0, 0.2]},
        "replicates": 2,
    }
    with server.http(ANN) as http:
        created = http.post("/sweeps", json=definition).raise_for_status().json()
        status = wait_for(http, created["id"])
    assert status["counts"]["done"] == 8, status
    return created["id"]


def hide_data_dir(data: Path) -> list[str]:
    """A command prefix that runs the child in a mount namespace with an empty tmpfs over the data dir
    (root with unshare), or nothing (then the child's audit hook alone keeps it out)."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        return []
    probe = subprocess.run([unshare, "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        return []
    script = f'mount -t tmpfs none "{data}" && exec "$@"'
    return [unshare, "--mount", "sh", "-c", script, "sh"]


def test_remote_dataset_equals_local_value_for_value(server, sweep_id, tmp_path):
    data = server.settings.data
    out = tmp_path / "remote.pickle"
    args = [sys.executable, "-c", CHILD, server.url, ANN, sweep_id, str(data), str(out)]
    prefix = hide_data_dir(data)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    subprocess.run([*prefix, *args], check=True, cwd=tmp_path, env=env, timeout=300)
    got = pickle.loads(out.read_bytes())
    assert Path(got["store_path"]).is_absolute() and Path(got["store_path"]).is_dir()
    assert got["saw_store"] is False or not prefix  # hidden by the mount namespace when there is one
    assert got["lazy"]  # result arrays came back as dask arrays of the store's chunks
    local = open_sweep(data, sweep_id)
    xr.testing.assert_identical(got["ds"], local)
    assert {"weight_samples", "current_e", "rate_e_hz_t"} <= set(local.data_vars)
    assert got["ds"]["status"].values.tolist() == local["status"].values.tolist()


def test_remote_dataset_reads_only_the_chunks_it_touches(server, sweep_id, caplog):
    with Client(server.url, token=ANN) as pbn:
        ds = pbn.sweep(sweep_id).dataset(direct=False)
        with caplog.at_level(logging.DEBUG, logger="fsspec.http"):
            one = ds["current_e"].isel(N=1, cx=0, replicate=0).values  # run 4 = (N 1, cx 0, replicate 0)
    fetched = [r.getMessage() for r in caplog.records if r.name == "fsspec.http"]
    assert [u.rsplit("/zarr/", 1)[1] for u in fetched if "/current_e/" in u] == ["current_e/c.4.0.0"]
    assert not [u for u in fetched if "/voltage/" in u or "/weight_samples/" in u]
    local = open_sweep(server.settings.data, sweep_id)["current_e"].isel(N=1, cx=0, replicate=0).values
    np.testing.assert_array_equal(one, local)
    assert np.isfinite(local).any()


def test_zarr_route_needs_the_token_and_hides_other_users_sweeps(server, sweep_id):
    url = f"{server.url}/sweeps/{sweep_id}/zarr/zarr.json"
    assert httpx.get(url).status_code == 401
    with server.http(BOB) as bob:
        assert bob.get(f"/sweeps/{sweep_id}/zarr/zarr.json").status_code == 404
        assert bob.get(f"/sweeps/{sweep_id}/zarr/status/c.0").status_code == 404
    with server.http(ANN) as ann:
        group = ann.get(f"/sweeps/{sweep_id}/zarr/zarr.json").raise_for_status().json()
        assert group["node_type"] == "group" and "status" in group["consolidated_metadata"]["metadata"]
        stored = server.settings.data / "sweeps" / f"{sweep_id}.zarr"
        chunk = ann.get(f"/sweeps/{sweep_id}/zarr/current_e/c.3.0.0").raise_for_status().content
        assert chunk == (stored / "current_e" / "c.3.0.0").read_bytes()  # large arrays: the file, by run
        members = group["consolidated_metadata"]["metadata"]
        status = members["status"]  # small arrays: one chunk for all runs (one request, not one per run)
        assert status["chunk_grid"]["configuration"]["chunk_shape"] == status["shape"] == [8]
        assert ann.get(f"/sweeps/{sweep_id}/zarr/status/c.0").status_code == 200
        assert ann.get(f"/sweeps/{sweep_id}/zarr/status/c.1").status_code == 404  # not a key of the view
        assert ann.put(f"/sweeps/{sweep_id}/zarr/status/c.0", content=b"x").status_code == 405


@pytest.mark.parametrize(
    "key",
    [
        "../../../etc/passwd",
        "status/../../x.zarr/zarr.json",
        "%2e%2e/%2e%2e/secret",
        "..%2f..%2fsecret",
        ".hidden",
    ],
)
def test_zarr_route_refuses_keys_outside_the_store(server, sweep_id, key):
    (server.settings.data / "sweeps" / "secret").write_text("not for http")
    (server.settings.data / "sweeps" / f"{sweep_id}.zarr" / ".hidden").write_text("no")
    request = (
        f"GET /sweeps/{sweep_id}/zarr/{key} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {ANN}\r\n"
    )
    with socket.create_connection(
        ("127.0.0.1", server.port), timeout=30
    ) as s:  # raw: no client normalises '..'
        s.sendall((request + "Connection: close\r\n\r\n").encode())
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status in (404, 422), answer[:300]
    assert b"not for http" not in answer and b"root:" not in answer


def test_remote_status_follows_a_running_sweep(server):
    import zarr
    from zarr.storage import FsspecStore

    definition = small_sweep("follow", n_values=tuple(range(300, 900, 100)), T=3000.0)
    with server.http(ANN) as http:
        sweep_id = http.post("/sweeps", json=definition).raise_for_status().json()["id"]
        url = f"{server.url}/sweeps/{sweep_id}/zarr"
        options = {"headers": {"Authorization": f"Bearer {ANN}"}}

        def remote_status() -> list[int]:
            group = zarr.open_group(
                FsspecStore.from_url(url, storage_options=options, read_only=True), mode="r"
            )
            return group["status"][:].tolist()

        wait_for(http, sweep_id, lambda s: s["counts"]["done"] >= 1)
        before = remote_status()  # read (and cached by the server) while runs are still pending
        wait_for(http, sweep_id)
    after = remote_status()
    local = zarr.open_group(str(server.settings.data / "sweeps" / f"{sweep_id}.zarr"), mode="r")
    assert after == local["status"][:].tolist() and len(set(after)) == 1 and after != [0] * 6
    assert before != after and 2 in before  # the first read saw a sweep in progress
