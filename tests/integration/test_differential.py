"""Differential test: the original package 0.0.6 and sim.compat on the same network, inputs and V0 draw.

Both get the same J, Jx (same np.random seed, identical draws), the same X trains (the original's sx)
and V0 from the same global-generator state; compat runs our kernel with the reference (Euler)
integrator. Chaos makes single trajectories diverge, so we compare statistics: our run is repeated
with five V0 seeds, whose spread s estimates the run-to-run error of one run. The original's value is
one more draw from the same distribution if the models agree, so (orig - mean_ours) / (s sqrt(1 + 1/5))
follows a Student t with 4 degrees of freedom; we require |t| < 5 (two-sided p < 0.008). The
original's known defects that survive this setup (B2: I neuron Ne partly treated as E) shift the
rates by far less than s at these sizes. Sensitivity: running compat with the 'exact' integrator
instead (no Euler charge loss, rates -1.3 % E / -2.6 % I) gives t = 4.9 (E) and 15 (I) and fails.
"""

from __future__ import annotations

import numpy as np
import pytest

from sim import compat

pytestmark = pytest.mark.slow

N = 1000
SEEDS = range(200, 205)
T_START = 1000.0  # ms discarded as transient


def _build(cls, T, seed=11, nJrecord0=100):
    np.random.seed(seed)
    net = cls(N, T)
    net.connectivity(nJrecord0=nJrecord0)
    net.ffwd_spikes(T, cx=0)
    return net


def _stats(out, T):
    """Mean E and I rates (Hz) over [T_START, T] and the sampled mean j_ei at mid-run and at the end."""
    s = out[0]
    late = s[0] > T_START
    span_s = (T - T_START) / 1000.0
    r_e = np.sum(late & (s[1] < 800)) / 800 / span_s
    r_i = np.sum(late & (s[1] >= 800)) / 200 / span_s
    j_ei = np.nanmean(out[4], axis=0)
    return np.array([r_e, r_i, j_ei[len(j_ei) // 2], j_ei[-1]])


def _compare(original, T, nJrecord0, **rules):
    a = _build(original.PlasticNeuralNetwork, T, nJrecord0=nJrecord0)
    np.random.seed(100)
    ref = _stats(a.simulate(**rules), T)
    ours = []
    for seed in SEEDS:
        b = _build(compat.PlasticNeuralNetwork, T, nJrecord0=nJrecord0)
        np.testing.assert_array_equal(a.Jrecord_ei, b.Jrecord_ei)  # the same synapses are followed
        b.sx, b.nspikeX = a.sx, a.nspikeX
        np.random.seed(seed)
        ours.append(_stats(b.simulate(**rules), T))
    ours = np.array(ours)
    scale = ours.std(axis=0, ddof=1) * np.sqrt(1 + 1 / len(ours))
    return ref, ours.mean(axis=0), scale


def test_static_rates_match_the_original(original):
    ref, mean, scale = _compare(original, 4000, nJrecord0=10)
    t = (ref[:2] - mean[:2]) / scale[:2]
    assert np.all(np.abs(t) < 5), (ref, mean, scale)
    # And both sit near the Euler-corrected balanced rates (5.90, 16.29 Hz) up to the finite-N
    # deficit MODEL §4.5 reports for the original (5.63/14.54 at N = 5000; larger at N = 1000).
    assert 4.0 < mean[0] < 6.5 and 10.0 < mean[1] < 17.0


def test_ei_istdp_weight_drift_matches_the_original(original):
    # eta = 5e-3 at N = 1000: k = eta sqrt(N)/150, tau_w = 1/(0.227 k) ~ 4 s, so j_ei moves
    # about half way from -150 to its fixed point -119.7 in 3 s.
    ref, mean, scale = _compare(original, 3000, nJrecord0=1000, eta_ei=5e-3)
    assert mean[3] - (-150.0) > 8.0  # a real drift, much larger than the tolerance below
    t = (ref - mean) / scale
    assert np.all(np.abs(t) < 5), (ref, mean, scale)
