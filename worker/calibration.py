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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import nnls

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
marks = []  # (CPU s, fraction done) after each 1 s kernel call
t0 = time.process_time()
sim.simulate(p, progress=lambda f: marks.append((time.process_time() - t0, f)))
cpu = time.process_time() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
try:  # ru_maxrss keeps the parent's RSS at fork (Linux carries it across exec); VmHWM is this process's own
    with open("/proc/self/status") as status:
        rss = next(int(ln.split()[1]) * 1024 for ln in status if ln.startswith("VmHWM:"))
except (OSError, StopIteration):
    pass
(c0, f0), (c1, f1) = marks[0], marks[-1]
kernel = (c1 - c0) / ((f1 - f0) * p.T / 1000.0) if f1 > f0 else cpu / (p.T / 1000.0)
print(json.dumps({"cpu_s": theory + cpu, "theory_cpu_s": theory, "kernel_cpu_per_s": kernel,
                  "peak_rss_bytes": rss}))
"""
MEMORY_RUNS: tuple[dict[str, Any], ...] = (
    {"N": 400, "T": 500.0},
    {"N": 6000, "T": 500.0},
    {"N": 1000, "T": 40_000.0, "record": {"dt": 1.0, "weights": 200, "cells": 50}},
)
CPU_RUNS: tuple[dict[str, Any], ...] = (
    {"N": 1000, "T": 3000.0},
    {"N": 5000, "T": 3000.0},
    {"N": 20_000, "T": 1500.0},
)
"""Up to N = 10,000 the cost grows almost linearly; only a probe at N = 20,000 fixes b (the N² term of
synaptic events whose weights miss the caches): with N = 1000 and 5000 alone the fit gave b = 0 and
predicted a third of the measured time at N = 50,000. The kernel's cost per simulated second is timed
after its first 1 s call (set-up, compilation and cold caches are the set-up term)."""
PLASTIC = {"eta_ei": 1.5e-5, "eta_ii": 1.5e-5}


PROBES = len(MEMORY_RUNS) + 2 * 2 * len(CPU_RUNS)
"""Fresh processes one calibration starts (the CPU probes twice each, static and plastic)."""


def measure(
    params: SimParams, repeats: int = 1, progress: Callable[[str], None] | None = None
) -> dict[str, float]:
    """CPU seconds (the least of `repeats` fresh processes: other load only adds), the kernel's CPU seconds
    per simulated second after its first call, and peak RSS of one run, each in a fresh Python process with
    the kernels warmed up first."""
    runs = []
    for _ in range(repeats):
        if progress is not None:
            progress(f"N = {params.N}, T = {params.T:g} ms" + (", plastic" if params.plastic_blocks else ""))
        args = [sys.executable, "-c", PROBE, params.model_dump_json()]
        out = subprocess.run(args, capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {
        "cpu_s": min(r["cpu_s"] for r in runs),
        "theory_cpu_s": min(r["theory_cpu_s"] for r in runs),
        "kernel_cpu_per_s": min(r["kernel_cpu_per_s"] for r in runs),
        "peak_rss_bytes": max(r["peak_rss_bytes"] for r in runs),
    }


def calibrate(progress: Callable[[str], None] | None = None) -> CostModel:
    """Measure the probe runs and fit the model's coefficients (least squares; base >= 0); `progress` is
    called with a description as each of the PROBES processes starts."""
    mem_params = [SimParams(**kw) for kw in MEMORY_RUNS]
    rss = [measure(p, progress=progress)["peak_rss_bytes"] for p in mem_params]
    design = np.array([[1.0, expected_synapses(p), recorded_values(p)] for p in mem_params])
    base, per_syn, per_value = np.linalg.lstsq(design, np.array(rss), rcond=None)[0]
    cpu: dict[str, tuple[float, float, float]] = {}
    setup: list[float] = []
    for kind, extra in (("static", {}), ("plastic", PLASTIC)):
        runs = [SimParams(**{**kw, **extra}) for kw in CPU_RUNS]
        measured = [measure(p, repeats=2, progress=progress) for p in runs]
        a_b = _fit_a_b([p.N for p in runs], [m["kernel_cpu_per_s"] for m in measured])
        theory_s = float(np.mean([m["theory_cpu_s"] for m in measured]))
        cpu[kind] = (max(a_b[0], 1e-7), a_b[1], theory_s)
        for m, p in zip(measured, runs, strict=True):  # what the kernel's seconds do not explain
            rest = m["cpu_s"] - m["theory_cpu_s"] - p.T / 1000.0 * m["kernel_cpu_per_s"]
            setup.append(max(rest, 0.0) / expected_synapses(p))
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
        cpu_setup_per_synapse_s=float(np.median(setup)),
        measured_on=f"{socket.gethostname()} {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}",
    )


def _fit_a_b(sizes: list[int], per_s: list[float]) -> tuple[float, float]:
    """a, b >= 0 of CPU s per simulated s = a·N + b·N², least squares in relative error (each probe counts
    alike: the N = 20,000 probe's seconds would otherwise outweigh the small ones)."""
    n, y = np.asarray(sizes, float), np.asarray(per_s, float)
    design = np.stack([n, n * n], axis=1) / y[:, None]
    a_b, _ = nnls(design, np.ones_like(y))
    return float(a_b[0]), float(a_b[1])


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
