"""Shared fixtures: the original `plastic_balanced_network` 0.0.6 package, loaded without its __init__.

Its PyPI wheel lacks the VERSION file that `__init__` reads, so importing the package fails; we load
`network.py` and `helpers.py` directly as standalone modules (neither uses relative imports), which
leaves the installed package untouched.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest


def _load(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def load_original() -> SimpleNamespace:
    """The original package's public names (class and helpers), or skip if it is not installed."""
    spec = importlib.util.find_spec("plastic_balanced_network")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("plastic-balanced-network==0.0.6 (test extra) is not installed")
    root = Path(next(iter(spec.submodule_search_locations)))
    network = sys.modules.get("_pbn_original_network") or _load("_pbn_original_network", root / "network.py")
    helpers = sys.modules.get("_pbn_original_helpers") or _load("_pbn_original_helpers", root / "helpers.py")
    return SimpleNamespace(
        PlasticNeuralNetwork=network.PlasticNeuralNetwork,
        compute_firing_rate=helpers.compute_firing_rate,
        spike_count_cov=helpers.spike_count_cov,
        cov2corr=helpers.cov2corr,
        average_cov_corr_over_subpops=helpers.average_cov_corr_over_subpops,
        network=network,
        helpers=helpers,
    )


@pytest.fixture(scope="session")
def original() -> SimpleNamespace:
    """The original package 0.0.6 (class `PlasticNeuralNetwork` and the four helpers)."""
    return load_original()


@pytest.fixture(scope="module")
def local_cluster():
    """An in-process Dask LocalCluster (one worker thread) for the service tests of one module."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        yield cluster
