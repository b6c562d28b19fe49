"""docker-compose.yml, Dockerfile and cluster specs checked statically (tests/deploy/ runs them)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from tests.e2e.conftest import SCHEDULER_CMD, SERVE_CMD, WORKER_CMD
from worker.cluster_spec import AddressSpec, JobqueueSpec, LocalSpec, load_cluster_spec, parse_cluster_spec

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


@pytest.fixture(scope="module")
def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def options(args: list[str]) -> set[str]:
    return {a.split("=")[0] for a in args if a.startswith("--")}


def help_text(executable: str, sub: str) -> str:
    result = subprocess.run(
        [str(BIN / executable), sub, "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_deploy_services_share_one_image_and_volume(compose):
    services = compose["services"]
    assert set(services) == {"scheduler", "worker", "api"}
    assert {s["image"] for s in services.values()} == {"pbn-sweep:latest"}
    assert all(s["build"]["context"] == "." for s in services.values())
    assert all("BASE_IMAGE" in s["build"]["args"] for s in services.values())
    for service in services.values():
        assert service["volumes"] == ["pbn-data:/data"]
    assert "pbn-data" in compose["volumes"]
    assert "container_name" not in services["worker"]  # `--scale worker=N` needs unnamed containers


def test_deploy_commands_are_the_ones_the_e2e_test_runs(compose):
    """Same executable, subcommand and options as tests/e2e (only addresses differ)."""
    services = compose["services"]
    pairs = {"scheduler": SCHEDULER_CMD, "worker": WORKER_CMD, "api": SERVE_CMD}
    for name, e2e in pairs.items():
        command = services[name]["command"]
        assert command[:2] == e2e[:2], name
        e2e_only = options(e2e) - options(command)
        assert e2e_only <= {"--host"}, (name, e2e_only)  # e2e pins workers to 127.0.0.1
        assert options(command) <= options(e2e), name


@pytest.mark.parametrize(
    "executable, sub, service", [("dask", "scheduler", "scheduler"), ("dask", "worker", "worker")]
)
def test_deploy_dask_options_exist(compose, executable, sub, service):
    text = help_text(executable, sub)
    for option in options(compose["services"][service]["command"]):
        assert option in text, option


def test_deploy_pbn_console_script_and_serve_options(compose):
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts["pbn"] == "service.cli:app"
    text = help_text("pbn", "serve")
    for option in options(compose["services"]["api"]["command"]):
        assert option in text, option


def test_deploy_ports_scheduler_private_dashboard_published(compose):
    services = compose["services"]
    published = [str(p) for s in services.values() for p in s.get("ports", [])]
    assert not any(p.split(":")[-1] == "8786" for p in published), published
    assert services["scheduler"]["ports"] == ["127.0.0.1:${PBN_DASHBOARD_PORT:-8787}:8787"]
    assert services["api"]["ports"] == [
        "${PBN_API_BIND:-127.0.0.1}:${PBN_API_PORT:-8000}:8000"
    ]  # loopback default
    assert all(s["restart"] == "unless-stopped" for s in services.values())  # workers come back after exiting
    assert "8786" in [str(p) for p in services["scheduler"]["expose"]]
    assert "tcp://scheduler:8786" in services["worker"]["command"]
    assert "tcp://scheduler:8786" in services["api"]["command"]
    env = services["api"]["environment"]
    assert env["PBN_TOKENS"].startswith("${PBN_TOKENS:?")  # compose refuses to start the API without tokens


def test_deploy_dockerfile_non_root_numba_cache_and_install(dockerfile):
    instructions = [i for i, _ in dockerfile]
    # `ARG BASE_IMAGE=python:3.11-slim` / `FROM ${BASE_IMAGE}`: a local base can be passed with --build-arg
    first_from = instructions.index("FROM")
    assert set(instructions[:first_from]) <= {"ARG"}
    defaults = dict(a.split("=", 1) for i, a in dockerfile[:first_from] if "=" in a)
    base = re.sub(r"\$\{?(\w+)\}?", lambda m: defaults.get(m.group(1), m.group(0)), dockerfile[first_from][1])
    assert "python:3.11" in base, base
    env = " ".join(a for i, a in dockerfile if i == "ENV")
    assert "NUMBA_CACHE_DIR=" in env and "PBN_DATA=/data" in env
    users = [a for i, a in dockerfile if i == "USER"]
    assert users and users[-1] not in ("root", "0")
    install = max(i for i, (ins, a) in enumerate(dockerfile) if ins == "RUN" and "pip install" in a)
    assert instructions.index("USER") > install  # everything after the install runs as the unprivileged user
    runs = " ".join(a for i, a in dockerfile if i == "RUN")
    assert "pip install ." in runs and "pip install --no-deps ." in runs and "useradd" in runs
    copied = [shlex.split(a)[0] for i, a in dockerfile if i == "COPY"]
    for path in copied:
        assert (ROOT / path).exists(), path
    assert {"sim", "worker", "service", "pyproject.toml"} <= set(copied)
    cmd = next(a for i, a in dockerfile if i == "CMD")
    assert cmd.startswith('["pbn", "serve"')


def test_deploy_dockerignore_keeps_sources(dockerfile):
    ignored = (ROOT / ".dockerignore").read_text().split()
    for needed in ("sim", "worker", "service", "pyproject.toml", "README.md"):
        assert needed not in ignored


@pytest.mark.parametrize(
    "path", sorted((ROOT / "examples" / "clusters").glob("*.yaml")), ids=lambda p: p.stem
)
def test_deploy_example_cluster_specs_parse(path):
    spec = load_cluster_spec(path)
    assert spec.backend == path.stem


def test_deploy_cluster_spec_forms_and_errors():
    assert isinstance(load_cluster_spec("local"), LocalSpec)
    assert load_cluster_spec("tcp://10.0.0.1:8786") == AddressSpec(address="tcp://10.0.0.1:8786")
    assert parse_cluster_spec({"address": "tls://h:8786"}).backend == "address"
    spec = parse_cluster_spec({"backend": "pbs", "queue": "q", "adapt": {"minimum": 1, "maximum": 3}})
    assert isinstance(spec, JobqueueSpec)
    kwargs = spec.cluster_kwargs()
    assert (
        kwargs["queue"] == "q"
        and "adapt" not in kwargs
        and "backend" not in kwargs
        and "account" not in kwargs
    )
    with pytest.raises(ValidationError, match="minimum <= maximum"):
        parse_cluster_spec({"backend": "slurm", "adapt": {"minimum": 3, "maximum": 1}})
    with pytest.raises(ValidationError, match="quue"):
        parse_cluster_spec({"backend": "slurm", "quue": "debug"})  # a typo is an error, not ignored
    with pytest.raises(ValidationError):
        parse_cluster_spec({"backend": "kubernetes"})


def test_deploy_slurm_spec_makes_the_job_script_it_says():
    """dask-jobqueue accepts every option of the example spec and writes them into the job script."""
    import dask_jobqueue

    spec = load_cluster_spec(ROOT / "examples" / "clusters" / "slurm.yaml")
    assert isinstance(spec, JobqueueSpec)
    kwargs = spec.cluster_kwargs() | {"scheduler_options": {"host": "127.0.0.1", "dashboard_address": None}}
    cluster = dask_jobqueue.SLURMCluster(**kwargs)
    try:
        script = cluster.job_script()
    finally:
        cluster.close()
    for line in ("#SBATCH -p compute", "#SBATCH -A mylab", "#SBATCH -t 04:00:00", "--nworkers 4"):
        assert line in script, (line, script)
    assert "export NUMBA_CACHE_DIR=$TMPDIR/numba-cache" in script
