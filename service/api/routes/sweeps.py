"""Routes of the `sweeps` resource: submit, list, progress, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from service.api.deps import RegistryDep, SettingsDep, SweepId
from service.auth import CurrentUser, User
from service.errors import AuthError
from service.registry import SweepEntry
from service.schemas import (
    EXAMPLE_DEFINITION,
    RunError,
    SweepCancelled,
    SweepCreated,
    SweepPublic,
    SweepsPublic,
)
from worker.sweep import SweepDefinition

router = APIRouter(prefix="/sweeps", tags=["sweeps"])


def to_public(entry: SweepEntry, request: Request) -> SweepPublic:
    """A sweep's public view from the registry's memory only (no store access: status polls stay cheap)."""
    p = entry.progress
    counts = {"pending": entry.n_runs, "running": 0, "done": 0, "failed": 0}
    if p is not None:
        names = ("pending", "running", "done", "reused", "diverged", "failed", "cancelled")
        counts = {name: int(getattr(p, name)) for name in names}
    finished = entry.n_runs - counts["pending"] - counts["running"]
    base = f"/sweeps/{entry.sweep_id}"
    return SweepPublic(
        id=entry.sweep_id,
        name=entry.name,
        owner=entry.owner,
        state=entry.state,  # type: ignore[arg-type]
        created=entry.created,
        n_runs=entry.n_runs,
        counts=counts,
        progress=finished / entry.n_runs if entry.n_runs else 1.0,
        eta_s=p.eta_s if p is not None and entry.state == "running" else None,
        errors=[RunError(**e) for e in entry.errors],
        dashboard_url=dashboard_url(request),
        degraded=_degraded(request) if entry.state in ("queued", "running") else None,
        store_path=str(request.app.state.settings.sweeps_dir / f"{entry.sweep_id}.zarr"),
        links={
            "self": base,
            "results": f"{base}/results",
            "csv": f"{base}/results?format=csv",
            "run0": f"{base}/runs/0",
            "rates": f"{base}/plots/rates.png",
            "weights": f"{base}/plots/weights.png",
        },
    )


def _degraded(request: Request) -> str | None:
    """The cluster watch's reason while the scheduler is lost (service/cluster_watch.py)."""
    watch = getattr(request.app.state, "cluster_watch", None)
    return watch.reason if watch is not None else None


def dashboard_url(request: Request) -> str | None:
    """The configured public dashboard link, else the one the Dask client reported at startup."""
    return request.app.state.settings.dashboard_url or request.app.state.dashboard


@router.post("", status_code=201, response_model=SweepCreated)
def create_sweep(
    definition: Annotated[
        SweepDefinition,
        Body(
            openapi_examples={"small": {"summary": "A 2x2 grid over N and cx", "value": EXAMPLE_DEFINITION}}
        ),
    ],
    registry: RegistryDep,
    user: CurrentUser,
) -> SweepCreated:
    """Validate and expand a sweep definition, refuse it if over the limits, else queue it."""
    entry, n_reused = registry.submit(definition, user)
    return SweepCreated(
        id=entry.sweep_id,
        name=entry.name,
        n_runs=entry.n_runs,
        n_reused=n_reused,
        state=entry.state,  # type: ignore[arg-type]
        url=f"/sweeps/{entry.sweep_id}",
    )


@router.get("", response_model=SweepsPublic)
async def list_sweeps(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    user: CurrentUser,
    limit: Annotated[int, Query(ge=1, le=1000, description="Page size")] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="Sweeps to skip")] = 0,
    owner: Annotated[str | None, Query(max_length=64, description="Only this owner's sweeps (admin)")] = None,
) -> SweepsPublic:
    """The caller's sweeps, newest first (admins see everyone's)."""
    _check_owner_filter(user, owner)
    entries = registry.visible(user, owner)
    page = entries[offset : offset + min(limit, settings.page_size_max)]
    return SweepsPublic(data=[to_public(e, request) for e in page], count=len(entries))


def _check_owner_filter(user: User, owner: str | None) -> None:
    if owner is not None and owner != user.name and not user.admin:
        raise AuthError(403, f"owner={owner!r}: only an admin token may list another user's sweeps")


@router.get("/{sweep_id}", response_model=SweepPublic)
async def read_sweep(
    sweep_id: SweepId, request: Request, registry: RegistryDep, user: CurrentUser
) -> Response:
    """Progress of one sweep: counts by run status, ETA, errors of failed runs, dashboard link.
    (Successful polls are usually answered before this route by `service.api.fastpath`.)"""
    entry = registry.get(sweep_id, user)
    return Response(status_json(entry, request), media_type="application/json")


def status_json(entry: SweepEntry, request: Request) -> bytes:
    """The sweep's public view as JSON; polls of an unchanged sweep reuse the serialised answer."""
    key = (entry.version, entry.state)
    cached = entry.public_cache
    if cached is None or cached[0] != key:
        cached = (key, to_public(entry, request).model_dump_json().encode())
        entry.public_cache = cached
    return cached[1]


@router.delete("/{sweep_id}", response_model=SweepCancelled)
def cancel_sweep(
    sweep_id: SweepId,
    registry: RegistryDep,
    user: CurrentUser,
    purge: Annotated[bool, Query(description="Also delete the sweep's stored data")] = False,
) -> SweepCancelled:
    """Cancel a sweep's pending runs (finished runs stay); `purge=true` also deletes its data."""
    entry = registry.get(sweep_id, user)
    registry.cancel(entry, purge=purge)
    return SweepCancelled(id=sweep_id, state=entry.state, purged=purge)  # type: ignore[arg-type]
