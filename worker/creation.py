"""Creation of a sweep's group (coordinator only): attributes, every per-run array, coordinate arrays."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

import numpy as np
import zarr
from zarr.codecs import BloscCodec

from worker.layout import array_specs, chunk_shape
from worker.provenance import provenance

if TYPE_CHECKING:
    from zarr.core.common import JSON

FORMAT = "pbn-sweep-store/1"
FAST_COMPRESSOR = BloscCodec(cname="lz4", clevel=5, shuffle="shuffle")
"""For the large result arrays: as small as zarr's default zstd here, and faster to write."""
FLAT_KEYS: dict[str, JSON] = {"name": "default", "separator": "."}
"""Per-run chunks as flat files (`<array>/c.<run>.0.0`): a task then creates no directories (the default "/"
separator made ~35 directories per run, a tenth of the task's store time)."""
STATUSES: tuple[str, ...] = ("pending", "running", "done", "failed", "cancelled", "diverged", "reused")


def sweep_attrs(
    sweep_id: str, defn: Any, runs: list[Any], owner: str, sizes: dict[str, int], keys: list[str], axes: list
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
        "summary_keys": keys,
        "statuses": list(STATUSES),
        "expansion": {
            "point_index": [r.point_index for r in runs],
            "replicate": [r.replicate for r in runs],
            "seeds": [r.seed for r in runs],
            "cache_keys": [r.cache_key for r in runs],
            "points": [first[i].point for i in sorted(first)],
        },
    }


def create_run_arrays(g: zarr.Group, n: int, sizes: dict[str, int], keys: list[str]) -> None:
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
    from sim import BLOCKS

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
