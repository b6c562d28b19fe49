"""Browser sessions: a random id in an HttpOnly cookie names a server-side session (never the token)."""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from service.auth import User

SESSION_COOKIE = "pbn_session"
SESSION_TTL_S = 12 * 3600
"""A session ends 12 hours after sign-in (the cookie's Max-Age is the same), or at sign-out."""
MAX_SESSIONS = 10_000
"""Sessions kept at most; signing in beyond it ends the oldest (repeated sign-ins cannot fill memory)."""


class SessionBook:
    """Session id -> (user, expiry), in memory: a restart of the server signs every browser out."""

    def __init__(self, ttl_s: float = SESSION_TTL_S, max_sessions: int = MAX_SESSIONS) -> None:
        self.ttl_s, self.max_sessions = ttl_s, max_sessions
        self._sessions: OrderedDict[str, tuple[User, float]] = OrderedDict()
        self._lock = threading.Lock()

    def create(self, user: User) -> str:
        """A new session for `user`; returns its id (32 random bytes, URL-safe)."""
        session_id = secrets.token_urlsafe(32)
        now = time.monotonic()
        with self._lock:
            self._sessions[session_id] = (user, now + self.ttl_s)
            while len(self._sessions) > self.max_sessions:
                self._sessions.popitem(last=False)
        return session_id

    def lookup(self, session_id: str) -> User | None:
        """The session's user, or None if unknown, signed out or expired (expired ones are dropped)."""
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            if found[1] <= time.monotonic():
                del self._sessions[session_id]
                return None
            return found[0]

    def revoke(self, session_id: str) -> None:
        """End a session (sign-out); unknown ids are ignored."""
        with self._lock:
            self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
