"""The step loop of MODEL.md §1.7 in Numba: all state lives in arrays passed in (NamedTuples).

Per step n (t_n = n dt): 1 deliver X spikes with step <= n; 2 EIF voltage update (vectorised,
fast exp); 3 threshold scan; 4 recurrent delivery with pre-plasticity weights; 5 plasticity per
block EE, IE, EI, II (pre events then post events, traces read before increments); 6 trace
increments; 7 current decay; 8 trace decay; 9 recording (spikers shown at Vth) and reset.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit

from sim.fastexp import LN2_HI, LN2_LO, LOG2E, Y_MAX, Y_MIN
from sim.plasticity import apply_block

OK, DIVERGED_RATE, DIVERGED_NONFINITE = 0, 1, 2


class Net(NamedTuple):
    """Synapses: recurrent CSR by pre, incoming index by post, X CSR with pre-scaled increments."""

    out_ptr: np.ndarray
    out_split: np.ndarray
    out_post: np.ndarray
    weight: np.ndarray
    in_ptr: np.ndarray
    in_split: np.ndarray
    in_syn: np.ndarray
    in_pre: np.ndarray
    x_ptr: np.ndarray
    x_post: np.ndarray
    x_inc: np.ndarray


class State(NamedTuple):
    """Dynamic state plus scratch buffers; `block_sum` is the running sum of J per block."""

    V: np.ndarray
    Ie: np.ndarray
    Ii: np.ndarray
    Ix: np.ndarray
    x: np.ndarray
    block_sum: np.ndarray  # float64[4]
    bits: np.ndarray  # int64[N] scratch for 2^k
    poly: np.ndarray  # float64[N] scratch for exp polynomial
    spikes: np.ndarray  # int64[N] this step's spikers
    stim: np.ndarray  # float64[N] stimulus amplitude J_stim
    guard: np.ndarray  # int64[1] spikes in the current guard window


class Consts(NamedTuple):
    """Scalars of the step loop (units: ms, mV, mV/ms; factors per step)."""

    N: int
    Ne: int
    dt_cm: float
    gL: float
    EL: float
    VT: float
    inv_dT: float
    gLDT: float
    Vth: float
    Vre: float
    fe: float
    fi: float
    fx: float
    fs: float
    inc_e: float
    inc_i: float
    n_on: int
    n_off: int
    guard_steps: int
    guard_max: int
    rec_steps: int
    rate_steps: int
    burn_step: int
    win_steps: int
    raster_e: int
    raster_i: int
    raster_from: int
    any_plastic: int


class Plast(NamedTuple):
    """Plasticity flags int64[4] and coefficients float64[4, 12] (sim.plasticity layout)."""

    flags: np.ndarray
    coef: np.ndarray


class Rec(NamedTuple):
    """Online recordings (sums; the driver divides by counts)."""

    rate_e: np.ndarray  # int64[n_rate_bins]
    rate_i: np.ndarray
    counts: np.ndarray  # int64[N] spikes at t_n >= burn-in
    win_counts: np.ndarray  # uint16[n_windows, N]
    cells: np.ndarray  # int64[n_cells]
    cur_e: np.ndarray  # float64[n_cells, n_rec]
    cur_i: np.ndarray
    cur_x: np.ndarray
    volt: np.ndarray
    samp_syn: np.ndarray  # int64[4, n_samp], -1 padded
    samp: np.ndarray  # float64[4, n_samp, n_rec] sums of J
    wmean: np.ndarray  # float64[4, n_rec] sums of block-mean J
    bin_steps: np.ndarray  # int64[n_rec]
    acc_e: np.ndarray  # float64[N] sums of I^e after burn-in
    acc_i: np.ndarray
    acc_x: np.ndarray
    raster_step: np.ndarray  # int64[cap]
    raster_id: np.ndarray  # int32[cap]
    raster_n: np.ndarray  # int64[2]: stored, dropped
    inv_count: np.ndarray  # float64[4] 1 / synapses per block (0 if none)


@njit(cache=True, nogil=True, fastmath={"contract"})
def eif_exp(V, VT, inv_dT, bits, poly):
    """exp((V - VT)/DeltaT) as poly * 2^k (see sim.fastexp), vectorised over neurons."""
    for i in range(V.size):
        t = min(max((V[i] - VT) * inv_dT, Y_MIN), Y_MAX)
        kf = np.floor(t * LOG2E + 0.5)
        r = (t - kf * LN2_HI) - kf * LN2_LO
        p = 2.08767569878680989792e-09
        p = p * r + 2.50521083854417187751e-08
        p = p * r + 2.75573192239858906526e-07
        p = p * r + 2.75573192239858906526e-06
        p = p * r + 2.48015873015873015873e-05
        p = p * r + 1.98412698412698412698e-04
        p = p * r + 1.38888888888888888889e-03
        p = p * r + 8.33333333333333333333e-03
        p = p * r + 4.16666666666666666667e-02
        p = p * r + 1.66666666666666666667e-01
        p = p * r + 0.5
        p = p * r + 1.0
        p = p * r + 1.0
        poly[i] = p
        bits[i] = (np.int64(kf) + 1023) << 52


@njit(cache=True, nogil=True)
def update_voltage(st, c, stim_on, acc, rec):
    """Euler step of V (step 2); optionally adds the stimulus and accumulates currents."""
    V, Ie, Ii, Ix = st.V, st.Ie, st.Ii, st.Ix
    eif_exp(V, c.VT, c.inv_dT, st.bits, st.poly)
    e2k = st.bits.view(np.float64)
    poly, stim = st.poly, st.stim
    dt_cm, gL, EL, gLDT = c.dt_cm, c.gL, c.EL, c.gLDT
    if stim_on:
        for i in range(V.size):
            v = V[i]
            V[i] = v + dt_cm * (stim[i] + Ie[i] + Ii[i] + Ix[i] + gL * (EL - v) + gLDT * (poly[i] * e2k[i]))
    else:
        for i in range(V.size):
            v = V[i]
            V[i] = v + dt_cm * (Ie[i] + Ii[i] + Ix[i] + gL * (EL - v) + gLDT * (poly[i] * e2k[i]))
    if acc:
        ae, ai, ax = rec.acc_e, rec.acc_i, rec.acc_x
        for i in range(V.size):
            ae[i] += Ie[i]
            ai[i] += Ii[i]
            ax[i] += Ix[i]


@njit(cache=True, nogil=True)
def scan_threshold(V, Vth, spikes):
    """Step 3: indices with V >= Vth (or non-finite) into `spikes`; returns (count, any non-finite)."""
    ns = 0
    for i in range(V.size):
        if not V[i] < Vth:
            spikes[ns] = i
            ns += 1
    bad = False
    for j in range(ns):
        if not np.isfinite(V[spikes[j]]):
            bad = True
    return ns, bad


@njit(cache=True, nogil=True)
def deliver_recurrent(net, st, c, ns):
    """Step 4: each spiker adds w * increment to I^e (E pre) or I^i (I pre) of its targets."""
    out_ptr, post, w = net.out_ptr, net.out_post, net.weight
    for j in range(ns):
        k = st.spikes[j]
        if k < c.Ne:
            inc, cur = c.inc_e, st.Ie
        else:
            inc, cur = c.inc_i, st.Ii
        for s in range(out_ptr[k], out_ptr[k + 1]):
            cur[post[s]] += w[s] * inc


@njit(cache=True, nogil=True)
def decay(st, c):
    """Steps 7-8: exponential (or Euler) decay of currents and traces."""
    Ie, Ii, Ix, x = st.Ie, st.Ii, st.Ix, st.x
    fe, fi, fx, fs = c.fe, c.fi, c.fx, c.fs
    for i in range(Ie.size):
        Ie[i] *= fe
        Ii[i] *= fi
        Ix[i] *= fx
        x[i] *= fs


@njit(cache=True, nogil=True)
def record_step(n, st, c, rec, ns, net):
    """Step 9: bin sums of recorded cells, sampled/block-mean weights, spike counts, raster."""
    b = (n - 1) // c.rec_steps
    rec.bin_steps[b] += 1
    cells = rec.cells
    for q in range(cells.size):
        i = cells[q]
        rec.cur_e[q, b] += st.Ie[i]
        rec.cur_i[q, b] += st.Ii[i]
        rec.cur_x[q, b] += st.Ix[i]
        rec.volt[q, b] += st.V[i]
    for blk in range(4):
        rec.wmean[blk, b] += st.block_sum[blk] * rec.inv_count[blk]
        for q in range(rec.samp_syn.shape[1]):
            s = rec.samp_syn[blk, q]
            if s >= 0:
                rec.samp[blk, q, b] += net.weight[s]
    rb = (n - 1) // c.rate_steps
    nw = rec.win_counts.shape[0]
    w = (n - c.burn_step) // c.win_steps if n >= c.burn_step else nw
    for j in range(ns):
        k = st.spikes[j]
        if k < c.Ne:
            rec.rate_e[rb] += 1
        else:
            rec.rate_i[rb] += 1
        if n >= c.burn_step:
            rec.counts[k] += 1
        if w < nw and rec.win_counts[w, k] < 65535:
            rec.win_counts[w, k] += 1
        if n >= c.raster_from and (k < c.raster_e or (k >= c.Ne and k < c.Ne + c.raster_i)):
            if rec.raster_n[0] < rec.raster_step.size:
                rec.raster_step[rec.raster_n[0]] = n
                rec.raster_id[rec.raster_n[0]] = k
                rec.raster_n[0] += 1
            else:
                rec.raster_n[1] += 1


@njit(cache=True, nogil=True)
def run_steps(n0, n1, xs_step, xs_id, net, st, c, pl, rec):
    """Advance steps n0 .. n1-1; returns (last completed step, status OK/DIVERGED_*)."""
    q = 0
    nxs = xs_step.size
    for n in range(n0, n1):
        while q < nxs and xs_step[q] <= n:  # 1 feed-forward delivery
            m = xs_id[q]
            for s in range(net.x_ptr[m], net.x_ptr[m + 1]):
                st.Ix[net.x_post[s]] += net.x_inc[s]
            q += 1
        update_voltage(st, c, n >= c.n_on and n < c.n_off, n >= c.burn_step, rec)  # 2
        ns, bad = scan_threshold(st.V, c.Vth, st.spikes)  # 3
        deliver_recurrent(net, st, c, ns)  # 4
        if c.any_plastic and ns > 0:  # 5: EE, IE, EI, II
            for b in (0, 2, 1, 3):
                if pl.flags[b]:
                    st.block_sum[b] += apply_block(
                        b,
                        pl.coef[b],
                        st.spikes,
                        ns,
                        c.Ne,
                        net.weight,
                        st.x,
                        net.out_ptr,
                        net.out_split,
                        net.out_post,
                        net.in_ptr,
                        net.in_split,
                        net.in_syn,
                        net.in_pre,
                    )
        for j in range(ns):  # 6
            st.x[st.spikes[j]] += 1.0
        decay(st, c)  # 7, 8
        for j in range(ns):  # 9
            st.V[st.spikes[j]] = c.Vth
        record_step(n, st, c, rec, ns, net)
        for j in range(ns):
            st.V[st.spikes[j]] = c.Vre
        st.guard[0] += ns
        if bad:
            return n, DIVERGED_NONFINITE
        if st.guard[0] > c.guard_max:
            return n, DIVERGED_RATE
        if n % c.guard_steps == 0:
            st.guard[0] = 0
    return n1 - 1, OK
