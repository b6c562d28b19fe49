"""The code base stays `ruff check` and `ruff format` clean (the house style is enforced, not hoped for)."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]
CODE = ["sim", "worker", "service", "tests", "bench"]
"""Python code only (recent ruff also formats code blocks in Markdown, which we write by hand)."""


@pytest.mark.parametrize("args", [["check", *CODE], ["format", "--check", *CODE]], ids=["check", "format"])
def test_lint_ruff_clean(args: list[str]) -> None:
    done = subprocess.run([sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
