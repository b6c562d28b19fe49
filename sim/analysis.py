"""Spike statistics without an N x N matrix: binned rates, window counts, mean covariances (MODEL.md §3.3).

Time intervals are half-open, [a, b), on fixed edges that never depend on the data (B21, B22); the
last edge of a series is closed, as in `numpy.histogram`, so a spike stamped exactly at the end of
the run (spikes carry the end of their time step) is counted.
"""

from __future__ import annotations

import math

import numpy as np

COV_KEYS: tuple[str, ...] = ("cov_ee", "cov_ei", "cov_ii", "corr_ee", "corr_ei", "corr_ii", "var_e", "var_i")
"""Keys returned by `mean_spike_count_cov`."""


def _n_bins(span: float, width: float) -> int:
    """Number of whole bins of `width` in `span` (tolerant to float rounding of the quotient)."""
    if width <= 0:
        raise ValueError(f"bin width: expected > 0, got {width!r}")
    return max(math.floor(span / width + 1e-9), 0)


def window_counts(
    times: np.ndarray, neurons: np.ndarray, N: int, start: float, stop: float, window: float
) -> np.ndarray:
    """Spike counts [window, neuron] in windows [start + k w, start + (k+1) w), k < floor((stop-start)/w).

    Every whole window is kept (the original drops the last one, B21); a partial window at the end is
    not counted.
    """
    n_win = _n_bins(stop - start, window)
    times = np.asarray(times, dtype=float)
    neurons = np.asarray(neurons).astype(np.int64, copy=False)
    if n_win == 0:
        return np.zeros((0, N), dtype=np.int64)
    end = start + n_win * window
    keep = (times >= start) & (times <= end) & (neurons >= 0) & (neurons < N)
    k = np.floor((times[keep] - start) / window).astype(np.int64)
    k = np.minimum(k, n_win - 1)  # a spike exactly at the closed last edge
    flat = np.bincount(k * N + neurons[keep], minlength=n_win * N)
    return flat.reshape(n_win, N)


def population_rates(
    spike_times_ms: np.ndarray,
    spike_neurons: np.ndarray,
    T: float,
    Ne: int,
    N: int,
    bin_ms: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """E and I population rates (Hz) in bins [k Δ, (k+1) Δ) over [0, T); returns (bin starts ms, e, i).

    E cells are 0..Ne-1 and I cells Ne..N-1 (B2); the last bin is closed at its right edge.
    """
    n_bins = _n_bins(T, bin_ms)
    times = np.asarray(spike_times_ms, dtype=float)
    neurons = np.asarray(spike_neurons)
    rng = (0.0, n_bins * bin_ms)
    is_e = (neurons >= 0) & (neurons < Ne)
    is_i = (neurons >= Ne) & (neurons < N)
    count_e = np.histogram(times[is_e], bins=n_bins, range=rng)[0]
    count_i = np.histogram(times[is_i], bins=n_bins, range=rng)[0]
    scale = 1000.0 / bin_ms
    with np.errstate(invalid="ignore", divide="ignore"):
        rate_e = count_e * scale / Ne if Ne > 0 else np.full(n_bins, np.nan)
        rate_i = count_i * scale / (N - Ne) if Ne < N else np.full(n_bins, np.nan)
    return np.arange(n_bins) * bin_ms, rate_e, rate_i


def neuron_rates(
    spike_times_ms: np.ndarray, spike_neurons: np.ndarray, N: int, start: float, stop: float
) -> np.ndarray:
    """Mean rate (Hz) of each neuron over [start, stop] (spikes at exactly `stop` counted)."""
    if not stop > start:
        raise ValueError(f"stop={stop!r} must exceed start={start!r}")
    times = np.asarray(spike_times_ms, dtype=float)
    neurons = np.asarray(spike_neurons).astype(np.int64, copy=False)
    keep = (times >= start) & (times <= stop) & (neurons >= 0) & (neurons < N)
    return np.bincount(neurons[keep], minlength=N) * (1000.0 / (stop - start))


def smooth_rates(rates: np.ndarray, window_bins: int) -> np.ndarray:
    """Centred boxcar average over `window_bins` bins, normalised by the bins present at the edges.

    Unlike the original's zero-padded `mode='same'` convolution (B22), the first and last bins are
    not biased low.
    """
    rates = np.asarray(rates, dtype=float)
    if window_bins < 1:
        raise ValueError(f"window_bins: expected >= 1, got {window_bins!r}")
    if window_bins == 1 or rates.size == 0:
        return rates.copy()
    kernel = np.ones(window_bins)
    total = np.convolve(rates, kernel, mode="same")
    present = np.convolve(np.ones_like(rates), kernel, mode="same")
    return total / present


def _mean_offdiag(pop_sum: np.ndarray, var_sum: float, n: int, dof: int) -> float:
    """Mean off-diagonal covariance of a population from Var(sum) - sum Var (population-sum identity)."""
    if n < 2:
        return math.nan
    return float((pop_sum @ pop_sum / dof - var_sum) / (n * (n - 1)))


def _pop_stats(centred: np.ndarray, var: np.ndarray, Ne: int, dof: int, prefix: str) -> dict[str, float]:
    """Mean E-E, E-I, I-I off-diagonal covariances of centred columns split at Ne."""
    e, i = centred[:, :Ne], centred[:, Ne:]
    ne, ni = e.shape[1], i.shape[1]
    se, si = e.sum(axis=1), i.sum(axis=1)
    return {
        f"{prefix}_ee": _mean_offdiag(se, float(var[:Ne].sum()), ne, dof),
        f"{prefix}_ei": float(se @ si / dof / (ne * ni)) if ne and ni else math.nan,
        f"{prefix}_ii": _mean_offdiag(si, float(var[Ne:].sum()), ni, dof),
    }


def mean_spike_count_cov(counts: np.ndarray, Ne: int) -> dict[str, float]:
    """Mean spike-count covariances/correlations over E-E, E-I, I-I pairs and mean variances.

    `counts` is [window, neuron], E cells first (0..Ne-1). Means exclude the diagonal (B20); the
    sample covariance uses 1/(n_windows - 1); correlations are exact means over pairs of non-silent
    cells (cells with a constant count are excluded, as `nanmean` does in the original). O(N windows)
    time and memory; every value is NaN with fewer than 2 windows or too few cells.
    """
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError(f"counts: expected a 2-d array [window, neuron], got shape {counts.shape}")
    n_win, N = counts.shape
    if not 0 <= Ne <= N:
        raise ValueError(f"Ne={Ne!r} must lie in [0, {N}] (the number of neurons in counts)")
    out = dict.fromkeys(COV_KEYS, math.nan)
    if n_win < 2:
        return out
    dof = n_win - 1
    centred = counts - counts.mean(axis=0)
    var = np.einsum("ij,ij->j", centred, centred) / dof
    out.update(_pop_stats(centred, var, Ne, dof, "cov"))
    out["var_e"] = float(var[:Ne].mean()) if Ne else math.nan
    out["var_i"] = float(var[Ne:].mean()) if Ne < N else math.nan
    active = np.ptp(counts, axis=0) > 0
    z = centred[:, active] / np.sqrt(var[active])
    out.update(_pop_stats(z, np.ones(z.shape[1]), int(active[:Ne].sum()), dof, "corr"))
    return out
