"""Browser sign-in and sign-out: the token is posted once (never in a URL) for a server-side session."""

from __future__ import annotations

import urllib.parse

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from service.api.views import login_page
from service.auth import check_same_origin
from service.sessions import SESSION_COOKIE

router = APIRouter(include_in_schema=False)


@router.get("/login", response_class=HTMLResponse)
def login_form() -> HTMLResponse:
    """The sign-in form (it posts the token to `POST /login`)."""
    return login_page("Sign in with your API token.")


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the posted token; on success start a session (HttpOnly, SameSite=Strict cookie) and go to `/`.
    Only this server's own form may post here (a foreign page could sign a browser into its account)."""
    check_same_origin(request, required=True)
    if not request.app.state.tokens.enabled:
        return RedirectResponse("/", status_code=303)
    form = urllib.parse.parse_qs((await request.body()).decode("utf-8", "replace"))
    user = request.app.state.tokens.lookup((form.get("token") or [""])[0][:512])
    if user is None:
        return login_page("Unknown token.", 401)
    sessions = request.app.state.sessions
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sessions.create(user),
        max_age=int(sessions.ttl_s),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
def logout(request: Request) -> Response:
    """End the browser's session (server side and cookie) and show the sign-in form."""
    check_same_origin(request, required=False)
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is not None:
        request.app.state.sessions.revoke(session_id)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, httponly=True, samesite="strict")
    return response
