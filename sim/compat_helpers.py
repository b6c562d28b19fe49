"""The analysis helpers of `plastic_balanced_network` 0.0.6, same signatures, with fixes B19, B21, B22.

- E/I split at Ne = round(frac_exc N) everywhere, I neuron Ne included in the I-I means (B19);
- no N x N meshgrids: population means over matrix blocks (B19);
- covariance windows [T1 + k w, T1 + (k+1) w) for every whole window (B21);
- rates on fixed bins [k dtRate, (k+1) dtRate) and an edge-normalised boxcar (B22).
"""

from __future__ import annotations

import math

import numpy as np

from sim.analysis import population_rates, smooth_rates, window_counts

__all__ = ["average_cov_corr_over_subpops", "compute_firing_rate", "cov2corr", "spike_count_cov"]


def _n_exc(N: int, frac_exc: float) -> int:
    return int(round(frac_exc * N))  # noqa: RUF046


def compute_firing_rate(s, T, N, frac_exc=0.8, dtRate=10, window_size=10):
    """Smoothed E and I population rates (Hz) and the bin-end times (s), as the original returns them.

    Bins are [k dtRate, (k+1) dtRate) for k < len(timeVector), independent of the data; the boxcar of
    `window_size` bins averages only over the bins that exist (no zero padding at the ends).
    """
    s = np.asarray(s)
    timeVector = np.arange(dtRate, T + dtRate, dtRate) / 1000
    n_bins = len(timeVector)
    Ne = _n_exc(N, frac_exc)
    _, eRateT, iRateT = population_rates(s[0], s[1], n_bins * dtRate, Ne, N, dtRate)
    return smooth_rates(eRateT, window_size), smooth_rates(iRateT, window_size), timeVector


def spike_count_cov(s, N, T1, T2, winsize=250):
    """Full N x N spike-count covariance over every whole window of `winsize` in [T1, T2) (1/(n-1)).

    NaN everywhere with fewer than two windows (the original's np.cov would warn and return NaN).
    """
    s = np.asarray(s)
    counts = window_counts(s[0], s[1], N, T1, T2, winsize).astype(float)
    if counts.shape[0] < 2:
        return np.full((N, N), np.nan)
    return np.atleast_2d(np.cov(counts.T))


def cov2corr(cov):
    """Correlation matrix from a covariance matrix; rows of silent (zero-variance) cells are NaN."""
    cov = np.asanyarray(cov)
    std_ = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.outer(std_, std_)


def _nanmean(block: np.ndarray, skip_diagonal: bool) -> float:
    """Mean of the finite entries of a matrix block, optionally without its diagonal."""
    finite = np.isfinite(block)
    total, count = float(np.sum(block, where=finite)), int(finite.sum())
    if skip_diagonal:
        diag = np.diagonal(block)
        ok = np.isfinite(diag)
        total -= float(diag[ok].sum())
        count -= int(ok.sum())
    return total / count if count else math.nan


def average_cov_corr_over_subpops(C, N, frac_exc=0.8):
    """[[mean E-E, mean E-I], [mean E-I, mean I-I]] of a covariance/correlation matrix, NaN skipped.

    Off-diagonal pairs only within a population (B20); the split is at Ne = round(frac_exc N).
    """
    C = np.asarray(C, dtype=float)
    Ne = _n_exc(N, frac_exc)
    mCee = _nanmean(C[:Ne, :Ne], skip_diagonal=True)
    mCei = _nanmean(C[Ne:N, :Ne], skip_diagonal=False)
    mCii = _nanmean(C[Ne:N, Ne:N], skip_diagonal=True)
    return [[mCee, mCei], [mCei, mCii]]
