"""Names of the summary scalars a sweep will produce, known before any run (array metadata is fixed once)."""

from __future__ import annotations

import importlib
from typing import Any

from pydantic import ValidationError

from sim import SimParams

PROBE_N = 200
PROBE_T_MS = 50.0


def probe_summary_keys(params: list[SimParams]) -> list[str]:
    """Union of numeric summary keys over the structural variants of a sweep, from tiny probe runs.

    Keys a run reports beyond these still reach the store, in that run's `run_info` summary.
    """
    simulate_module = importlib.import_module("sim.driver")
    declared = getattr(simulate_module, "summary_keys", None)
    keys: dict[str, None] = {}
    for variant in _variants(params):
        if callable(declared):
            names = list(declared(variant))
        else:
            summary = simulate_module.simulate(_probe_params(variant)).summary
            names = [k for k, v in summary.items() if _is_number(v)]
        keys.update(dict.fromkeys(names))
    return list(keys)


def _variants(params: list[SimParams]) -> list[SimParams]:
    """One representative per combination of plasticity rules and raster option."""
    seen: dict[tuple[Any, ...], SimParams] = {}
    for p in params:
        key = (
            tuple(getattr(p, f"rule_{b}") for b in ("ee", "ei", "ie", "ii")),
            p.plastic_blocks,
            p.record.spikes,
        )
        seen.setdefault(key, p)
    return list(seen.values())


def _probe_params(p: SimParams) -> SimParams:
    """The same structure shrunk to a run of a few milliseconds (the full N if a small one is invalid)."""
    data = p.model_dump()
    T = min(p.T, max(PROBE_T_MS, 2 * p.analysis.window, 2 * p.analysis.rate_bin, 2 * p.record.dt))
    data.update(T=T, stim_on=min(p.stim_on, T), stim_off=None if p.stim_off is None else min(p.stim_off, T))
    data["analysis"] = {**data["analysis"], "start": None}
    data["record"] = {**data["record"], "weights": min(p.record.weights, 5), "cells": min(p.record.cells, 5)}
    data["record"]["max_spikes"] = min(p.record.max_spikes, 10_000)
    for n in (min(p.N, PROBE_N), p.N):
        try:
            return SimParams(**{**data, "N": n})
        except ValidationError:
            continue
    return p


def _is_number(value: Any) -> bool:
    return isinstance(value, bool | int | float) or hasattr(value, "dtype")
