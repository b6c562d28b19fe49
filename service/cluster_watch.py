"""Scheduler loss: notice it, say so (/health, sweep status), and get a working Dask client back.

The Dask client reconnects by itself for `distributed.comm.timeouts.connect` (in-flight futures are
cancelled; the runner resubmits them under new keys, and a run already finished in the store is skipped,
never recomputed). When the client gives up and closes, this watch builds a new one from the cluster spec
and hands it to the registry; coordinators that failed meanwhile are retried by the registry on it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from distributed import Client

log = logging.getLogger("pbn.service")
POLL_S = 1.0
REBUILD_EVERY_S = 5.0


class ClusterWatch:
    """A daemon thread polling the registry's client; `reason` is None while the scheduler answers."""

    def __init__(
        self,
        registry: Any,
        make_client: Callable[[], Client],
        on_reconnect: Callable[[Client], None] | None = None,
        poll_s: float = POLL_S,
    ) -> None:
        self.registry, self.make_client, self.poll_s = registry, make_client, poll_s
        self.on_reconnect = on_reconnect
        self.reason: str | None = None
        self.reconnects = 0
        self._since: str | None = None
        self._last_build = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pbn-cluster-watch", daemon=True)

    def start(self) -> ClusterWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                self.check()
            except Exception:  # the watch itself must never die
                log.exception("cluster watch: check failed")

    def check(self) -> None:
        """One look at the client: clear, note or repair the degraded state."""
        client: Client = self.registry.client
        status = str(client.status)
        if status == "running":
            if self.reason is not None:
                log.warning("scheduler back after %s: %s", self._since, self.reason)
                self._set(None)
                if self.on_reconnect is not None:  # a restarted scheduler forgot the worker plugins
                    self.on_reconnect(client)
            return
        self._since = self._since or datetime.now(UTC).isoformat(timespec="seconds")
        address = _address(client)
        if status == "connecting":
            self._set(f"lost the Dask scheduler {address} at {self._since}; reconnecting")
            return
        if time.monotonic() - self._last_build < REBUILD_EVERY_S:
            return
        self._last_build = time.monotonic()
        try:
            fresh = self.make_client()
        except Exception as exc:
            self._set(f"lost the Dask scheduler {address} at {self._since}; cannot reconnect yet: {exc}")
            return
        self.registry.client = fresh
        self.reconnects += 1
        log.warning("new Dask client on %s after losing the scheduler at %s", _address(fresh), self._since)
        self._set(None)
        _close_quietly(client)

    def _set(self, reason: str | None) -> None:
        """Change the reason and make every sweep's cached public view stale (it shows the reason)."""
        if reason == self.reason:
            return
        self.reason = reason
        if reason is None:
            self._since = None
        for entry in self.registry.entries():
            entry.version += 1


def _address(client: Client) -> str:
    try:
        return str(client.scheduler.address)
    except Exception:
        return "(unknown address)"


def _close_quietly(client: Client) -> None:
    try:
        client.close(timeout=5)
    except Exception:
        log.debug("closing the old Dask client failed", exc_info=True)
