"""Routes of the `sweeps` resource: submit, list, progress, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from service.api.deps import RegistryDep, SettingsDep, SweepId
from service.api.views import status_json, to_public
from service.auth import CurrentUser, User
from service.errors import AuthError
from service.schemas import (
    AUTHENTICATED,
    EXAMPLE_DEFINITION,
    SweepCancelled,
    SweepCreated,
    SweepPublic,
    SweepsPublic,
    error_responses,
)
from worker.sweep import SweepDefinition

router = APIRouter(prefix="/sweeps", tags=["sweeps"])


@router.post(
    "", status_code=201, response_model=SweepCreated, responses=error_responses(*AUTHENTICATED, 409, 413, 429)
)
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
    entry, n_reused, estimate = registry.submit(definition, user)
    return SweepCreated(
        id=entry.sweep_id,
        name=entry.name,
        n_runs=entry.n_runs,
        n_reused=n_reused,
        estimate=estimate.to_dict(),
        state=entry.state,
        url=f"/sweeps/{entry.sweep_id}",
    )


@router.get("", response_model=SweepsPublic, responses=error_responses(*AUTHENTICATED))
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


@router.get("/{sweep_id}", response_model=SweepPublic, responses=error_responses(*AUTHENTICATED, 404))
async def read_sweep(
    sweep_id: SweepId, request: Request, registry: RegistryDep, user: CurrentUser
) -> Response:
    """Progress of one sweep: counts by run status, ETA, errors of failed runs, dashboard link.
    (Successful polls are usually answered before this route by `service.api.fastpath`.)"""
    entry = registry.get(sweep_id, user)
    return Response(status_json(entry, request), media_type="application/json")


@router.delete(
    "/{sweep_id}", response_model=SweepCancelled, responses=error_responses(*AUTHENTICATED, 404, 409)
)
def cancel_sweep(
    sweep_id: SweepId,
    registry: RegistryDep,
    user: CurrentUser,
    purge: Annotated[bool, Query(description="Also delete the sweep's stored data")] = False,
) -> SweepCancelled:
    """Cancel a sweep's pending runs (finished runs stay); `purge=true` also deletes its data."""
    entry = registry.get(sweep_id, user)
    registry.cancel(entry, purge=purge)
    return SweepCancelled(id=sweep_id, state=entry.state, purged=purge)
