"""What one run will cost before it runs: peak memory and CPU time, from its parameters alone.

Memory is base + bytes per synapse x expected synapses + bytes per recorded value x recorded values + the
spike buffer; CPU time is a set-up per synapse (connectivity, incoming index, compiling and warming the
caches in the kernel's first call) plus, per simulated second, a·N + b·N² (per-neuron work, plus synaptic
events ∝ N·r·p·N), with one (a, b) for static runs and one for plastic runs, plus the finite-N prediction
computed for each point (sim.finite_theory: a fraction of a second static, seconds with plastic rules). The
coefficients come from a calibration measured on the machine (worker.calibration); `DEFAULT_MODEL` is one such
calibration.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from sim.params import SimParams

RASTER_BYTES_PER_SPIKE = 2 * (8 + 4)
"""The raster buffer (int64 step + int32 id) and its concatenated copy in the result."""


@dataclass(frozen=True)
class CostModel:
    """Coefficients of the cost model (bytes, and seconds per simulated second)."""

    base_bytes: float = 2.07e8
    bytes_per_synapse: float = 14.3
    bytes_per_value: float = 10.7
    cpu_a_static: float = 3.4e-5
    cpu_b_static: float = 8.3e-10
    cpu_a_plastic: float = 4.5e-5
    cpu_b_plastic: float = 3.0e-9
    cpu_per_run_s: float = 0.05
    cpu_setup_per_synapse_s: float = 1.0e-7
    cpu_theory_static_s: float = 0.25
    cpu_theory_plastic_s: float = 1.5
    measured_on: str = (
        "default: worker.calibration on a 2-core x86_64, 2026-12-01 (shared, loaded); "
        "set-up per synapse 2026-12-02"
    )

    def to_dict(self) -> dict[str, float | str]:
        return asdict(self)


DEFAULT_MODEL = CostModel()


@dataclass(frozen=True)
class RunCost:
    """The estimate of one run."""

    memory_bytes: float
    cpu_s: float
    synapses: float
    recorded_values: float


def expected_synapses(p: SimParams) -> float:
    """Mean number of recurrent and feed-forward synapses of the network."""
    Ne, Ni, Nx = p.Ne, p.Ni, p.Nx
    return (
        Ne * Ne * p.p_ee
        + Ne * Ni * p.p_ei
        + Ni * Ne * p.p_ie
        + Ni * Ni * p.p_ii
        + Ne * Nx * p.p_ex
        + Ni * Nx * p.p_ix
    )


def recorded_values(p: SimParams) -> float:
    """Numbers the run keeps over time: block means and sampled weights, currents and V of the recorded cells,
    population rates, per-neuron counts and window counts (each a float64 or smaller)."""
    n_rec = math.ceil(p.T / p.record.dt) + 1
    n_rate = math.ceil(p.T / p.analysis.rate_bin) + 1
    cells = min(p.record.cells, p.Ne) + min(p.record.cells, p.Ni)
    n_windows = max(0.0, (p.T - p.burn_in) / p.analysis.window)
    over_time = n_rec * (4 * (1 + p.record.weights) + 4 * cells)
    return over_time + 4 * n_rate + p.N * (4 + n_windows / 4)


def cpu_seconds(p: SimParams, model: CostModel = DEFAULT_MODEL) -> float:
    """CPU seconds of one run (single thread)."""
    a, b = (
        (model.cpu_a_plastic, model.cpu_b_plastic)
        if p.plastic_blocks
        else (model.cpu_a_static, model.cpu_b_static)
    )
    theory = model.cpu_theory_plastic_s if p.plastic_blocks else model.cpu_theory_static_s
    setup = model.cpu_setup_per_synapse_s * expected_synapses(p)
    return model.cpu_per_run_s + theory + setup + p.T / 1000.0 * (a * p.N + b * p.N * p.N)


def estimate(p: SimParams, model: CostModel = DEFAULT_MODEL) -> RunCost:
    """Peak memory (bytes) and CPU time (s) of one run."""
    syn, values = expected_synapses(p), recorded_values(p)
    raster = p.record.max_spikes * RASTER_BYTES_PER_SPIKE if p.record.spikes else 0.0
    memory = model.base_bytes + model.bytes_per_synapse * syn + model.bytes_per_value * values + raster
    return RunCost(memory_bytes=memory, cpu_s=cpu_seconds(p, model), synapses=syn, recorded_values=values)
