"""Routes of a sweep's results: the summary table, one run, and plots."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service import plots
from service.api.deps import RegistryDep, RunIndex, StoreDep, SweepId
from service.api.tables import clean, filter_table, run_series
from service.auth import CurrentUser
from service.errors import ServiceError
from service.read_limits import ReadLimits
from service.registry import SweepEntry
from service.schemas import AUTHENTICATED, RunPublic, error_responses
from worker.results import summary_table
from worker.store import SweepStore

router = APIRouter(prefix="/sweeps/{sweep_id}", tags=["results"])
RESERVED = {"format", "token"}
TABLE_EXAMPLE = [
    {"index": 0, "status": "done", "N": 200, "cx": 0.0, "rate_e_hz": 5.1, "theory_rate_e_hz": 5.6}
]


READ_ERRORS = error_responses(*AUTHENTICATED, 404, 429)


def version_key(entry: SweepEntry) -> tuple[Any, ...]:
    """What a cached read of this sweep is valid for: the sweep and its progress (`version` follows it)."""
    return (entry.sweep_id, entry.created, entry.version)


def cached_table(reads: ReadLimits, store: SweepStore, entry: SweepEntry) -> pd.DataFrame:
    """The sweep's summary table, read from the store once per sweep version (called in a worker thread)."""
    key = ("table", *version_key(entry))
    table = reads.cache.get(key)
    if table is None:
        table = summary_table(store, entry.sweep_id)
        reads.cache.put(key, table, int(table.memory_usage(deep=True).sum()))
    return table


@router.get(
    "/results",
    responses={
        200: {
            "description": "One row per run: index, status, swept parameters, seed, summary statistics",
            "content": {"application/json": {"example": TABLE_EXAMPLE}, "text/csv": {}},
        },
        **READ_ERRORS,
    },
)
async def read_results(
    sweep_id: SweepId,
    request: Request,
    registry: RegistryDep,
    store: StoreDep,
    user: CurrentUser,
    format: Annotated[Literal["json", "csv"], Query(description="json (records) or csv")] = "json",
) -> Response:
    """The summary table of a sweep; filter rows by parameter value, e.g. `?N=1000&cx=0.1` (a repeated
    name means any of its values: `?cx=0.0&cx=0.1`)."""
    entry = registry.get(sweep_id, user)
    filters: dict[str, list[str]] = {}
    for k, v in request.query_params.multi_items():  # a repeated name means any of its values
        if k not in RESERVED:
            filters.setdefault(k, []).append(v)
    reads: ReadLimits = request.app.state.reads

    def compute() -> bytes:
        table = filter_table(cached_table(reads, store, entry), filters)
        if format == "csv":
            return table.to_csv(index=False).encode()
        return table.to_json(orient="records", double_precision=15).encode()

    key = ("results", *version_key(entry), format, tuple(sorted((k, tuple(v)) for k, v in filters.items())))
    body = await reads.answer(user.name, key, compute)
    return Response(body, media_type="text/csv" if format == "csv" else "application/json")


@router.get("/runs/{index}", response_model=RunPublic, responses=READ_ERRORS)
async def read_run(
    sweep_id: SweepId,
    index: RunIndex,
    request: Request,
    registry: RegistryDep,
    store: StoreDep,
    user: CurrentUser,
) -> Response:
    """One run: its full parameters and seed, summary statistics and recorded time series."""
    entry = registry.get(sweep_id, user)
    body = await request.app.state.reads.answer(
        user.name, ("run", *version_key(entry), index), lambda: run_json(store, sweep_id, index)
    )
    return Response(body, media_type="application/json")


def run_json(store: SweepStore, sweep_id: str, index: int) -> bytes:
    """One run as the JSON of `RunPublic` (NaN/inf as null)."""
    run = store.read_run(sweep_id, index)
    public = RunPublic(
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
    return public.model_dump_json().encode()


PlotName = Literal["rates", "weights", "summary"]


@router.get(
    "/plots/{name}.png",
    responses={200: {"content": {"image/png": {}}, "description": "PNG image"}, **READ_ERRORS},
)
async def read_plot(
    sweep_id: SweepId,
    name: PlotName,
    request: Request,
    registry: RegistryDep,
    store: StoreDep,
    user: CurrentUser,
    run: Annotated[int, Query(ge=0, le=10**9, description="Run for rates/weights")] = 0,
    stat: Annotated[str, Query(max_length=64, description="Summary statistic (summary plot)")] = "rate_e_hz",
    x: Annotated[str | None, Query(max_length=64, description="Swept parameter on the x axis")] = None,
) -> Response:
    """Population rates or block-mean weights of one run over time, or a summary statistic against a
    swept parameter with its mean-field prediction (`theory_<stat>`) drawn beside it."""
    entry = registry.get(sweep_id, user)
    reads: ReadLimits = request.app.state.reads

    def compute() -> bytes:
        if name == "summary":
            table = cached_table(reads, store, entry)
            axes = [a for a in store.attrs(sweep_id).get("axes", []) if isinstance(a, dict)]
            swept = swept_names(axes, table)
            if stat == (x or next(iter(swept), None)):  # the statistic against itself: a KeyError in the plot
                raise ServiceError(
                    f"stat={stat!r} and x={stat!r}: expected a statistic against another column", "x"
                )
            return plots.summary_png(table, stat, x, swept)
        data = store.read_run(sweep_id, run)
        return plots.rates_png(data) if name == "rates" else plots.weights_png(data)

    options = (stat, x) if name == "summary" else (run,)
    png = await reads.answer(user.name, ("plot", *version_key(entry), name, *options), compute)
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


def swept_names(axes: list[dict[str, Any]], table: pd.DataFrame) -> list[str]:
    """Names of swept parameters present as columns of the table."""
    names: list[str] = []
    for axis in axes:
        keys = axis.get("keys") or axis.get("names") or ([axis["name"]] if "name" in axis else [])
        names.extend(str(k) for k in keys if str(k) in table.columns)
    return names
