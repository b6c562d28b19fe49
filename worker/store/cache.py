"""The cache of finished runs, one per owner: `<root>/cache/<key>-<owner digest>.json` points at a run of that
owner holding that result, and the copy of such a run's data into another sweep's run (through the same row
path as a task's write). Reuse never crosses owners, so no user learns what another has run."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from worker.status import REUSABLE
from worker.store.handles import Handles
from worker.store.schema import array_specs, pad_to
from worker.store.typed import read


def _path(root: Path, key: str, owner: str) -> Path:
    digest = hashlib.sha256(owner.encode()).hexdigest()[:16]
    return root / "cache" / f"{key}-{digest}.json"


def record(root: Path, key: str, owner: str, sweep_id: str, index: int) -> None:
    """Point the owner's cache entry of `key` at a finished run (atomic replace; rewriting is harmless)."""
    path = _path(root, key, owner)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{time.monotonic_ns()}.tmp")
    tmp.write_text(json.dumps({"sweep_id": sweep_id, "index": index}))
    os.replace(tmp, path)


def entry(root: Path, key: str, owner: str) -> tuple[str, int] | None:
    """The (sweep_id, index) the owner's cache entry of `key` names, unchecked (None if there is none)."""
    try:
        data = json.loads(_path(root, key, owner).read_text())
        return str(data["sweep_id"]), int(data["index"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def holds(src: Handles, index: int, key: str, owner: str) -> bool:
    """True if run `index` of `src` is the owner's and still holds the result of `key` (stale entries are
    ignored: a deleted or re-created sweep, a run that is no longer finished)."""
    try:
        mine = src.attrs.get("owner") == owner
        return mine and src.attrs["expansion"]["cache_keys"][index] == key and src.status(index) in REUSABLE
    except (IndexError, KeyError, ValueError):
        return False


def copy_run(src: Handles, src_index: int, dst: Handles, index: int) -> bool:
    """Copy arrays, summary and info of a finished run into (dst, index), then mark it `reused` last.

    Returns False (and writes nothing) if the source's data does not fit the destination's padded layout.
    """
    info = json.loads(str(src.read("run_info", src_index)) or "{}")
    rows = _padded_rows(src, src_index, dst, info.get("shapes", {}))
    if rows is None:
        return False
    summary = info.get("summary", {})
    rows["summary"] = np.array([_num(summary.get(k)) for k in dst.attrs["summary_keys"]], dtype="f8")
    info.update(reused_from={"sweep_id": src.sweep_id, "index": src_index}, reused_at=time.time())
    rows["run_info"] = np.array(json.dumps(info), dtype=object)
    rows["error"] = np.array("", dtype=object)
    for name, row in rows.items():
        dst.write(name, index, row)
    dst.set_status(index, "reused")
    return True


def _padded_rows(src: Handles, src_index: int, dst: Handles, shapes: dict[str, Any]) -> dict | None:
    """The source run's arrays padded to the destination's layout (None if one does not fit)."""
    rows: dict[str, np.ndarray] = {}
    for spec in array_specs(dict(dst.attrs["sizes"])):
        target = dst.arrays[spec.name].shape[1:]
        if spec.name not in shapes:
            rows[spec.name] = np.full(target, spec.fill, dtype=spec.dtype)
            continue
        shape = shapes[spec.name]
        if spec.name not in src.arrays or any(n > t for n, t in zip(shape, target, strict=True)):
            return None
        value = read(src.arrays[spec.name], (src_index, *(slice(0, n) for n in shape)))
        rows[spec.name] = pad_to(value, target, spec.fill, spec.dtype, spec.name)
    return rows


def _num(value: object) -> float:
    return float(value) if isinstance(value, bool | int | float) else float("nan")
