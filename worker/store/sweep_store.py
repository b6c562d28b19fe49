"""The sweep store: one Zarr v3 group per sweep, one run per chunk, status written last.

Layout (`<root>/sweeps/<sweep_id>.zarr`): attrs hold the definition, expansion, owner, created time and
provenance; `status[run]` (int8 codes of the stored `statuses`), `error[run]` and `run_info[run]` (JSON text:
attempt, timestamps, worker, full summary, stored shapes); `summary[run, stat]`; one coordinate array per
swept parameter plus `replicate`, `seed`; and the result arrays of worker.store.schema. Only the coordinator
writes metadata (create_sweep); a task writes only its own run's chunks.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any, Literal

import numpy as np
import zarr

from sim import SimResult
from worker.errors import SweepNotFoundError, SweepStateError, SweepValidationError
from worker.status import RunStatus
from worker.store import cache
from worker.store.handles import Handles, open_handles
from worker.store.ids import SWEEP_ID_PATTERN, is_sweep_id, new_sweep_id
from worker.store.schema import build_group
from worker.store.typed import read
from worker.store.writing import result_rows

OpenMode = Literal["r", "r+", "a", "w", "w-"]
"""Modes of zarr.open_group."""


class SweepStore:
    """All sweeps under one data directory, plus the cross-sweep cache index."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    # ---- paths and opening -------------------------------------------------------------------
    def path(self, sweep_id: str) -> Path:
        """Directory of a sweep's Zarr group (the id is checked, so no path escapes the root)."""
        if not is_sweep_id(sweep_id):
            raise SweepNotFoundError(str(sweep_id))
        return self.root / "sweeps" / f"{sweep_id}.zarr"

    def exists(self, sweep_id: str) -> bool:
        """True if the sweep's group exists."""
        return is_sweep_id(sweep_id) and (self.path(sweep_id) / "zarr.json").is_file()

    def group(self, sweep_id: str, mode: OpenMode = "r+") -> zarr.Group:
        """Open a sweep's group (SweepNotFoundError if absent)."""
        if not self.exists(sweep_id):
            raise SweepNotFoundError(sweep_id)
        return zarr.open_group(str(self.path(sweep_id)), mode=mode)

    def handles(self, sweep_id: str) -> Handles:
        """The sweep's arrays, attributes and row I/O, opened once per process."""
        return open_handles(self.path(sweep_id), sweep_id)

    def sweep_ids(self) -> list[str]:
        """Ids of all sweeps, sorted."""
        folder = self.root / "sweeps"
        if not folder.is_dir():
            return []
        return sorted(p.name[: -len(".zarr")] for p in folder.glob("*.zarr") if (p / "zarr.json").is_file())

    # ---- creation (coordinator only) ---------------------------------------------------------
    def create_sweep(
        self, defn: Any, runs: list[Any], owner: str = "anonymous", sweep_id: str | None = None
    ) -> str:
        """Create every array and attribute of a sweep once; all runs start `pending`."""
        from worker.sweep import sweep_axes

        sweep_id = sweep_id or new_sweep_id(defn.name)
        if not is_sweep_id(sweep_id):
            raise SweepValidationError(
                "sweep_id", sweep_id, f"expected letters, digits, '-', '_' ({SWEEP_ID_PATTERN})"
            )
        if self.exists(sweep_id):
            raise SweepStateError(sweep_id, "a sweep with this id already exists")
        final = self.path(sweep_id)
        staging = final.with_name(f".{final.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
        try:  # built aside, then renamed: readers never see a half-created sweep
            build_group(
                zarr.open_group(str(staging), mode="w-", zarr_format=3),
                sweep_id,
                defn,
                runs,
                owner,
                sweep_axes(defn),
            )
            os.rename(staging, final)
        except OSError as exc:
            if self.exists(sweep_id):
                raise SweepStateError(sweep_id, "a sweep with this id already exists") from None
            raise SweepStateError(sweep_id, f"could not create the sweep: {exc}") from exc
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        self.handles(sweep_id).runs = list(runs)  # the creator knows the expansion: no re-expansion
        return sweep_id

    # ---- reading ------------------------------------------------------------------------------
    def attrs(self, sweep_id: str) -> dict[str, Any]:
        """The sweep's attributes (definition, expansion, owner, created, provenance, axes, sizes)."""
        return dict(self.handles(sweep_id).attrs)

    def definition(self, sweep_id: str) -> Any:
        from worker.sweep import SweepDefinition

        return SweepDefinition.model_validate(self.handles(sweep_id).attrs["definition"])

    def runs(self, sweep_id: str) -> list[Any]:
        """The sweep's runs, expanded once per process from the stored definition (checked against the
        stored cache keys)."""
        from worker.sweep import expand_sweep

        h = self.handles(sweep_id)
        if h.runs is None:
            runs = expand_sweep(self.definition(sweep_id))
            if [r.cache_key for r in runs] != h.attrs["expansion"]["cache_keys"]:
                raise SweepStateError(sweep_id, "the stored definition no longer expands to the stored runs")
            h.runs = runs
        return list(h.runs)

    def statuses(self, sweep_id: str) -> list[RunStatus]:
        """Status of every run."""
        return self.handles(sweep_id).statuses()

    def statuses_of(self, sweep_id: str, indices: list[int]) -> list[RunStatus]:
        """Status of a few runs (reads only their chunks)."""
        h = self.handles(sweep_id)
        return [h.status(i) for i in indices]

    def errors(self, sweep_id: str) -> list[str]:
        """Error text of every run ("" where none)."""
        return [str(e) for e in self.handles(sweep_id).column("error")]

    def run_info(self, sweep_id: str, index: int) -> dict[str, Any]:
        """Attempt, timestamps, worker, summary and stored shapes of one run ({} if never started)."""
        text = str(self.handles(sweep_id).read("run_info", index))
        return json.loads(text) if text else {}

    def read_run(self, sweep_id: str, index: int) -> dict[str, Any]:
        """One run: status, error, params, swept point, seed, summary, info and its arrays (unpadded)."""
        h = self.handles(sweep_id)
        info = self.run_info(sweep_id, index)
        arrays = {
            name: np.asarray(read(h.arrays[name], (index, *(slice(0, n) for n in shape))))
            for name, shape in info.get("shapes", {}).items()
        }
        exp = h.attrs["expansion"]
        return {
            "index": index,
            "status": h.status(index),
            "error": str(h.read("error", index)),
            "point": exp["points"][exp["point_index"][index]],
            "replicate": exp["replicate"][index],
            "seed": exp["seeds"][index],
            "params": self.runs(sweep_id)[index].params.model_dump(mode="json"),
            "cache_key": exp["cache_keys"][index],
            "summary": info.get("summary", {}),
            "info": {k: v for k, v in info.items() if k not in ("summary", "shapes")},
            "arrays": arrays,
        }

    # ---- writing (tasks write only their own run; status last) --------------------------------
    def set_status(self, sweep_id: str, index: int, status: RunStatus, error: str | None = None) -> None:
        """Set one run's status (and error text first, if given)."""
        h = self.handles(sweep_id)
        if error is not None:
            h.write("error", index, error)
        h.set_status(index, status)

    def mark_running(self, sweep_id: str, index: int, info: dict[str, Any]) -> None:
        """Record that an attempt started (its info first, then the status)."""
        h = self.handles(sweep_id)
        h.write("run_info", index, json.dumps(info))
        h.set_status(index, "running")

    def write_result(self, sweep_id: str, index: int, result: SimResult, info: dict[str, Any]) -> RunStatus:
        """Write a run's arrays, summary and info, then its status ("done"/"diverged") last."""
        h = self.handles(sweep_id)
        h.check(index)
        rows, status = result_rows(h, result, info)
        for name, row in rows.items():
            h.write(name, index, row)
        h.set_status(index, status)
        return status

    def delete(self, sweep_id: str) -> None:
        """Remove a sweep and its cancel flag (cache entries pointing at it turn stale and are ignored)."""
        if not self.exists(sweep_id):
            raise SweepNotFoundError(sweep_id)
        shutil.rmtree(self.path(sweep_id))
        self.clear_cancel(sweep_id)

    # ---- the cache of finished runs (worker.store.cache) --------------------------------------
    def record_cache(self, sweep_id: str, index: int) -> None:
        """Point the owner's cache entry of run `index`'s key at it (once its data and status are written)."""
        attrs = self.handles(sweep_id).attrs
        key = attrs["expansion"]["cache_keys"][index]
        cache.record(self.root, key, str(attrs.get("owner", "anonymous")), sweep_id, index)

    def lookup_cache(self, key: str, owner: str, exclude: str | None = None) -> tuple[str, int] | None:
        """(sweep_id, index) of a finished run of `owner` with this cache key, or None (stale entries are
        ignored; other owners' runs are never found)."""
        found = cache.entry(self.root, key, owner)
        if found is None or found[0] == exclude:
            return None
        try:
            return found if cache.holds(self.handles(found[0]), found[1], key, owner) else None
        except (OSError, SweepNotFoundError):
            return None

    def reuse_run(self, sweep_id: str, index: int, source: tuple[str, int]) -> bool:
        """Copy a finished run's data into this sweep's run and mark it `reused`; False if it does not fit."""
        return cache.copy_run(self.handles(source[0]), source[1], self.handles(sweep_id), index)

    def write_problem(self) -> OSError | None:
        """None if a file can be written under the store's root now, else the OS error saying why."""
        probe = self.root / "control" / f".probe-{os.getpid()}-{time.monotonic_ns()}"
        try:
            probe.parent.mkdir(parents=True, exist_ok=True)
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            return exc
        return None

    # ---- cancellation flag (works across processes) -------------------------------------------
    def request_cancel(self, sweep_id: str) -> None:
        """Ask the sweep's coordinator (any process) to stop submitting runs."""
        if not self.exists(sweep_id):
            raise SweepNotFoundError(sweep_id)
        flag = self._cancel_flag(sweep_id)
        flag.parent.mkdir(parents=True, exist_ok=True)
        flag.write_text(str(time.time()))

    def cancel_requested(self, sweep_id: str) -> bool:
        return self._cancel_flag(sweep_id).exists()

    def clear_cancel(self, sweep_id: str) -> None:
        self._cancel_flag(sweep_id).unlink(missing_ok=True)

    def _cancel_flag(self, sweep_id: str) -> Path:
        self.path(sweep_id)  # validates the id
        return self.root / "control" / f"{sweep_id}.cancel"
