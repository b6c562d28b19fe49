"""Reading a sweep: a labelled xarray Dataset with the grid unstacked, and a flat summary table."""

from __future__ import annotations

import json
import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from worker.status import StatusCodec
from worker.store import SweepStore
from worker.store.schema import coordinate_values
from worker.store.typed import array, read

RUN_COORDS = ("replicate", "seed", "point_index")


def as_store(store: SweepStore | str | os.PathLike[str]) -> SweepStore:
    """Accept a SweepStore or its data directory."""
    return store if isinstance(store, SweepStore) else SweepStore(store)


def open_sweep(
    store: SweepStore | str | os.PathLike[str], sweep_id: str, variables: list[str] | None = None
) -> xr.Dataset:
    """The sweep as a Dataset: dims = axes (grid keys, zip, point), replicate, then time/block/...

    Summary scalars become variables (`ds.rate_e_hz.sel(N=5000, cx=0.1)`), `status` holds strings, and
    `seed` is a coordinate. Arrays are loaded into memory; pass `variables` to load only some of them
    (spike rasters are loaded only when named there).
    """
    store = as_store(store)
    raw = xr.open_zarr(str(store.path(sweep_id)), consolidated=False, chunks=None)
    return label_sweep(raw, store.attrs(sweep_id), variables)


def label_sweep(
    raw: xr.Dataset, attrs: dict[str, Any], variables: list[str] | None = None, lazy: bool = False
) -> xr.Dataset:
    """`open_sweep` for a store already opened (local or over HTTP): `lazy` keeps the result arrays as dask
    arrays of the store's chunks (read when used); status, error, summary and time axes are read now."""
    axes = [*attrs["axes"], {"dim": "replicate", "kind": "replicate", "keys": [], "size": _reps(attrs)}]
    shape = tuple(int(a["size"]) for a in axes)
    dims = tuple(a["dim"] for a in axes)
    data_vars: dict[str, Any] = {}
    status = np.array(StatusCodec(attrs.get("statuses")).names, dtype=object)[
        raw["status"].values.astype(int)
    ]
    data_vars["status"] = (dims, status.reshape(shape))
    data_vars["error"] = (dims, np.array([str(e) for e in raw["error"].values], dtype=object).reshape(shape))
    summary = raw["summary"].values
    coords = _coords(raw, attrs, axes, dims, shape)
    for j, key in enumerate(attrs["summary_keys"]):
        if (variables is None or key in variables) and key not in coords:
            data_vars[key] = (dims, summary[:, j].reshape(shape))
    wanted = {*(variables or ()), "time_ms", "rate_time_ms"}
    for name, var in raw.data_vars.items():
        if var.dims[:1] != ("run",) or var.ndim < 2 or name == "summary":
            continue
        if name in wanted or (variables is None and "spike" not in var.dims):
            values = var.data if lazy else var.values
            data_vars[str(name)] = (dims + var.dims[1:], values.reshape(shape + var.shape[1:]))
    ds = xr.Dataset(data_vars, coords=coords)
    ds = _time_coordinates(ds)
    ds.attrs = _flat_attrs(attrs)
    return ds


def summary_table(store: SweepStore | str | os.PathLike[str], sweep_id: str) -> pd.DataFrame:
    """One row per run: index, status, error, swept parameters, replicate, seed, summary scalars, attempt."""
    store = as_store(store)
    attrs = store.attrs(sweep_id)
    g = store.group(sweep_id, mode="r")
    exp = attrs["expansion"]
    infos = [json.loads(str(t)) if str(t) else {} for t in read(array(g, "run_info"), slice(None))]
    table = pd.DataFrame(
        {
            "index": np.arange(attrs["n_runs"]),
            "status": StatusCodec(attrs.get("statuses")).decode_all(read(array(g, "status"), slice(None))),
            "error": [str(e) for e in read(array(g, "error"), slice(None))],
        }
    )
    points = pd.DataFrame([exp["points"][i] for i in exp["point_index"]])
    table = pd.concat([table, points], axis=1)
    table["replicate"], table["seed"] = exp["replicate"], exp["seeds"]
    summary = pd.DataFrame(read(array(g, "summary"), slice(None)), columns=list(attrs["summary_keys"]))
    summary = summary.drop(columns=[c for c in summary.columns if c in table.columns])
    table = pd.concat([table, summary], axis=1)
    table["attempt"] = [i.get("attempt") for i in infos]
    table["task_wall_s"] = [i.get("wall_s") for i in infos]
    table["reused_from"] = [_source(i.get("reused_from")) for i in infos]
    return table


def _reps(attrs: dict[str, Any]) -> int:
    return int(attrs["definition"].get("replicates", 1))


def _coords(raw: xr.Dataset, attrs: dict[str, Any], axes: list, dims: tuple, shape: tuple) -> dict[str, Any]:
    """Index coordinates per axis (zip/points keys ride along their axis), plus seed over all axis dims."""
    defn = attrs["definition"]
    coords: dict[str, Any] = {"replicate": np.arange(shape[-1])}
    for axis in axes[:-1]:
        if axis["kind"] == "grid":
            coords[axis["dim"]] = coordinate_values(list(defn["grid"][axis["dim"]]))
        elif axis["kind"] == "zip":
            for key in axis["keys"]:
                coords[key] = (axis["dim"], coordinate_values(list(defn["zip"][key])))
        else:
            coords["point"] = np.arange(axis["size"])
            flat = [_flatten(p) for p in defn["points"]]
            for key in axis["keys"]:
                coords[key] = ("point", coordinate_values([p.get(key) for p in flat]))
    coords["seed"] = (dims, raw["seed"].values.reshape(shape))
    if "block" in raw:
        coords["block"] = np.array([str(b) for b in raw["block"].values], dtype=object)
    return coords


def _flatten(point: dict[str, Any]) -> dict[str, Any]:
    from worker.sweep import flatten_point

    return flatten_point(point)


def _time_coordinates(ds: xr.Dataset) -> xr.Dataset:
    """Trim the time axes to the longest stored run; if all runs share one axis, make it the coordinate."""
    for var, dim in (("time_ms", "time"), ("rate_time_ms", "rate_time")):
        if var not in ds:
            continue
        rows = ds[var].values.reshape(-1, ds.sizes[dim])
        used = (~np.isnan(rows)).sum(axis=1)
        ds = ds.isel({dim: slice(0, max(int(used.max()), 1))})
        rows = rows[used > 0, : ds.sizes[dim]]
        if len(rows) and all(np.array_equal(r, rows[0], equal_nan=True) for r in rows):
            ds = ds.drop_vars(var).assign_coords({dim: rows[0]})
            ds[dim].attrs["units"] = "ms"
    return ds


def _flat_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    """Dataset attrs: scalars as they are, structures as JSON text (netCDF-safe)."""
    keep = ("sweep_id", "name", "owner", "created", "n_runs", "format")
    out: dict[str, Any] = {k: attrs[k] for k in keep if k in attrs}
    for key in ("definition", "provenance", "axes"):
        out[key] = json.dumps(attrs.get(key))
    return out


def _source(value: Any) -> str:
    return f"{value['sweep_id']}/{value['index']}" if isinstance(value, dict) else ""
