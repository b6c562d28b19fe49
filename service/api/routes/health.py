"""Routes for operators: liveness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from service.api.deps import RegistryDep
from service.auth import CurrentUser
from service.schemas import AUTHENTICATED, Health, error_responses

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=Health, responses=error_responses(400, 403))
async def read_health(request: Request, registry: RegistryDep) -> Health:
    """Liveness (no token needed): the app answers; `cluster` says whether the Dask client is connected."""
    connected = registry.client.status == "running"
    watch = getattr(request.app.state, "cluster_watch", None)
    reason = watch.reason if watch is not None else None
    if reason is None and not connected:
        reason = f"the Dask client is {registry.client.status}"
    return Health(
        status="ok" if connected and reason is None else "degraded",
        version=request.app.version,
        cluster=connected,
        sweeps_active=registry.active(),
        reason=reason,
    )


@router.get(
    "/metrics",
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"},
        **error_responses(*AUTHENTICATED),
    },
)
async def read_metrics(request: Request, user: CurrentUser) -> Response:
    """Prometheus metrics: sweeps by state, runs by status, run durations."""
    return Response(request.app.state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
