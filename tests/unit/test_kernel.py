"""The Numba kernel against the dense naive step loop of tests/naive.py (same inputs, tiny network)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit

from sim.connectivity import connectivity_from_dense, synapse_pre
from sim.driver import flush_steps, run_network
from sim.params import BLOCKS, RULES, SimParams
from sim.prefetch import prefetch_l2
from tests.naive import naive_network, poisson_x, random_network

SMALL = dict(
    N=60, T=50.0, rx=0.04, record=dict(cells=4, weights=5, dt=0.1), analysis=dict(window=5.0, rate_bin=1.0)
)


def _dense(conn, weight: np.ndarray) -> np.ndarray:
    J = np.zeros((conn.N, conn.N))
    syn = np.arange(weight.size)
    J[conn.out_post, synapse_pre(conn, syn)] = weight
    return J


def run_both(seed: int = 1, perturb=None, **kw):
    """Run the naive loop and the kernel on the same dense network, X trains and V0; `perturb(p, rng, J,
    Jx)`, if given, edits the drawn weights in place before anything else is drawn."""
    p = SimParams(**{**SMALL, **kw})
    rng = np.random.default_rng(seed)
    J, Jx = random_network(p, rng)
    if perturb is not None:
        perturb(p, rng, J, Jx)
    xs, xi = poisson_x(p, rng)
    V0 = rng.uniform(p.Vre, p.VT, p.N)
    K = flush_steps(p)
    ref = naive_network(p, J, Jx, xs, xi, V0, flush_at=lambda n: K > 0 and n % K == 0)
    conn = connectivity_from_dense(J, Jx, p.Ne)
    res = run_network(p, conn, (xs * p.dt, xi), V0, keep_all_spikes=True)
    steps = np.rint(res.spike_times_ms / p.dt).astype(int)
    ours = list(zip(steps.tolist(), res.spike_neurons.tolist(), strict=True))
    return p, J, ref, res, ours, _dense(conn, res.extra["weight"])


F32_ULPS = 8
"""float32 state: the kernel decays a current before adding this step's spikes (increments pre-multiplied
by f), the naive loop after, so Ie, Ii differ by a rounding or two of the current (<= 1.3 eps max|I|
measured over every rule) and V inherits dt times that per step, contracted by the leak (<= 1 eps
max|V| measured); Ix, traces and weights are the same arithmetic. Tolerance: F32_ULPS eps max|.|."""


def _check(ref, res, ours, J_ours, rtol=1e-12):
    assert len(ref["spikes"]) > 20, "the test network must spike"
    assert ours == ref["spikes"]
    f32 = ref["V"].dtype == np.float32
    if f32:
        for name in ("V", "Ie", "Ii", "Ix"):
            tol = F32_ULPS * np.finfo(np.float32).eps * np.abs(ref[name]).max()
            np.testing.assert_allclose(res.extra[name], ref[name].astype(np.float64), rtol=0, atol=tol)
    else:
        np.testing.assert_allclose(res.extra["V"], ref["V"], rtol=rtol, atol=1e-9)
    np.testing.assert_allclose(J_ours, ref["J"], rtol=rtol, atol=1e-15)
    sampled = res.synapse_post >= 0  # sampled weights are read at the last step (1-step bins)
    j_ref = ref["J"][res.synapse_post[sampled], res.synapse_pre[sampled]] * res.params.sqrtN
    np.testing.assert_allclose(res.weight_samples[..., -1][sampled], j_ref, rtol=rtol, atol=1e-13)
    for name in ("x",) if f32 else ("Ie", "Ii", "Ix", "x"):
        np.testing.assert_allclose(res.extra[name], ref[name], rtol=rtol, atol=1e-12)


PRECISIONS = [(i, p) for p in ("float64", "float32") for i in ("exact", "reference")]


@pytest.mark.parametrize(("integrator", "precision"), PRECISIONS)
def test_kernel_static_matches_naive(integrator, precision):
    """Exact for both precisions: the float32 naive loop does the kernel's float32 arithmetic."""
    _p, J, ref, res, ours, J_ours = run_both(integrator=integrator, precision=precision)
    _check(ref, res, ours, J_ours, rtol=0)
    np.testing.assert_array_equal(J_ours, J)
    assert ref["V"].dtype == np.dtype(precision) and ref["x"].dtype == np.float64


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_static_blocks_with_unequal_weights_match_naive(precision):
    """Delivery reads the weights of a block only where they differ (sim.driver.make_net): a static
    network with one spread block, one block with a single odd weight and unequal X weights is
    still the naive loop bit for bit."""

    def spread(p, rng, J, Jx):
        ee = J[: p.Ne, : p.Ne]
        ee[ee != 0] *= rng.uniform(0.5, 1.5, np.count_nonzero(ee))
        ii = J[p.Ne :, p.Ne :]
        ii[np.nonzero(ii)[0][0], np.nonzero(ii)[1][0]] *= 1.5
        Jx[Jx != 0] *= rng.uniform(0.8, 1.2, np.count_nonzero(Jx))

    _p, _J, ref, res, ours, J_ours = run_both(seed=3, perturb=spread, precision=precision)
    _check(ref, res, ours, J_ours, rtol=0)


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_neuron_pass_blocks_match_naive(precision):
    """More cells than one block of the neuron pass (a full block and a partial one)."""
    from sim.kernel import BLOCK

    N = BLOCK + 77
    kw = dict(N=N, T=15.0, rx=0.05, p_ee=0.02, p_ei=0.02, p_ie=0.02, p_ii=0.02, p_ex=0.02, p_ix=0.02)
    _p, _J, ref, res, ours, J_ours = run_both(seed=6, precision=precision, **kw)
    assert {k for _, k in ours} & set(range(BLOCK)) and {k for _, k in ours} & set(range(BLOCK, N))
    _check(ref, res, ours, J_ours, rtol=0)


@pytest.mark.parametrize(("integrator", "precision"), PRECISIONS[:3])
@pytest.mark.parametrize("rule", [r for r in RULES if r != "static"])
def test_kernel_rule_on_every_block_matches_naive(rule, integrator, precision):
    kw = {f"rule_{b}": rule for b in BLOCKS} | {f"eta_{b}": 0.02 for b in BLOCKS}
    p, J, ref, res, ours, J_ours = run_both(integrator=integrator, precision=precision, **kw)
    _check(ref, res, ours, J_ours)
    assert np.max(np.abs(J_ours - J)) > 1e-4, "weights must have moved"
    for b, blk in enumerate(BLOCKS):  # block-mean j at the end and its running sum
        rows, cols = (slice(0, p.Ne) if c == "e" else slice(p.Ne, p.N) for c in blk)
        sub, mask = ref["J"][rows, cols], J[rows, cols] != 0
        mean_j = sub[mask].mean() * p.sqrtN
        assert res.summary[f"j_{blk}"] == pytest.approx(mean_j, rel=1e-10)
        assert res.weight_mean[b, -1] == pytest.approx(mean_j, rel=1e-9)  # 1-step bins


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_kernel_mixed_rules_and_stimulus_match_naive(precision):
    kw = dict(
        precision=precision,
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
        stim_on=10.0,
        stim_off=25.0,
    )
    _p, _J, ref, res, ours, J_ours = run_both(seed=3, **kw)
    _check(ref, res, ours, J_ours)


def test_one_plastic_block_with_a_full_incoming_index_matches_naive():
    """Only I->E plastic while the incoming index covers all four blocks (as sim.compat builds it)."""
    p, J, ref, res, ours, J_ours = run_both(seed=4, rule_ei="homeo", eta_ei=0.05)
    _check(ref, res, ours, J_ours)
    moved = np.abs(J_ours - J) > 0
    assert moved[: p.Ne, p.Ne :].any() and not moved[:, : p.Ne].any() and not moved[p.Ne :, p.Ne :].any()


@pytest.mark.parametrize("precision", ["float64", "float32"])
def test_kernel_calls_of_a_few_steps_match_naive(monkeypatch, precision):
    """The driver's chunking (33-step kernel calls, fast-firing cells) leaves the run unchanged."""
    from sim import driver

    monkeypatch.setattr(driver, "CHUNK_MS", 3.3)
    kw = dict(rule_ee="soft_hebb", eta_ee=0.01, rule_ei="homeo", eta_ei=0.01, rule_ie="oja", eta_ie=0.01,
              rule_ii="triplet", eta_ii=0.01, jestim=1.0, jistim=1.0, rate_max_hz=1000.0,
              precision=precision)  # fmt: skip
    p, J, ref, res, ours, J_ours = run_both(seed=5, **kw)
    _check(ref, res, ours, J_ours)
    for b, blk in enumerate(BLOCKS):  # block mean of the last 1-step bin
        rows, cols = (slice(0, p.Ne) if c == "e" else slice(p.Ne, p.N) for c in blk)
        mean_j = ref["J"][rows, cols][J[rows, cols] != 0].mean() * p.sqrtN
        assert res.weight_mean[b, -1] == pytest.approx(mean_j, rel=1e-9)


DEFERRED_ALL = dict(rule_ee="oja", rule_ei="homeo", rule_ie="oja", rule_ii="homeo", post_updates="deferred")
DEFERRED_RTOL = 1e-11
"""Deferred post events: the kernel sums x_pre as x_pre / g (acc - snap), the naive loop adds x_pre at
each post spike; the two sums differ by a few roundings of terms <= 1/FLUSH_DECAY, i.e. < 1e-9
relative of a pending change of ~eta x ~ 1e-2 of the weight: <= ~1e-11 of a weight."""


@pytest.mark.parametrize(("integrator", "precision"), PRECISIONS[:3])
def test_deferred_post_events_match_naive(integrator, precision):
    """Every block deferred (oja, homeo) against the naive loop's textbook deferral."""
    kw = DEFERRED_ALL | {f"eta_{b}": 0.02 for b in BLOCKS}
    p, J, ref, res, ours, J_ours = run_both(integrator=integrator, precision=precision, **kw)
    _check(ref, res, ours, J_ours, rtol=DEFERRED_RTOL)
    assert np.max(np.abs(J_ours - J)) > 1e-4, "weights must have moved"
    for b, blk in enumerate(BLOCKS):
        rows, cols = (slice(0, p.Ne) if c == "e" else slice(p.Ne, p.N) for c in blk)
        mean_j = ref["J"][rows, cols][J[rows, cols] != 0].mean() * p.sqrtN
        assert res.weight_mean[b, -1] == pytest.approx(mean_j, rel=1e-9)  # flushed at the last step


def test_deferred_and_immediate_blocks_mixed_match_naive():
    kw = dict(rule_ee="kohonen", eta_ee=0.03, rule_ei="homeo", eta_ei=0.02, rule_ie="oja", eta_ie=0.02,
              rule_ii="hebb", eta_ii=0.01, post_updates="deferred")  # fmt: skip
    _p, _J, ref, res, ours, J_ours = run_both(seed=3, **kw)
    _check(ref, res, ours, J_ours, rtol=DEFERRED_RTOL)


@pytest.mark.parametrize("tauSTDP", [200.0, 2.0])
def test_deferred_kernel_calls_and_flushes_match_naive(monkeypatch, tauSTDP):
    """33-step kernel calls flush at every call end; tauSTDP = 2 ms flushes every 250 steps (g >= 1e-6)."""
    from sim import driver

    if tauSTDP == 200.0:
        monkeypatch.setattr(driver, "CHUNK_MS", 3.3)
    kw = DEFERRED_ALL | {f"eta_{b}": 0.02 for b in BLOCKS} | dict(jestim=1.0, jistim=1.0, rate_max_hz=1000.0)
    p, _J, ref, res, ours, J_ours = run_both(seed=5, tauSTDP=tauSTDP, T=60.0, **kw)
    assert flush_steps(p) == (33 if tauSTDP == 200.0 else 250)
    _check(ref, res, ours, J_ours, rtol=DEFERRED_RTOL)


def test_deferred_post_events_change_the_weights_only_at_second_order():
    """The deferral is not the immediate rule (the test would notice a deferral that did nothing), but
    agrees with it to first order: J (1 + B sum x) against prod (1 + B x), and a post spike in the
    same step as the pre spike now first. At eta = 1e-3 over 45 ms the spikes stay the same and the
    weights differ by O(eta x) of their change."""
    kw = DEFERRED_ALL | {f"eta_{b}": 1e-3 for b in BLOCKS} | {"T": 45.0}
    _p, J, _ref, _res, ours_def, J_def = run_both(**kw)
    _p, _J, _ref, _r, ours_imm, J_imm = run_both(**(kw | {"post_updates": "immediate"}))
    assert ours_def == ours_imm
    moved = np.abs(J_imm - J).max()
    diff = np.abs(J_def - J_imm).max()
    assert 0 < diff < 0.01 * moved, (diff, moved)


def test_stimulus_changes_the_run():
    """B12: jestim really acts (the same network with and without it differs), only in its window."""
    _, _, ref0, *_ = run_both(seed=3)
    _, _, ref1, _res1, ours1, _ = run_both(seed=3, jestim=0.3, stim_on=20.0, stim_off=30.0)
    assert ours1 == ref1["spikes"]
    before = [s for s in ref0["spikes"] if s[0] <= 200]
    assert before == [s for s in ref1["spikes"] if s[0] <= 200]
    assert ref0["spikes"] != ref1["spikes"]


def test_hebb_clips_and_recovers_from_zero():
    """B9/B10: additive rules clip to [jmin, jmax] and a synapse at the bound stays a synapse."""
    kw = dict(rule_ee="hebb", eta_ee=0.5, jmin_ee=0.0, jmax_ee=26.0)
    p, J, ref, res, ours, J_ours = run_both(seed=2, **kw)
    _check(ref, res, ours, J_ours)
    ee = J_ours[: p.Ne, : p.Ne][J[: p.Ne, : p.Ne] != 0] * p.sqrtN
    assert ee.min() >= 0.0 and ee.max() <= 26.0 + 1e-12
    assert np.any(ee == 26.0)


@pytest.mark.parametrize("integrator", ["exact", "reference"])
def test_each_spike_delivers_its_charge(integrator):
    """'exact': a recurrent or X spike delivers exactly charge J; 'reference' loses a factor (1 - dt/tau)
    on recurrent spikes (MODEL.md §1.7). Charge = dt x sum of the current seen by the V updates."""
    N, Ne = 10, 8
    J, Jx = np.zeros((N, N)), np.zeros((N, 2))
    J[1, 0], J[2, 9], Jx[1, 0] = 0.3, -0.4, 0.5  # E 0 -> 1, I 9 -> 2, X 0 -> 1
    p = SimParams(N=N, T=300.0, frac_ext=0.2, integrator=integrator, record=dict(cells=8, dt=0.1))
    V0 = np.full(N, -75.0)
    V0[[0, 9]] = -49.0  # neurons 0 and 9 fire once in step 1
    res = run_network(p, connectivity_from_dense(J, Jx, Ne), (np.array([5.0]), np.array([0])), V0,
                      cells=np.array([1, 2]), keep_all_spikes=True)  # fmt: skip
    assert res.spike_neurons.tolist() == [0, 9]
    # the value recorded at step n (after the decay) is the one the V update of step n+1 uses
    q_e = p.dt * np.nansum(res.current_e[0])
    q_i = p.dt * np.nansum(res.current_i[1])
    fx = math.exp(-p.dt / p.taux) if integrator == "exact" else 1 - p.dt / p.taux
    q_x = p.dt * np.nansum(res.current_x[0]) / fx  # plus the delivery step itself (the tail is exact)
    loss_e = 1.0 if integrator == "exact" else 1 - p.dt / p.taue
    loss_i = 1.0 if integrator == "exact" else 1 - p.dt / p.taui
    assert q_e == pytest.approx(0.3 * loss_e, rel=1e-9)
    assert q_i == pytest.approx(-0.4 * loss_i, rel=1e-9)
    assert q_x == pytest.approx(0.5, rel=1e-9)


def test_prefetch_reads_nothing_and_never_faults():
    """A prefetch is only a hint: far past the end of an array (a real load there would fault) it
    neither crashes nor changes anything."""
    from sim.prefetch import prefetch_range

    a = np.arange(1000, dtype=np.uint16)
    prefetch_range(a, 0, 1 << 24)
    w = np.linspace(0.0, 1.0, 10)
    prefetch_range(w, 5, 1 << 24)
    assert np.array_equal(a, np.arange(1000, dtype=np.uint16)) and w[-1] == 1.0
    _prefetch_l2_range(a, 1 << 24)
    _prefetch_l2_range(w, 1 << 24)
    assert np.array_equal(a, np.arange(1000, dtype=np.uint16)) and w[-1] == 1.0


@njit
def _prefetch_l2_range(a, hi):
    for s in range(0, hi, 8):
        prefetch_l2(a, s)
