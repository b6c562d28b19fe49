"""Calibrate sim.cost on this machine: peak RSS and CPU time of a few runs, each in a fresh process, fitted to
the cost model and stored as `<data>/calibration.json` (keyed by host), so admission estimates what runs here
really cost. `pbn calibrate` runs it; without a calibration, sim.cost.DEFAULT_MODEL is used."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from sim import SimParams
from sim.cost import DEFAULT_MODEL, CostModel, expected_synapses, recorded_values

PROBE = """
import json, resource, sys, time
import sim
sim.warm_up()
from sim.summary import _finite_theory
p = sim.SimParams.model_validate_json(sys.argv[1])
t0 = time.process_time()
_finite_theory(p)  # the finite-N prediction (cached per point): timed apart from the network
theory = time.process_time() - t0
t0 = time.process_time()
sim.simulate(p)
cpu = time.process_time() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"cpu_s": theory + cpu, "theory_cpu_s": theory, "peak_rss_bytes": rss}))
"""
MEMORY_RUNS: tuple[dict[str, Any], ...] = (
    {"N": 400, "T": 500.0},
    {"N": 6000, "T": 500.0},
    {"N": 1000, "T": 40_000.0, "record": {"dt": 1.0, "weights": 200, "cells": 50}},
)
CPU_RUNS: tuple[dict[str, Any], ...] = ({"N": 1000, "T": 3000.0}, {"N": 5000, "T": 3000.0})
PLASTIC = {"eta_ei": 1.5e-5, "eta_ii": 1.5e-5}


def measure(params: SimParams, repeats: int = 1) -> dict[str, float]:
    """CPU seconds (the least of `repeats` fresh processes: other load only adds) and peak RSS of one run,
    each in a fresh Python process with the kernels warmed up first."""
    runs = []
    for _ in range(repeats):
        args = [sys.executable, "-c", PROBE, params.model_dump_json()]
        out = subprocess.run(args, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "cpu_s": min(r["cpu_s"] for r in runs),
        "theory_cpu_s": min(r["theory_cpu_s"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
    }


def calibrate() -> CostModel:
    """Measure the probe runs and fit the model's coefficients (least squares; base >= 0)."""
    mem_params = [SimParams(**kw) for kw in MEMORY_RUNS]
    rss = [measure(p)["peak_rss_bytes"] for p in mem_params]
    design = np.array([[1.0, expected_synapses(p), recorded_values(p)] for p in mem_params])
    base, per_syn, per_value = np.linalg.lstsq(design, np.array(rss), rcond=None)[0]
    cpu: dict[str, tuple[float, float, float]] = {}
    for kind, extra in (("static", {}), ("plastic", PLASTIC)):
        runs = [SimParams(**{**kw, **extra}) for kw in CPU_RUNS]
        measured = [measure(p, repeats=2) for p in runs]
        per_s = [
            (m["cpu_s"] - m["theory_cpu_s"]) / (p.T / 1000.0) for m, p in zip(measured, runs, strict=True)
        ]
        a_b = np.linalg.solve(np.array([[p.N, p.N**2] for p in runs], dtype=float), np.array(per_s))
        theory_s = float(np.mean([m["theory_cpu_s"] for m in measured]))
        cpu[kind] = (max(float(a_b[0]), 1e-7), max(float(a_b[1]), 0.0), theory_s)
    return CostModel(
        base_bytes=max(float(base), 0.0),
        bytes_per_synapse=max(float(per_syn), 1.0),
        bytes_per_value=max(float(per_value), 1.0),
        cpu_a_static=cpu["static"][0],
        cpu_b_static=cpu["static"][1],
        cpu_a_plastic=cpu["plastic"][0],
        cpu_b_plastic=cpu["plastic"][1],
        cpu_theory_static_s=cpu["static"][2],
        cpu_theory_plastic_s=cpu["plastic"][2],
        cpu_per_run_s=DEFAULT_MODEL.cpu_per_run_s,
        measured_on=f"{socket.gethostname()} {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    )


def path(data: str | os.PathLike[str]) -> Path:
    return Path(data) / "calibration.json"


def save(data: str | os.PathLike[str], model: CostModel) -> Path:
    """Store the machine's model beside the others in `<data>/calibration.json`."""
    target = path(data)
    stored = _read(target)
    stored[socket.gethostname()] = model.to_dict()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(stored, indent=1))
    os.replace(tmp, target)
    return target


def load(data: str | os.PathLike[str]) -> CostModel:
    """This host's calibration from `<data>/calibration.json`, else the default model."""
    entry = _read(path(data)).get(socket.gethostname())
    if not isinstance(entry, dict):
        return DEFAULT_MODEL
    try:
        return CostModel(**entry)
    except TypeError:  # written by a version with other fields
        return DEFAULT_MODEL


def _read(target: Path) -> dict[str, Any]:
    try:
        data = json.loads(target.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
