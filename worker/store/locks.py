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
from typing import IO

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
        self._file: IO[str] | None = None

    def acquire(self) -> FileLock:
        """Take the lock or raise HeldError naming its holder."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        f = open(self.path, "a+")  # noqa: SIM115 - kept open while the lock is held
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.seek(0)
            holder = describe(f.read())
            f.close()
            raise HeldError(self.what, holder) from None
        f.seek(0)
        f.truncate()
        f.write(json.dumps(holder_info()))
        f.flush()
        self._file = f
        return self

    def release(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.truncate(0)
            self._file.close()  # closing drops the flock
            self._file = None

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


def sweep_lock(root: Path, sweep_id: str) -> FileLock:
    """The lock a coordinator holds while it runs the sweep."""
    return FileLock(root / "control" / f"{sweep_id}.lock", sweep_id)


def server_lock(root: Path) -> FileLock:
    """The lock `pbn serve` holds on its data directory."""
    return FileLock(root / "control" / "serve.lock", f"data directory {root}")
