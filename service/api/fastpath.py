"""A pure ASGI fast path for the hottest request, `GET /sweeps/{id}` (status polls by scripts and browsers).

It answers only the success case — a well-formed id of a sweep the caller may see — with the registry's
cached JSON, skipping FastAPI's routing and dependency solving (about 3/4 of a poll's server time). Every
other request, and every poll that would fail (bad or missing token, unknown or foreign id, before startup),
goes on to the FastAPI route, which answers exactly as it always has; so the route stays the one definition
of the endpoint (and of its OpenAPI schema) and this is only a cache in front of it.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from service.api.views import status_json
from service.auth import resolve_user
from service.errors import ServiceError
from worker.store.ids import is_sweep_id

PREFIX = "/sweeps/"


class StatusFastPath:
    """Answer visible sweeps' status polls from memory; pass everything else to `app` untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        body = None
        if scope["type"] == "http" and scope["method"] == "GET" and scope["path"].startswith(PREFIX):
            body = _status_body(scope)
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def _status_body(scope: Scope) -> bytes | None:
    """The cached status JSON if this poll would succeed, else None (the route answers it)."""
    sweep_id = scope["path"][len(PREFIX) :]
    registry = getattr(scope["app"].state, "registry", None) if "app" in scope else None
    if registry is None or len(sweep_id) > 128 or not is_sweep_id(sweep_id):
        return None
    request = Request(scope)
    try:
        entry = registry.get(sweep_id, resolve_user(request))
    except ServiceError:  # 401 / 404: the route builds the error answer
        return None
    return status_json(entry, request)
