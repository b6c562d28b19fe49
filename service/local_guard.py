"""Single-user mode (no tokens, everyone is an admin) is safe only on this machine: a pure ASGI guard that
answers only requests that arrived on a loopback address, naming this machine in their Host header.

The address check reads the socket the request actually came in on (`scope["server"]`), not the
`host` setting, so `uvicorn --factory --host 0.0.0.0` cannot open the server to the network; the Host
check refuses DNS rebinding (a page on attacker.example whose name now resolves to 127.0.0.1).
"""

from __future__ import annotations

import ipaddress
import json
import re

from starlette.types import ASGIApp, Receive, Scope, Send

LOCAL_HOST_RE = re.compile(r"^(127\.0\.0\.1|localhost|\[::1\])(:\d{1,5})?$")
"""Host headers accepted in single-user mode: the loopback names, with or without a port."""


def is_loopback_address(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (`::ffff:127.0.0.1`); names are not addresses."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def refusal(scope: Scope) -> tuple[int, str, str] | None:
    """(status, where, reason) if single-user mode must refuse this request, else None."""
    server = scope.get("server")
    if server is not None and server[0] is not None and not is_loopback_address(str(server[0])):
        return (
            403,
            "server",
            (
                f"single-user mode (no API tokens) answers only on loopback; this request came in on "
                f"{server[0]}"
            ),
        )
    hosts = [v for k, v in scope["headers"] if k == b"host"]
    host = hosts[0].decode("latin-1") if len(hosts) == 1 else ""
    if not LOCAL_HOST_RE.match(host):
        return (
            400,
            "host",
            (
                f"Host {host[:100]!r}: single-user mode answers only to 127.0.0.1, localhost or [::1] "
                "(a foreign name here is DNS rebinding)"
            ),
        )
    return None


class LocalOnly:
    """Refuse (403 / 400) what single-user mode must not answer; pass the rest to `app` untouched."""

    def __init__(self, app: ASGIApp, enabled: bool) -> None:
        self.app, self.enabled = app, enabled

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refused = refusal(scope) if self.enabled and scope["type"] in ("http", "websocket") else None
        if refused is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        status, where, reason = refused
        body = json.dumps({"detail": [{"loc": [where], "msg": reason, "type": "local_only"}]})
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body.encode()})
