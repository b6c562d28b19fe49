"""A sweep's open arrays, attributes and row I/O, opened once per process: the one path for run data.

Every read and write of a run's row goes through `Handles` (RowIO's synchronous whole-chunk path where it
applies, zarr otherwise), with the run index checked; status codes go through the store's own codec.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zarr

from worker.errors import RunNotFoundError, SweepNotFoundError
from worker.status import RunStatus, StatusCodec
from worker.store.rows import RowIO, row_io

_MISSING = object()


@dataclass
class Handles:
    """One sweep's array handles, attributes, status codec, expanded runs (once known) and RowIOs."""

    sweep_id: str
    arrays: dict[str, zarr.Array]
    attrs: dict[str, Any]
    codec: StatusCodec
    runs: list[Any] | None = None
    ios: dict[str, RowIO | None] = field(default_factory=dict)

    @property
    def n_runs(self) -> int:
        return int(self.attrs["n_runs"])

    def check(self, index: int) -> None:
        """RunNotFoundError unless 0 <= index < n_runs."""
        if not 0 <= index < self.n_runs:
            raise RunNotFoundError(self.sweep_id, index, self.n_runs)

    def io(self, name: str) -> RowIO | None:
        """The array's RowIO (None: it goes through zarr), built on first use."""
        found = self.ios.get(name, _MISSING)
        if found is _MISSING:
            found = self.ios[name] = row_io(self.arrays[name])
        return found  # type: ignore[return-value]

    def write(self, name: str, index: int, value: Any) -> None:
        """Write run `index`'s row of an array (its own chunk)."""
        self.check(index)
        io = self.io(name)
        if io is None:
            self.arrays[name][index] = value
        else:
            io.write(index, value)

    def read(self, name: str, index: int) -> Any:
        """Run `index`'s row of an array (the counterpart of `write`)."""
        self.check(index)
        io = self.io(name)
        return self.arrays[name][index] if io is None else io.read(index)[0]

    def column(self, name: str) -> list[Any]:
        """Every run's value of a per-run scalar array: one small file read each, without zarr's async
        pipeline (10,000 runs: 0.2 s instead of 2 s)."""
        io = self.io(name)
        if io is None:
            return list(self.arrays[name][:])
        return [io.read(i)[0] for i in range(self.n_runs)]

    def status(self, index: int) -> RunStatus:
        return self.codec.decode(self.read("status", index))

    def statuses(self) -> list[RunStatus]:
        return self.codec.decode_all(self.column("status"))

    def set_status(self, index: int, status: RunStatus) -> None:
        self.write("status", index, self.codec.encode(status))


_OPEN: dict[tuple[str, int, int], Handles] = {}
_OPEN_MAX = 16


def open_handles(path: Path, sweep_id: str) -> Handles:
    """The sweep's Handles, opened once per process; keyed by the group file's identity, so a sweep
    deleted and re-created under the same id is re-opened."""
    try:
        st = (path / "zarr.json").stat()
    except FileNotFoundError:
        raise SweepNotFoundError(sweep_id) from None
    key = (os.path.abspath(path), st.st_ino, st.st_mtime_ns)
    if key not in _OPEN:
        if len(_OPEN) >= _OPEN_MAX:
            _OPEN.pop(next(iter(_OPEN)))
        g = zarr.open_group(str(path), mode="r+")
        attrs = dict(g.attrs)
        _OPEN[key] = Handles(sweep_id, dict(g.arrays()), attrs, StatusCodec(attrs.get("statuses")))
    return _OPEN[key]
