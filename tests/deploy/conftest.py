"""Deploy tests: real dockerd + compose and a real one-node SLURM (.ci/run installs and starts them).

A missing daemon is a failure, not a skip: the set-up scripts in deploy/ make them on a machine of this kind.
"""

from __future__ import annotations

import math
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from service.api.tables import clean, run_series
from worker.store import SweepStore

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
BASE_IMAGE = os.environ.get("PBN_BASE_IMAGE", "local/python:3.11-bookworm")
IMAGE = "pbn-sweep:latest"
ALICE, BOB = "deploy-alice-0123456789", "deploy-bob-0123456789"
TOKENS = f"{ALICE}=alice,{BOB}=bob:admin"

# 24 runs of about a second each: long enough to kill and restart things while it runs
SWEEP: dict[str, Any] = {
    "name": "deploy",
    "base": {"T": 5000, "N": 1000},
    "grid": {"N": [1000, 2000], "cx": [0.0, 0.1]},
    "replicates": 6,
    "seed": 7,
    "record": {"dt": 10.0, "weights": 10, "cells": 5},
    "analysis": {"window": 100, "rate_bin": 10},
}


def run(cmd: list[str], timeout: float = 900, env: dict[str, str] | None = None, **kw: Any) -> str:
    """Run a command; fail the test with its output when it fails."""
    result = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, **(env or {})}, **kw
    )
    assert result.returncode == 0, (
        f"{' '.join(cmd)}: rc={result.returncode}\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


def wait_for(predicate: Callable[[], Any], timeout: float, what: str, poll: float = 0.5) -> Any:
    """Poll until `predicate` returns something truthy (exceptions count as not yet)."""
    deadline, last = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:
            last = exc
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what} (last error: {last!r})")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def same(a: Any, b: Any) -> bool:
    """Equal value for value (NaN equals NaN), through nested dicts and lists."""
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return bool(a == b)


def differences(a: Any, b: Any, where: str = "") -> list[tuple[str, Any, Any]]:
    """Every place where `a` and `b` (nested dicts/lists of JSON values) differ, value for value."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(a.keys() | b.keys())
        return [d for k in keys for d in differences(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{where}[{i}]")
        ]
    return [] if same(a, b) else [(where, a, b)]


def relative(a: Any, b: Any) -> float:
    """|a - b| / max(|a|, |b|) for two floats; inf for anything else that differs."""
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) / max(abs(a), abs(b))
    return math.inf


def public_run(store: SweepStore, sweep_id: str, index: int) -> dict[str, Any]:
    """A locally stored run in the shape GET /sweeps/{id}/runs/{index} answers (summary and series)."""
    data = store.read_run(sweep_id, index)
    return {"summary": clean(data["summary"]), "series": clean(run_series(data["arrays"]))}


def results_of(summary: dict[str, Any]) -> dict[str, Any]:
    """A run's summary without what describes its execution (info_* from the API, wall_s): the results."""
    return {k: v for k, v in summary.items() if not k.startswith("info_") and k != "wall_s"}


def reference_sweep(tmp: Path, definition: dict[str, Any]) -> tuple[SweepStore, str]:
    """The same sweep run with `pbn sweep` on this machine, outside any container or batch system."""
    import yaml

    path = tmp / "reference.yaml"
    path.write_text(yaml.safe_dump(definition))
    data = tmp / "reference-data"
    run([str(BIN / "pbn"), "sweep", str(path), "--data", str(data), "--workers", "1", "--id", "reference"])
    return SweepStore(data), "reference"


def finished_snapshot(api: Any, sweep_id: str, n: int) -> dict[int, float]:
    """started_at of every run finished now, read over HTTP (to prove later that none started again)."""
    out = {}
    for index in range(n):
        r = api.sweep(sweep_id).run(index)
        if r["status"] in ("done", "diverged"):
            out[index] = r["summary"]["info_started_at"]
    return out


@pytest.fixture(scope="session")
def docker() -> str:
    """The docker CLI with a running engine and compose v2 (deploy/docker-engine.sh makes them)."""
    exe = shutil.which("docker")
    assert exe, "no docker CLI: run deploy/docker-engine.sh (.ci/run does)"
    run([exe, "info"], timeout=60)
    assert "v2" in run([exe, "compose", "version"]) or "version 2" in run([exe, "compose", "version"])
    return exe


@pytest.fixture(scope="session")
def image(docker: str) -> dict[str, Any]:
    """The local base (deploy/base-image.sh, cached) and the project's image built from this checkout."""
    t0 = time.monotonic()
    run([str(ROOT / "deploy" / "base-image.sh"), BASE_IMAGE], timeout=1800)
    run(
        [docker, "build", "-q", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}", "-t", IMAGE, str(ROOT)],
        timeout=1800,
    )
    # earlier builds of this image left untagged: removed, so reruns do not fill the disk
    run([docker, "image", "prune", "-f", "--filter", "label=org.opencontainers.image.title=pbn-sweep"])
    size = int(run([docker, "image", "inspect", "-f", "{{.Size}}", IMAGE]).strip())
    return {"tag": IMAGE, "size_bytes": size, "build_s": time.monotonic() - t0}
