"""worker/ and service/ stay mypy-clean (config in pyproject `[tool.mypy]`, pydantic plugin on)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow  # ~20 s on a cold mypy cache (CI), ~2 s warm
def test_typing_worker_and_service_are_mypy_clean() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "worker", "service"], cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout + done.stderr
