"""Sweeps that another process writes into the server's data directory (`pbn sweep --data <same dir>`) join
the registry within seconds, with their progress re-read from the store: this server does not coordinate
them (their own coordinator holds the sweep's lock), it shows them."""

from __future__ import annotations

import logging
import threading
from typing import TYPE_CHECKING

from worker.runner import progress_from_store

if TYPE_CHECKING:
    from service.registry import Registry, SweepEntry

log = logging.getLogger("pbn.service")


class StoreWatch:
    """Scan the store every `interval_s` for sweeps the registry does not know, and follow them."""

    def __init__(self, registry: Registry, interval_s: float = 2.0) -> None:
        self.registry, self.interval_s = registry, interval_s
        self.followed: dict[str, SweepEntry] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="pbn-store-watch", daemon=True)
        registry.on_foreign = self.follow  # a sweep found coordinated elsewhere at resume: follow it too

    def follow(self, entry: SweepEntry) -> None:
        self.followed[entry.sweep_id] = entry

    def start(self) -> StoreWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.scan()
            except Exception:  # an unreadable store now is no reason to stop watching it
                log.exception("scanning the store for new sweeps failed")

    def scan(self) -> list[str]:
        """Adopt new sweeps; refresh the progress of those followed. Returns the ids adopted."""
        reg, added = self.registry, []
        for sweep_id in reg.store.sweep_ids():
            if reg.known(sweep_id):
                continue
            try:
                entry = reg.entry_from_store(sweep_id)
            except Exception:  # being written, or broken: tried again at the next scan
                continue
            if reg.adopt(entry):
                self.followed[sweep_id] = entry
                added.append(sweep_id)
                log.info(
                    "sweep %s of %s appeared in the store (coordinated elsewhere)", sweep_id, entry.owner
                )
        for sweep_id, entry in list(self.followed.items()):
            if reg.current(sweep_id) is not entry:  # purged, or taken over by this server
                del self.followed[sweep_id]
                continue
            reg.follow(entry, progress_from_store(reg.store, sweep_id))
        return added
