"""Who is calling: API tokens (from a file or `PBN_TOKENS`; none = single-user mode) or a browser session,
and the same-origin check that keeps other sites from acting with a browser's session (CSRF)."""

from __future__ import annotations

import hmac
import json
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from service.errors import AuthError, CsrfError
from service.sessions import SESSION_COOKIE
from service.settings import Settings

USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
LOCAL_USER = "local"
COOKIE = SESSION_COOKIE
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


@dataclass(frozen=True)
class User:
    """The caller: a user name and whether it may see every user's sweeps."""

    name: str
    admin: bool = False


class TokenBook:
    """Token -> User, compared in constant time; empty means single-user mode."""

    def __init__(self, users: dict[str, User]) -> None:
        self._users = users

    @property
    def enabled(self) -> bool:
        return bool(self._users)

    def lookup(self, token: str) -> User | None:
        """The user owning `token`, or None."""
        found = None
        for known, user in self._users.items():
            if hmac.compare_digest(known.encode(), token.encode()):
                found = user
        return found


def _parse_entry(token: str, value: Any, where: str) -> tuple[str, User]:
    if isinstance(value, str):
        value = {"user": value}
    if not isinstance(value, dict) or "user" not in value:
        raise ValueError(f"{where}: expected {{user: NAME, admin: BOOL}} for a token, got {value!r}")
    name = str(value["user"])
    if not USER_RE.match(name):
        raise ValueError(f"{where}: user {name!r} must match {USER_RE.pattern}")
    if len(token) < 8:
        raise ValueError(
            f"{where}: the token of user {name!r} has {len(token)} characters; expected at least 8"
        )
    return token, User(name=name, admin=bool(value.get("admin", False)))


def parse_inline_tokens(text: str) -> dict[str, User]:
    """Parse `token=user[:admin],token2=user2` (the `PBN_TOKENS` form)."""
    users: dict[str, User] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        token, sep, rest = item.partition("=")
        if not sep:
            raise ValueError(f"PBN_TOKENS: expected 'token=user[:admin]', got {item[:4]}...")
        name, _, flag = rest.partition(":")
        if flag not in ("", "admin"):
            raise ValueError(f"PBN_TOKENS: flag {flag!r} for user {name!r}; expected ':admin' or nothing")
        key, user = _parse_entry(
            token.strip(), {"user": name.strip(), "admin": flag == "admin"}, "PBN_TOKENS"
        )
        users[key] = user
    return users


def load_token_file(path: Path) -> dict[str, User]:
    """Read a YAML or JSON mapping `token: {user: NAME, admin: BOOL}` (or `token: NAME`)."""
    text = path.read_text()
    data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(
            f"tokens_file {path}: expected a mapping of token -> user, got {type(data).__name__}"
        )
    return dict(_parse_entry(str(tok), val, f"tokens_file {path}") for tok, val in data.items())


def load_tokens(settings: Settings) -> TokenBook:
    """All tokens configured by file and environment."""
    users: dict[str, User] = {}
    if settings.tokens_file is not None:
        users.update(load_token_file(settings.tokens_file))
    if settings.tokens:
        users.update(parse_inline_tokens(settings.tokens))
    return TokenBook(users)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError(401, "Authorization header: expected 'Bearer <token>'")
    return token.strip()


BEARER = HTTPBearer(auto_error=False, description="An API token of PBN_TOKENS / PBN_TOKENS_FILE")
"""Declares the bearer scheme in the OpenAPI schema; `resolve_user` reads the header itself."""


async def authenticate(
    request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(BEARER)]
) -> User:
    """Resolve the caller from `Authorization: Bearer`, else the browser's session cookie."""
    return resolve_user(request)


def resolve_user(request: Request) -> User:
    """Synchronous core of `authenticate` (also used by the HTML pages and the status fast path).

    A cookie-authenticated request that changes state must come from this server's own pages (Origin),
    and so must any browser request in single-user mode, where nothing else stands in a page's way."""
    book: TokenBook = request.app.state.tokens
    if not book.enabled:
        if request.method not in SAFE_METHODS:
            check_same_origin(request, required=False)
        return User(LOCAL_USER, admin=True)
    token = _bearer(request)
    if token is not None:
        user = book.lookup(token)
        if user is None:
            raise AuthError(401, "unknown token")
        return user
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id is None:
        raise AuthError(
            401, "missing token: send 'Authorization: Bearer <token>' (browsers: sign in at /login)"
        )
    user = request.app.state.sessions.lookup(session_id)
    if user is None:
        raise AuthError(401, "session expired or signed out: sign in again at /login")
    if request.method not in SAFE_METHODS:
        check_same_origin(request, required=True)
    return user


def check_same_origin(request: Request, required: bool) -> None:
    """Refuse a request that a browser says comes from another site (`Origin`, else `Referer`, must name
    this server's Host); `required`: a request that says nothing is refused too (browsers always say)."""
    if request.headers.get("sec-fetch-site") == "cross-site":
        raise CsrfError(f"{request.method} {request.url.path}: cross-site request refused (Sec-Fetch-Site)")
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        if required:
            raise CsrfError(
                f"{request.method} {request.url.path} with a session cookie needs an Origin header "
                "(browsers send one); scripts should send 'Authorization: Bearer <token>'"
            )
        return
    host = request.headers.get("host", "")
    try:
        netloc = urllib.parse.urlsplit(origin).netloc
    except ValueError:  # "http://[" and the like: not this server
        netloc = ""
    if netloc.lower() != host.lower() or not host:
        raise CsrfError(
            f"{request.method} {request.url.path}: origin {origin[:100]!r} is not this server "
            f"({host[:100]!r})"
        )


CurrentUser = Annotated[User, Depends(authenticate)]
