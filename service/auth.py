"""API tokens: who is calling. Tokens come from a file or `PBN_TOKENS`; none configured = single-user mode."""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import yaml
from fastapi import Depends, Request

from service.errors import AuthError
from service.settings import Settings

USER_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
LOCAL_USER = "local"
COOKIE = "pbn_token"
WEB_HEADER = "x-pbn-web"
"""Sent by the web app's scripts; another site cannot send it without a CORS preflight, which is refused."""


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


async def authenticate(request: Request) -> User:
    """Resolve the caller from `Authorization: Bearer`, or the browser cookie on safe (GET) requests."""
    return resolve_user(request)


def resolve_user(request: Request) -> User:
    """Synchronous core of `authenticate` (also used by the HTML page)."""
    book: TokenBook = request.app.state.tokens
    if not book.enabled:
        return User(LOCAL_USER, admin=True)
    token = _bearer(request)
    if token is None and (request.method in ("GET", "HEAD") or request.headers.get(WEB_HEADER) == "1"):
        token = request.cookies.get(COOKIE)  # writes by cookie only with the web app header (no CSRF)
    if token is None:
        raise AuthError(401, "missing token: send 'Authorization: Bearer <token>'")
    user = book.lookup(token)
    if user is None:
        raise AuthError(401, "unknown token")
    return user


CurrentUser = Annotated[User, Depends(authenticate)]
