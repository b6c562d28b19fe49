"""The arrays of a sweep's Zarr group: names, dims, dtypes, fill values and padded sizes.

Sizes that depend on T or record options are fixed at creation to the maximum over the sweep's runs;
shorter runs are padded (NaN for floats, -1 for indices). Each per-run array has one run per chunk.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim import BLOCKS, SimParams

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
