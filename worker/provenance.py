"""Provenance of a sweep (versions and host) and readable sweep ids."""

from __future__ import annotations

import platform
import re
import secrets
import socket
import time
from importlib import metadata
from typing import Any


def provenance() -> dict[str, Any]:
    """Versions of everything that shapes a run's numbers, plus the host that created the sweep."""
    from sim import MODEL_VERSION

    def version(dist: str) -> str:
        try:
            return metadata.version(dist)
        except metadata.PackageNotFoundError:
            return "unknown"

    return {
        "package": "pbn-sweep",
        "package_version": version("pbn-sweep"),
        "model_version": MODEL_VERSION,
        "python": platform.python_version(),
        "numba": version("numba"),
        "numpy": version("numpy"),
        "zarr": version("zarr"),
        "dask": version("dask"),
        "distributed": version("distributed"),
        "host": socket.gethostname(),
        "platform": platform.platform(),
    }


def new_sweep_id(name: str) -> str:
    """`<slug of name>-<UTC yyyymmddHHMMSS>-<6 hex>`: sortable, readable, unique."""
    slug = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "sweep"
    return f"{slug}-{time.strftime('%Y%m%d%H%M%S', time.gmtime())}-{secrets.token_hex(3)}"
