"""Recording layout: step counts of the bins, allocation of the kernel's `Rec`, and its conversion to arrays.

Step n (1-based, t_n = n dt) belongs to recording bin (n-1)//rec_steps and rate bin
(n-1)//rate_steps; statistics use steps with t_n >= burn-in; covariance window k holds the
steps with t_n in [start + k w, start + (k+1) w), k < floor((T - start)/w).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from sim.kernel import Rec
from sim.params import SimParams


class Layout(NamedTuple):
    """Integer step geometry of the recordings."""

    rec_steps: int
    n_rec: int
    rate_steps: int
    n_rate: int
    burn_step: int
    win_steps: int
    n_windows: int


def steps_of(ms: float, dt: float) -> int:
    """Whole number of steps in a duration (at least one)."""
    return max(1, round(ms / dt))


def make_layout(p: SimParams) -> Layout:
    """Bins, burn-in step and covariance windows of a run."""
    rec_steps = steps_of(p.record.dt, p.dt)
    rate_steps = steps_of(p.analysis.rate_bin, p.dt)
    burn_step = max(1, math.ceil(p.burn_in / p.dt - 1e-9))
    win_steps = steps_of(p.analysis.window, p.dt)
    n_windows = max(0, (p.Nt - burn_step + 1) // win_steps)
    n_windows = min(n_windows, math.floor((p.T - p.burn_in) / p.analysis.window + 1e-9))
    return Layout(
        rec_steps, -(-p.Nt // rec_steps), rate_steps, -(-p.Nt // rate_steps), burn_step, win_steps, n_windows
    )


def allocate(
    p: SimParams,
    lay: Layout,
    cells: np.ndarray,
    samp_syn: np.ndarray,
    inv_count: np.ndarray,
    raster_cap: int,
    samp_pre: np.ndarray | None = None,
) -> Rec:
    """Zeroed recording buffers (samp_syn: int64[4, n], -1 where a block is not recorded per step;
    samp_pre: their pre cells, needed where post events are deferred)."""
    nc, ns = cells.size, samp_syn.shape[1]
    z = lambda *shape: np.zeros(shape, np.float64)  # noqa: E731
    return Rec(
        rate_e=np.zeros(lay.n_rate, np.int64),
        rate_i=np.zeros(lay.n_rate, np.int64),
        counts=np.zeros(p.N, np.int64),
        win_counts=np.zeros((lay.n_windows, p.N), np.uint16),
        cells=cells.astype(np.int64),
        cur_e=z(lay.n_rec, nc),
        cur_i=z(lay.n_rec, nc),
        cur_x=z(lay.n_rec, nc),
        volt=z(lay.n_rec, nc),
        samp_syn=samp_syn.astype(np.int64),
        samp=z(4, ns, lay.n_rec),
        wmean=z(4, lay.n_rec),
        bin_steps=np.zeros(lay.n_rec, np.int64),
        samp_steps=np.zeros(lay.n_rec, np.int64),
        samp_pre=np.full(samp_syn.shape, -1, np.int64) if samp_pre is None else samp_pre.astype(np.int64),
        samp_w=z(*samp_syn.shape),
        acc_e=z(p.N),
        acc_i=z(p.N),
        acc_x=z(p.N),
        raster_step=np.zeros(raster_cap, np.int64),
        raster_id=np.zeros(raster_cap, np.int32),
        raster_n=np.zeros(2, np.int64),
        inv_count=inv_count.astype(np.float64),
    )


def bin_means(sums: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """Divide bin sums (last axis) by their step counts; bins without steps become NaN."""
    with np.errstate(invalid="ignore", divide="ignore"):
        out = sums / steps
    out[..., steps == 0] = np.nan
    return out


def population_rates(p: SimParams, lay: Layout, rec: Rec, n_stop: int) -> tuple[np.ndarray, ...]:
    """(bin starts ms, E rate Hz, I rate Hz); bins after the stop are NaN, a partial last bin is exact."""
    starts = np.arange(lay.n_rate) * lay.rate_steps
    steps = np.clip(n_stop - starts, 0, lay.rate_steps).astype(np.float64)
    dur_s = steps * p.dt / 1000.0
    rate_e = bin_means(rec.rate_e / p.Ne, dur_s)
    rate_i = bin_means(rec.rate_i / p.Ni, dur_s)
    return starts * p.dt, rate_e, rate_i


def record_times(p: SimParams, lay: Layout) -> np.ndarray:
    """Ends of the recording bins (ms)."""
    return np.minimum(np.arange(1, lay.n_rec + 1) * lay.rec_steps, p.Nt) * p.dt
