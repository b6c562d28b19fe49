"""Sparse connectivity (MODEL.md §1.2, B18): CSR of outgoing synapses by presynaptic neuron.

Each row lists its E targets before its I targets (`out_split[k]` is where the I targets start),
so the block of a synapse follows from (pre < Ne, position < split). One float64 weight array in
J units (j/sqrt(N)). Existence is structural: a weight may reach 0 and recover. An index of
incoming synapses by postsynaptic neuron (E pres first, `in_split`) is built only for the blocks
whose rule has post-spike updates. X->recurrent weights are a CSR by X neuron.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from sim.params import BLOCKS, SimParams
from sim.plasticity import IMMEDIATE, plasticity_table

ROW_CHUNK = 1024
"""Presynaptic rows drawn per vectorised batch (bounds build memory, fixed for reproducibility)."""


def cell_dtype(N: int) -> np.dtype:
    """Integer type of cell indices in the synapse arrays: uint16 up to 65,536 cells, else int32 (2 of the
    ~12 bytes per synapse saved; delivery streams fewer bytes)."""
    return np.dtype(np.uint16) if N <= 1 << 16 else np.dtype(np.int32)


def synapse_dtype(n_syn: int) -> np.dtype:
    """Integer type of synapse positions (the incoming index): int32 below 2^31 synapses, else int64."""
    return np.dtype(np.int32) if n_syn < 1 << 31 else np.dtype(np.int64)


class Connectivity(NamedTuple):
    """All synapses of one network; arrays only (plus sizes), ready to hand to the kernel."""

    N: int
    Ne: int
    Nx: int
    out_ptr: np.ndarray  # int64 [N+1]
    out_split: np.ndarray  # int64 [N] first I target of each row
    out_post: np.ndarray  # `cell_dtype(N)` [nnz]
    weight: np.ndarray  # float64 [nnz] J units
    in_ptr: np.ndarray  # int64 [N+1]
    in_split: np.ndarray  # int64 [N] first I presynaptic entry of each post row
    in_syn: np.ndarray  # int32 (int64 past 2^31 synapses) [nin] positions into `weight`
    in_pre: np.ndarray  # `cell_dtype(N)` [nin]
    x_ptr: np.ndarray  # int64 [Nx+1]
    x_post: np.ndarray  # `cell_dtype(N)` [nnz_x]
    x_weight: np.ndarray  # float64 [nnz_x] J units
    indexed: np.ndarray  # bool [4] blocks (ee, ei, ie, ii) present in the incoming index


def bernoulli_rows(
    rng: np.random.Generator, nrows: int, ncols: int, p: float
) -> tuple[np.ndarray, np.ndarray]:
    """Columns of an nrows x ncols Bernoulli(p) mask, drawn as geometric gaps: (counts per row, cols)."""
    if p <= 0 or nrows == 0 or ncols == 0:
        return np.zeros(nrows, np.int64), np.zeros(0, np.int64)
    if p >= 1:
        return np.full(nrows, ncols, np.int64), np.tile(np.arange(ncols, dtype=np.int64), nrows)
    m = int(ncols * p + 6 * math.sqrt(ncols * p * (1 - p)) + 10)
    pos = np.cumsum(rng.geometric(p, size=(nrows, m)), axis=1) - 1
    rows = [r for r in range(nrows) if pos[r, -1] < ncols]
    extra: dict[int, np.ndarray] = {}
    for r in rows:  # rare (> 6 s.d.): extend this row until it passes the end
        tail = [pos[r]]
        while tail[-1][-1] < ncols:
            tail.append(tail[-1][-1] + np.cumsum(rng.geometric(p, size=m)))
        extra[r] = np.concatenate(tail)
    keep = pos < ncols
    counts = keep.sum(axis=1)
    if not extra:
        return counts, pos[keep]
    parts = []
    for r in range(nrows):
        row = extra.get(r, pos[r])
        row = row[row < ncols]
        counts[r] = row.size
        parts.append(row)
    return counts, np.concatenate(parts)


@njit(cache=True, nogil=True)
def _fill_rows(ptr, first_row, ce, cols_e, ci, cols_i, Ne, w_e, w_i, out_post, out_split, weight):
    """Write each row's E targets then its I targets (cols_i are I-local) and their weights."""
    qe = 0
    qi = 0
    for r in range(ce.size):
        k = first_row + r
        s = ptr[k]
        for _ in range(ce[r]):
            out_post[s] = cols_e[qe]
            weight[s] = w_e
            qe += 1
            s += 1
        out_split[k] = s
        for _ in range(ci[r]):
            out_post[s] = cols_i[qi] + Ne
            weight[s] = w_i
            qi += 1
            s += 1


def _fill_csr(rng, groups, n_rows: int, Ne: int, Ni: int):
    """Draw rows group by group into growing CSR arrays (no second copy of the synapses).

    groups: (first row, stop row, p to E, p to I, weight to E, weight to I). Returns
    (ptr, split, post, weight); capacity is the expected count + 10 s.d., grown if ever exceeded.
    """
    mean = sum((b - a) * (Ne * pe + Ni * pi) for a, b, pe, pi, _, _ in groups)
    cap = int(mean + 10 * math.sqrt(mean) + 1024)
    ptr = np.zeros(n_rows + 1, np.int64)
    split = np.empty(n_rows, np.int64)
    cell = cell_dtype(Ne + Ni)
    post, weight = np.empty(cap, cell), np.empty(cap, np.float64)
    pos = 0
    for lo, hi, p_e, p_i, w_e, w_i in groups:
        for a in range(lo, hi, ROW_CHUNK):
            b = min(hi, a + ROW_CHUNK)
            ce, cols_e = bernoulli_rows(rng, b - a, Ne, p_e)
            ci, cols_i = bernoulli_rows(rng, b - a, Ni, p_i)
            ptr[a + 1 : b + 1] = pos + np.cumsum(ce + ci)
            if ptr[b] > post.size:
                grow = int(ptr[b]) + cap // 10
                post, weight = np.resize(post, grow), np.resize(weight, grow)
            cols_e, cols_i = cols_e.astype(cell), cols_i.astype(cell)
            _fill_rows(ptr, a, ce, cols_e, ci, cols_i, Ne, w_e, w_i, post, split, weight)
            pos = int(ptr[b])
    return ptr, split, post[:pos], weight[:pos]


def build_recurrent(params: SimParams, rng: np.random.Generator):
    """Draw the recurrent CSR (pres E then I); returns (out_ptr, out_split, out_post, weight)."""
    N, Ne, Ni, sq, p = params.N, params.Ne, params.Ni, params.sqrtN, params
    groups = [
        (0, Ne, p.p_ee, p.p_ie, p.jee / sq, p.jie / sq),
        (Ne, N, p.p_ei, p.p_ii, p.jei / sq, p.jii / sq),
    ]
    return _fill_csr(rng, groups, N, Ne, Ni)


def build_ffwd(params: SimParams, rng: np.random.Generator):
    """Draw the X->recurrent CSR by X neuron; returns (x_ptr, x_post, x_weight)."""
    p, sq = params, params.sqrtN
    groups = [(0, p.Nx, p.p_ex, p.p_ix, p.jex / sq, p.jix / sq)]
    x_ptr, _, x_post, x_weight = _fill_csr(rng, groups, p.Nx, p.Ne, p.Ni)
    return x_ptr, x_post, x_weight


@njit(cache=True, nogil=True)
def _incoming_counts(out_ptr, out_split, out_post, N, Ne, want):
    """in_ptr, in_split of the incoming index for blocks with want[block] (ee, ei, ie, ii)."""
    counts = np.zeros(N, np.int64)
    counts_e = np.zeros(N, np.int64)
    for k in range(N):
        pre_i = 1 if k >= Ne else 0
        for s in range(out_ptr[k], out_ptr[k + 1]):
            post_i = 0 if s < out_split[k] else 1
            if want[2 * post_i + pre_i]:
                i = out_post[s]
                counts[i] += 1
                if pre_i == 0:
                    counts_e[i] += 1
    in_ptr = np.zeros(N + 1, np.int64)
    for i in range(N):
        in_ptr[i + 1] = in_ptr[i] + counts[i]
    return in_ptr, in_ptr[:N] + counts_e


@njit(cache=True, nogil=True)
def _incoming_fill(out_ptr, out_split, out_post, Ne, want, in_ptr, in_syn, in_pre):
    """Fill in_syn (positions into `weight`) and in_pre, pres ascending within each post row."""
    fill = in_ptr[:-1].copy()
    for k in range(out_ptr.size - 1):
        pre_i = 1 if k >= Ne else 0
        for s in range(out_ptr[k], out_ptr[k + 1]):
            post_i = 0 if s < out_split[k] else 1
            if want[2 * post_i + pre_i]:
                i = out_post[s]
                in_syn[fill[i]] = s
                in_pre[fill[i]] = k
                fill[i] += 1


def build_incoming(out_ptr, out_split, out_post, N: int, Ne: int, want):
    """Index of incoming synapses by post neuron for blocks with want[block] (ee, ei, ie, ii):
    (in_ptr, in_split, in_syn, in_pre), in the compact integer types."""
    in_ptr, in_split = _incoming_counts(out_ptr, out_split, out_post, N, Ne, want)
    in_syn = np.empty(in_ptr[N], synapse_dtype(out_post.size))
    in_pre = np.empty(in_ptr[N], cell_dtype(N))
    _incoming_fill(out_ptr, out_split, out_post, Ne, want, in_ptr, in_syn, in_pre)
    return in_ptr, in_split, in_syn, in_pre


@njit(cache=True, nogil=True)
def block_sums(out_ptr, out_split, weight, Ne):
    """Sum of J over each block (ee, ei, ie, ii) in one pass, without temporaries."""
    sums = np.zeros(4)
    for k in range(out_ptr.size - 1):
        pre_i = 1 if k >= Ne else 0
        se = 0.0
        for s in range(out_ptr[k], out_split[k]):
            se += weight[s]
        si = 0.0
        for s in range(out_split[k], out_ptr[k + 1]):
            si += weight[s]
        sums[pre_i] += se
        sums[2 + pre_i] += si
    return sums


@njit(cache=True, nogil=True)
def row_split(ptr, post, Ne):
    """Per row, the first synapse onto an I cell (post >= Ne); -1 in the first entry if some row does
    not list all its E targets first."""
    split = np.empty(ptr.size - 1, np.int64)
    for k in range(ptr.size - 1):
        s = ptr[k]
        while s < ptr[k + 1] and post[s] < Ne:
            s += 1
        split[k] = s
        for q in range(s, ptr[k + 1]):
            if post[q] < Ne:
                split[0] = -1
                return split
    return split


@njit(cache=True, nogil=True)
def uniform_weights(ptr, split, weight, Ne):
    """Per block (ee, ei, ie, ii: rows from Ne on are I pres) its one weight if all its weights are
    equal, else NaN (NaN also for an empty block)."""
    val = np.full(4, np.nan)
    seen = np.zeros(4, np.bool_)
    same = np.ones(4, np.bool_)
    for k in range(ptr.size - 1):
        pre_i = 1 if k >= Ne else 0
        for s in range(ptr[k], ptr[k + 1]):
            b = pre_i + (0 if s < split[k] else 2)
            if not seen[b]:
                seen[b], val[b] = True, weight[s]
            elif weight[s] != val[b]:
                same[b] = False
    for b in range(4):
        if not same[b]:
            val[b] = np.nan
    return val


def post_update_blocks(params: SimParams) -> np.ndarray:
    """Flags (ee, ei, ie, ii) of the blocks that need the incoming index: every plastic rule whose post
    events are applied at the post spike (deferred ones are applied row by row)."""
    return plasticity_table(params)[0] == IMMEDIATE


def build_connectivity(params: SimParams, rng: np.random.Generator) -> Connectivity:
    """Draw recurrent and feed-forward synapses (Bernoulli per pair, autapses allowed)."""
    out_ptr, out_split, out_post, weight = build_recurrent(params, rng)
    x_ptr, x_post, x_weight = build_ffwd(params, rng)
    want = post_update_blocks(params)
    incoming = build_incoming(out_ptr, out_split, out_post, params.N, params.Ne, want)
    return Connectivity(
        params.N,
        params.Ne,
        params.Nx,
        out_ptr,
        out_split,
        out_post,
        weight,
        *incoming,
        x_ptr,
        x_post,
        x_weight,
        want,
    )


def with_incoming(conn: Connectivity, want: np.ndarray) -> Connectivity:
    """`conn` with an incoming index covering at least the blocks flagged in `want` (rebuilt if needed)."""
    want = np.asarray(want, np.bool_)
    if np.all(conn.indexed[want]):
        return conn
    incoming = build_incoming(conn.out_ptr, conn.out_split, conn.out_post, conn.N, conn.Ne, want)
    ptr, split, syn, pre = incoming
    return conn._replace(in_ptr=ptr, in_split=split, in_syn=syn, in_pre=pre, indexed=want)


def _csr_from_dense(M: np.ndarray, Ne: int):
    """CSR by column of a dense [post, pre] matrix; entries != 0 are synapses, posts ascending."""
    pre, post = np.nonzero(M.T)
    ptr = np.zeros(M.shape[1] + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=M.shape[1]), out=ptr[1:])
    n_e = np.bincount(pre[post < Ne], minlength=M.shape[1])
    post = post.astype(cell_dtype(M.shape[0]))
    return ptr, ptr[:-1] + n_e, post, np.ascontiguousarray(M.T[pre, post], dtype=np.float64)


def connectivity_from_dense(
    J: np.ndarray, Jx: np.ndarray, Ne: int, post_blocks: np.ndarray | None = None
) -> Connectivity:
    """Connectivity from dense J [post, pre] and Jx [post, X] (J units); zeros mean no synapse.

    `post_blocks` (ee, ei, ie, ii flags) selects the incoming index; default: all four blocks.
    """
    J = np.asarray(J, dtype=np.float64)
    Jx = np.asarray(Jx, dtype=np.float64)
    N = J.shape[0]
    if J.shape != (N, N) or Jx.shape[0] != N or not 0 < Ne < N:
        raise ValueError(f"J must be N x N and Jx N x Nx with 0 < Ne < N; got {J.shape}, {Jx.shape}, Ne={Ne}")
    out_ptr, out_split, out_post, weight = _csr_from_dense(J, Ne)
    x_ptr, _, x_post, x_weight = _csr_from_dense(Jx, Ne)
    want = np.ones(4, np.bool_) if post_blocks is None else np.asarray(post_blocks, np.bool_)
    incoming = build_incoming(out_ptr, out_split, out_post, N, Ne, want)
    return Connectivity(
        N, Ne, Jx.shape[1], out_ptr, out_split, out_post, weight, *incoming, x_ptr, x_post, x_weight, want
    )


def block_ranges(conn: Connectivity, block: str) -> tuple[np.ndarray, np.ndarray]:
    """Per presynaptic row of the block's pre population: (start, stop) positions of its synapses."""
    pre_e = block[1] == "e"
    rows = np.arange(0, conn.Ne) if pre_e else np.arange(conn.Ne, conn.N)
    if block[0] == "e":
        return conn.out_ptr[rows], conn.out_split[rows]
    return conn.out_split[rows], conn.out_ptr[rows + 1]


def block_sizes(conn: Connectivity) -> np.ndarray:
    """Number of synapses of each block (ee, ei, ie, ii)."""
    return np.array([int(np.sum(b - a)) for a, b in (block_ranges(conn, blk) for blk in BLOCKS)], np.int64)


def sample_synapses(conn: Connectivity, block: str, n: int, rng: np.random.Generator) -> np.ndarray:
    """Positions of min(n, available) synapses of a block, uniformly without replacement, sorted."""
    start, stop = block_ranges(conn, block)
    lengths = stop - start
    total = int(lengths.sum())
    k = min(n, total)
    if k == 0:
        return np.zeros(0, np.int64)
    ranks = np.sort(rng.choice(total, size=k, replace=False))
    cum = np.cumsum(lengths)
    row = np.searchsorted(cum, ranks, side="right")
    offset = ranks - (cum[row] - lengths[row])
    return start[row] + offset


def synapse_pre(conn: Connectivity, syn: np.ndarray) -> np.ndarray:
    """Presynaptic neuron of each synapse position."""
    return np.searchsorted(conn.out_ptr, syn, side="right") - 1


def find_synapses(conn: Connectivity, post: np.ndarray, pre: np.ndarray) -> np.ndarray:
    """Positions of the synapses (post[i] <- pre[i]); raises if one does not exist."""
    out = np.empty(len(post), np.int64)
    for q, (i, k) in enumerate(zip(np.asarray(post), np.asarray(pre), strict=True)):
        a, b = conn.out_ptr[k], conn.out_ptr[k + 1]
        row = conn.out_post[a:b]
        seg = slice(0, conn.out_split[k] - a) if i < conn.Ne else slice(conn.out_split[k] - a, b - a)
        j = int(np.searchsorted(row[seg], i)) + (seg.start or 0)
        if j >= b - a or row[j] != i:
            raise ValueError(f"no synapse from pre {k} to post {i}")
        out[q] = a + j
    return out
