"""A finished run as rows of the store's arrays: padded result arrays, the summary row, info and status."""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from sim import SimResult
from worker.status import RunStatus
from worker.store.handles import Handles
from worker.store.schema import array_specs


def result_rows(h: Handles, result: SimResult, info: dict[str, Any]) -> tuple[dict[str, Any], RunStatus]:
    """Every row a run writes, each at its own length (never padded to the sweep's longest run), and its
    status (not among the rows: it is written last)."""
    rows: dict[str, Any] = {}
    shapes: dict[str, list[int]] = {}
    for spec in array_specs(h.attrs["sizes"]):
        value = getattr(result, spec.source)
        if value is None:
            continue  # unwritten chunks read as the fill value
        value = np.asarray(value, dtype=spec.dtype)
        target = h.arrays[spec.name].shape[1:]
        if value.ndim != len(target) or any(v > t for v, t in zip(value.shape, target, strict=True)):
            raise ValueError(
                f"{spec.name}: result shape {value.shape} does not fit the sweep layout {target}"
            )
        rows[spec.name] = value
        shapes[spec.name] = list(value.shape)
    rows["summary"] = np.array([as_float(result.summary.get(k)) for k in h.attrs["summary_keys"]])
    status: RunStatus = "diverged" if result.status == "diverged" else "done"
    info = {**info, "summary": jsonable_summary(result.summary), "shapes": shapes}
    rows["run_info"] = np.array(json.dumps(info), dtype=object)
    error = str(result.summary.get("reason") or "") if status == "diverged" else ""
    rows["error"] = np.array(error, dtype=object)
    return rows, status


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
