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
    """Read/write row `index` of an array whose chunks hold one run each, whole or split along the last axis
    only (time axes of sweeps whose runs differ in length), on a local store."""

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
        self.row_shape = tuple(arr.shape[1:])

    def path(self, index: int, part: int = 0) -> Path:
        """File of the run's chunk (`part` along the last axis)."""
        key = (index, *self.tail[:-1], part) if self.tail else (index,)
        return self.folder / self.metadata.encode_chunk_key(key)

    def write(self, index: int, row: Any) -> None:
        """Write the run's row: any value up to the row's shape (its own length, unpadded), as the chunks it
        covers; the rest stays unwritten and reads as fill. All-fill chunks are removed instead, as zarr's
        write_empty_chunks=False does."""
        value = np.asarray(row, dtype=self.native)
        if not self.tail:  # one value per run
            self._write_chunk(self.path(index), value.reshape(self.spec.shape))
            return
        if value.ndim != len(self.row_shape) or value.shape[-1] > self.row_shape[-1]:
            raise ValueError(f"{self.folder.name}: row shape {value.shape} does not fit {self.row_shape}")
        width = self.spec.shape[-1]
        for part in range(max(1, -(-value.shape[-1] // width))):
            piece = value[None, ..., part * width : (part + 1) * width]
            if piece.shape != self.spec.shape:
                piece = pad_to(piece, self.spec.shape, self.fill, self.native, self.folder.name)
            self._write_chunk(self.path(index, part), piece)

    def _write_chunk(self, path: Path, value: np.ndarray) -> None:
        chunk = self.spec.prototype.nd_buffer.from_ndarray_like(value)
        if self.skip_empty and self._empty(value, chunk):
            path.unlink(missing_ok=True)
            return
        data = chunk
        for codec, spec in self.stages:
            data = codec._encode_sync(data, spec)
        atomic_write(path, data.as_buffer_like())

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
    whole_but_last = arr.ndim == 1 or arr.chunks[:-1] == (1, *arr.shape[1:-1])
    if not isinstance(a.store_path.store, LocalStore) or arr.chunks[0] != 1 or not whole_but_last:
        return None
    codecs = a.metadata.codecs
    if not all(hasattr(c, "_encode_sync") and hasattr(c, "_decode_sync") for c in codecs):
        return None
    try:
        return RowIO(arr)
    except (AttributeError, TypeError, AssertionError):
        return None


def pad_to(
    value: np.ndarray,
    shape: tuple[int, ...],
    fill: Any,
    dtype: str,
    name: str,
) -> np.ndarray:
    """Place `value` in the corner of a `shape` array of `fill` (a chunk); refuse data larger than it."""
    value = np.asarray(value)
    if value.ndim != len(shape) or any(v > s for v, s in zip(value.shape, shape, strict=True)):
        raise ValueError(f"{name}: result shape {value.shape} does not fit the sweep layout {shape}")
    if value.shape == tuple(shape):
        return np.asarray(value, dtype=dtype)
    out = np.empty(shape, dtype=dtype)  # the value once, the fill only where the value is not
    out[tuple(slice(0, n) for n in value.shape)] = value
    for axis, n in enumerate(value.shape):
        out[(*(slice(0, m) for m in value.shape[:axis]), slice(n, None))] = fill
    return out
