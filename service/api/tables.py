"""Result tables as the routes serve them: JSON-safe values and row filters by parameter value."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from service.errors import ServiceError
from sim import BLOCKS


def clean(value: Any) -> Any:
    """JSON-safe copy: NaN/inf -> None, numpy scalars/arrays -> Python."""
    if isinstance(value, dict):
        return {str(k): clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [clean(v) for v in value]
    if isinstance(value, np.ndarray):
        return clean(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def filter_table(table: pd.DataFrame, filters: Mapping[str, str | list[str]]) -> pd.DataFrame:
    """Keep rows whose column equals a filter value (numbers as numbers); several values of one name mean
    "any of" (`?cx=0.1&cx=0.2`); an unknown column -> 4xx."""
    for name, given in filters.items():
        values = [given] if isinstance(given, str) else list(given)
        raw = values[0] if len(values) == 1 else values
        if name not in table.columns:
            raise ServiceError(
                f"filter {name}={raw!r}: no such column; expected one of {list(table.columns)}", name
            )
        column = table[name]
        keep = np.zeros(len(table), dtype=bool)
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            for text in values:
                try:
                    value = float(text)
                except ValueError:
                    raise ServiceError(f"filter {name}={text!r}: expected a number", name) from None
                keep |= np.isclose(column.astype(float), value, rtol=1e-9, atol=0.0)
        else:
            keep = column.astype(str).isin(values).to_numpy()
        table = table[keep]
    return table


def run_series(arrays: dict[str, np.ndarray]) -> dict[str, list[float | None]]:
    """The run's time series as flat lists: rates, block-mean weights, cell-mean currents."""
    series: dict[str, list[float | None]] = {}
    for name in ("time_ms", "rate_time_ms", "rate_e_hz_t", "rate_i_hz_t"):
        if name in arrays:
            series[name] = clean(arrays[name])
    weight = arrays.get("weight_mean")
    if weight is not None and weight.ndim == 2:
        for block, row in zip(BLOCKS, weight, strict=False):
            series[f"weight_mean_{block}"] = clean(row)
    for name in ("current_e", "current_i", "current_x", "voltage"):
        value = arrays.get(name)
        if value is not None and value.ndim == 2 and value.shape[0] > 0:
            with np.errstate(all="ignore"):
                series[f"{name}_mean"] = clean(np.nanmean(value, axis=0))
    return series
