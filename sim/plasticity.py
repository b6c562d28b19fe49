"""Plasticity rules of MODEL.md §2 as coefficients of one generic update, plus the njit event loops.

Every rule is written as
    pre event  (pre fires, x = post trace):  dJ = A0 + A1 x + (A2 + A3 x) J
    post event (post fires, x = pre trace):  dJ = B0 + B1 x + B4 x^2 + (B2 + B3 x) J
followed by an optional clip to [lo, hi] (J units). Coefficients are in J units (scaled j / sqrt N).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.params import BLOCKS, SimParams
from sim.prefetch import prefetch_l2

A0, A1, A2, A3, B0, B1, B2, B3, B4, LO, HI, CLIP = range(12)
N_COEF = 12
BLOCK_ORDER = (0, 2, 1, 3)
"""Rule order within a step: EE, IE, EI, II (indices into BLOCKS = ee, ei, ie, ii)."""
POST_AHEAD = 32
"""The post-spike gather asks for the weight this many entries ahead (prefetcht2). At N = 50,000, where
each scattered weight misses in DRAM: 0.82-0.94 of the time without it in four runs (16 entries ahead: 1.06;
64: 0.88; non-temporal: 1.03); at N = 5000 0.90-0.96 (bench/kernel_ab.py, 2026-12-02, docs/sim.md)."""


def rule_coefficients(params: SimParams, block: str) -> np.ndarray:
    """The 12 coefficients of a block's rule (all zero for static blocks)."""
    c = np.zeros(N_COEF)
    rule = getattr(params, f"rule_{block}")
    eta = getattr(params, f"eta_{block}")
    if rule == "static" or eta == 0:
        return c
    sq = params.sqrtN
    g = lambda name: getattr(params, f"{name}_{block}")  # noqa: E731
    if rule == "soft_hebb":  # P1/M1/M7: pre J -= eta x J; post J += eta x Jmax
        c[A3], c[B1] = -eta, eta * g("jmax") / sq
    elif rule == "hebb":  # M2 additive, clipped (B9)
        c[A1], c[B1], c[CLIP] = -eta, eta, 1.0
    elif rule == "kohonen":  # P2: pre J += beta eta x; post J <- (1 - eta) J
        c[A1], c[B2] = eta * g("beta") / sq, -eta
    elif rule == "oja":  # M4: pre J += beta eta x; post J -= eta x J
        c[A1], c[B3] = eta * g("beta") / sq, -eta
    elif rule == "triplet":  # M5: pre J += eta theta x; post J -= eta x^2, clipped (B10)
        c[A1], c[B4], c[CLIP] = eta * g("theta"), -eta, 1.0
    elif rule == "homeo":  # P3/P5/P6: pre J -= (eta/Jn)(x - alpha) J; post J -= (eta/Jn) x J
        jn = g("jnorm") / sq
        alpha = 2 * g("rho") * params.tauSTDP
        c[A2], c[A3], c[B3] = eta * alpha / jn, -eta / jn, -eta / jn
    else:
        raise ValueError(f"rule_{block}={rule!r}: unknown rule")
    if c[CLIP]:
        c[LO], c[HI] = g("jmin") / sq, g("jmax") / sq
    return c


IMMEDIATE, DEFERRED = 1, 2
"""Plastic flags: post events applied at each post spike, or deferred to the synapse's next pre event."""


def deferrable(c: np.ndarray) -> bool:
    """True if the post event is purely multiplicative, J <- J (1 + B3 x), without a clip: then the
    events between two pre spikes combine to first order into J <- J (1 + B3 sum x) (oja, homeo)."""
    return bool(c[B3] != 0 and not (c[B0] or c[B1] or c[B2] or c[B4] or c[CLIP]))


def plasticity_table(params: SimParams) -> tuple[np.ndarray, np.ndarray]:
    """(flags int64[4]: 0 static, IMMEDIATE or DEFERRED; coefficients float64[4, 12]) in BLOCKS order."""
    coef = np.stack([rule_coefficients(params, b) for b in BLOCKS])
    flags = np.array([b in params.plastic_blocks for b in BLOCKS], np.int64)
    if params.post_updates == "deferred":
        flags = np.array(
            [DEFERRED if f and deferrable(c) else f for f, c in zip(flags, coef, strict=True)], np.int64
        )
    return flags, coef


@njit(cache=True, nogil=True)
def apply_pre(c, weight, x, syn_lo, syn_hi, out_post):
    """Pre-spike event on synapses [syn_lo, syn_hi) of one row; returns the change of their sum."""
    a0, a1, a2, a3 = c[A0], c[A1], c[A2], c[A3]
    clip, lo, hi = c[CLIP] != 0.0, c[LO], c[HI]
    delta = 0.0
    for s in range(syn_lo, syn_hi):
        xp = x[out_post[s]]
        w = weight[s]
        nw = w + ((a0 + a1 * xp) + (a2 + a3 * xp) * w)
        if clip:
            nw = min(max(nw, lo), hi)
        weight[s] = nw
        delta += nw - w
    return delta


@njit(cache=True, nogil=True)
def apply_pre_deferred(c, weight, x, syn_lo, syn_hi, out_post, acc, snap, base, xg):
    """Pre-spike event on synapses [syn_lo, syn_hi) of a row whose post events are deferred: first the post
    events since the synapse's last pre event, J <- J (1 + B3 sum x_pre), then the pre event.

    sum x_pre = xg (acc[post] - snap[s - base]): acc sums g over each cell's spikes, snap holds the acc of
    the synapse's last event, and xg = x_pre / g (the pre trace decays like g until the pre cell fires).
    Returns the change of the synapses' sum."""
    a0, a1, a2, a3 = c[A0], c[A1], c[A2], c[A3]
    bx = c[B3] * xg
    delta = 0.0
    for s in range(syn_lo, syn_hi):
        i = out_post[s]
        a = acc[i]
        w = weight[s]
        w1 = w + (bx * (a - snap[s - base])) * w
        snap[s - base] = a
        xp = x[i]
        nw = w1 + ((a0 + a1 * xp) + (a2 + a3 * xp) * w1)
        weight[s] = nw
        delta += nw - w
    return delta


@njit(cache=True, nogil=True)
def flush_deferred(c, weight, syn_lo, syn_hi, out_post, acc, snap, base, xg):
    """Apply the pending post events of synapses [syn_lo, syn_hi) of one row (as apply_pre_deferred, no
    pre event) and zero their snapshots; returns the change of their sum."""
    bx = c[B3] * xg
    delta = 0.0
    for s in range(syn_lo, syn_hi):
        w = weight[s]
        nw = w + (bx * (acc[out_post[s]] - snap[s - base])) * w
        snap[s - base] = 0.0
        weight[s] = nw
        delta += nw - w
    return delta


@njit(cache=True, nogil=True)
def current_weight(c, w, xg, a, sn):
    """A deferred synapse's weight with its pending post events applied (what a flush would give)."""
    return w + (c[B3] * xg * (a - sn)) * w


@njit(cache=True, nogil=True)
def apply_post(c, weight, x, q_lo, q_hi, in_syn, in_pre, wbuf):
    """Post-spike event on incoming entries [q_lo, q_hi) of one post row; returns the change of their sum.

    The weights are scattered in memory: gather them first (independent loads overlap their cache
    misses, and prefetches POST_AHEAD entries ahead keep more misses in flight than the loads alone),
    update in the scratch buffer, then scatter back.
    """
    b0, b1, b2, b3, b4 = c[B0], c[B1], c[B2], c[B3], c[B4]
    clip, lo, hi = c[CLIP] != 0.0, c[LO], c[HI]
    syn, pre = in_syn[q_lo:q_hi], in_pre[q_lo:q_hi]
    n = syn.size
    for j in range(min(POST_AHEAD, n)):
        prefetch_l2(weight, syn[j])
    for j in range(n):
        if j + POST_AHEAD < n:
            prefetch_l2(weight, syn[j + POST_AHEAD])
        wbuf[j] = weight[syn[j]]
    delta = 0.0
    for j in range(n):
        xq = x[pre[j]]
        w = wbuf[j]
        nw = w + ((b0 + b1 * xq + b4 * (xq * xq)) + (b2 + b3 * xq) * w)
        if clip:
            nw = min(max(nw, lo), hi)
        wbuf[j] = nw
        delta += nw - w
    for j in range(n):
        weight[syn[j]] = wbuf[j]
    return delta


@njit(cache=True, nogil=True, inline="always")
def apply_block(b, c, net, st, ns, Ne, deferred, base):
    """All pre events then all post events of block b (0 ee, 1 ei, 2 ie, 3 ii) for this step's spikers;
    with `deferred`, pre events that first apply the pending post events, and no post events.

    net: the kernel's Net (CSR by pre, incoming index by post, weights); st: its State (spikers,
    traces x, scratch wbuf, deferral sums); c: the block's coefficients; base: the synapse of
    st.post_snap[0]. Returns the change of the block's sum."""
    post_i = b >= 2
    pre_i = b == 1 or b == 3
    weight, x, spikes = net.weight, st.x, st.spikes
    delta = 0.0
    for j in range(ns):
        k = spikes[j]
        if (k >= Ne) == pre_i:
            lo, hi = (net.out_split[k], net.out_ptr[k + 1]) if post_i else (net.out_ptr[k], net.out_split[k])
            if deferred:
                acc, snap, xg = st.post_acc, st.post_snap, x[k] / st.defer_g[0]
                delta += apply_pre_deferred(c, weight, x, lo, hi, net.out_post, acc, snap, base, xg)
            else:
                delta += apply_pre(c, weight, x, lo, hi, net.out_post)
    if deferred:
        return delta
    for j in range(ns):
        i = spikes[j]
        if (i >= Ne) == post_i:
            lo, hi = (net.in_split[i], net.in_ptr[i + 1]) if pre_i else (net.in_ptr[i], net.in_split[i])
            delta += apply_post(c, weight, x, lo, hi, net.in_syn, net.in_pre, st.wbuf)
    return delta
