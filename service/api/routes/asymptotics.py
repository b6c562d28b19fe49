"""GET /sweeps/{id}/asymptotics: fit a summary statistic against N (stat = s_inf + a / N^power)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from service.api.deps import RegistryDep, StoreDep, SweepId
from service.api.tables import clean, filter_table
from service.auth import CurrentUser
from service.errors import ServiceError
from service.schemas import AUTHENTICATED, error_responses
from sim.asymptotics import fit_groups, split_keys
from worker.results import summary_table

router = APIRouter(prefix="/sweeps/{sweep_id}", tags=["results"])
RESERVED = {"stat", "power", "level", "token"}


@router.get("/asymptotics", responses=error_responses(*AUTHENTICATED, 404, 429))
def read_asymptotics(
    sweep_id: SweepId,
    request: Request,
    registry: RegistryDep,
    store: StoreDep,
    user: CurrentUser,
    stat: Annotated[str, Query(description="Summary statistic to fit, e.g. rate_e_hz or j_ee")],
    power: Annotated[float, Query(gt=0, le=4, description="Exponent of N in the correction a/N^power")] = 0.5,
    level: Annotated[float, Query(gt=0, lt=1, description="Confidence level of the intervals")] = 0.95,
) -> Response:
    """Fit per combination of the other swept parameters (done runs only); filters as in /results.

    Parameters that take one value per N (zipped with it) do not split the groups.
    """
    registry.get(sweep_id, user)
    table = summary_table(store, sweep_id)
    if "N" not in table.columns:
        raise ServiceError("asymptotics: the sweep does not vary N; expected a grid over N", "N")
    if stat not in table.columns:
        raise ServiceError(
            f"stat={stat!r}: no such summary column; expected one of {list(table.columns)}", "stat"
        )
    filters = {k: v for k, v in request.query_params.items() if k not in RESERVED}
    table = filter_table(table, filters)
    table = table[table["status"] == "done"]
    swept = list(store.attrs(sweep_id)["expansion"]["points"][0]) if len(table) else []
    rows = table.to_dict(orient="records")
    by = split_keys(rows, [k for k in swept if k in table.columns])
    fits = fit_groups(rows, stat, by, power, level)
    body = {"sweep_id": sweep_id, "stat": stat, "power": power, "level": level, "by": by, "groups": fits}
    return Response(json.dumps(clean(body)), media_type="application/json")
