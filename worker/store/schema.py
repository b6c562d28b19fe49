"""A sweep's Zarr schema: the per-run arrays (names, dims, dtypes, fills, sizes) and the group's creation.

Sizes that depend on T or record options are fixed at creation to the maximum over the sweep's runs; shorter
runs are padded (NaN for floats, -1 for indices). Each per-run array has one run per chunk. Only the
coordinator creates a group (attributes, every array, the coordinates); tasks write rows (worker.store.rows).
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from sim import BLOCKS, SimParams
from sim.vocabulary import SUMMARY_KEYS
from worker.status import RUN_STATUSES
from worker.store.provenance import provenance

if TYPE_CHECKING:
    from zarr.core.common import JSON

SPIKE_CHUNK = 65_536
"""Spike rasters are chunked along the spike axis too, so unwritten space costs nothing on disk."""


@dataclass(frozen=True)
class ArraySpec:
    """One per-run array: `dims` start with "run"; `source` is the SimResult field it comes from."""

    name: str
    dims: tuple[str, ...]
    dtype: str
    fill: Any
    source: str


RESULT_ARRAYS: tuple[ArraySpec, ...] = (
    ArraySpec("time_ms", ("run", "time"), "f8", np.nan, "time_ms"),
    ArraySpec("rate_time_ms", ("run", "rate_time"), "f8", np.nan, "rate_time_ms"),
    ArraySpec("rate_e_hz_t", ("run", "rate_time"), "f8", np.nan, "rate_e_hz"),
    ArraySpec("rate_i_hz_t", ("run", "rate_time"), "f8", np.nan, "rate_i_hz"),
    ArraySpec("neuron_rate_hz", ("run", "neuron"), "f8", np.nan, "neuron_rate_hz"),
    ArraySpec("weight_mean", ("run", "block", "time"), "f8", np.nan, "weight_mean"),
    ArraySpec("weight_samples", ("run", "block", "synapse", "time"), "f8", np.nan, "weight_samples"),
    ArraySpec("synapse_post", ("run", "block", "synapse"), "i8", -1, "synapse_post"),
    ArraySpec("synapse_pre", ("run", "block", "synapse"), "i8", -1, "synapse_pre"),
    ArraySpec("recorded_cells", ("run", "cell"), "i8", -1, "recorded_cells"),
    ArraySpec("current_e", ("run", "cell", "time"), "f8", np.nan, "current_e"),
    ArraySpec("current_i", ("run", "cell", "time"), "f8", np.nan, "current_i"),
    ArraySpec("current_x", ("run", "cell", "time"), "f8", np.nan, "current_x"),
    ArraySpec("voltage", ("run", "cell", "time"), "f8", np.nan, "voltage"),
)
SPIKE_ARRAYS: tuple[ArraySpec, ...] = (
    ArraySpec("spike_times_ms", ("run", "spike"), "f8", np.nan, "spike_times_ms"),
    ArraySpec("spike_neurons", ("run", "spike"), "i8", -1, "spike_neurons"),
)


def dim_sizes(params: list[SimParams]) -> dict[str, int]:
    """Padded size of every non-run dimension: the maximum over the sweep's runs."""
    return {
        "time": max(n_bins(p.T, p.record.dt) for p in params),
        "rate_time": max(n_bins(p.T, p.analysis.rate_bin) for p in params),
        "neuron": max(p.N for p in params),
        "block": len(BLOCKS),
        "synapse": max(p.record.weights for p in params),
        "cell": max(min(p.record.cells, p.Ne) + min(p.record.cells, p.Ni) for p in params),
        "spike": max((p.record.max_spikes if p.record.spikes else 0) for p in params),
    }


def n_bins(T: float, width: float) -> int:
    """Number of bins of `width` covering [0, T), plus one for a final partial bin."""
    return math.ceil(T / width - 1e-9) + 1


def array_specs(sizes: dict[str, int]) -> tuple[ArraySpec, ...]:
    """The result arrays of a sweep (spike arrays only if some run keeps a raster)."""
    return RESULT_ARRAYS + (SPIKE_ARRAYS if sizes.get("spike", 0) > 0 else ())


def chunk_shape(spec: ArraySpec, sizes: dict[str, int]) -> tuple[int, ...]:
    """One run per chunk; the spike axis is split further."""
    shape = [1] + [max(sizes[d], 1) for d in spec.dims[1:]]
    if spec.dims[-1] == "spike":
        shape[-1] = min(shape[-1], SPIKE_CHUNK)
    return tuple(shape)


def pad_to(
    value: np.ndarray,
    shape: tuple[int, ...],
    fill: Any,
    dtype: str,
    name: str,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Place `value` in the corner of a `shape` array of `fill` (in `out`, if given and of that shape and
    dtype); refuse data larger than the layout."""
    value = np.asarray(value)
    if value.ndim != len(shape) or any(v > s for v, s in zip(value.shape, shape, strict=True)):
        raise ValueError(f"{name}: result shape {value.shape} does not fit the sweep layout {shape}")
    if value.shape == tuple(shape):
        return np.asarray(value, dtype=dtype)
    if out is None or out.shape != tuple(shape) or out.dtype != np.dtype(dtype):
        out = np.empty(shape, dtype=dtype)  # the value once, the fill only where the value is not
    out[tuple(slice(0, n) for n in value.shape)] = value
    for axis, n in enumerate(value.shape):
        out[(*(slice(0, m) for m in value.shape[:axis]), slice(n, None))] = fill
    return out


FORMAT = "pbn-sweep-store/1"
FAST_COMPRESSOR = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
"""For the large result arrays: as small as zarr's default zstd here, and faster to write."""
FLAT_KEYS: dict[str, JSON] = {"name": "default", "separator": "."}
"""Per-run chunks as flat files (`<array>/c.<run>.0.0`): a task then creates no directories (the default "/"
separator made ~35 directories per run, a tenth of the task's store time)."""


def build_group(g: zarr.Group, sweep_id: str, defn: Any, runs: list[Any], owner: str, axes: list) -> None:
    """Everything of a new sweep's group: attributes, per-run arrays (all runs `pending`), coordinates."""
    sizes = dim_sizes([r.params for r in runs])
    g.attrs.update(sweep_attrs(sweep_id, defn, runs, owner, sizes, axes))
    create_run_arrays(g, len(runs), sizes, SUMMARY_KEYS)
    write_coordinates(g, runs, axes)


def sweep_attrs(
    sweep_id: str, defn: Any, runs: list[Any], owner: str, sizes: dict[str, int], axes: list
) -> dict[str, Any]:
    """Group attributes: everything needed to re-read, re-expand and trust the sweep."""
    first: dict[int, Any] = {}
    for r in runs:
        first.setdefault(r.point_index, r)
    return {
        "format": FORMAT,
        "sweep_id": sweep_id,
        "name": defn.name,
        "owner": owner,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "definition": defn.model_dump(mode="json"),
        "provenance": provenance(),
        "n_runs": len(runs),
        "axes": axes,
        "sizes": sizes,
        "summary_keys": list(SUMMARY_KEYS),
        "statuses": list(RUN_STATUSES),
        "expansion": {
            "point_index": [r.point_index for r in runs],
            "replicate": [r.replicate for r in runs],
            "seeds": [r.seed for r in runs],
            "cache_keys": [r.cache_key for r in runs],
            "points": [first[i].point for i in sorted(first)],
        },
    }


def create_run_arrays(g: zarr.Group, n: int, sizes: dict[str, int], keys: tuple[str, ...]) -> None:
    """Per-run arrays, each chunked one run per chunk."""
    run: dict[str, Any] = {"dimension_names": ("run",), "chunk_key_encoding": FLAT_KEYS}
    g.create_array("status", shape=(n,), chunks=(1,), dtype="i1", fill_value=0, **run)
    for name in ("error", "run_info"):
        g.create_array(name, shape=(n,), chunks=(1,), dtype=str, fill_value="", **run)
    g.create_array(
        "summary",
        shape=(n, len(keys)),
        chunks=(1, max(len(keys), 1)),
        dtype="f8",
        fill_value=np.nan,
        dimension_names=("run", "stat"),
        chunk_key_encoding=FLAT_KEYS,
    )
    for spec in array_specs(sizes):
        shape = (n, *(sizes[d] for d in spec.dims[1:]))
        g.create_array(
            spec.name,
            shape=shape,
            chunks=chunk_shape(spec, sizes),
            dtype=spec.dtype,
            fill_value=spec.fill,
            dimension_names=spec.dims,
            compressors=FAST_COMPRESSOR,
            chunk_key_encoding=FLAT_KEYS,
        )


def write_coordinates(g: zarr.Group, runs: list[Any], axes: list[dict[str, Any]]) -> None:
    """Coordinate arrays (written once, by the coordinator): stat, block, swept keys, replicate, seed."""

    def put(name: str, values: np.ndarray, dim: str) -> None:
        arr = g.create_array(
            name,
            shape=values.shape,
            chunks=(max(min(len(values), 100_000), 1),),
            dtype=str if values.dtype.kind in "UO" else values.dtype,
            dimension_names=(dim,),
        )
        arr[:] = values

    put("stat", np.array(g.attrs["summary_keys"], dtype=object), "stat")
    put("block", np.array(BLOCKS, dtype=object), "block")
    put("replicate", np.array([r.replicate for r in runs], dtype="i8"), "run")
    put("seed", np.array([r.seed for r in runs], dtype="i8"), "run")
    put("point_index", np.array([r.point_index for r in runs], dtype="i8"), "run")
    for key in [k for axis in axes for k in axis["keys"]]:
        put(key, coordinate_values([r.point.get(key) for r in runs]), "run")


def coordinate_values(values: list[Any]) -> np.ndarray:
    """Numbers stay numeric (missing -> NaN); anything else becomes JSON text."""
    present = [v for v in values if v is not None]
    if (
        present
        and all(isinstance(v, int) and not isinstance(v, bool) for v in present)
        and len(present) == len(values)
    ):
        return np.array(values, dtype="i8")
    if present and all(isinstance(v, int | float) and not isinstance(v, bool) for v in present):
        return np.array([np.nan if v is None else float(v) for v in values], dtype="f8")
    return np.array(
        ["" if v is None else (v if isinstance(v, str) else json.dumps(v)) for v in values], dtype=object
    )
