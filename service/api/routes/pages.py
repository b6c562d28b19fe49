"""The browser page `/`: the caller's sweeps with live progress bars (server-rendered, then polled by JS)."""

from __future__ import annotations

import html
from pathlib import Path
from string import Template

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from service.api.views import dashboard_url, to_public
from service.auth import resolve_user
from service.errors import AuthError
from service.schemas import SweepPublic

router = APIRouter(include_in_schema=False)
TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text())


def _row(s: SweepPublic) -> str:
    e = html.escape
    pct = f"{100 * s.progress:.1f}"
    finished = sum(s.counts.get(k, 0) for k in ("done", "reused", "diverged"))
    return (
        f'<tr id="sweep-{e(s.id)}" class="state-{e(s.state)}">'
        f'<td><a href="{e(s.links["self"])}">{e(s.name)}</a>'
        f" ({e(s.id)})</td><td>{e(s.owner)}</td><td>{e(s.state)}</td>"
        f'<td data-progress="{s.progress}"><span class="bar"><div style="width:{pct}%"></div></span>'
        f'<span class="pct"> {round(100 * s.progress)}%</span></td>'
        f"<td>{finished}/{s.n_runs}</td>"
        f'<td></td><td><a href="{e(s.links["csv"])}">csv</a></td></tr>'
    )


def _login(message: str, status_code: int) -> HTMLResponse:
    return HTMLResponse(
        _template("login.html").substitute(message=html.escape(message)), status_code=status_code
    )


@router.get("/", response_class=HTMLResponse)
def index(request: Request) -> Response:
    """The caller's sweeps (browsers sign in by posting the token to `/login`; never `?token=` in a URL)."""
    try:
        user = resolve_user(request)
    except AuthError as exc:
        return _login(f"Sign in with your API token ({exc.message}).", 401)
    registry = request.app.state.registry
    sweeps = [to_public(e, request) for e in registry.visible(user)[:200]]
    page = _template("index.html").substitute(
        user=html.escape(user.name + (" (admin)" if user.admin else "")),
        dashboard=html.escape(dashboard_url(request) or "#"),
        rows="\n".join(_row(s) for s in sweeps),
        count=len(registry.visible(user)),
    )
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})
