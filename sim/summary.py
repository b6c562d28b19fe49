"""Turn the kernel's recordings into a SimResult: arrays in physical units and the flat summary."""

from __future__ import annotations

import functools
import time
from typing import Any

import numpy as np

from sim import recording
from sim.connectivity import Connectivity, block_sums
from sim.kernel import ACC_EVERY, DIVERGED_NONFINITE, DIVERGED_RATE, Rec
from sim.params import BLOCKS, MODEL_VERSION, SimParams
from sim.result import SimResult

REASONS = {
    0: ("done", ""),
    DIVERGED_RATE: ("diverged", "rate"),
    DIVERGED_NONFINITE: ("diverged", "nonfinite"),
}


def _theory(p: SimParams) -> dict[str, float]:
    """sim.theory.predict: the mean-field prediction beside every measured value."""
    from sim.theory import predict

    return {k: float(v) for k, v in predict(p).items()}


def _finite_theory(p: SimParams) -> dict[str, float]:
    """sim.finite_theory.predict_finite: the finite-N prediction (keys in sim.summary_keys, issue 12).
    It depends on the parameters, not the seed or the precision, and costs up to seconds with plastic rules:
    the replicates of one point in a worker process compute it once."""
    same = {"seed": 0, "precision": "float64"}
    return dict(_finite_theory_of(p.model_copy(update=same).model_dump_json()))


@functools.lru_cache(maxsize=256)
def _finite_theory_of(params_json: str) -> tuple[tuple[str, float], ...]:
    from sim.finite_theory import predict_finite

    p = SimParams.model_validate_json(params_json)
    return tuple((k, float(v)) for k, v in predict_finite(p).items())


def _convergence(p: SimParams, time_ms, wmean, rate_t, rate_e, rate_i, tau_w_s) -> dict[str, float]:
    """sim.convergence.verdicts: did the weights settle and are the rates stationary (issue 12)."""
    from sim.convergence import verdicts

    return verdicts(p, time_ms, wmean, rate_t, rate_e, rate_i, tau_w_s=float(tau_w_s))


def _cov(win_counts: np.ndarray, Ne: int) -> dict[str, float]:
    """sim.analysis.mean_spike_count_cov (population-sum identities of MODEL.md §3.3)."""
    from sim.analysis import mean_spike_count_cov

    return {k: float(v) for k, v in mean_spike_count_cov(win_counts, Ne).items()}


def _weights(p, lay, rec: Rec, conn: Connectivity, samp, flags, sizes) -> tuple[np.ndarray, np.ndarray]:
    """Block means [4, time] and sampled trajectories [4, n, time] in scaled units j."""
    sq = p.sqrtN
    wmean = recording.bin_means(rec.wmean, rec.bin_steps) * sq
    traj = recording.bin_means(rec.samp, rec.samp_steps) * sq
    valid = rec.bin_steps > 0
    for b, _blk in enumerate(BLOCKS):
        if not flags[b]:  # static blocks: the initial values (the kernel does not re-read them)
            traj[b][:, valid] = (conn.weight[np.maximum(samp[b], 0)] * sq)[:, None]
        traj[b][samp[b] < 0] = np.nan
        if sizes[b] == 0:
            wmean[b] = np.nan
    return wmean, traj


def _end_weights(conn: Connectivity, sizes: np.ndarray, sq: float) -> dict[str, float]:
    """Exact block-mean j at the end (one O(nnz) pass)."""
    out = {}
    totals = block_sums(conn.out_ptr, conn.out_split, conn.weight, conn.Ne)
    for b, blk in enumerate(BLOCKS):
        out[f"j_{blk}"] = float(totals[b] / sizes[b] * sq) if sizes[b] else float("nan")
    return out


def _currents(p: SimParams, rec: Rec, n_acc: int) -> dict[str, float]:
    """Mean I^e, I^i, I^x (mV/ms) per population over the analysis period (all neurons)."""
    out = {}
    for name, acc in (("e", rec.acc_e), ("i", rec.acc_i), ("x", rec.acc_x)):
        for pop, sl in (("e", slice(0, p.Ne)), ("i", slice(p.Ne, p.N))):
            out[f"current_{name}_in_{pop}"] = float(acc[sl].mean() / n_acc) if n_acc > 0 else float("nan")
    return out


def summarise(p, lay, rec, conn, samp, flags, sizes, n_stop, status, raster, x_source, t_wall) -> SimResult:
    """Assemble the SimResult of a finished (or stopped) run."""
    status_s, reason = REASONS[status]
    n_acc = max(0, n_stop - lay.burn_step + 1)
    dur_ms = n_acc * p.dt
    neuron_rate = rec.counts / dur_ms * 1000 if n_acc else np.full(p.N, np.nan)
    rate_t, rate_e, rate_i = recording.population_rates(p, lay, rec, n_stop)
    wmean, traj = _weights(p, lay, rec, conn, samp, flags, sizes)
    sq = p.sqrtN
    summary: dict[str, Any] = {
        "status": status_s,
        "reason": reason,
        "t_stop_ms": n_stop * p.dt,
        "integrator": p.integrator,
        "rate_e_hz": float(neuron_rate[: p.Ne].mean()),
        "rate_i_hz": float(neuron_rate[p.Ne :].mean()),
        **_theory(p),
        **_finite_theory(p),
        **_end_weights(conn, sizes, sq),
    }
    time_ms = recording.record_times(p, lay)
    summary.update(_convergence(p, time_ms, wmean, rate_t, rate_e, rate_i, summary["theory_tau_w_s"]))
    n_done = (n_stop - lay.burn_step + 1) // lay.win_steps if n_stop >= lay.burn_step else 0
    n_win = min(lay.n_windows, n_done)
    summary.update(_cov(rec.win_counts[:n_win], p.Ne) if n_win >= 2 else _nan_cov())
    n_samples = (n_stop - lay.burn_step) // ACC_EVERY + 1 if n_stop >= lay.burn_step else 0
    summary.update(_currents(p, rec, n_samples))
    # --- issue 9 (cli): what a divergence message needs, so tables can say it in words ---
    summary.update(_stop_rates(p, rate_e, rate_i))
    # --- end issue 9 ---
    summary.update(
        n_windows=n_win,
        n_spikes=int(np.sum(rec.rate_e) + np.sum(rec.rate_i)),
        x_late_spikes=int(x_source.late_spikes),
        raster_dropped=int(raster[2]),
        model_version=MODEL_VERSION,
        seed=p.seed,
        wall_s=time.perf_counter() - t_wall,
    )
    cells = rec.cells
    keep_raster = raster[0].size > 0 or p.record.spikes
    pre = np.where(samp >= 0, np.searchsorted(conn.out_ptr, np.maximum(samp, 0), side="right") - 1, -1)
    post = np.where(samp >= 0, conn.out_post[np.maximum(samp, 0)].astype(np.int64), -1)
    volt = recording.bin_means(rec.volt.T, rec.bin_steps)
    return SimResult(
        params=p,
        summary=summary,
        time_ms=time_ms,
        rate_time_ms=rate_t,
        rate_e_hz=rate_e,
        rate_i_hz=rate_i,
        neuron_rate_hz=neuron_rate,
        weight_mean=wmean,
        weight_samples=traj,
        synapse_post=post,
        synapse_pre=pre,
        recorded_cells=cells,
        current_e=recording.bin_means(rec.cur_e.T, rec.bin_steps),
        current_i=recording.bin_means(rec.cur_i.T, rec.bin_steps),
        current_x=recording.bin_means(rec.cur_x.T, rec.bin_steps),
        voltage=volt,
        spike_times_ms=raster[0] if keep_raster else None,
        spike_neurons=raster[1] if keep_raster else None,
        extra={"win_counts": rec.win_counts[:n_win]},
    )


def _nan_cov() -> dict[str, float]:
    keys = ("cov_ee", "cov_ei", "cov_ii", "corr_ee", "corr_ei", "corr_ii", "var_e", "var_i")
    return dict.fromkeys(keys, float("nan"))


def _stop_rates(p: SimParams, rate_e: np.ndarray, rate_i: np.ndarray) -> dict[str, float]:
    """E and I rates (Hz) of the last rate bin before the stop, and the runaway guard they are held to."""
    filled = np.flatnonzero(np.isfinite(rate_e))
    last = int(filled[-1]) if filled.size else -1
    return {
        "stop_rate_e_hz": float(rate_e[last]) if last >= 0 else float("nan"),
        "stop_rate_i_hz": float(rate_i[last]) if last >= 0 else float("nan"),
        "rate_max_hz": float(p.rate_max_hz),
    }
