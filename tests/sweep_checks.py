"""Shared checks for sweep tests: a stored run equals a direct simulation of the same point and seed."""

from __future__ import annotations

import numpy as np

from worker.store.schema import RESULT_ARRAYS

VOLATILE = frozenset({"wall_s"})
"""Summary entries that measure the machine, not the model."""


def assert_same_result(stored: dict, result) -> None:
    """Every stored array and summary value equals the direct simulation's, bit for bit."""
    for spec in RESULT_ARRAYS:
        np.testing.assert_array_equal(
            stored["arrays"][spec.name], getattr(result, spec.source), err_msg=spec.name
        )
    for key, value in result.summary.items():
        if key in VOLATILE:
            continue
        got = stored["summary"][key]
        if isinstance(value, float) and np.isnan(value):
            assert got is None, key
        else:
            assert got == (value.item() if hasattr(value, "item") else value), key


def assert_same_store(store_a, id_a: str, store_b, id_b: str) -> None:
    """Two sweeps hold the same statuses and the same data run by run."""
    assert store_a.statuses(id_a) == store_b.statuses(id_b)
    for index in range(store_a.n_runs(id_a)):
        a, b = store_a.read_run(id_a, index), store_b.read_run(id_b, index)
        assert a["arrays"].keys() == b["arrays"].keys()
        for name, value in a["arrays"].items():
            np.testing.assert_array_equal(b["arrays"][name], value, err_msg=f"run {index} {name}")
        sa = {k: v for k, v in a["summary"].items() if k not in VOLATILE}
        sb = {k: v for k, v in b["summary"].items() if k not in VOLATILE}
        assert sa == sb, index
