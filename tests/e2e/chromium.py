"""Debian's headless Chromium for Playwright (no browser download): where it is and how it is started."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def executable() -> str | None:
    """Path of the system chromium, or None when it is not installed."""
    return str(CHROMIUM) if CHROMIUM.exists() else shutil.which("chromium")
