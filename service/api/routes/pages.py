"""The web app: sweep list, submit page, sweep page and run page (server-rendered, then kept live by
the scripts in service/static, which talk to the same REST API a script uses)."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.responses import HTMLResponse, JSONResponse, Response

from service import webview as v
from service.api.deps import RunIndex, SweepId
from service.api.views import dashboard_url, login_page, to_public
from service.auth import User, resolve_user
from service.errors import AuthError
from service.explain import convergence_note
from service.registry import SweepEntry
from service.schemas import EXAMPLE_DEFINITION, SweepPublic

router = APIRouter(include_in_schema=False)
NO_STORE = {"Cache-Control": "no-store"}
PAGE = 50


def _html(request: Request, user: User, title: str, tpl: str, /, **values: object) -> HTMLResponse:
    who = user.name + (" (admin)" if user.admin else "")
    body = v.page(title, tpl, who, dashboard_url(request), **values)
    return HTMLResponse(body, headers=NO_STORE)


def matching(request: Request, user: User, q: str, state: str) -> list[SweepEntry]:
    """The caller's sweeps, newest first, whose name/id/owner contain `q` and that are in `state`
    (decided from the registry's memory; only the page shown is turned into public views)."""
    needle = q.strip().lower()
    out = []
    for entry in request.app.state.registry.visible(user):
        if needle and not any(needle in x.lower() for x in (entry.name, entry.sweep_id, entry.owner)):
            continue
        if state in ("failed", "diverged"):
            if not getattr(entry.progress, state, 0):
                continue
        elif state and entry.state != state:
            continue
        out.append(entry)
    return out


def page_of(request: Request, entries: list[SweepEntry], offset: int) -> list[SweepPublic]:
    return [to_public(e, request) for e in entries[offset : offset + PAGE]]


Q = Annotated[str, Query(max_length=200)]
State = Annotated[str, Query(max_length=20, pattern="^(" + "|".join(v.STATE_FILTERS) + ")$")]
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("/", response_class=HTMLResponse)
def index(
    request: Request,
    q: Q = "",
    state: State = "",
    offset: Offset = 0,
) -> Response:
    """The caller's sweeps (filter, pages of 50); browsers sign in by posting the token to `/login`
    (never `?token=` in a URL)."""
    try:
        user = resolve_user(request)
    except AuthError as exc:
        return login_page(f"Sign in with your API token ({exc.message}).", 401)
    found = matching(request, user, q, state)
    shown = page_of(request, found, offset)
    return _html(
        request,
        user,
        "Sweeps",
        "index",
        q=v.e(q),
        state_options=v.state_options(state),
        rows="\n".join(v.sweep_row(s) for s in shown),
        offset=offset,
        limit=PAGE,
        count=len(found),
        pager=v.pager(q, state, offset, PAGE, len(found)),
    )


@router.get("/ui/api/sweeps")
def list_page(request: Request, q: Q = "", state: State = "", offset: Offset = 0) -> JSONResponse:
    """What the list page polls: one page of the filtered sweeps as HTML rows, and the pager."""
    user = resolve_user(request)
    found = matching(request, user, q, state)
    rows = [v.sweep_row(s) for s in page_of(request, found, offset)]
    pager = v.pager(q, state, offset, PAGE, len(found))
    return JSONResponse({"rows": rows, "count": len(found), "pager": pager}, headers=NO_STORE)


@router.get("/ui/submit", response_class=HTMLResponse)
def submit_page(request: Request) -> Response:
    """Paste or upload a definition; the page validates it live with `POST /sweeps/validate`."""
    try:
        user = resolve_user(request)
    except AuthError as exc:
        return login_page(f"Sign in with your API token ({exc.message}).", 401)
    return _html(request, user, "Submit", "submit", example=v.e(example_yaml()))


def example_yaml() -> str:
    """The API's example definition, as YAML a user would write."""
    import yaml

    return yaml.safe_dump(EXAMPLE_DEFINITION, sort_keys=False, default_flow_style=None)


@router.get("/ui/sweeps/{sweep_id}", response_class=HTMLResponse)
def sweep_page(sweep_id: SweepId, request: Request) -> Response:
    """One sweep: progress, counts, problems, cancel, summary plot, sortable results table."""
    try:
        user = resolve_user(request)
    except AuthError as exc:
        return login_page(f"Sign in with your API token ({exc.message}).", 401)
    s = to_public(request.app.state.registry.get(sweep_id, user), request)
    final = s.state in ("done", "cancelled") and not s.counts.get("pending") and not s.counts.get("running")
    return _html(
        request,
        user,
        s.name,
        "sweep",
        id=v.e(s.id),
        name=v.e(s.name),
        owner=v.e(s.owner),
        created=v.e(s.created.strftime("%Y-%m-%d %H:%M UTC") if s.created else "?"),
        state_badges=v.badges(s),
        cancel_disabled="disabled" if final else "",
        bar=v.bar(s.counts, s.n_runs),
        counts=v.count_chips(s.counts) + f'<span class="chip">{v.finished_label(s.counts, s.n_runs)}</span>',
        dashboard=v.e(s.dashboard_url or "#"),
    )


@router.get("/ui/sweeps/{sweep_id}/runs/{index}", response_class=HTMLResponse)
def run_page(sweep_id: SweepId, index: RunIndex, request: Request) -> Response:
    """One run: its parameters, its summary beside the theory, rates / weights / currents plots."""
    try:
        user = resolve_user(request)
    except AuthError as exc:
        return login_page(f"Sign in with your API token ({exc.message}).", 401)
    entry = request.app.state.registry.get(sweep_id, user)
    run = request.app.state.registry.store.read_run(sweep_id, index)
    point = {str(k): val for k, val in run["point"].items()}
    error = run["error"]
    status = v.e(run["status"])
    banner = (
        f'<section class="card alert s-{status}"><b>{status}:</b> {v.e(error)}</section>' if error else ""
    )
    if note := convergence_note(run["summary"], run["params"]):  # theory lines the run could not reach
        banner += f'<section class="card alert s-running">{v.e(note)}</section>'
    return _html(
        request,
        user,
        f"Run {index} of {entry.name}",
        "run",
        id=v.e(sweep_id),
        index=index,
        name=v.e(entry.name),
        prev=max(index - 1, 0),
        next=min(index + 1, entry.n_runs - 1),
        point=v.e(
            ", ".join(f"{k} = {json.dumps(val)}" for k, val in point.items())
            + f", replicate {run['replicate']}"
        ),
        status_badge=f'<span class="badge state-{v.e(run["status"])}">{v.e(run["status"])}</span>',
        error=banner,
        summary=v.summary_rows(run["summary"]),
        params=v.param_rows(run["params"], set(point)),
    )


REDOC_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
"""ReDoc's page may load only from this server (its footer logo would otherwise come from a CDN)."""


@router.get("/redoc", response_class=HTMLResponse)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc with its script from the package (fastapi-offline's copy), and nothing from elsewhere."""
    page = get_redoc_html(
        openapi_url=request.app.openapi_url,
        title="pbn-sweep API - ReDoc",
        redoc_js_url="/static-offline-docs/redoc.standalone.js",
        redoc_favicon_url="/static/favicon.svg",
        with_google_fonts=False,
    )
    return HTMLResponse(page.body, headers={"Content-Security-Policy": REDOC_CSP})
