"""Sweep ids: the one pattern every entry point checks, and readable generated ids."""

from __future__ import annotations

import re
import secrets
import time

SWEEP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$"
"""Letters, digits, '_', '-', '.'; never '/', never starting with '.' (no path tricks)."""
SWEEP_ID = re.compile(SWEEP_ID_PATTERN)


def is_sweep_id(value: object) -> bool:
    """True if `value` is a well-formed sweep id."""
    return isinstance(value, str) and SWEEP_ID.fullmatch(value) is not None


def new_sweep_id(name: str) -> str:
    """`<slug of name>-<UTC yyyymmddHHMMSS>-<6 hex>`: sortable, readable, unique."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "sweep"
    return f"{slug}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
