"""Whole-chunk reads and writes of one run's row, done synchronously in the calling thread.

A task writes ~20 one-run chunks. Through zarr's async pipeline each write hops between threads and the event
loop several times (~0.5 ms each, ~10 ms per run on this machine) while encoding and writing the bytes take
~0.1 ms. `RowIO` encodes with the array's own codec chain and writes the file the way zarr's LocalStore does
(temporary sibling, then replace), so the files are exactly what zarr would write. Arrays it cannot handle
(not on a local store, a run split over several chunks, a codec without a synchronous path) get None from
`row_io` and go through zarr as before.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import zarr

try:  # zarr internals: guarded, so a zarr that moves them only loses the fast path
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.codec_pipeline import fill_value_or_default
    from zarr.storage import LocalStore

    FAST_PATH = True
except ImportError:  # pragma: no cover - depends on the installed zarr
    FAST_PATH = False


class RowIO:
    """Read/write row `index` of an array whose chunks hold exactly one run each, on a local store."""

    def __init__(self, arr: zarr.Array) -> None:
        a = arr.async_array
        self.metadata = a.metadata
        spec = self.metadata.get_chunk_spec((0,) * arr.ndim, a.config, default_buffer_prototype())
        self.spec = spec
        self.stages: list[tuple[Any, Any]] = []  # (codec, spec it receives), in encoding order
        for codec in self.metadata.codecs:
            self.stages.append((codec, spec))
            spec = codec.resolve_metadata(spec)
        self.native = self.metadata.dtype.to_native_dtype()
        self.fill = fill_value_or_default(self.spec)
        self.skip_empty = not self.spec.config.write_empty_chunks
        store = a.store_path.store
        if not isinstance(store, LocalStore):  # row_io checked this already
            raise TypeError(f"RowIO needs a LocalStore, got {type(store).__name__}")
        self.folder = Path(store.root) / a.store_path.path
        self.tail = (0,) * (arr.ndim - 1)

    def path(self, index: int) -> Path:
        """File of the run's chunk."""
        return self.folder / self.metadata.encode_chunk_key((index, *self.tail))

    def write(self, index: int, row: Any) -> None:
        """Write the run's whole chunk (removed instead when all fill, as zarr's write_empty_chunks=False)."""
        value = np.asarray(row, dtype=self.native).reshape(self.spec.shape)
        chunk = self.spec.prototype.nd_buffer.from_ndarray_like(value)
        if self.skip_empty and self._empty(value, chunk):
            self.path(index).unlink(missing_ok=True)
            return
        data = chunk
        for codec, spec in self.stages:
            data = codec._encode_sync(data, spec)
        atomic_write(self.path(index), data.as_buffer_like())

    def _empty(self, value: np.ndarray, chunk: Any) -> bool:
        """All fill? (the first element decides most chunks without a full comparison)"""
        first = self.spec.prototype.nd_buffer.from_ndarray_like(value.reshape(-1)[:1])
        return bool(first.all_equal(self.fill)) and bool(chunk.all_equal(self.fill))

    def read(self, index: int) -> np.ndarray:
        """The run's chunk as an array of the chunk shape (all fill if never written)."""
        try:
            raw = self.path(index).read_bytes()
        except FileNotFoundError:
            return np.full(self.spec.shape, self.fill, dtype=self.native)
        data: Any = self.spec.prototype.buffer.from_bytes(raw)
        for codec, spec in reversed(self.stages):
            data = codec._decode_sync(data, spec)
        return data.as_numpy_array().reshape(self.spec.shape)


def atomic_write(path: Path, data: Any) -> None:
    """Write a chunk file as zarr's LocalStore does (temporary sibling, then replace), making its folder
    only when missing (zarr runs mkdir on every write)."""
    tmp = path.with_suffix(f".{uuid.uuid4().hex}.partial")
    try:
        f = open(tmp, "wb")  # noqa: SIM115 - closed below, before the replace
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        f = open(tmp, "wb")  # noqa: SIM115
    try:
        with f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def row_io(arr: zarr.Array) -> RowIO | None:
    """A RowIO for `arr`, or None when the array must go through zarr (remote store, split runs, codecs)."""
    if not FAST_PATH or arr.metadata.zarr_format != 3:
        return None
    a = arr.async_array
    if not isinstance(a.store_path.store, LocalStore) or arr.chunks != (1, *arr.shape[1:]):
        return None
    codecs = a.metadata.codecs
    if not all(hasattr(c, "_encode_sync") and hasattr(c, "_decode_sync") for c in codecs):
        return None
    try:
        return RowIO(arr)
    except (AttributeError, TypeError, AssertionError):
        return None
