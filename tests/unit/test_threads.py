"""One run on several cores (`threads`): bit-identical to one thread, early stops, chunking, bad values."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import numpy as np
import pytest

import sim
from sim import kernel_threads
from sim.connectivity import build_connectivity
from sim.driver import _initial_state as driver_state
from sim.driver import make_net as driver_net
from sim.driver import run_network
from sim.inputs import XSource
from sim.kernel import BLOCK
from sim.params import SimParams

N = 3 * BLOCK + BLOCK // 2
"""Four blocks of the neuron pass, the last one partial: threads=3 splits them 2/1/1."""
BASE = dict(
    N=N,
    T=300.0,
    record=dict(cells=6, weights=9, dt=1.0),
    analysis=dict(window=25.0, rate_bin=5.0),
)
ISTDP = dict(rule_ei="homeo", eta_ei=0.02, rule_ii="homeo", eta_ii=0.02)
MIXED = dict(
    rule_ee="kohonen",
    eta_ee=0.03,
    rule_ei="homeo",
    eta_ei=0.02,
    rule_ie="oja",
    eta_ie=0.02,
    rule_ii="hebb",
    eta_ii=0.01,
    jestim=0.05,
    jistim=-0.02,
    stim_on=100.0,
    stim_off=200.0,
)
DEFERRED = dict(MIXED, post_updates="deferred")
"""Deferred post events on ei (homeo) and ie (oja), immediate ones on ee and ii."""
CASES = {"static": {}, "istdp": ISTDP, "mixed": MIXED, "deferred": DEFERRED}
EXACT = ("spike_times_ms", "spike_neurons", "rate_e_hz", "rate_i_hz", "neuron_rate_hz", "current_e",
         "current_i", "current_x", "voltage", "weight_samples", "recorded_cells", "synapse_post")  # fmt: skip
WMEAN_RTOL = 1e-12
"""The block sums add each step's change as a sum of per-thread parts (one thread: one sum). Both are
sums of ~10^3 changes each ~10^-3 of a weight onto a total of ~10^5 weights: the difference per step is
<= ~10^-16 x 10^-3 relative to the total, and over 10^4 steps far below this bound."""
FROM_WMEAN = ("weight_drift_", "weight_limit_fit_", "weight_remaining_s")
FIT_RTOL = 1e-6
"""Summary keys fitted to `weight_mean` (trend slopes, power-law limits): the fits can amplify its
rounding-level differences, so a looser bound (observed: 5e-15 relative on the drift)."""


def run(threads: int, V0_nan: int | None = None, **kw):
    """A small network drawn from seed 1, run with `threads` threads, every spike kept."""
    p = SimParams(**{**BASE, **kw})
    rng = np.random.default_rng(1)
    conn = build_connectivity(p, rng)
    V0 = rng.uniform(p.Vre, p.VT, p.N)
    if V0_nan is not None:
        V0[V0_nan] = np.nan
    x = XSource(p, rng)
    return run_network(p, conn, x, V0, rng=rng, keep_all_spikes=True, threads=threads)


def assert_identical(a, b):
    """Everything bit-identical except the block-mean weights (rounding of the running sums)."""
    assert a.summary["n_spikes"] > 100, "the test network must spike"
    for name in ("V", "Ie", "Ii", "Ix", "x", "weight", "win_counts"):
        np.testing.assert_array_equal(a.extra[name], b.extra[name], err_msg=name)
    for name in EXACT:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    np.testing.assert_allclose(a.weight_mean, b.weight_mean, rtol=WMEAN_RTOL, atol=0)
    assert a.summary.keys() == b.summary.keys()
    for k, v in a.summary.items():
        w = b.summary[k]
        if k.startswith(FROM_WMEAN):
            assert w == pytest.approx(v, rel=FIT_RTOL, nan_ok=True), k
        else:
            same = v == w or (isinstance(v, float) and np.isnan(v) and np.isnan(w))
            assert same or k == "wall_s", (k, v, w)


@pytest.fixture(scope="module")
def one_thread():
    return {name: run(1, **kw) for name, kw in CASES.items()}


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("case", list(CASES))
def test_threads_match_one_thread(one_thread, case, threads):
    assert_identical(one_thread[case], run(threads, **CASES[case]))


def test_an_uneven_split_matches_one_thread(one_thread, monkeypatch):
    """One block against three, and weights that moved (so plasticity really ran on both sides)."""
    monkeypatch.setattr(kernel_threads, "cell_bounds", lambda n, t: np.array([0, BLOCK, n], np.int64))
    r = run(2, **MIXED)
    assert_identical(one_thread["mixed"], r)
    assert not np.array_equal(r.extra["weight"], run(1, T=1.0, **MIXED).extra["weight"])


def test_kernel_calls_of_a_few_steps_match(one_thread, monkeypatch):
    """33-step kernel calls (threads restarted each call) leave the run unchanged."""
    from sim import driver

    monkeypatch.setattr(driver, "CHUNK_MS", 3.3)
    assert_identical(one_thread["mixed"], run(2, **MIXED))
    assert_identical(one_thread["mixed"], run(3, **MIXED))
    assert_identical(run(1, **DEFERRED), run(2, **DEFERRED))  # deferred events flushed at every call end


def test_ranges_moved_between_kernel_calls_match(one_thread, monkeypatch):
    """Cell ranges that change at every 33-step call (as the rebalancing may do) leave the run unchanged."""
    from sim import driver

    monkeypatch.setattr(driver, "CHUNK_MS", 3.3)
    splits = [[0, BLOCK, N], [0, 3 * BLOCK, N], [0, 2 * BLOCK, N]]
    calls = []

    def move(tk, net):
        b = np.array(splits[len(calls) % 3], np.int64)
        calls.append(b)
        tk.split.bounds[:] = b
        kernel_threads.row_splits(net.out_ptr, net.out_post, b, tk.split.out_sp)
        kernel_threads.row_splits(net.x_ptr, net.x_post, b, tk.split.x_sp)

    monkeypatch.setattr(kernel_threads, "rebalance", move)
    assert_identical(one_thread["mixed"], run(2, **MIXED))
    assert len(calls) > 50


def test_rebalancing_moves_cells_to_the_less_busy_thread():
    p = SimParams(**{**BASE, "N": 16 * BLOCK, "T": 1.0})
    conn = build_connectivity(p, np.random.default_rng(0))
    net = driver_net(conn, SimpleNamespace(inc_e=1.0, inc_i=1.0, inc_x=1.0), np.zeros(4))
    st = driver_state(p, conn, np.zeros(p.N))
    rec = SimpleNamespace(cells=np.zeros(0, np.int64), _replace=lambda **kw: None)
    tk = kernel_threads.prepare(net, st, rec, 2)
    assert tk.split.bounds.tolist() == [0, 8 * BLOCK, 16 * BLOCK]
    tk.split.wait[:] = [[0, 100], [0, 300]]  # thread 1 three times as busy per cell
    kernel_threads.rebalance(tk, net)
    lo = tk.split.bounds[1]
    assert 8 * BLOCK < lo < 12 * BLOCK and lo % BLOCK == 0 and not tk.split.wait.any()
    for k in (0, 17, p.N - 1):
        row = conn.out_post[conn.out_ptr[k] : conn.out_ptr[k + 1]]
        assert tk.split.out_sp[1, k] - conn.out_ptr[k] == np.searchsorted(row, lo)


def test_rate_divergence_stops_at_the_same_step():
    kw = dict(jee=400.0, jei=-1.0, jii=-1.0, T=600.0, rate_max_hz=50.0, **ISTDP)
    a, b = run(1, **kw), run(2, **kw)
    assert a.summary["status"] == "diverged" and a.summary["reason"] == "rate"
    assert 0 < a.summary["t_stop_ms"] < 600.0
    assert_identical(a, b)


def test_nonfinite_in_another_threads_cells_stops_at_the_same_step():
    """A NaN voltage in the last thread's cells stops every thread after step 1, as with one thread."""
    a, b = run(1, V0_nan=N - 10, **ISTDP), run(3, V0_nan=N - 10, **ISTDP)
    assert a.summary["reason"] == b.summary["reason"] == "nonfinite"
    assert a.summary["t_stop_ms"] == b.summary["t_stop_ms"] == pytest.approx(0.1)
    for name in ("V", "Ie", "Ii", "Ix", "x", "weight"):
        np.testing.assert_array_equal(a.extra[name], b.extra[name], err_msg=name)


def test_threads_are_clamped_to_the_blocks_of_cells():
    for n, t in ((300, 8), (1000, 3), (1000, 2), (256, 4), (5000, 7), (N, 3), (9 * BLOCK, 4)):
        b = kernel_threads.cell_bounds(n, t)
        assert b[0] == 0 and b[-1] == n and np.all(np.diff(b) > 0)
        assert len(b) - 1 == min(t, -(-n // BLOCK)) and np.all(b[:-1] % BLOCK == 0)
    small = dict(N=BLOCK + 44, T=100.0, record=dict(cells=3, weights=3, dt=5.0), analysis=dict(window=20.0))
    np.testing.assert_array_equal(sim.simulate(small, threads=8).extra["V"], sim.simulate(small).extra["V"])


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True, None])
def test_bad_threads_values_are_refused(bad):
    with pytest.raises(ValueError, match="threads"):
        sim.simulate(dict(N=300, T=10.0), threads=bad)
    with pytest.raises(ValueError, match="threads"):
        run(bad, T=1.0)


def test_a_failing_thread_does_not_deadlock_the_others(monkeypatch):
    """Thread 1 fails before its first step: thread 0 must leave its barrier and the error surfaces."""
    real = kernel_threads.run_steps_thread

    def failing(tid, *args):
        if tid == 1:
            raise RuntimeError("injected failure")
        return real(tid, *args)

    monkeypatch.setattr(kernel_threads, "run_steps_thread", failing)
    caught: list[BaseException] = []

    def target() -> None:
        try:
            run(2, T=20.0)
        except BaseException as e:
            caught.append(e)

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout=120)
    assert not t.is_alive(), "deadlock: thread 0 still waits at a barrier"
    assert len(caught) == 1 and "injected failure" in str(caught[0])


def test_unsorted_rows_are_refused():
    p = SimParams(**{**BASE, "T": 1.0})
    conn = build_connectivity(p, np.random.default_rng(0))
    a, b = conn.out_ptr[3], conn.out_ptr[4]
    conn.out_post[a:b] = conn.out_post[a:b][::-1].copy()
    with pytest.raises(ValueError, match="sorted"):
        run_network(p, conn, XSource(p, np.random.default_rng(1)), np.full(p.N, -60.0), threads=2)
