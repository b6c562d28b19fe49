"""Routes of a sweep's results: the summary table, one run, and plots."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from service import plots
from service.api.deps import RegistryDep, StoreDep, SweepId
from service.auth import CurrentUser
from service.errors import ServiceError
from service.schemas import RunPublic
from sim import BLOCKS
from worker.results import summary_table

router = APIRouter(prefix="/sweeps/{sweep_id}", tags=["results"])
RESERVED = {"format", "token"}
TABLE_EXAMPLE = [
    {"index": 0, "status": "done", "N": 200, "cx": 0.0, "rate_e_hz": 5.1, "theory_rate_e_hz": 5.6}
]


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars/arrays -> Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def filter_table(table: pd.DataFrame, filters: Mapping[str, str | list[str]]) -> pd.DataFrame:
    """Keep rows whose column equals a filter value (numbers as numbers); several values of one name mean
    "any of" (`?cx=0.1&cx=0.2`); an unknown column -> 4xx."""
    for name, given in filters.items():
        values = [given] if isinstance(given, str) else list(given)
        raw = values[0] if len(values) == 1 else values
        if name not in table.columns:
            raise ServiceError(
                f"filter {name}={raw!r}: no such column; expected one of {list(table.columns)}", name
            )
        column = table[name]
        keep = np.zeros(len(table), dtype=bool)
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            for text in values:
                try:
                    value = float(text)
                except ValueError:
                    raise ServiceError(f"filter {name}={text!r}: expected a number", name) from None
                keep |= np.isclose(column.astype(float), value, rtol=1e-9, atol=0.0)
        else:
            keep = column.astype(str).isin(values).to_numpy()
        table = table[keep]
    return table


@router.get(
    "/results",
    responses={
        200: {
            "description": "One row per run: index, status, swept parameters, seed, summary statistics",
            "content": {"application/json": {"example": TABLE_EXAMPLE}, "text/csv": {}},
        }
    },
)
def read_results(
    sweep_id: SweepId,
    request: Request,
    registry: RegistryDep,
    store: StoreDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "csv"], Query(description="json (records) or csv")] = "json",
) -> Response:
    """The summary table of a sweep; filter rows by parameter value, e.g. `?N=1000&cx=0.1` (a repeated
    name means any of its values: `?cx=0.0&cx=0.1`)."""
    registry.get(sweep_id, user)
    # --- issue 9 (cli): repeated filters mean "any of" ---
    filters: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():
        if k not in RESERVED:
            filters.setdefault(k, []).append(v)
    # --- end issue 9 ---
    table = filter_table(summary_table(store, sweep_id), filters)
    if format == "csv":
        return Response(table.to_csv(index=False), media_type="text/csv")
    return Response(table.to_json(orient="records", double_precision=15), media_type="application/json")


def run_series(arrays: dict[str, np.ndarray]) -> dict[str, list[float | None]]:
    """The run's time series as flat lists: rates, block-mean weights, cell-mean currents."""
    series: dict[str, list[float | None]] = {}
    for name in ("time_ms", "rate_time_ms", "rate_e_hz_t", "rate_i_hz_t"):
        if name in arrays:
            series[name] = clean(arrays[name])
    weight = arrays.get("weight_mean")
    if weight is not None and weight.ndim == 2:
        for block, row in zip(BLOCKS, weight, strict=False):
            series[f"weight_mean_{block}"] = clean(row)
    for name in ("current_e", "current_i", "current_x", "voltage"):
        value = arrays.get(name)
        if value is not None and value.ndim == 2 and value.shape[0] > 0:
            with np.errstate(all="ignore"):
                series[f"{name}_mean"] = clean(np.nanmean(value, axis=0))
    return series


RunIndex = Annotated[int, Path(ge=0, le=10**9, description="Run index in the sweep")]


@router.get("/runs/{index}", response_model=RunPublic)
def read_run(sweep_id: SweepId, index: RunIndex, registry: RegistryDep, store: StoreDep, user: CurrentUser):
    """One run: its full parameters and seed, summary statistics and recorded time series."""
    registry.get(sweep_id, user)
    run = store.read_run(sweep_id, index)
    return RunPublic(
        sweep_id=sweep_id,
        index=index,
        status=run["status"],
        error=run["error"] or None,
        params=clean(run["params"]),
        summary=clean(
            {**run["summary"], **{f"info_{k}": v for k, v in run["info"].items() if k != "summary"}}
        ),
        series=run_series(run["arrays"]),
    )


PlotName = Literal["rates", "weights", "summary"]


@router.get("/plots/{name}.png", responses={200: {"content": {"image/png": {}}, "description": "PNG image"}})
def read_plot(
    sweep_id: SweepId,
    name: PlotName,
    registry: RegistryDep,
    store: StoreDep,
    user: CurrentUser,
    run: Annotated[int, Query(ge=0, le=10**9, description="Run for rates/weights")] = 0,
    stat: Annotated[str, Query(max_length=64, description="Summary statistic (summary plot)")] = "rate_e_hz",
    x: Annotated[str | None, Query(max_length=64, description="Swept parameter on the x axis")] = None,
) -> Response:
    """Population rates or block-mean weights of one run over time, or a summary statistic against a
    swept parameter with its mean-field prediction (`theory_<stat>`) drawn beside it."""
    registry.get(sweep_id, user)
    if name == "summary":
        table = summary_table(store, sweep_id)
        axes = [a for a in store.attrs(sweep_id).get("axes", []) if isinstance(a, dict)]
        png = plots.summary_png(table, stat, x, swept_names(axes, table))
    else:
        data = store.read_run(sweep_id, run)
        png = plots.rates_png(data) if name == "rates" else plots.weights_png(data)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def swept_names(axes: list[dict[str, Any]], table: pd.DataFrame) -> list[str]:
    """Names of swept parameters present as columns of the table."""
    names: list[str] = []
    for axis in axes:
        keys = axis.get("keys") or axis.get("names") or ([axis["name"]] if "name" in axis else [])
        names.extend(str(k) for k in keys if str(k) in table.columns)
    return names
