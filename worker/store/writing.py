"""A finished run as rows of the store's arrays: padded result arrays, the summary row, info and status."""

from __future__ import annotations

import json
import threading
from typing import Any

import numpy as np

from sim import SimResult
from worker.status import RunStatus
from worker.store.handles import Handles
from worker.store.schema import array_specs, pad_to


def result_rows(h: Handles, result: SimResult, info: dict[str, Any]) -> tuple[dict[str, Any], RunStatus]:
    """Every row a run writes (its status excluded: that one is written last) and that status."""
    rows: dict[str, Any] = {}
    shapes: dict[str, list[int]] = {}
    for spec in array_specs(h.attrs["sizes"]):
        value = getattr(result, spec.source)
        target = h.arrays[spec.name].shape[1:]
        if value is None:
            rows[spec.name] = np.full(target, spec.fill, dtype=spec.dtype)
        else:
            buffer = _scratch(spec.name, target, spec.dtype)
            rows[spec.name] = pad_to(value, target, spec.fill, spec.dtype, spec.name, out=buffer)
            shapes[spec.name] = list(np.shape(value))
    rows["summary"] = np.array([as_float(result.summary.get(k)) for k in h.attrs["summary_keys"]])
    status: RunStatus = "diverged" if result.status == "diverged" else "done"
    info = {**info, "summary": jsonable_summary(result.summary), "shapes": shapes}
    rows["run_info"] = np.array(json.dumps(info), dtype=object)
    rows["error"] = np.array(
        str(result.summary.get("reason") or "") if status == "diverged" else "", dtype=object
    )
    return rows, status


_SCRATCH: dict[tuple[str, int, tuple[int, ...], str], np.ndarray] = {}
_SCRATCH_MAX = 64
_SCRATCH_LOCK = threading.Lock()


def _scratch(name: str, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """A buffer per thread and array for padding a run's row, reused across runs: a fresh multi-MB array per
    run costs its page faults again. Safe because write_result writes its rows before returning."""
    key = (name, threading.get_ident(), tuple(shape), dtype)
    with _SCRATCH_LOCK:
        if key not in _SCRATCH:
            if len(_SCRATCH) >= _SCRATCH_MAX:
                _SCRATCH.pop(next(iter(_SCRATCH)))
            _SCRATCH[key] = np.empty(shape, dtype=dtype)
        return _SCRATCH[key]


def as_float(value: Any) -> float:
    """Summary values as float64 (bool -> 0/1; text and missing -> NaN)."""
    if isinstance(value, bool | int | float | np.integer | np.floating):
        return float(value)
    return float("nan")


def jsonable_summary(summary: dict[str, Any]) -> dict[str, Any]:
    """Summary with numpy scalars made plain and non-finite floats kept as None."""
    out: dict[str, Any] = {}
    for key, value in summary.items():
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, float) and not np.isfinite(value):
            value = None
        out[key] = value if isinstance(value, bool | int | float | str | type(None)) else str(value)
    return out
