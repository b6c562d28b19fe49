"""The Zarr store: layout (dims, one run per chunk, attrs), write/read round trip, idempotent rewrite,
padding of shorter runs, cache reuse, typed errors, task failure capture, and open_sweep unstacking."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

from sim import SimParams, simulate
from tests.sweep_checks import assert_same_result
from worker.errors import RunNotFoundError, SweepNotFoundError, SweepStateError
from worker.results import open_sweep, summary_table
from worker.store import SweepStore
from worker.store.schema import RESULT_ARRAYS
from worker.sweep import expand_sweep, load_definition
from worker.tasks import run_point

RECORD = {"dt": 5.0, "weights": 4, "cells": 3}


def definition(**kw):
    data = {"name": "Store Test", "base": {"T": 200.0, "N": 100}, "record": RECORD, "seed": 11}
    data.update(kw)
    return load_definition(data)


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A 2 x 2 x 2 sweep with every run written by run_point (no Dask: the task function itself)."""
    store = SweepStore(tmp_path_factory.mktemp("store"))
    defn = definition(grid={"N": [100, 150], "cx": [0.0, 0.1]}, replicates=2)
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs, owner="alice")
    for r in runs:
        out = run_point(str(store.root), sweep_id, r.index, r.params, 1)
        assert out["status"] == "done", out
    return store, sweep_id, runs


def test_create_sweep_layout_one_run_per_chunk_and_attrs(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(grid={"N": [100, 150]}, zip={"jee": [20.0, 25.0], "jie": [100.0, 112.5]})
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs, owner="bob")
    assert sweep_id.startswith("store-test-") and store.sweep_ids() == [sweep_id]
    g = zarr.open_group(str(tmp_path / "sweeps" / f"{sweep_id}.zarr"), mode="r")
    assert g.metadata.zarr_format == 3
    for name, arr in g.arrays():
        dims = arr.metadata.dimension_names
        if dims[0] == "run" and name not in ("N", "jee", "jie", "seed", "replicate", "point_index"):
            assert arr.chunks[0] == 1, name
            assert arr.shape[0] == len(runs), name
            assert arr.shards is None, name
    assert g["weight_samples"].metadata.dimension_names == ("run", "block", "synapse", "time")
    assert g["weight_samples"].shape == (4, 4, RECORD["weights"], 200 // 5 + 1)
    assert g["neuron_rate_hz"].shape == (4, 150)
    attrs = store.attrs(sweep_id)
    assert attrs["owner"] == "bob" and attrs["n_runs"] == 4 and attrs["created"].endswith("Z")
    assert attrs["definition"] == defn.model_dump(mode="json")
    assert set(attrs["provenance"]) >= {
        "package_version",
        "model_version",
        "python",
        "numba",
        "numpy",
        "host",
    }
    assert attrs["expansion"]["seeds"] == [r.seed for r in runs]
    assert list(g["N"][:]) == [100, 100, 150, 150] and list(g["jie"][:]) == [100.0, 112.5] * 2
    assert store.statuses(sweep_id) == ["pending"] * 4
    assert "rate_e_hz" in attrs["summary_keys"]


def test_stored_run_equals_direct_simulation(small):
    store, sweep_id, runs = small
    for index in (0, 7):
        stored = store.read_run(sweep_id, index)
        assert stored["status"] == "done" and stored["seed"] == runs[index].seed
        assert SimParams(**stored["params"]) == runs[index].params
        assert_same_result(stored, simulate(runs[index].params))


def test_tasks_write_only_their_own_chunks(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(grid={"cx": [0.0, 0.1, 0.2]})
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    run_point(str(tmp_path), sweep_id, 1, runs[1].params, 1)
    root = store.path(sweep_id)
    for spec in RESULT_ARRAYS:
        chunk_files = {p.name.split(".")[1] for p in (root / spec.name).glob("c.*")}
        assert chunk_files == {"1"}, spec.name
    assert store.statuses(sweep_id) == ["pending", "done", "pending"]


def test_rewriting_a_run_is_harmless(small, tmp_path):
    store, sweep_id, runs = small
    before = {k: v.copy() for k, v in store.read_run(sweep_id, 2)["arrays"].items()}
    store.write_result(sweep_id, 2, simulate(runs[2].params), {"attempt": 2})
    after = store.read_run(sweep_id, 2)
    assert after["status"] == "done" and after["info"]["attempt"] == 2
    for name, value in before.items():
        np.testing.assert_array_equal(after["arrays"][name], value)
    skipped = run_point(str(store.root), sweep_id, 2, runs[2].params, 3)
    assert skipped["status"] == "skipped" and store.run_info(sweep_id, 2)["attempt"] == 2


def test_shorter_runs_are_padded_and_read_back_unpadded(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(grid={"T": [100.0, 200.0], "record.dt": [5.0, 10.0]})
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    assert store.group(sweep_id)["time_ms"].shape[1] == 200 // 5 + 1
    run_point(str(tmp_path), sweep_id, 1, runs[1].params, 1)  # T=100, dt=10: 10 bins
    raw = store.group(sweep_id)["time_ms"][1]
    assert np.all(np.isfinite(raw[:10])) and np.all(np.isnan(raw[10:]))
    stored = store.read_run(sweep_id, 1)
    assert stored["arrays"]["time_ms"].shape == (10,)
    assert_same_result(stored, simulate(runs[1].params))


def test_cache_reuses_a_done_run_from_another_sweep(small, tmp_path):
    store, sweep_id, runs = small
    other = definition(grid={"N": [100, 150, 200], "cx": [0.0, 0.1]}, replicates=2)
    new_runs = expand_sweep(other)
    new_id = store.create_sweep(other, new_runs, owner="alice")
    by_key = {r.cache_key: r.index for r in runs}
    hits = [r for r in new_runs if r.cache_key in by_key]
    assert len(hits) == len(runs)  # extending the grid keeps the old runs' seeds
    for r in hits:
        source = store.lookup_cache(r.cache_key, "alice", exclude=new_id)
        assert source == (sweep_id, by_key[r.cache_key])
        assert store.lookup_cache(r.cache_key, "bob") is None  # never another owner's runs
        assert store.reuse_run(new_id, r.index, source)
    assert store.lookup_cache(new_runs[-1].cache_key, "alice") is None
    stored = store.read_run(new_id, hits[0].index)
    original = store.read_run(sweep_id, by_key[hits[0].cache_key])
    assert stored["status"] == "reused"
    assert stored["info"]["reused_from"] == {"sweep_id": sweep_id, "index": by_key[hits[0].cache_key]}
    for name, value in original["arrays"].items():
        np.testing.assert_array_equal(stored["arrays"][name], value)
    assert stored["summary"] == original["summary"]


def test_failed_task_stores_error_text(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(grid={"cx": [0.0, 0.1]})
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    out = run_point(str(tmp_path), sweep_id, 0, {"N": "not a number"}, 1)  # type: ignore[arg-type]
    assert out["status"] == "failed"
    assert store.statuses(sweep_id)[0] == "failed"
    assert "ValidationError" in store.errors(sweep_id)[0] and "N" in store.errors(sweep_id)[0]


def test_diverged_run_is_stored_with_partial_data(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(base={"T": 300.0, "N": 100, "rate_max_hz": 1.0}, grid={"cx": [0.0]})
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    out = run_point(str(tmp_path), sweep_id, 0, runs[0].params, 1)
    assert out["status"] == "diverged"
    stored = store.read_run(sweep_id, 0)
    assert stored["status"] == "diverged" and stored["error"] == "rate"
    assert stored["summary"]["t_stop_ms"] < 300.0
    assert store.lookup_cache(runs[0].cache_key, "anonymous") is None  # only `done` runs are reused


def test_typed_errors(small):
    store, sweep_id, runs = small
    with pytest.raises(SweepNotFoundError):
        store.attrs("no-such-sweep")
    with pytest.raises(SweepNotFoundError):
        store.attrs("../../etc")
    with pytest.raises(RunNotFoundError):
        store.read_run(sweep_id, len(runs))
    with pytest.raises(SweepStateError):
        store.create_sweep(store.definition(sweep_id), runs, sweep_id=sweep_id)


def test_delete_removes_sweep(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition()
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    store.delete(sweep_id)
    assert store.sweep_ids() == [] and not store.exists(sweep_id)
    with pytest.raises(SweepNotFoundError):
        store.delete(sweep_id)


def test_open_sweep_unstacks_grid_and_replicates(small):
    store, sweep_id, runs = small
    ds = open_sweep(store.root, sweep_id)
    assert dict(ds.sizes)["N"] == 2 and ds.sizes["cx"] == 2 and ds.sizes["replicate"] == 2
    assert ds.rate_e_hz.dims == ("N", "cx", "replicate")
    for r in runs:
        sel = {"N": r.point["N"], "cx": r.point["cx"], "replicate": r.replicate}
        summary = store.read_run(sweep_id, r.index)["summary"]
        assert float(ds.rate_e_hz.sel(**sel)) == summary["rate_e_hz"]
        assert int(ds.seed.sel(**sel)) == r.seed
        assert str(ds.status.sel(**sel).item()) == "done"
    assert ds.weight_samples.dims == ("N", "cx", "replicate", "block", "synapse", "time")
    np.testing.assert_array_equal(ds.time.values, np.arange(1, 41) * 5.0)
    assert json.loads(ds.attrs["definition"])["seed"] == 11


def test_open_sweep_zip_and_points_axes(tmp_path):
    store = SweepStore(tmp_path)
    defn = definition(zip={"jee": [20.0, 25.0], "jie": [100.0, 112.5]}, points=[{"cx": 0.0}, {"cx": 0.2}])
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    run_point(str(tmp_path), sweep_id, 3, runs[3].params, 1)
    ds = open_sweep(store, sweep_id, variables=["rate_e_hz"])
    assert ds.rate_e_hz.dims == ("jee", "point", "replicate")
    assert list(ds.jie.values) == [100.0, 112.5] and list(ds.cx.values) == [0.0, 0.2]
    assert (
        float(ds.rate_e_hz.sel(jee=25.0, point=1, replicate=0))
        == store.read_run(sweep_id, 3)["summary"]["rate_e_hz"]
    )
    assert int(np.isnan(ds.rate_e_hz.values).sum()) == 3


def test_summary_table_one_row_per_run(small):
    store, sweep_id, runs = small
    table = summary_table(store, sweep_id)
    assert len(table) == len(runs)
    assert list(table["N"]) == [r.point["N"] for r in runs]
    assert list(table["seed"]) == [r.seed for r in runs]
    assert {"index", "status", "replicate", "rate_e_hz", "attempt"} <= set(table.columns)
    assert set(table["status"]) == {"done"}
    table.to_csv(index=False)


def test_spike_raster_round_trip_and_opt_in_loading(tmp_path):
    store = SweepStore(tmp_path)
    record = {**RECORD, "spikes": True, "spike_neurons": 20, "max_spikes": 20_000}
    defn = definition(record=record, grid={"cx": [0.0, 0.1]})
    runs = expand_sweep(defn)
    sweep_id = store.create_sweep(defn, runs)
    assert store.group(sweep_id)["spike_times_ms"].shape == (2, 20_000)
    run_point(str(tmp_path), sweep_id, 0, runs[0].params, 1)
    stored, direct = store.read_run(sweep_id, 0), simulate(runs[0].params)
    assert direct.spike_times_ms.size > 0
    np.testing.assert_array_equal(stored["arrays"]["spike_times_ms"], direct.spike_times_ms)
    np.testing.assert_array_equal(stored["arrays"]["spike_neurons"], direct.spike_neurons)
    assert "spike_times_ms" not in open_sweep(store, sweep_id)
    ds = open_sweep(store, sweep_id, variables=["spike_times_ms"])
    assert ds.spike_times_ms.dims == ("cx", "replicate", "spike")


def test_plain_xarray_open_zarr_reads_the_store(small):
    import xarray as xr

    store, sweep_id, runs = small
    raw = xr.open_zarr(str(store.path(sweep_id)), consolidated=False)
    assert raw.sizes["run"] == len(runs)
    assert list(raw["N"].values) == [r.point["N"] for r in runs]
    assert raw["weight_samples"].dims == ("run", "block", "synapse", "time")
    assert list(raw["block"].values) == ["ee", "ei", "ie", "ii"]


@pytest.mark.parametrize(
    ("dtype", "row", "fill"),
    [
        ("f8", np.random.default_rng(3).normal(size=(1, 3, 5)), np.nan),
        ("i1", np.array([5]), 0),
        (str, np.array(['{"a": 1, "b": "ü"}'], dtype=object), ""),
    ],
)
def test_direct_chunk_writes_equal_zarr_writes_byte_for_byte(tmp_path, dtype, row, fill):
    """worker.store.rows writes the very chunk file zarr writes, reads it back, and skips all-fill chunks."""
    from worker.store.rows import row_io

    g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w", zarr_format=3)
    arr = g.create_array("a", shape=(3, *row.shape[1:]), chunks=row.shape, dtype=dtype, fill_value=fill)
    io = row_io(arr)
    assert io is not None
    io.write(0, row[0])
    arr[1] = row[0]
    tail = ("0",) * (row.ndim - 1)
    ours, theirs = (tmp_path.joinpath("g.zarr", "a", "c", str(i), *tail) for i in (0, 1))
    assert ours.read_bytes() == theirs.read_bytes()
    np.testing.assert_array_equal(arr[0], arr[1])
    np.testing.assert_array_equal(io.read(0), io.read(1))
    io.write(2, np.full_like(row[0], fill))
    assert not tmp_path.joinpath("g.zarr", "a", "c", "2").exists()
    np.testing.assert_array_equal(io.read(2), arr[2:3])
    assert not list(tmp_path.rglob("*.partial"))


def test_runs_split_over_chunks_go_through_zarr(tmp_path):
    from worker.store.rows import row_io

    g = zarr.open_group(str(tmp_path / "g.zarr"), mode="w", zarr_format=3)
    assert row_io(g.create_array("split", shape=(2, 10), chunks=(1, 5), dtype="f8")) is None
    assert row_io(g.create_array("whole", shape=(2, 10), chunks=(1, 10), dtype="f8")) is not None


def test_pad_to_fills_a_reused_dirty_buffer():
    """Rows are padded into per-thread buffers reused across runs: stale data must never leak through."""
    from worker.store.schema import pad_to

    rng = np.random.default_rng(5)
    buffer = rng.normal(size=(4, 6, 9))
    for shape in [(4, 6, 9), (4, 3, 9), (2, 6, 5), (0, 6, 9), (4, 6, 0)]:
        value = rng.normal(size=shape)
        out = pad_to(value, (4, 6, 9), np.nan, "f8", "w", out=buffer)
        expected = np.full((4, 6, 9), np.nan)
        expected[: shape[0], : shape[1], : shape[2]] = value
        np.testing.assert_array_equal(out, expected)
        buffer = out if out is buffer else buffer
    ints = pad_to(np.arange(3), (5,), -1, "i8", "cells", out=np.zeros(5, dtype="i8"))
    np.testing.assert_array_equal(ints, [0, 1, 2, -1, -1])


def test_statuses_decode_through_the_stores_own_tuple(tmp_path):
    """A store written with another status order (an older version) still reads and writes correctly."""
    from worker.status import RUN_STATUSES

    store = SweepStore(tmp_path)
    defn = definition(grid={"cx": [0.0, 0.1, 0.2]})
    sweep_id = store.create_sweep(defn, expand_sweep(defn))
    old_order = tuple(reversed(RUN_STATUSES))
    g = zarr.open_group(str(store.path(sweep_id)), mode="r+")
    g.attrs["statuses"] = list(old_order)  # as the older version wrote it, codes included
    for index, status in enumerate(("done", "failed", "pending")):
        g["status"][index] = old_order.index(status)
    reopened = SweepStore(tmp_path)
    assert reopened.statuses(sweep_id) == ["done", "failed", "pending"]
    reopened.set_status(sweep_id, 2, "cancelled")
    stored = zarr.open_group(str(store.path(sweep_id)), mode="r")["status"]
    assert int(stored[2]) == old_order.index("cancelled")
    assert summary_table(reopened, sweep_id)["status"].tolist() == ["done", "failed", "cancelled"]
    assert open_sweep(reopened, sweep_id).status.values.ravel().tolist() == ["done", "failed", "cancelled"]
