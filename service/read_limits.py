"""Expensive reads (results tables, plots, runs): answered from a cache per sweep version, computed at most
once at a time per key, a few at a time per user (beyond that: 429 with Retry-After) and in a small thread
pool shared by all users, so that one user's burst of reads cannot slow everyone's status polls."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import anyio.to_thread
from anyio import CapacityLimiter

from service.errors import TooManyReadsError

RETRY_AFTER_S = 1


class ByteCache:
    """A thread-safe LRU of values under a total size (bytes); a value over a quarter of it is not kept."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            found = self._items.get(key)
            if found is None:
                return None
            self._items.move_to_end(key)
            return found[0]

    def put(self, key: Hashable, value: Any, size: int) -> None:
        if size > self.max_bytes // 4:
            return
        with self._lock:
            old = self._items.pop(key, None)
            self._size -= old[1] if old else 0
            self._items[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._size -= dropped

    @property
    def size(self) -> int:
        return self._size


class ReadLimits:
    """Per-user slots for expensive reads, a shared thread pool for them, and the cache of their answers."""

    def __init__(self, per_user: int, cache_bytes: int, threads: int = 2) -> None:
        self.per_user = per_user
        self.cache = ByteCache(cache_bytes)
        self._threads = threads
        self._limiter: CapacityLimiter | None = None  # created on the event loop, at first use
        self._in_flight: dict[str, int] = {}
        self._lock = threading.Lock()
        self._pending: dict[Hashable, asyncio.Future[bytes]] = {}

    def acquire(self, user: str) -> None:
        """Take one of `user`'s slots, or refuse with 429 (Retry-After) when all are in use."""
        with self._lock:
            used = self._in_flight.get(user, 0)
            if used >= self.per_user:
                raise TooManyReadsError(
                    f"user {user!r} already has {used} expensive reads (results, plots, runs) in progress; "
                    f"the limit is {self.per_user}: retry after {RETRY_AFTER_S} s",
                    RETRY_AFTER_S,
                )
            self._in_flight[user] = used + 1

    def release(self, user: str) -> None:
        with self._lock:
            left = self._in_flight.get(user, 1) - 1
            if left > 0:
                self._in_flight[user] = left
            else:
                self._in_flight.pop(user, None)

    def in_flight(self, user: str) -> int:
        with self._lock:
            return self._in_flight.get(user, 0)

    async def answer(self, user: str, key: Hashable, compute: Callable[[], bytes]) -> bytes:
        """The cached answer for `key`, else the one being computed for it, else compute it now (in the
        shared pool, holding one of `user`'s slots) and keep it. Errors are raised, never cached."""
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        self.acquire(user)
        future: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            value = await anyio.to_thread.run_sync(compute, limiter=self._pool())
            self.cache.put(key, value, len(value))
            future.set_result(value)
            return value
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else waited
            raise
        finally:
            self._pending.pop(key, None)
            self.release(user)

    def _pool(self) -> CapacityLimiter:
        if self._limiter is None:
            self._limiter = CapacityLimiter(self._threads)
        return self._limiter
