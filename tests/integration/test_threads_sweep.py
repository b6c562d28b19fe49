"""A sweep on a LocalCluster whose worker offers two cores (`threads` resource): runs of N at or above
PBN_THREADS_MIN_N run on both, smaller ones on one, and every stored result equals a one-thread direct
simulation (the block means recorded as `weight_mean` to rounding, everything else bit for bit)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import simulate
from worker.cluster import make_client
from worker.cluster_spec import LocalSpec
from worker.runner import SweepRunner
from worker.store import SweepStore
from worker.store.schema import RESULT_ARRAYS
from worker.sweep import expand_sweep, load_definition

DEFINITION = {
    "name": "threads",
    "base": {"T": 600.0, "eta_ei": 1.5e-3},
    "grid": {"N": [500, 1100]},
    "seed": 5,
    "record": {"dt": 50.0, "weights": 5, "cells": 3},
}


@pytest.fixture
def two_core_worker():
    client = make_client(spec=LocalSpec(n_workers=1, threads_per_worker=2), dashboard_address=None)
    yield client
    cluster = client.cluster
    client.close()
    cluster.close()


def test_large_runs_use_the_offered_cores_and_store_the_one_thread_result(
    two_core_worker, tmp_path, monkeypatch
):
    monkeypatch.setenv("PBN_THREADS_MIN_N", "1000")
    assert next(iter(two_core_worker.scheduler_info()["workers"].values()))["resources"] == {"threads": 2}
    store = SweepStore(tmp_path)
    defn = load_definition(DEFINITION)
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    assert SweepRunner(two_core_worker, store).run(sweep_id).done == 2
    assert [store.run_info(sweep_id, i)["threads"] for i in range(2)] == [1, 2]
    for run in runs:
        stored, direct = store.read_run(sweep_id, run.index), simulate(run.params)
        for spec in RESULT_ARRAYS:
            got, want = stored["arrays"][spec.name], getattr(direct, spec.source)
            if spec.name == "weight_mean":  # running block sums: per-thread parts added in another order
                np.testing.assert_allclose(got, want, rtol=1e-12, atol=0, err_msg=spec.name)
            else:
                np.testing.assert_array_equal(got, want, err_msg=spec.name)
        for key, value in direct.summary.items():
            got = stored["summary"][key]
            if key == "wall_s" or (isinstance(value, float) and math.isnan(value) and got is None):
                continue
            if isinstance(value, float):
                assert got == pytest.approx(value, rel=1e-9, abs=1e-12), key
            else:
                assert got == value, key
