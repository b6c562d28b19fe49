"""One coordinator per sweep and one server per data directory: advisory locks (flock) on files under
`<data>/control/`. The kernel drops a lock when its holder dies, so a crashed holder never leaves one stuck;
the file names the holder, so a refusal can say who has it."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import sys
import time
from pathlib import Path

from worker.errors import SweepStateError


class HeldError(SweepStateError):
    """The lock is held by another coordinator (its pid, host and command are in the message)."""

    def __init__(self, what: str, holder: str) -> None:
        super().__init__(what, f"already coordinated by {holder}")
        self.args = (f"{what}: already coordinated by {holder}",)

    def __str__(self) -> str:
        return str(self.args[0])


class FileLock:
    """An exclusive, non-blocking flock on `path`, held until `release` (or the process ends)."""

    def __init__(self, path: Path, what: str) -> None:
        self.path, self.what = path, what
        self._fd: int | None = None

    def acquire(self) -> FileLock:
        """Take the lock or raise HeldError naming its holder. The lock is held on a read-only descriptor
        (the holder is written through a short-lived one), so a held lock never keeps the filesystem from
        being remounted read-only."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDONLY | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = describe(self.path.read_text())
            os.close(fd)
            raise HeldError(self.what, holder) from None
        with contextlib.suppress(OSError):  # who holds it is a courtesy; the flock is the lock
            self.path.write_text(json.dumps(holder_info()))
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.write_text("")
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> FileLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


def holder_info() -> dict[str, object]:
    """Who holds a lock: pid, host, command line and since when."""
    return {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "cmd": " ".join(sys.argv)[:200],
        "since": time.time(),
    }


def describe(text: str) -> str:
    """A lock file's holder in words: `pid 123 on host (pbn serve ...) since 19:30:01 UTC`."""
    try:
        h = json.loads(text)
        since = time.strftime("%H:%M:%S UTC", time.gmtime(float(h["since"])))
        return f"pid {h['pid']} on {h['host']} ({h['cmd']}) since {since}"
    except (ValueError, KeyError, TypeError):
        return "another process"


def held_elsewhere(lock: FileLock) -> bool:
    """True if the lock file names a live holder (this host: its pid exists; another host: trusted) —
    read only, so asking never disturbs the holder."""
    try:
        h = json.loads(lock.path.read_text() or "null")
    except (OSError, ValueError):
        return False
    if not isinstance(h, dict) or "pid" not in h:
        return False
    if h.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(h["pid"]), 0)
    except (ProcessLookupError, ValueError):
        return False
    except PermissionError:
        return True
    return True


def sweep_lock(root: Path, sweep_id: str) -> FileLock:
    """The lock a coordinator holds while it runs the sweep."""
    return FileLock(root / "control" / f"{sweep_id}.lock", sweep_id)


def server_lock(root: Path) -> FileLock:
    """The lock `pbn serve` holds on its data directory."""
    return FileLock(root / "control" / "serve.lock", f"data directory {root}")
