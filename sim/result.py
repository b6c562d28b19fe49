"""The result of one simulation: arrays over time plus a flat summary of scalars."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sim.params import SimParams

STATUSES = ("done", "diverged")
"""Run outcomes of the simulator itself ('diverged' keeps what it recorded, MODEL.md decision 7)."""


@dataclass
class SimResult:
    """Everything one run produced; `summary` is flat (str -> float | int | str) for tables.

    Time axes: `time_ms` are the ends of the recording bins (record.dt) used by weights, currents
    and V; `rate_time_ms` are the starts of the population-rate bins (analysis.rate_bin). Blocks
    are ordered as `sim.params.BLOCKS` ("ee", "ei", "ie", "ii"); weights are in scaled units j.
    """

    params: SimParams
    summary: dict[str, Any]
    time_ms: np.ndarray  # [time]
    rate_time_ms: np.ndarray  # [rate_time]
    rate_e_hz: np.ndarray  # [rate_time]
    rate_i_hz: np.ndarray  # [rate_time]
    neuron_rate_hz: np.ndarray  # [neuron] mean rate over [burn_in, t_stop)
    weight_mean: np.ndarray  # [block, time] block-mean j over all synapses of the block
    weight_samples: np.ndarray  # [block, synapse, time] bin-mean j of sampled synapses (NaN padded)
    synapse_post: np.ndarray  # [block, synapse] post index of each sample (-1 padded)
    synapse_pre: np.ndarray  # [block, synapse] pre index of each sample (-1 padded)
    recorded_cells: np.ndarray  # [cell] neuron indices, E cells first then I cells
    current_e: np.ndarray  # [cell, time] bin-mean I^e (mV/ms)
    current_i: np.ndarray  # [cell, time] bin-mean I^i
    current_x: np.ndarray  # [cell, time] bin-mean I^x
    voltage: np.ndarray  # [cell, time] bin-mean V (mV), spikes shown as Vth
    spike_times_ms: np.ndarray | None = None  # optional bounded raster
    spike_neurons: np.ndarray | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def status(self) -> str:
        return str(self.summary["status"])
