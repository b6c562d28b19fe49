"""sim.analysis against the naive references of tests/naive_analysis.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.analysis import (
    COV_KEYS,
    mean_spike_count_cov,
    neuron_rates,
    population_rates,
    smooth_rates,
    window_counts,
)
from tests.naive_analysis import naive_mean_spike_count_cov, naive_population_rates, naive_window_counts


def _assert_same(fast: dict[str, float], slow: dict[str, float]) -> None:
    assert set(fast) == set(COV_KEYS)
    for key in COV_KEYS:
        if math.isnan(slow[key]):
            assert math.isnan(fast[key]), key
        else:
            assert fast[key] == pytest.approx(slow[key], rel=1e-10, abs=1e-12), key


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize(("n_win", "N", "Ne"), [(20, 12, 9), (5, 7, 1), (3, 6, 5), (2, 5, 0), (40, 30, 30)])
def test_mean_spike_count_cov_matches_naive(seed, n_win, N, Ne):
    rng = np.random.default_rng(seed)
    common = rng.poisson(3.0, size=(n_win, 1))
    counts = rng.poisson(2.0, size=(n_win, N)) + common
    counts[:, rng.integers(0, N)] = 0  # a silent cell
    counts[:, rng.integers(0, N)] = 4  # a constant (also silent for correlations) cell
    _assert_same(mean_spike_count_cov(counts, Ne), naive_mean_spike_count_cov(counts, Ne))


def test_mean_spike_count_cov_one_window_is_nan():
    out = mean_spike_count_cov(np.ones((1, 10)), 8)
    assert all(math.isnan(v) for v in out.values())


def test_mean_spike_count_cov_detects_correlation():
    rng = np.random.default_rng(1)
    shared = rng.normal(size=(2000, 1))
    counts = 10 + shared + rng.normal(size=(2000, 50))  # pairwise corr = 1/2, cov = 1
    out = mean_spike_count_cov(counts, 40)
    # 2000 windows: sampling s.d. of one pair's correlation ~ 0.02, of the mean smaller; 0.05 is > 2 s.d.
    for key in ("corr_ee", "corr_ei", "corr_ii"):
        assert out[key] == pytest.approx(0.5, abs=0.05)
    assert out["cov_ei"] == pytest.approx(1.0, abs=0.1)
    assert out["var_e"] == pytest.approx(2.0, abs=0.15)


def test_mean_spike_count_cov_rejects_bad_input():
    with pytest.raises(ValueError, match="Ne"):
        mean_spike_count_cov(np.zeros((3, 4)), 5)
    with pytest.raises(ValueError, match="2-d"):
        mean_spike_count_cov(np.zeros(4), 2)


@pytest.mark.parametrize("seed", range(4))
def test_window_counts_matches_naive(seed):
    rng = np.random.default_rng(seed)
    times = np.round(rng.uniform(0, 1000, 400), 1)  # on a 0.1 ms grid, some on window edges
    times[:5] = [250.0, 500.0, 1000.0, 0.0, 999.9]
    neurons = rng.integers(-1, 12, 400)
    fast = window_counts(times, neurons, 11, 250.0, 1000.0, 125.0)
    slow = naive_window_counts(times, neurons, 11, 250.0, 1000.0, 125.0)
    assert fast.shape == (6, 11)
    np.testing.assert_array_equal(fast, slow)


def test_window_counts_keeps_every_whole_window():
    # The original's arange(T1, T2, w) edges give 99 windows for [25 s, 50 s); we give 100 (B21).
    counts = window_counts(np.array([49_999.0]), np.array([0]), 2, 25_000.0, 50_000.0, 250.0)
    assert counts.shape == (100, 2)
    assert counts[-1, 0] == 1


@pytest.mark.parametrize("seed", range(4))
def test_population_rates_matches_naive(seed):
    rng = np.random.default_rng(seed)
    times = rng.uniform(0, 500, 1000)
    times[:3] = [0.0, 10.0, 500.0]
    neurons = rng.integers(0, 20, 1000)
    fast = population_rates(times, neurons, 500.0, 15, 20, 10.0)
    slow = naive_population_rates(times, neurons, 500.0, 15, 20, 10.0)
    for a, b in zip(fast, slow, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def test_population_rates_splits_at_ne():
    # Neuron Ne is inhibitory (the original classifies it as E in places, B2).
    _, e, i = population_rates(np.array([5.0]), np.array([8]), 10.0, 8, 10, 10.0)
    assert e[0] == 0 and i[0] == pytest.approx(1000 / 10 / 2)


def test_neuron_rates_counts_interval():
    rates = neuron_rates(np.array([1.0, 5.0, 10.0, 11.0]), np.array([0, 0, 1, 1]), 3, 5.0, 10.0)
    np.testing.assert_allclose(rates, [200.0, 200.0, 0.0])


def test_smooth_rates_unbiased_at_edges():
    flat = np.full(20, 7.0)
    np.testing.assert_allclose(smooth_rates(flat, 5), flat)
    np.testing.assert_allclose(smooth_rates(np.arange(5.0), 3)[1:-1], [1, 2, 3])
