"""One run on several cores: threads own ranges of postsynaptic cells and meet at two spin barriers.

Thread t owns cells [lo_t, hi_t) (BLOCK-aligned, so the neuron pass calls `kernel._euler` on the same
blocks as one thread) and every synapse whose post cell it owns; rows of the recurrent and X CSRs
are sorted by post, so per row the thread's synapses are one sub-range (split pointers). Step n:

  thread t, own cells only: X delivery, current sums, neuron pass -> its spike list (buffer n % 2)
  barrier A
  thread t: recurrent delivery of ALL spikers (thread order = ascending cells, as one thread) onto
            own posts; plasticity per block in BLOCK_ORDER: pre events of all spikers on the own-post
            part of their row, post events of own spikers; V of own spikers -> Vth, copy own
            recorded cells to the snapshot, V -> Vre
  barrier B
  thread t: traces x += 1 of own spikers; the guard (every thread computes the same decision)
  thread 0: block sums += the threads' deltas, `kernel.record_step` on the snapshot and the spikers

Race-freedom: between A and B a thread writes only its own cells' I^e, I^i and weights of synapses
onto its cells; it reads all spike lists (written before A) and all traces x (decayed before A by
their owners, incremented only after B). After B thread 0 reads the snapshot, the spike lists (the
next step writes the other buffer; the one after that comes after the next barrier A, which thread
0 reaches only after recording) and sampled weights (changed only after the next A). Every synapse
and every cell sees the same operations in the same order as with one thread, so spikes, V,
currents, traces and weights are bit-identical; only the running block sums (recorded as
`weight_mean`) add the step's change as a sum of per-thread parts, which may differ at rounding.
"""

from __future__ import annotations

import threading
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from sim.atomics import ABORT, barrier_wait, cycles
from sim.kernel import (
    ACC_EVERY,
    BLOCK,
    DIVERGED_NONFINITE,
    DIVERGED_RATE,
    OK,
    Net,
    Rec,
    State,
    _euler,
    deliver_row,
    deliver_x,
    flush_block,
    is_sample_step,
    prefetch_post_weights,
    prefetch_rows,
    record_step,
    sample_weights,
)
from sim.plasticity import BLOCK_ORDER, DEFERRED, apply_post, apply_pre, apply_pre_deferred
from sim.prefetch import prefetch_range

ABORTED = -1
"""Status of a thread that left because another one failed (the driver re-raises that failure)."""


class Split(NamedTuple):
    """The threads' shares of the network and the data they exchange at the barriers."""

    bounds: np.ndarray  # int64[T+1] cell ranges, BLOCK-aligned
    out_sp: np.ndarray  # int64[T+1, N] per recurrent row: first synapse onto each thread's cells
    x_sp: np.ndarray  # int64[T+1, Nx] the same for X rows
    wbuf: np.ndarray  # float64[T, max in-degree] post-event scratch per thread
    spk: np.ndarray  # int64[2, N] spike lists by step parity; thread t's at [lo_t, lo_t + ns)
    nsp: np.ndarray  # int64[2, T] spikers per thread by step parity
    bad: np.ndarray  # int64[2, T] non-finite spiker V by step parity
    delta: np.ndarray  # float64[T, 4] this step's change of each block sum per thread
    snap: np.ndarray  # float64[4, n_cells] V, Ie, Ii, Ix of the recorded cells at recording time
    gspk: np.ndarray  # int64[N] all spikers in order (thread 0, for recording)
    bar: np.ndarray  # int64[3] barrier arrivals, abort flag, sleepers (sim.atomics)
    wait: np.ndarray  # int64[T, 2] CPU cycles waited at the barriers, cycles in the kernel (load balance)


class Threads(NamedTuple):
    """A prepared threaded run: the split and the views thread 0 records from."""

    split: Split
    snap_st: State
    snap_rec: Rec


def check_threads(threads: Any) -> int:
    """`threads` as an int >= 1, else a ValueError naming it."""
    if isinstance(threads, bool) or not isinstance(threads, int | np.integer) or threads < 1:
        raise ValueError(f"threads must be an integer >= 1, got {threads!r}")
    return int(threads)


def cell_bounds(N: int, threads: int) -> np.ndarray:
    """Cell ranges of at most `threads` threads: whole BLOCKs, shared out as evenly as possible."""
    nblocks = -(-N // BLOCK)
    T = max(1, min(threads, nblocks))
    per = np.full(T, nblocks // T)
    per[: nblocks % T] += 1
    return np.minimum(np.concatenate([[0], np.cumsum(per)]) * BLOCK, N).astype(np.int64)


@njit(cache=True, nogil=True)
def rows_sorted(ptr, post):
    """True if every CSR row lists its posts in ascending order."""
    for k in range(ptr.size - 1):
        for s in range(ptr[k] + 1, ptr[k + 1]):
            if post[s] < post[s - 1]:
                return False
    return True


@njit(cache=True, nogil=True)
def row_splits(ptr, post, bounds, sp):
    """sp[t, k] = the first synapse of row k whose post is >= bounds[t] (rows sorted by post)."""
    T = bounds.size - 1
    nrows = ptr.size - 1
    for k in range(nrows):
        a, b = ptr[k], ptr[k + 1]
        sp[0, k] = a
        sp[T, k] = b
        for t in range(1, T):
            sp[t, k] = a + np.searchsorted(post[a:b], bounds[t])


def prepare(net: Net, st: State, rec: Rec, threads: int) -> Threads | None:
    """Split the network for `threads` threads (fewer if there are fewer BLOCKs); None for one thread."""
    N = st.V.size
    bounds = cell_bounds(N, threads)
    T = bounds.size - 1
    if T == 1:
        return None
    if not (rows_sorted(net.out_ptr, net.out_post) and rows_sorted(net.x_ptr, net.x_post)):
        raise ValueError("threads > 1 needs every synapse row sorted by post cell")
    ncells = rec.cells.size
    split = Split(
        bounds=bounds,
        out_sp=np.empty((T + 1, N), np.int64),
        x_sp=np.empty((T + 1, net.x_ptr.size - 1), np.int64),
        wbuf=np.zeros((T, st.wbuf.size)),
        spk=np.zeros((2, N), np.int64),
        nsp=np.zeros((2, T), np.int64),
        bad=np.zeros((2, T), np.int64),
        delta=np.zeros((T, 4)),
        snap=np.zeros((4, ncells)),
        gspk=np.zeros(N, np.int64),
        bar=np.zeros(3, np.int64),
        wait=np.zeros((T, 2), np.int64),
    )
    row_splits(net.out_ptr, net.out_post, bounds, split.out_sp)
    row_splits(net.x_ptr, net.x_post, bounds, split.x_sp)
    s = split.snap
    snap_st = st._replace(V=s[0], Ie=s[1], Ii=s[2], Ix=s[3], spikes=split.gspk)
    return Threads(split, snap_st, rec._replace(cells=np.arange(ncells, dtype=np.int64)))


def rebalance(tk: Threads, net: Net) -> None:
    """Move the cell ranges (in place, whole BLOCKs) halfway towards equal measured busy time per thread.

    Each thread's busy cycles of the last kernel call are spread evenly over its cells; the results do
    not depend on the ranges, only the speed does. Thread 0 also records, so it ends up with fewer cells.
    """
    sp = tk.split
    busy = (sp.wait[:, 1] - sp.wait[:, 0]).astype(np.float64)
    sp.wait[:] = 0
    b = sp.bounds.astype(np.float64)
    T, N = b.size - 1, int(b[-1])
    if np.any(busy <= 0):
        return
    cum = np.concatenate([[0.0], np.cumsum(busy)])
    ideal = np.interp(cum[-1] * np.arange(1, T) / T, cum, b)
    inner = np.rint(0.5 * (b[1:-1] + ideal) / BLOCK).astype(np.int64) * BLOCK
    new = np.concatenate([[0], inner, [N]]).astype(np.int64)
    if np.all(np.diff(new) > 0) and not np.array_equal(new, sp.bounds):
        sp.bounds[:] = new
        row_splits(net.out_ptr, net.out_post, sp.bounds, sp.out_sp)
        row_splits(net.x_ptr, net.x_post, sp.bounds, sp.x_sp)


def split_bytes(tk: Threads) -> int:
    """Memory the threaded run adds (split pointers and exchange buffers)."""
    return sum(a.nbytes for a in tk.split)


@njit(cache=True, nogil=True, inline="always")
def _plastic_part(b, coef, net, x, sp, tid, par, wbuf, Ne, st, g, snap_from, deferred):
    """Block b's pre events of all spikers on synapses onto this thread's cells, then the post events
    of this thread's spikers (deferred: pre events that apply them, see `kernel.apply_block`); returns
    the change of the block sum over these synapses."""
    post_i = b >= 2
    pre_i = b == 1 or b == 3
    T = sp.bounds.size - 1
    weight = net.weight
    delta = 0.0
    for u in range(T):
        base = sp.bounds[u]
        for j in range(sp.nsp[par, u]):
            k = sp.spk[par, base + j]
            if (k >= Ne) == pre_i:
                own_lo, own_hi = sp.out_sp[tid, k], sp.out_sp[tid + 1, k]
                if post_i:
                    lo, hi = max(net.out_split[k], own_lo), min(net.out_ptr[k + 1], own_hi)
                else:
                    lo, hi = max(net.out_ptr[k], own_lo), min(net.out_split[k], own_hi)
                if deferred:
                    acc, snap, xg, post = st.post_acc, st.post_snap, x[k] / g, net.out_post
                    delta += apply_pre_deferred(coef, weight, x, lo, hi, post, acc, snap, snap_from, xg)
                else:
                    delta += apply_pre(coef, weight, x, lo, hi, net.out_post)
    if deferred:
        return delta
    first = sp.bounds[tid]
    for j in range(sp.nsp[par, tid]):
        i = sp.spk[par, first + j]
        if (i >= Ne) == post_i:
            lo, hi = (net.in_split[i], net.in_ptr[i + 1]) if pre_i else (net.in_ptr[i], net.in_split[i])
            delta += apply_post(coef, weight, x, lo, hi, net.in_syn, net.in_pre, wbuf)
    return delta


@njit(cache=True, nogil=True)
def run_steps_thread(tid, n0, n1, xs_step, xs_id, net, st, c, pl, rec, sp, snap_st, snap_rec):
    """Thread `tid`'s part of steps n0 .. n1-1 (all threads call it with the same arguments and
    `sp.bar` zeroed); returns (last completed step, status) — the same in every thread."""
    T = sp.bounds.size - 1
    lo, hi = sp.bounds[tid], sp.bounds[tid + 1]
    stim, V, Ie, Ii, Ix, x = st.stim, st.V, st.Ie, st.Ii, st.Ix, st.x
    Vth = np.full(1, c.Vth, V.dtype)[0]  # the threshold in V's dtype, as kernel.neuron_pass compares
    cells = rec.cells
    wbuf = sp.wbuf[tid]
    guard = st.guard[0]
    g = st.defer_g[0]  # every thread keeps the same g (same arithmetic); thread 0 stores it on return
    kbar = 0
    waited = 0
    start = cycles()
    q = 0
    nxs = xs_step.size
    for n in range(n0, n1):
        par = n & 1
        while q < nxs and xs_step[q] <= n:  # 1 feed-forward delivery onto own cells
            deliver_x(net, st, c, xs_id[q], sp.x_sp[tid, xs_id[q]], sp.x_sp[tid + 1, xs_id[q]])
            q += 1
        e = q  # the next step's X rows (own part), as kernel.prefetch_x_rows
        while e < nxs and xs_step[e] <= n + 1:
            prefetch_range(net.x_post, sp.x_sp[tid, xs_id[e]], sp.x_sp[tid + 1, xs_id[e]])
            e += 1
        if n >= c.burn_step and (n - c.burn_step) % ACC_EVERY == 0:
            for i in range(lo, hi):
                rec.acc_e[i] += Ie[i]
            for i in range(lo, hi):
                rec.acc_i[i] += Ii[i]
            for i in range(lo, hi):
                rec.acc_x[i] += Ix[i]
        stim_on = n >= c.n_on and n < c.n_off  # 2, 3, 7 (8 of step n-1): kernel.neuron_pass's blocks
        ns = 0
        for a in range(lo, hi, BLOCK):
            b = min(a + BLOCK, hi)
            if _euler(V[a:b], Ie[a:b], Ii[a:b], Ix[a:b], x[a:b], stim[a:b], c, stim_on):
                for i in range(a, b):
                    if not V[i] < Vth:
                        sp.spk[par, lo + ns] = i
                        ns += 1
                        prefetch_rows(net, i, c.Ne)
        bad = 0
        for j in range(ns):
            if not np.isfinite(V[sp.spk[par, lo + j]]):
                bad = 1
        sp.nsp[par, tid] = ns
        sp.bad[par, tid] = bad
        kbar += 1
        t0 = cycles()
        if not barrier_wait(sp.bar, T, kbar):  # A
            return n, ABORTED
        waited += cycles() - t0
        ns_all = 0
        for u in range(T):
            ns_all += sp.nsp[par, u]
        for u in range(T):  # 4 recurrent delivery of every spiker onto own cells
            base = sp.bounds[u]
            for j in range(sp.nsp[par, u]):
                k = sp.spk[par, base + j]
                if k < c.Ne:
                    inc, cur, u_e, u_i = c.inc_e, Ie, net.uniform[0], net.uniform[2]
                else:
                    inc, cur, u_e, u_i = c.inc_i, Ii, net.uniform[1], net.uniform[3]
                a, b = sp.out_sp[tid, k], sp.out_sp[tid + 1, k]
                deliver_row(cur, net.out_post, net.weight, a, net.out_split[k], b, inc, u_e, u_i)
        if c.any_plastic:  # the weights of the own spikers' post-spike updates
            prefetch_post_weights(net, sp.spk[par], lo, ns)
        if c.flush_steps > 0:  # the deferral's sums of own cells (kernel.run_steps)
            g *= c.fs
            for j in range(ns):
                st.post_acc[sp.spk[par, lo + j]] += g
        if c.any_plastic and ns_all > 0:  # 5: EE, IE, EI, II on synapses onto own cells
            for blk in BLOCK_ORDER:
                d = 0.0
                if pl.flags[blk]:
                    dfr, cf = pl.flags[blk] == DEFERRED, pl.coef[blk]
                    d = _plastic_part(blk, cf, net, x, sp, tid, par, wbuf, c.Ne, st, g, c.snap_from, dfr)
                sp.delta[tid, blk] = d
        any_bad = False
        for u in range(T):
            any_bad |= sp.bad[par, u] != 0
        stop = any_bad or guard + ns_all > c.guard_max
        flush = c.flush_steps > 0 and (n % c.flush_steps == 0 or n == n1 - 1 or stop)
        if flush:  # own parts of every deferred row, as kernel.run_steps
            if ns_all == 0:
                sp.delta[tid, :] = 0.0
            for blk in range(4):
                if pl.flags[blk] == DEFERRED:
                    sp.delta[tid, blk] += flush_block(
                        blk,
                        pl.coef[blk],
                        net,
                        x,
                        st.post_acc,
                        st.post_snap,
                        c.snap_from,
                        g,
                        c.Ne,
                        sp.out_sp[tid],
                        sp.out_sp[tid + 1],
                    )
            st.post_acc[lo:hi] = 0.0
            g = 1.0
        if is_sample_step(n, c):  # own sampled synapses, while x and the weights hold still (A..B)
            sample_weights(rec, net, st, pl, lo, hi, g, c.snap_from)
        for j in range(ns):  # 9 (first half): own recorded cells as recording sees them
            V[sp.spk[par, lo + j]] = c.Vth
        for r in range(cells.size):
            i = cells[r]
            if i >= lo and i < hi:
                sp.snap[0, r] = V[i]
                sp.snap[1, r] = Ie[i]
                sp.snap[2, r] = Ii[i]
                sp.snap[3, r] = Ix[i]
        for j in range(ns):
            V[sp.spk[par, lo + j]] = c.Vre
        kbar += 1
        t0 = cycles()
        if not barrier_wait(sp.bar, T, kbar):  # B
            return n, ABORTED
        waited += cycles() - t0
        for j in range(ns):  # 6
            x[sp.spk[par, lo + j]] += 1.0
        if tid == 0:  # 9: block sums and recording of all threads' results
            m = 0
            for u in range(T):
                base = sp.bounds[u]
                for j in range(sp.nsp[par, u]):
                    sp.gspk[m] = sp.spk[par, base + j]
                    m += 1
            if c.any_plastic and (ns_all > 0 or flush):
                for blk in BLOCK_ORDER:
                    if pl.flags[blk]:
                        d = 0.0
                        for u in range(T):
                            d += sp.delta[u, blk]
                        st.block_sum[blk] += d
            record_step(n, snap_st, c, snap_rec, ns_all, net)
        guard += ns_all
        if any_bad or guard > c.guard_max:
            if tid == 0:
                st.guard[0] = guard
                st.defer_g[0] = g
            sp.wait[tid, 0] += waited
            sp.wait[tid, 1] += cycles() - start
            return n, DIVERGED_NONFINITE if any_bad else DIVERGED_RATE
        if n % c.guard_steps == 0:
            guard = 0
    if tid == 0:
        st.guard[0] = guard
        st.defer_g[0] = g
    sp.wait[tid, 0] += waited
    sp.wait[tid, 1] += cycles() - start
    return n1 - 1, OK


def run_chunk(tk: Threads, n0: int, n1: int, xs_step, xs_id, net, st, c, pl, rec) -> tuple[int, int]:
    """Steps n0 .. n1-1 on the prepared threads (thread 0 is the caller); re-raises a thread's failure.

    A failing thread sets the abort flag before it leaves, so the others stop at their next barrier.
    """
    sp = tk.split
    T = sp.bounds.size - 1
    sp.bar[:] = 0
    out: list[tuple[int, int] | None] = [None] * T
    errors: list[BaseException] = []

    def body(tid: int) -> None:
        try:
            out[tid] = run_steps_thread(
                tid, n0, n1, xs_step, xs_id, net, st, c, pl, rec, sp, tk.snap_st, tk.snap_rec
            )
        except BaseException as e:  # re-raised by the caller below
            sp.bar[ABORT] = 1
            errors.append(e)

    workers = [threading.Thread(target=body, args=(t,), daemon=True) for t in range(1, T)]
    try:
        for w in workers:
            w.start()
    except BaseException:
        sp.bar[ABORT] = 1
        raise
    finally:
        if sp.bar[ABORT]:
            for w in workers:
                if w.is_alive():
                    w.join()
    body(0)
    for w in workers:
        w.join()
    if errors:
        raise errors[0]
    results = {r for r in out if r is not None}
    if len(results) != 1 or out[0] is None or out[0][1] == ABORTED:
        raise RuntimeError(f"threads disagree or aborted: {out}")
    rebalance(tk, net)
    return out[0]
