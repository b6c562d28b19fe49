"""The HTTP view of a sweep's Zarr store: the group's metadata consolidated, and the small per-run arrays
served as one chunk each.

On disk every per-run array has one run per chunk (so runs are written in parallel without sharing a chunk).
Over HTTP that would cost one request per run for each of status, error, summary and the time axes, which
any client reads whole. So arrays of at most two dimensions and at most COALESCE_MAX_BYTES are presented as
a single chunk, encoded here with the array's own codecs; the large per-run arrays (weight samples,
currents, voltages, spikes) keep their one-run chunks, so a client reads only the runs it touches. The view
is a valid Zarr v3 store for any reader (`xr.open_zarr`, `zarr.open_group`); nothing is written to disk.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np
import zarr
from zarr.core.buffer import cpu
from zarr.storage import MemoryStore

COALESCE_MAX_BYTES = 32 * 2**20
"""Arrays up to this size (uncompressed) travel as one chunk."""
CACHE_ENTRIES = 256
_cache: OrderedDict[tuple[str, str], tuple[int, bytes | None]] = OrderedDict()
_lock = threading.Lock()


def stored_meta(root: Path, name: str) -> dict[str, Any]:
    return json.loads((root / name / "zarr.json").read_text())


def served_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """An array's metadata as served: its chunk grid widened to the whole array when it is coalesced."""
    if coalesced(meta):
        meta = json.loads(json.dumps(meta))
        meta["chunk_grid"]["configuration"]["chunk_shape"] = list(meta["shape"])
    return meta


def coalesced(meta: dict[str, Any]) -> bool:
    """Small arrays of one or two dimensions, stored in several chunks, travel as one."""
    if meta.get("node_type") != "array" or not 1 <= len(meta["shape"]) <= 2:
        return False
    chunks = meta.get("chunk_grid", {}).get("configuration", {}).get("chunk_shape")
    if chunks is None or list(chunks) == list(meta["shape"]):
        return False
    try:
        itemsize = np.dtype(meta.get("data_type")).itemsize
    except TypeError:  # strings and other variable-size types: a generous guess
        itemsize = 64
    return math.prod(meta["shape"]) * itemsize <= COALESCE_MAX_BYTES


def group_json(root: Path) -> bytes:
    """The group's zarr.json with every member's (served) metadata inlined: no listing needed."""
    group = json.loads((root / "zarr.json").read_text())
    members = {
        p.parent.name: served_meta(stored_meta(root, p.parent.name)) for p in sorted(root.glob("*/zarr.json"))
    }
    group["consolidated_metadata"] = {"kind": "inline", "must_understand": False, "metadata": members}
    return json.dumps(group).encode()


def coalesced_chunk(root: Path, name: str, key: str) -> bytes | None:
    """The one chunk of the coalesced array `name` when `key` (`<name>/<chunk key>`) is its key: its bytes,
    or None when the array is all fill (zarr stores no chunk then). KeyError for any other key."""
    meta = stored_meta(root, name)
    if not coalesced(meta):
        raise KeyError(key)
    view = MemoryStore(
        store_dict={"zarr.json": cpu.Buffer.from_bytes(json.dumps(served_meta(meta)).encode())}
    )
    target = zarr.open_array(view, mode="r+")
    chunk_key = target.metadata.encode_chunk_key((0,) * target.ndim)
    if key != f"{name}/{chunk_key}":
        raise KeyError(key)
    version = os.stat(root / name).st_mtime_ns  # chunks are replaced by rename, which touches the folder
    with _lock:
        hit = _cache.get((str(root), name))
    if hit is not None and hit[0] == version:
        return hit[1]
    target[...] = zarr.open_array(str(root / name), mode="r")[...]
    buffer = view._store_dict.get(chunk_key)
    data = None if buffer is None else buffer.to_bytes()
    with _lock:
        _cache[(str(root), name)] = (version, data)
        _cache.move_to_end((str(root), name))
        while len(_cache) > CACHE_ENTRIES:
            _cache.popitem(last=False)
    return data
