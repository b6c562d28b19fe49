"""The step loop of MODEL.md §1.7 in Numba: all state lives in arrays passed in (NamedTuples).

Per step n (t_n = n dt): 1 deliver X spikes with step <= n; 2 EIF voltage update (vectorised,
fast exp); 3 threshold scan; 4 recurrent delivery with pre-plasticity weights; 5 plasticity per
block EE, IE, EI, II (pre events then post events, traces read before increments); 6 trace
increments; 7 current decay; 8 trace decay; 9 recording (spikers shown at Vth) and reset.

With post_updates="deferred", the post events of oja/homeo blocks only add to per-cell sums at the
post spike; each synapse applies them at its next pre event, just before that event (so a post
spike in the same step now comes first), or at a flush (sim.plasticity.apply_pre_deferred).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import njit, types
from numba.extending import intrinsic, overload

from sim.fastexp import exp_parts_scalar, exp_parts_scalar32
from sim.plasticity import BLOCK_ORDER, DEFERRED, apply_block, current_weight, flush_deferred
from sim.prefetch import prefetch, prefetch_range

OK, DIVERGED_RATE, DIVERGED_NONFINITE = 0, 1, 2
BLOCK = 1024
"""Neurons per block of the neuron pass (1024: runs 5-11 % faster than with 256 at N = 1000-10,000;
docs/sim.md): the per-block cost of the fused loop is amortised, and the threshold scans stay rare."""
POST_PREFETCH_MAX = 8192
"""Most post-spike updates per step whose weights are prefetched: at N = 50,000 (~34,000 per step) the
prefetches cost 5 % more than they save; at N = 5000 (~360) and 20,000 (~5600) they save 2 %."""
ACC_EVERY = 10
SAMPLE_EVERY = 10
"""Sampled synapse weights enter their bin mean every this many steps (1 ms): they are scattered in
memory, and weights move far less than their spread within a millisecond."""
"""Mean currents are sampled every this many steps (1 ms at dt = 0.1: currents are smooth on that scale)."""


class Net(NamedTuple):
    """Synapses: recurrent CSR by pre, incoming index by post, X CSR by X neuron (views, no copies)."""

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
    x_weight: np.ndarray  # J units; times Consts.inc_x at delivery
    x_split: np.ndarray  # int64[Nx] first I target of each X row
    uniform: np.ndarray  # float64[6] w * inc of static blocks with equal weights, else NaN (make_net)


class State(NamedTuple):
    """Dynamic state plus scratch buffers; `block_sum` is the running sum of J per block.

    V, Ie, Ii, Ix (and stim) are float64 or, with precision="float32", float32; traces x and weights
    are always float64. The kernel is the same code for both (Numba specialises on the dtypes).
    """

    V: np.ndarray
    Ie: np.ndarray
    Ii: np.ndarray
    Ix: np.ndarray
    x: np.ndarray  # float64[N]
    block_sum: np.ndarray  # float64[4]
    S: np.ndarray  # [5, N] float64 (rows V, Ie, Ii, Ix, x) or [4, N] float32 (no x): the fields are row views
    spikes: np.ndarray  # int64[N] this step's spikers
    stim: np.ndarray  # [N] stimulus amplitude J_stim, the dtype of V
    guard: np.ndarray  # int64[1] spikes in the current guard window
    wbuf: np.ndarray  # float64[max in-degree] scratch of the post-spike updates
    post_acc: np.ndarray  # float64[N] per cell, sum of g over its spikes since the last flush (deferral)
    post_snap: np.ndarray  # float64[synapses from Consts.snap_from on] post_acc at each synapse's last event
    defer_g: np.ndarray  # float64[1] g = fs^(steps since the last flush)


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
    inc_e: float  # charge increment of an E spike, already multiplied by fe (delivered after the decay)
    inc_i: float  # same for I spikes, times fi
    inc_x: float  # charge increment of an X spike (delivered before the V update)
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
    flush_steps: int  # deferred post events are all applied at steps n % flush_steps == 0 (0: none deferred)
    snap_from: int  # the synapse of post_snap[0]


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
    cur_e: np.ndarray  # float64[n_rec, n_cells]
    cur_i: np.ndarray
    cur_x: np.ndarray
    volt: np.ndarray
    samp_syn: np.ndarray  # int64[4, n_samp], -1 padded
    samp: np.ndarray  # float64[4, n_samp, n_rec] sums of J
    wmean: np.ndarray  # float64[4, n_rec] sums of block-mean J
    bin_steps: np.ndarray  # int64[n_rec]
    samp_steps: np.ndarray  # int64[n_rec] steps at which sampled weights were added
    samp_pre: np.ndarray  # int64[4, n_samp] pre cell of each sampled synapse
    samp_w: np.ndarray  # float64[4, n_samp] their current values at a sampling step (sample_weights)
    acc_e: np.ndarray  # float64[N] sums of I^e after burn-in
    acc_i: np.ndarray
    acc_x: np.ndarray
    raster_step: np.ndarray  # int64[cap]
    raster_id: np.ndarray  # int32[cap]
    raster_n: np.ndarray  # int64[2]: stored, dropped
    inv_count: np.ndarray  # float64[4] 1 / synapses per block (0 if none)


@intrinsic
def _bits_as_float(typingctx, x):
    """int64 (int32) bits as float64 (float32): free; keeps the exp loop vectorisable."""
    flt = types.float32 if x == types.int32 else types.float64

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], context.get_value_type(flt))

    return flt(x), codegen


def like(a, x):
    """x as a scalar of a's dtype (float32 arrays get float32 constants: their arithmetic stays float32)."""
    return a.dtype.type(x)


@overload(like, jit_options={"cache": True, "nogil": True})
def _like(a, x):
    if a.dtype == types.float32:
        return lambda a, x: np.float32(x)
    return lambda a, x: x


def _exp_parts(v, VT, inv_dT):
    """(P(r), bits of 2^k) with exp((v - VT)/DeltaT) = P(r) 2^k (sim.fastexp, FMA contraction only)."""
    return (exp_parts_scalar32 if isinstance(v, np.float32) else exp_parts_scalar)((v - VT) * inv_dT)


@overload(_exp_parts, jit_options={"cache": True, "nogil": True})
def _exp_parts_impl(v, VT, inv_dT):
    if v == types.float32:
        return lambda v, VT, inv_dT: exp_parts_scalar32((v - VT) * inv_dT)
    return lambda v, VT, inv_dT: exp_parts_scalar((v - VT) * inv_dT)


@njit(cache=True, nogil=True)
def eif_exp(V, VT, inv_dT, bits, poly):
    """exp((V - VT)/DeltaT) as poly * 2^k into two arrays: the kernel's exp, exposed for tests (VT and
    inv_dT are taken in V's dtype, as in the kernel)."""
    VT, inv_dT = like(V, VT), like(V, inv_dT)
    for i in range(V.size):
        poly[i], bits[i] = _exp_parts(V[i], VT, inv_dT)


@njit(cache=True, nogil=True)
def _eif(v, VT, inv_dT):
    """exp((v - VT)/DeltaT) = P(r) * 2^k, the product rounded once (as poly * bits.view(float64/32))."""
    p, b = _exp_parts(v, VT, inv_dT)
    return p * _bits_as_float(b)


@njit(cache=True, nogil=True)
def _euler(V, Ie, Ii, Ix, x, stim, c, with_stim):
    """V += dt/Cm (I + leak + EIF) for the given cells, then the current decay of step 7 and the trace decay
    closing the previous step, in one vectorised loop (the callee keeps its own FMA flags); True if
    some V >= Vth. The constants take V's dtype (float32 arithmetic for float32 state); x stays float64."""
    dt_cm, gL, EL, gLDT = like(V, c.dt_cm), like(V, c.gL), like(V, c.EL), like(V, c.gLDT)
    Vth, VT, inv_dT = like(V, c.Vth), like(V, c.VT), like(V, c.inv_dT)
    fe, fi, fx, fs = like(V, c.fe), like(V, c.fi), like(V, c.fx), c.fs
    hit = False
    if with_stim:
        for i in range(V.size):
            v, a, b, d = V[i], Ie[i], Ii[i], Ix[i]
            nv = v + dt_cm * (stim[i] + a + b + d + gL * (EL - v) + gLDT * _eif(v, VT, inv_dT))
            V[i] = nv
            hit |= not nv < Vth
            Ie[i], Ii[i], Ix[i] = a * fe, b * fi, d * fx
    else:
        for i in range(V.size):
            v, a, b, d = V[i], Ie[i], Ii[i], Ix[i]
            nv = v + dt_cm * (a + b + d + gL * (EL - v) + gLDT * _eif(v, VT, inv_dT))
            V[i] = nv
            hit |= not nv < Vth
            Ie[i], Ii[i], Ix[i] = a * fe, b * fi, d * fx
    for i in range(x.size):  # its own loop: float64 lanes would halve the float32 loop's vector width
        x[i] *= fs
    return hit


@njit(cache=True, nogil=True, inline="always")
def prefetch_rows(net, i, Ne):
    """Start loading spiker i's rows: its targets, the weights delivery reads, its incoming index."""
    lo, hi = net.out_ptr[i], net.out_ptr[i + 1]
    prefetch_range(net.out_post, lo, hi)
    pre_i = 1 if i >= Ne else 0
    if np.isnan(net.uniform[pre_i]):
        prefetch_range(net.weight, lo, net.out_split[i])
    if np.isnan(net.uniform[2 + pre_i]):
        prefetch_range(net.weight, net.out_split[i], hi)
    prefetch_range(net.in_syn, net.in_ptr[i], net.in_ptr[i + 1])
    prefetch_range(net.in_pre, net.in_ptr[i], net.in_ptr[i + 1])


@njit(cache=True, nogil=True, inline="always")
def prefetch_x_rows(net, xs_step, xs_id, q, n):
    """Start loading the X rows that step n will deliver (X spikes q, q+1, ... with step <= n)."""
    while q < xs_step.size and xs_step[q] <= n:
        prefetch_range(net.x_post, net.x_ptr[xs_id[q]], net.x_ptr[xs_id[q] + 1])
        q += 1


@njit(cache=True, nogil=True, inline="always")
def prefetch_post_weights(net, spikes, lo, ns):
    """Start loading the scattered weights that the post-spike updates of spikers spikes[lo:lo+ns] will
    touch, unless they are more than POST_PREFETCH_MAX (then the prefetches only queue up)."""
    total = 0
    for j in range(lo, lo + ns):
        total += net.in_ptr[spikes[j] + 1] - net.in_ptr[spikes[j]]
    if total > POST_PREFETCH_MAX:
        return
    for j in range(lo, lo + ns):
        i = spikes[j]
        for q in range(net.in_ptr[i], net.in_ptr[i + 1]):
            prefetch(net.weight, net.in_syn[q])


@njit(cache=True, nogil=True, inline="always")
def neuron_pass(st, c, stim_on, net):
    """Steps 2, 3, 7 and the previous step's 8; returns (number of spikers, non-finite spiker V).

    Per block of BLOCK cells, one fused vectorised loop: fast exp, Euler update of V, current decay
    (recurrent spikes of this step are added later already multiplied by the decay factor), the
    trace decay that closes the previous step; then a threshold scan only in blocks where some V
    crossed. (In the full kernel, blocks measured faster than one loop over all cells.)
    """
    V, Ie, Ii, Ix, x, stim, spikes = st.V, st.Ie, st.Ii, st.Ix, st.x, st.stim, st.spikes
    N = V.size
    Vth = like(V, c.Vth)
    ns = 0
    for lo in range(0, N, BLOCK):
        hi = min(lo + BLOCK, N)
        if _euler(V[lo:hi], Ie[lo:hi], Ii[lo:hi], Ix[lo:hi], x[lo:hi], stim[lo:hi], c, stim_on):
            for i in range(lo, hi):
                if not V[i] < Vth:
                    spikes[ns] = i
                    ns += 1
                    prefetch_rows(net, i, c.Ne)
    bad = False
    for j in range(ns):
        if not np.isfinite(V[spikes[j]]):
            bad = True
    return ns, bad


@njit(cache=True, nogil=True, inline="always")
def accumulate_currents(st, rec):
    """Add I^e, I^i, I^x of every neuron to the mean-current sums (sampled every ACC_EVERY steps)."""
    ae, ai, ax, Ie, Ii, Ix = rec.acc_e, rec.acc_i, rec.acc_x, st.Ie, st.Ii, st.Ix
    for i in range(ae.size):
        ae[i] += Ie[i]
    for i in range(ai.size):
        ai[i] += Ii[i]
    for i in range(ax.size):
        ax[i] += Ix[i]


@njit(cache=True, nogil=True, inline="always")
def _deliver_part(cur, post, weight, lo, hi, inc, u):
    """cur[post[s]] += weight[s] * inc over [lo, hi); u (= that product, or NaN) spares the weight loads."""
    if np.isnan(u):
        for s in range(lo, hi):
            cur[post[s]] += weight[s] * inc
    else:
        for s in range(lo, hi):
            cur[post[s]] += u


@njit(cache=True, nogil=True, inline="always")
def deliver_row(cur, post, weight, lo, mid, hi, inc, u_e, u_i):
    """Deliver synapses [lo, hi) of a row whose I targets start at mid; u_e, u_i: its blocks' uniform
    increments (NaN where the weights must be read)."""
    _deliver_part(cur, post, weight, lo, min(hi, mid), inc, u_e)
    _deliver_part(cur, post, weight, max(lo, mid), hi, inc, u_i)


@njit(cache=True, nogil=True, inline="always")
def deliver_recurrent(net, st, c, ns):
    """Step 4: each spiker adds w * increment to I^e (E pre) or I^i (I pre) of its targets."""
    u = net.uniform
    for j in range(ns):
        k = st.spikes[j]
        if k < c.Ne:
            inc, cur, u_e, u_i = c.inc_e, st.Ie, u[0], u[2]
        else:
            inc, cur, u_e, u_i = c.inc_i, st.Ii, u[1], u[3]
        lo, mid, hi = net.out_ptr[k], net.out_split[k], net.out_ptr[k + 1]
        deliver_row(cur, net.out_post, net.weight, lo, mid, hi, inc, u_e, u_i)


@njit(cache=True, nogil=True, inline="always")
def deliver_x(net, st, c, m, lo, hi):
    """Step 1 for X neuron m, on its synapses [lo, hi) (all of them, or one thread's share)."""
    u = net.uniform
    deliver_row(st.Ix, net.x_post, net.x_weight, lo, net.x_split[m], hi, c.inc_x, u[4], u[5])


@njit(cache=True, nogil=True, inline="always")
def _add_at(dst, src, idx):
    """dst[q] += src[idx[q]] for every q."""
    for q in range(idx.size):
        dst[q] += src[idx[q]]


@njit(cache=True, nogil=True, inline="always")
def is_sample_step(n, c):
    """Whether step n adds the sampled weights to its bin (every SAMPLE_EVERY steps of a bin)."""
    return ((n - 1) % c.rec_steps) % SAMPLE_EVERY == 0


@njit(cache=True, nogil=True)
def sample_weights(rec, net, st, pl, lo, hi, g, base):
    """Current values of the sampled weights onto cells [lo, hi) into rec.samp_w: deferred synapses with
    their pending post events applied (g: the deferral's decay factor, base: Consts.snap_from)."""
    for blk in range(4):
        for q in range(rec.samp_syn.shape[1]):
            s = rec.samp_syn[blk, q]
            if s >= 0:
                i = net.out_post[s]
                if i >= lo and i < hi:
                    w = net.weight[s]
                    if pl.flags[blk] == DEFERRED:
                        xg = st.x[rec.samp_pre[blk, q]] / g
                        w = current_weight(pl.coef[blk], w, xg, st.post_acc[i], st.post_snap[s - base])
                    rec.samp_w[blk, q] = w


@njit(cache=True, nogil=True)
def flush_block(b, coef, net, x, acc, snap, base, g, Ne, row_lo, row_hi):
    """Apply every pending post event of deferred block b (0 ee, 1 ei, 2 ie, 3 ii) on synapses
    [row_lo[k], row_hi[k]) of each pre row k and zero their snapshots; returns the change of the block sum."""
    post_i = b >= 2
    pre_i = b == 1 or b == 3
    N = net.out_ptr.size - 1
    delta = 0.0
    for k in range(Ne if pre_i else 0, N if pre_i else Ne):
        if post_i:
            lo, hi = max(net.out_split[k], row_lo[k]), min(net.out_ptr[k + 1], row_hi[k])
        else:
            lo, hi = max(net.out_ptr[k], row_lo[k]), min(net.out_split[k], row_hi[k])
        if lo < hi:
            delta += flush_deferred(coef, net.weight, lo, hi, net.out_post, acc, snap, base, x[k] / g)
    return delta


@njit(cache=True, nogil=True, inline="always")
def record_step(n, st, c, rec, ns, net):
    """Step 9: bin sums of recorded cells, sampled/block-mean weights, spike counts, raster."""
    b = (n - 1) // c.rec_steps
    rec.bin_steps[b] += 1
    cells = rec.cells
    _add_at(rec.cur_e[b], st.Ie, cells)
    _add_at(rec.cur_i[b], st.Ii, cells)
    _add_at(rec.cur_x[b], st.Ix, cells)
    _add_at(rec.volt[b], st.V, cells)
    for blk in range(4):
        rec.wmean[blk, b] += st.block_sum[blk] * rec.inv_count[blk]
    if is_sample_step(n, c):  # scattered reads: sampled every SAMPLE_EVERY steps (sample_weights)
        rec.samp_steps[b] += 1
        for blk in range(4):
            for q in range(rec.samp_syn.shape[1]):
                if rec.samp_syn[blk, q] >= 0:
                    rec.samp[blk, q, b] += rec.samp_w[blk, q]
    elif (n % c.rec_steps) % SAMPLE_EVERY == 0:  # the next step samples: start loading those weights
        for blk in range(4):
            for q in range(rec.samp_syn.shape[1]):
                if rec.samp_syn[blk, q] >= 0:
                    prefetch(net.weight, rec.samp_syn[blk, q])
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
            deliver_x(net, st, c, m, net.x_ptr[m], net.x_ptr[m + 1])
            q += 1
        prefetch_x_rows(net, xs_step, xs_id, q, n + 1)
        if n >= c.burn_step and (n - c.burn_step) % ACC_EVERY == 0:
            accumulate_currents(st, rec)
        ns, bad = neuron_pass(st, c, n >= c.n_on and n < c.n_off, net)  # 2, 3, 7 (8 of step n-1)
        deliver_recurrent(net, st, c, ns)  # 4 (increments pre-multiplied by the decay of step 7)
        if c.any_plastic:
            prefetch_post_weights(net, st.spikes, 0, ns)
        if c.flush_steps > 0:  # the deferral's sums: g decays with the traces; post spikes add it
            st.defer_g[0] *= c.fs
            for j in range(ns):
                st.post_acc[st.spikes[j]] += st.defer_g[0]
        if c.any_plastic and ns > 0:  # 5: EE, IE, EI, II
            for b in BLOCK_ORDER:
                if pl.flags[b]:
                    d = apply_block(b, pl.coef[b], net, st, ns, c.Ne, pl.flags[b] == DEFERRED, c.snap_from)
                    st.block_sum[b] += d
        stop = bad or st.guard[0] + ns > c.guard_max
        if c.flush_steps > 0 and (n % c.flush_steps == 0 or n == n1 - 1 or stop):
            for b in range(4):
                if pl.flags[b] == DEFERRED:
                    st.block_sum[b] += flush_block(
                        b,
                        pl.coef[b],
                        net,
                        st.x,
                        st.post_acc,
                        st.post_snap,
                        c.snap_from,
                        st.defer_g[0],
                        c.Ne,
                        net.out_ptr[:-1],
                        net.out_ptr[1:],
                    )
            st.post_acc[:] = 0.0
            st.defer_g[0] = 1.0
        for j in range(ns):  # 6
            st.x[st.spikes[j]] += 1.0
        if is_sample_step(n, c):
            sample_weights(rec, net, st, pl, 0, c.N, st.defer_g[0], c.snap_from)
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
