"""docker-compose.yml and Dockerfile checked as far as this machine allows (no Docker engine here)."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
import yaml

from tests.e2e.conftest import SCHEDULER_CMD, SERVE_CMD, WORKER_CMD

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
    assert all(s["build"] == "." for s in services.values())
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
    assert services["scheduler"]["ports"] == ["127.0.0.1:8787:8787"]
    assert "8786" in [str(p) for p in services["scheduler"]["expose"]]
    assert "tcp://scheduler:8786" in services["worker"]["command"]
    assert "tcp://scheduler:8786" in services["api"]["command"]
    env = services["api"]["environment"]
    assert env["PBN_TOKENS"].startswith("${PBN_TOKENS:?")  # compose refuses to start the API without tokens


def test_deploy_dockerfile_non_root_numba_cache_and_install(dockerfile):
    instructions = [i for i, _ in dockerfile]
    assert dockerfile[0][0] == "FROM" and "python:3.11" in dockerfile[0][1]
    env = " ".join(a for i, a in dockerfile if i == "ENV")
    assert "NUMBA_CACHE_DIR=" in env and "PBN_DATA=/data" in env
    users = [a for i, a in dockerfile if i == "USER"]
    assert users and users[-1] not in ("root", "0")
    install = next(i for i, (ins, a) in enumerate(dockerfile) if ins == "RUN" and "pip install" in a)
    assert instructions.index("USER") > install  # everything after the install runs as the unprivileged user
    runs = " ".join(a for i, a in dockerfile if i == "RUN")
    assert "pip install ." in runs and "useradd" in runs
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
