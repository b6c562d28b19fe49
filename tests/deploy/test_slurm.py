"""`pbn serve --cluster slurm.yaml` on a one-node SLURM: runs record their batch job; a scancelled worker
job mid-sweep loses nothing and recomputes nothing that had finished."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from service.client import Client
from tests.deploy.conftest import ALICE, BIN, SWEEP, TOKENS, finished_snapshot, free_port, run, wait_for

pytestmark = pytest.mark.deploy


@pytest.fixture(scope="session")
def slurm() -> str:
    """A SLURM controller with an idle node (deploy/slurm.sh starts one)."""
    sinfo = shutil.which("sinfo")
    assert sinfo, "no SLURM client: run deploy/slurm.sh (.ci/run does)"
    state = run([sinfo, "-h", "-o", "%t"], timeout=30)
    assert {"idle", "mix", "alloc"} & set(state.split()), f"no usable SLURM node: {state!r}"
    return sinfo


def slurm_spec(tmp: Path) -> dict[str, Any]:
    """examples/clusters/slurm.yaml with local paths: the jobs run this venv's Python on this node."""
    spec = yaml.safe_load((Path(__file__).parents[2] / "examples" / "clusters" / "slurm.yaml").read_text())
    cache = os.environ.get("NUMBA_CACHE_DIR", str(tmp / "numba-cache"))
    spec.pop("account")  # this one-node SLURM has no accounts
    spec.update(
        queue="debug",
        cores=1,
        processes=1,
        memory="1GB",
        walltime="00:30:00",
        python=sys.executable,
        job_script_prologue=[f"export NUMBA_CACHE_DIR={cache}"],
        scheduler_options={"host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
        worker_extra_args=["--host", "127.0.0.1"],
        log_directory=str(tmp / "slurm-logs"),
        local_directory=str(tmp / "dask-tmp"),
        adapt={"minimum": 1, "maximum": 2},
    )
    return spec


def test_deploy_slurm_runs_record_their_job_and_survive_scancel(slurm: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    spec_file = tmp_path / "slurm.yaml"
    spec_file.write_text(yaml.safe_dump(slurm_spec(tmp_path)))
    port = free_port()
    log = (tmp_path / "serve.log").open("w")
    serve = subprocess.Popen(
        [
            str(BIN / "pbn"),
            "serve",
            "--port",
            str(port),
            "--cluster",
            str(spec_file),
            "--data",
            str(tmp_path / "d"),
        ],
        env={**os.environ, "PBN_TOKENS": TOKENS},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: httpx.get(f"{url}/health", timeout=5).json()["status"] == "ok", 180, "pbn serve")
        api = Client(url, token=ALICE)
        assert api.cluster()["backend"] == "slurm"
        sweep = api.submit(SWEEP | {"seed": 11})
        n = sweep.created["n_runs"]
        wait_for(lambda: sweep.status()["counts"].get("done", 0) >= 3, 300, "3 runs done in SLURM jobs")
        seen = finished_snapshot(api, sweep.id, n)
        ran = {str(sweep.run(i)["summary"].get("info_slurm_job_id")) for i in seen}
        victim = sorted(ran & set(api.cluster()["jobs_running"]))[0]  # a job that has run some runs already
        run(["scancel", victim], timeout=30)
        assert sweep.status()["counts"].get("done", 0) < n, "the sweep finished before the scancel"
        final = sweep.wait(timeout=900, poll_s=1.0)
        runs = [sweep.run(i) for i in range(n)]
        assert final["state"] == "done" and [r["status"] for r in runs] == ["done"] * n, final
        jobs = {r["summary"].get("info_slurm_job_id") for r in runs}
        recomputed = [i for i, t in seen.items() if runs[i]["summary"]["info_started_at"] != t]
        print(
            f"SLURM jobs that ran runs {sorted(map(str, jobs))}; scancelled {victim}; "
            f"runs lost 0, finished runs recomputed {len(recomputed)}; {time.monotonic() - t0:.0f} s"
        )
        assert None not in jobs and all(str(j).isdigit() for j in jobs), jobs  # every run ran in a SLURM job
        assert not recomputed, recomputed
        assert victim not in api.cluster()["jobs_running"]  # the scancelled job is gone, its runs survived
    finally:
        serve.terminate()
        serve.wait(60)
        log.close()
        print((tmp_path / "serve.log").read_text()[-4000:])
        subprocess.run(["scancel", "--name", "dask-worker"], capture_output=True, timeout=30)
