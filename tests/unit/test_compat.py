"""sim.compat against the original package 0.0.6: same draws, attributes, shapes and argument errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim import compat
from sim.analysis import window_counts

SEEDS = (0, 1, 31415)


def _pair(original, N=200, T=100, seed=0, **kw):
    np.random.seed(seed)
    a = original.PlasticNeuralNetwork(N, T, **kw)
    np.random.seed(seed)
    b = compat.PlasticNeuralNetwork(N, T, **kw)
    return a, b


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(
    ("N", "kw"), [(200, {}), (333, {}), (250, {"p_ee": 0.3, "jei": -90.0, "p_ix": 0.05})]
)
def test_connectivity_draws_the_originals_J_and_Jx(original, seed, N, kw):
    a, b = _pair(original, N=N, seed=seed)
    np.random.seed(seed)
    a.connectivity(nJrecord0=15, **kw)
    np.random.seed(seed)
    b.connectivity(nJrecord0=15, **kw)
    np.testing.assert_array_equal(a.J, b.J)
    np.testing.assert_array_equal(a.Jx, b.Jx)
    for block in ("ee", "ie", "ei", "ii"):
        np.testing.assert_array_equal(getattr(a, f"Jrecord_{block}"), getattr(b, f"Jrecord_{block}"))
        assert getattr(a, f"numrecordJ_{block}") == getattr(b, f"numrecordJ_{block}")
    # The global generator is left in the same state, so later draws (V0) agree too.
    assert np.random.uniform() == pytest.approx(_next_uniform_after(original, seed, N, kw))


def _next_uniform_after(original, seed, N, kw):
    np.random.seed(seed)
    net = original.PlasticNeuralNetwork(N, 100)
    net.connectivity(nJrecord0=15, **kw)
    return np.random.uniform()


def test_init_attributes_match(original):
    a, b = _pair(original, N=500, T=300, frac_exc=0.75, dt=0.05, nBinsRecord=4)
    for name in ("N", "Ne", "Ni", "Nx", "Nt", "maxns", "Ntrec", "dt", "nBinsRecord", "frac_exc", "frac_ext"):
        assert getattr(a, name) == getattr(b, name), name
    for name in ("total_time", "timeRecord", "Jstim"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert a.Istim.shape == b.Istim.shape
    assert set(vars(a)) <= set(vars(b))


def test_ni_is_n_minus_ne():
    # The original's round((1 - frac_exc) N) gives Ne + Ni = 102 here (B17).
    net = compat.PlasticNeuralNetwork(101, 10, frac_exc=0.5)
    assert (net.Ne, net.Ni) == (50, 51)


BAD_INIT = [
    ("N", None, ValueError),
    ("T", None, ValueError),
    ("N", 10.0, TypeError),
    ("frac_exc", "0.8", TypeError),
    ("frac_ext", None, TypeError),
    ("T", 100.5, TypeError),
    ("dt", "0.1", TypeError),
    ("jestim", [0], TypeError),
    ("jistim", None, TypeError),
    ("nBinsRecord", 10.0, TypeError),
    ("N", 0, ValueError),
    ("frac_exc", 1.5, ValueError),
    ("frac_ext", -0.1, ValueError),
    ("T", 0, ValueError),
    ("dt", 0.0, ValueError),
    ("nBinsRecord", 0, ValueError),
]


@pytest.mark.parametrize(("name", "value", "error"), BAD_INIT)
def test_init_errors_match(original, name, value, error):
    kw = {"N": 100, "T": 100, name: value}
    with pytest.raises(error):
        original.PlasticNeuralNetwork(**kw)
    with pytest.raises(error, match=name):
        compat.PlasticNeuralNetwork(**kw)


CONN_NUMERIC = ("jee", "jie", "jei", "jii", "jex", "jix", "p_ee", "p_ie", "p_ei", "p_ii", "p_ex", "p_ix")
BAD_CONN = [
    *((n, "1", TypeError) for n in CONN_NUMERIC),
    ("nJrecord0", 10.0, TypeError),
    *((n, 0, ValueError) for n in ("jee", "jie", "jex", "jix")),
    *((n, 0, ValueError) for n in ("jei", "jii")),
    *((f"p_{b}", 1.01, ValueError) for b in ("ee", "ie", "ei", "ii", "ex", "ix")),
    *((f"p_{b}", -0.01, ValueError) for b in ("ee", "ie", "ei", "ii", "ex", "ix")),
    ("nJrecord0", 0, ValueError),
]


@pytest.mark.parametrize(("name", "value", "error"), BAD_CONN)
def test_connectivity_errors_match_and_touch_nothing(original, name, value, error):
    a, b = _pair(original)
    with pytest.raises(error):
        a.connectivity(**{name: value})
    state = np.random.get_state()[1].copy()
    with pytest.raises(error, match=name):
        b.connectivity(**{name: value})
    assert not hasattr(b, "J")
    np.testing.assert_array_equal(np.random.get_state()[1], state)


BAD_FFWD = [
    ("T", None, ValueError),
    ("cx", "0", TypeError),
    ("rx", None, TypeError),
    ("taujitter", "5", TypeError),
    ("T", 100.0, TypeError),
    ("T", 0, ValueError),
    ("cx", 1.5, ValueError),
    ("rx", 0, ValueError),
    ("taujitter", 0, ValueError),
]


@pytest.mark.parametrize(("name", "value", "error"), BAD_FFWD)
def test_ffwd_errors_match(original, name, value, error):
    a, b = _pair(original)
    kw = {"T": 100, name: value}
    with pytest.raises(error):
        a.ffwd_spikes(**kw)
    with pytest.raises(error, match=name):
        b.ffwd_spikes(**kw)
    assert not hasattr(b, "sx")


SIM_NUMERIC = [
    "Cm",
    "gL",
    "VT",
    "Vre",
    "Vth",
    "EL",
    "DeltaT",
    "taue",
    "taui",
    "taux",
    "tauSTDP",
    "eta_ee_hebb",
    "jmax_ee",
    "eta_ee_koh",
    "beta",
    "eta_ie_homeo",
    "rho_ie",
    "eta_ie_hebb",
    "jmax_ie_hebb",
    "eta_ei",
    "rho_ei",
    "eta_ii",
    "rho_ii",
]
BAD_SIM = [
    *((n, "1", TypeError) for n in SIM_NUMERIC),
    *((n, 0, ValueError) for n in ("Cm", "gL", "DeltaT", "taue", "taui", "taux", "tauSTDP", "numrecord")),
    *((n, 1, ValueError) for n in ("VT", "Vre", "Vth", "EL")),
    *((n, -1e-3, ValueError) for n in ("eta_ee_hebb", "eta_ee_koh", "eta_ie_homeo", "eta_ie_hebb", "eta_ei")),
    ("eta_ii", -1e-3, ValueError),
    *((n, 0, ValueError) for n in ("jmax_ee", "beta", "rho_ie", "jmax_ie_hebb", "rho_ei", "rho_ii")),
]


def _ready(net):
    net.connectivity(nJrecord0=10)
    net.ffwd_spikes(100, cx=0)
    return net


@pytest.mark.parametrize(("name", "value", "error"), BAD_SIM)
def test_simulate_errors_match_and_touch_nothing(original, name, value, error):
    a, b = _pair(original)
    _ready(a)
    _ready(b)
    with pytest.raises(error):
        a.simulate(**{name: value})
    J, state = b.J.copy(), np.random.get_state()[1].copy()
    with pytest.raises(error, match=name):
        b.simulate(**{name: value})
    np.testing.assert_array_equal(b.J, J)
    np.testing.assert_array_equal(np.random.get_state()[1], state)


@pytest.mark.parametrize(
    "kw", [{"eta_ee_hebb": 1e-3, "eta_ee_koh": 1e-3}, {"eta_ie_hebb": 1e-3, "eta_ie_homeo": 1e-3}]
)
def test_simulate_rule_exclusions_match(original, kw):
    a, b = _pair(original)
    _ready(a)
    _ready(b)
    with pytest.raises(ValueError, match="both"):
        a.simulate(**kw)
    with pytest.raises(ValueError, match="both"):
        b.simulate(**kw)


def test_simulate_before_connectivity_is_a_clear_error():
    with pytest.raises(AttributeError, match="connectivity"):
        compat.PlasticNeuralNetwork(100, 100).simulate()


def test_simulate_returns_the_originals_11_tuple_shapes(original):
    a, b = _pair(original, N=200, T=200, seed=3)
    for net in (a, b):
        np.random.seed(3)
        net.connectivity(nJrecord0=12)
        net.ffwd_spikes(200, cx=0)
    out_a = a.simulate(numrecord=20, eta_ei=1e-3)
    np.random.seed(5)
    out_b = b.simulate(numrecord=20, eta_ei=1e-3)
    assert len(out_a) == len(out_b) == 11
    for x, y in zip(out_a[1:], out_b[1:], strict=True):
        assert x.shape == y.shape
    assert out_b[0].shape[0] == 2 and out_b[0].shape[1] > 0
    assert b.status == "done"
    # No phantom (0, 0) spike (B1); times are step ends t_n > 0, sorted.
    assert out_b[0][0, 0] > 0 and np.all(np.diff(out_b[0][0]) >= 0)
    # Recorded cells: 10 E cells then 10 I cells, the same cells for every current and V (B13).
    cells = b.recorded_cells
    assert cells.size == 20 and np.all(cells[:10] < b.Ne) and np.all(cells[10:] >= b.Ne)
    # Static blocks are recorded as constants equal to the initial weights (j units).
    np.testing.assert_allclose(out_b[2][:, -1], b.J[b.Jrecord_ee[0], b.Jrecord_ee[1]] * np.sqrt(200))


def test_ffwd_uncorrelated_uses_all_x_neurons():
    net = compat.PlasticNeuralNetwork(100, 100)
    np.random.seed(0)
    net.ffwd_spikes(5000, cx=0, rx=0.01)
    counts = np.bincount(net.sx[1].astype(int), minlength=net.Nx)
    assert counts.size == net.Nx and counts.min() > 0  # X neuron 0 fires (B5)
    # Poisson total: mean Nx rx T = 1000, s.d. ~32; 5 s.d. bound.
    assert abs(net.nspikeX - 1000) < 160


def test_ffwd_correlated_is_seeded_and_uses_all_x_neurons():
    runs = []
    for _ in range(2):
        net = compat.PlasticNeuralNetwork(100, 100)
        np.random.seed(4)
        net.ffwd_spikes(2000, cx=0.2, rx=0.01, taujitter=5)
        runs.append(net.sx)
    np.testing.assert_array_equal(runs[0], runs[1])  # reproducible from np.random.seed (B6)
    assert set(np.unique(runs[0][1]).astype(int)) == set(range(20))
    assert np.all(np.diff(runs[0][0]) >= 0) and runs[0][0].min() > 0 and runs[0][0].max() < 2000


def test_stimulus_works_during_first_half():
    net = compat.PlasticNeuralNetwork(200, 400, jestim=0.1)
    np.random.seed(2)
    net.connectivity(nJrecord0=5)
    net.ffwd_spikes(400, cx=0)
    s = net.simulate(numrecord=4)[0]
    e = s[1] < net.Ne
    first = np.sum(e & (s[0] > 50) & (s[0] <= 200))
    second = np.sum(e & (s[0] > 250) & (s[0] <= 400))
    # sqrt(N) jestim = 1.4 mV/ms extra drive to E cells (B12): far more E spikes while it is on.
    assert first > 2 * second


def test_helpers_keep_every_window_and_fix_the_i_i_mask(original):
    rng = np.random.default_rng(0)
    N, T = 50, 1000.0
    times = np.sort(rng.uniform(0, T, 3000))
    s = np.vstack((times, rng.integers(0, N, 3000).astype(float)))
    C = compat.spike_count_cov(s, N, 500.0, 1000.0, winsize=50)
    np.testing.assert_allclose(C, np.cov(window_counts(s[0], s[1], N, 500.0, 1000.0, 50.0).T.astype(float)))
    assert original.spike_count_cov(s, N, 500.0, 1000.0, winsize=50).shape == C.shape
    R = compat.cov2corr(C)
    m = compat.average_cov_corr_over_subpops(R, N, 0.8)
    ii = R[40:, 40:][~np.eye(10, dtype=bool)]  # includes I neuron Ne = 40 (B19)
    assert m[1][1] == pytest.approx(ii.mean())
    assert m[0][1] == m[1][0] == pytest.approx(R[40:, :40].mean())


def test_compute_firing_rate_is_unbiased_at_the_edges(original):
    rng = np.random.default_rng(1)
    N, T = 100, 2000
    n = rng.poisson(0.005 * N * T)  # 5 Hz per neuron
    s = np.vstack((np.sort(rng.uniform(0, T, n)), rng.integers(0, N, n).astype(float)))
    e, i, tv = compat.compute_firing_rate(s, T, N)
    e0, i0, tv0 = original.compute_firing_rate(s, T, N)
    np.testing.assert_array_equal(tv, tv0)
    assert e.shape == e0.shape and i.shape == i0.shape
    # Zero padding of the original's boxcar halves the first bin; ours stays near 5 Hz
    # (first bin averages 6 bins of 80 cells x 10 ms: ~24 spikes, s.d. ~1 Hz).
    assert e0[0] < 3.5 and abs(e[0] - 5.0) < 1.5
    assert math.isclose(np.mean(e[10:-10]), 5.0, abs_tol=0.3)


def test_ffwd_longer_than_the_network_is_cut_at_T():
    net = compat.PlasticNeuralNetwork(200, 100)
    np.random.seed(6)
    net.connectivity(nJrecord0=5)
    net.ffwd_spikes(1000, cx=0)  # ten times the network's T (B7)
    IxRec = net.simulate(numrecord=10)[8]
    # Spikes after T must not pile up in the last step: the last bin looks like the others.
    assert np.nanmean(IxRec[:, -1]) < 2 * np.nanmean(IxRec[:, -20:-1])


def test_runaway_returns_partial_results_instead_of_exiting(caplog):
    net = compat.PlasticNeuralNetwork(300, 1000)
    np.random.seed(1)
    net.connectivity(jee=400, jei=-10, nJrecord0=5)
    net.ffwd_spikes(1000, cx=0)
    out = net.simulate(numrecord=4)  # the original calls sys.exit(1) here (B3)
    assert net.status == "diverged"
    assert len(out) == 11 and out[0].shape[1] > 0 and out[0][0].max() < 1000
    assert np.isnan(out[6][:, -1]).all()  # bins never reached
    assert "diverged" in caplog.text
