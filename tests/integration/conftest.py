"""Fixtures with real processes: a `dask scheduler` and two `dask worker`s on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from distributed import Client

from tests.cluster_procs import DaskProcs
from worker.cluster import WarmUpPlugin


@pytest.fixture(scope="module")
def dask_procs(tmp_path_factory) -> Iterator[DaskProcs]:
    """A scheduler and two single-threaded worker processes, stopped after the module."""
    with DaskProcs(tmp_path_factory.mktemp("dask"), n_workers=2) as procs:
        yield procs


@pytest.fixture(scope="module")
def dask_client(dask_procs) -> Iterator[Client]:
    """A client of the real cluster with the Numba warm-up plugin registered."""
    with Client(dask_procs.address) as client:
        client.register_plugin(WarmUpPlugin())
        yield client
