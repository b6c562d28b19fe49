"""Slow, obviously correct references for sim.analysis (full N x N matrices, explicit loops)."""

from __future__ import annotations

import math

import numpy as np


def naive_window_counts(times, neurons, N, start, stop, window) -> np.ndarray:
    """Count spikes per window by looping over windows with explicit edge comparisons."""
    n_win = math.floor((stop - start) / window + 1e-9)
    out = np.zeros((n_win, N), dtype=np.int64)
    for k in range(n_win):
        lo, hi = start + k * window, start + (k + 1) * window
        last = k == n_win - 1
        for t, n in zip(times, neurons, strict=True):
            if 0 <= n < N and lo <= t and (t < hi or (last and t == hi)):
                out[k, int(n)] += 1
    return out


def naive_population_rates(times, neurons, T, Ne, N, bin_ms):
    """Rates via an explicit loop over bins [k d, (k+1) d), the last one closed."""
    n_bins = math.floor(T / bin_ms + 1e-9)
    e = np.zeros(n_bins)
    i = np.zeros(n_bins)
    for k in range(n_bins):
        lo, hi = k * bin_ms, (k + 1) * bin_ms
        inside = (times >= lo) & ((times < hi) | ((k == n_bins - 1) & (times == hi)))
        e[k] = np.sum(inside & (neurons >= 0) & (neurons < Ne))
        i[k] = np.sum(inside & (neurons >= Ne) & (neurons < N))
    return np.arange(n_bins) * bin_ms, e * 1000 / bin_ms / Ne, i * 1000 / bin_ms / (N - Ne)


def naive_mean_spike_count_cov(counts: np.ndarray, Ne: int) -> dict[str, float]:
    """Full np.cov, then a correlation matrix, then masked (nan)means over off-diagonal pairs."""
    counts = np.asarray(counts, dtype=float)
    n_win, N = counts.shape
    keys = ("cov_ee", "cov_ei", "cov_ii", "corr_ee", "corr_ei", "corr_ii", "var_e", "var_i")
    if n_win < 2:
        return dict.fromkeys(keys, math.nan)
    C = np.atleast_2d(np.cov(counts.T))
    with np.errstate(invalid="ignore", divide="ignore"):
        sd = np.sqrt(np.diag(C))
        R = C / np.outer(sd, sd)
    row, col = np.meshgrid(np.arange(N), np.arange(N), indexing="ij")
    ee = (row < Ne) & (col < Ne) & (row != col)
    ei = (row < Ne) & (col >= Ne)
    ii = (row >= Ne) & (col >= Ne) & (row != col)

    def mean(M, mask):
        vals = M[mask]
        vals = vals[np.isfinite(vals)]
        return float(vals.mean()) if vals.size else math.nan

    diag = np.diag(C)
    return {
        "cov_ee": mean(C, ee),
        "cov_ei": mean(C, ei),
        "cov_ii": mean(C, ii),
        "corr_ee": mean(R, ee),
        "corr_ei": mean(R, ei),
        "corr_ii": mean(R, ii),
        "var_e": float(diag[:Ne].mean()) if Ne else math.nan,
        "var_i": float(diag[Ne:].mean()) if Ne < N else math.nan,
    }
