"""Views shared by the routes, the status fast path and the page: a sweep's public JSON, the dashboard."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from fastapi import Request
from fastapi.responses import HTMLResponse

from service.registry import SweepEntry
from service.schemas import RunError, SweepPublic
from worker.status import UNFINISHED
from worker.status import counts as status_counts


def to_public(entry: SweepEntry, request: Request) -> SweepPublic:
    """A sweep's public view from the registry's memory only (no store access: status polls stay cheap)."""
    p = entry.progress
    counts = {
        str(k): v for k, v in (status_counts(["pending"] * entry.n_runs) if p is None else p.counts).items()
    }
    finished = entry.n_runs - sum(counts[s] for s in UNFINISHED)
    base = f"/sweeps/{entry.sweep_id}"
    return SweepPublic(
        id=entry.sweep_id,
        name=entry.name,
        owner=entry.owner,
        state=entry.state,
        created=entry.created,
        n_runs=entry.n_runs,
        counts=counts,
        progress=finished / entry.n_runs if entry.n_runs else 1.0,
        eta_s=p.eta_s if p is not None and entry.state == "running" else None,
        errors=[RunError(**e) for e in entry.errors],
        problem=entry.problem,
        degraded=_degraded(request) if entry.state in ("queued", "running") else None,
        dashboard_url=dashboard_url(request),
        store_path=str(request.app.state.registry.store.path(entry.sweep_id).resolve()),
        links={
            "self": base,
            "results": f"{base}/results",
            "csv": f"{base}/results?format=csv",
            "run0": f"{base}/runs/0",
            "rates": f"{base}/plots/rates.png",
            "weights": f"{base}/plots/weights.png",
            "zarr": f"{base}/zarr",
        },
    )


def _degraded(request: Request) -> str | None:
    """The cluster watch's reason while the scheduler is lost (service/cluster_watch.py)."""
    watch = getattr(request.app.state, "cluster_watch", None)
    return watch.reason if watch is not None else None


def dashboard_url(request: Request) -> str | None:
    """The configured public dashboard link only: the link the Dask client reports names the scheduler's
    host, which only admins see (`GET /cluster`)."""
    return request.app.state.settings.dashboard_url


def status_json(entry: SweepEntry, request: Request) -> bytes:
    """The sweep's public view as JSON; polls of an unchanged sweep reuse the serialised answer."""
    key = (entry.version, entry.state)
    cached = entry.public_cache
    if cached is None or cached[0] != key:
        cached = (key, to_public(entry, request).model_dump_json().encode())
        entry.public_cache = cached
    return cached[1]


LOGIN_TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "login.html"


def login_page(message: str, status_code: int = 200) -> HTMLResponse:
    """The sign-in form with a message (escaped)."""
    page = Template(LOGIN_TEMPLATE.read_text()).substitute(message=html.escape(message))
    return HTMLResponse(page, status_code=status_code, headers={"Cache-Control": "no-store"})
