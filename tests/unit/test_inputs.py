"""Feed-forward X trains: delivery steps, rates, correlations, chunk independence, stimulus window."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.inputs import ExplicitX, XSource, spike_steps, stim_amplitude, stim_steps
from sim.params import SimParams
from tests.naive import correlated_x_original


def _all(src: XSource, Nt: int, chunk: int) -> tuple[np.ndarray, np.ndarray]:
    steps, ids = [], []
    for n1 in range(1 + chunk, Nt + 1 + chunk, chunk):
        s, i = src.take(min(n1, Nt + 1))
        steps.append(s)
        ids.append(i)
    return np.concatenate(steps), np.concatenate(ids)


def _count_corr(
    steps: np.ndarray, ids: np.ndarray, Nx: int, win_steps: int, n_win: int
) -> tuple[float, float]:
    """(mean rate per step, mean pairwise count correlation) from window counts (population identity)."""
    counts = np.zeros((n_win, Nx))
    w = (steps - 1) // win_steps
    keep = w < n_win
    np.add.at(counts, (w[keep], ids[keep]), 1)
    z = (counts - counts.mean(0)) / counts.std(0, ddof=1)
    s = z.sum(1)
    corr = (s.var(ddof=1) - Nx) / (Nx * (Nx - 1))
    return counts.mean() / win_steps, corr


def test_spike_steps_first_step_at_or_after_t():
    dt = 0.1
    t = np.array([1e-9, 0.1, 0.1 + 1e-12, 0.3, 0.30000000000000004, 2.5, 99.99999])
    assert spike_steps(t, dt, 1000).tolist() == [1, 1, 2, 3, 3, 25, 1000]  # 3 * 0.1 == 0.30000000000000004
    n = spike_steps(np.arange(1, 500) * dt, dt, 1000)
    assert np.array_equal(n, np.arange(1, 500))  # grid times land on their own step


def test_uncorrelated_rate_and_all_neurons_fire():
    """Counts ~ Poisson(Nx rx T): within 5 s.d.; every X neuron fires (B5), including neuron 0."""
    p = SimParams(N=500, T=20_000.0, cx=0.0)
    steps, ids = _all(XSource(p, np.random.default_rng(0)), p.Nt, 10_000)
    mean = p.Nx * p.rx * p.T
    assert abs(steps.size - mean) < 5 * math.sqrt(mean)
    per = np.bincount(ids, minlength=p.Nx)
    assert per.min() > 0 and per.size == p.Nx
    assert np.all(np.diff(steps) >= 0) and steps.min() >= 1 and steps.max() <= p.Nt


@pytest.mark.parametrize("cx", [0.1, 0.5])
def test_correlated_rate_and_count_correlation(cx):
    """Rate = rx; count correlation in 250 ms windows = cx (1 - E|D|/w) with D ~ N(0, 2 sd^2).

    Tolerance: the mean correlation estimate from n windows has relative s.e. ~ sqrt(2/n) (it is a
    ratio of variances of the shared mother count); we allow 4 s.e.
    """
    p = SimParams(N=500, T=100_000.0, cx=cx, taujitter=5.0)
    steps, ids = _all(XSource(p, np.random.default_rng(1)), p.Nt, 7_777)
    win, n_win = 2500, p.Nt // 2500
    rate, corr = _count_corr(steps, ids, p.Nx, win, n_win)
    assert rate / p.dt == pytest.approx(p.rx, rel=0.05)
    expected = cx * (1 - 2 * p.taujitter / math.sqrt(math.pi) / 250.0)
    assert abs(corr - expected) < 4 * math.sqrt(2 / n_win) * expected


def test_correlated_matches_the_original_algorithm_statistically():
    """Our geometric-gap thinning vs the original neuron-by-neuron Binomial + choice (naive)."""
    p = SimParams(N=300, T=50_000.0, cx=0.2)
    t, i = correlated_x_original(p, np.random.default_rng(7))
    r_orig, c_orig = _count_corr(spike_steps(t, p.dt, p.Nt), i, p.Nx, 2500, p.Nt // 2500)
    steps, ids = _all(XSource(p, np.random.default_rng(8)), p.Nt, 10_000)
    r_ours, c_ours = _count_corr(steps, ids, p.Nx, 2500, p.Nt // 2500)
    assert r_ours == pytest.approx(r_orig, rel=0.05)
    assert abs(c_ours - c_orig) < 4 * math.sqrt(2 / 20) * 0.2 * math.sqrt(2)


@pytest.mark.parametrize("cx", [0.0, 0.3])
def test_chunking_does_not_change_the_trains(cx):
    """Jitter across chunk borders is handled: any kernel chunking yields the same spikes."""
    p = SimParams(N=200, T=3000.0, cx=cx, taujitter=20.0)
    a = _all(XSource(p, np.random.default_rng(3)), p.Nt, 30_000)
    src = XSource(p, np.random.default_rng(3))
    b = _all(src, p.Nt, 137)
    key = lambda s, i: np.sort(s.astype(np.int64) * 10**6 + i)  # noqa: E731
    assert np.array_equal(key(*a), key(*b))
    assert src.late_spikes == 0


def test_tiny_cx_is_independent_poisson():
    p = SimParams(N=100, cx=5e-6)
    assert not XSource(p, np.random.default_rng(0)).correlated


def test_explicit_source_serves_all_spikes_once():
    src = ExplicitX(np.array([0.05, 0.1, 0.35, 9.99]), np.array([3, 1, 2, 0]), 0.1, 100)
    s1, i1 = src.take(3)
    s2, i2 = src.take(101)
    assert s1.tolist() == [1, 1] and i1.tolist() == [3, 1]
    assert s2.tolist() == [4, 100] and i2.tolist() == [2, 0]


def test_stimulus_window_and_amplitude():
    p = SimParams(N=100, T=100.0, jestim=0.5, jistim=-0.25, stim_on=10.0, stim_off=20.0)
    assert stim_steps(p) == (101, 201)  # steps whose start (n-1) dt lies in [10, 20)
    amp = stim_amplitude(p)
    assert amp[0] == pytest.approx(5.0) and amp[-1] == pytest.approx(-2.5)
