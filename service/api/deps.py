"""Typed dependency aliases shared by the routes (full-stack-fastapi-template style)."""

from __future__ import annotations

from typing import Annotated

from distributed import Client
from fastapi import Depends, Path, Request

from service.registry import Registry
from service.settings import Settings
from worker.store import SWEEP_ID_PATTERN, SweepStore


async def get_app_settings(request: Request) -> Settings:
    """The app's own settings (not `dependency_overrides`: any override makes FastAPI rebuild every
    route's dependency tree, with signature inspection, on every request)."""
    return request.app.state.settings


async def get_registry(request: Request) -> Registry:
    return request.app.state.registry


async def get_store(request: Request) -> SweepStore:
    return request.app.state.registry.store


async def get_client(request: Request) -> Client:
    return request.app.state.registry.client


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
StoreDep = Annotated[SweepStore, Depends(get_store)]
ClientDep = Annotated[Client, Depends(get_client)]
SweepId = Annotated[
    str,
    Path(
        pattern=SWEEP_ID_PATTERN,
        max_length=128,
        description="Sweep id",
        examples=["istdp-vs-n-20260101120000-3f2a9c"],
    ),
]
RunIndex = Annotated[int, Path(ge=0, le=10**9, description="Run index in the sweep")]
