"""Reuse of a finished run: copy its stored data into another sweep's run (coordinator only)."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

import numpy as np

from worker.layout import array_specs, pad_to
from worker.zarr_typed import array, attr, cell, read

if TYPE_CHECKING:
    from worker.store import SweepStore


def copy_run(store: SweepStore, sweep_id: str, index: int, source: tuple[str, int]) -> bool:
    """Copy arrays, summary and info of `source` into (sweep_id, index), then mark it `reused` last.

    Returns False (and writes nothing) if the source's data does not fit this sweep's padded layout.
    """
    from worker.store import CODES

    src_id, src_index = source
    src, dst = store.group(src_id, mode="r"), store.group(sweep_id)
    info = json.loads(str(cell(array(src, "run_info"), src_index)) or "{}")
    shapes = info.get("shapes", {})
    rows: dict[str, np.ndarray] = {}
    for spec in array_specs(dict(attr(dst, "sizes"))):
        target = array(dst, spec.name).shape[1:]
        row = np.full(target, spec.fill, dtype=spec.dtype)
        if spec.name in shapes:
            shape = shapes[spec.name]
            if spec.name not in src or any(n > t for n, t in zip(shape, target, strict=True)):
                return False
            value = np.asarray(read(array(src, spec.name), (src_index, *(slice(0, n) for n in shape))))
            row = pad_to(value, target, spec.fill, spec.dtype, spec.name)
        rows[spec.name] = row
    for name, row in rows.items():
        array(dst, name)[index] = row
    summary = info.get("summary", {})
    keys = attr(dst, "summary_keys")
    array(dst, "summary")[index] = np.array([_num(summary.get(k)) for k in keys], dtype="f8")
    info.update(reused_from={"sweep_id": src_id, "index": src_index}, reused_at=time.time())
    array(dst, "run_info")[index] = json.dumps(info)
    array(dst, "error")[index] = ""
    array(dst, "status")[index] = CODES["reused"]
    return True


def _num(value: object) -> float:
    return float(value) if isinstance(value, bool | int | float) else float("nan")
