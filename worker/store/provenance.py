"""Provenance of a sweep: versions of everything that shapes its numbers, and the host."""

from __future__ import annotations

import platform
import socket
from importlib import metadata
from typing import Any


def package_version() -> str:
    """The installed pbn-sweep version (pyproject's `version`, the one place it is written)."""
    return _version("pbn-sweep")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def provenance() -> dict[str, Any]:
    """Versions of everything that shapes a run's numbers, plus the host that created the sweep."""
    from sim import MODEL_VERSION

    version = _version
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
