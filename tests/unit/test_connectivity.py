"""Sparse connectivity: structure, Binomial statistics, incoming index, dense round trip, sampling."""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from sim.connectivity import (
    bernoulli_rows,
    block_ranges,
    block_sizes,
    build_connectivity,
    connectivity_from_dense,
    find_synapses,
    row_split,
    sample_synapses,
    synapse_pre,
    uniform_weights,
)
from sim.params import BLOCKS, SimParams


def _build(seed=0, **kw):
    p = SimParams(**kw)
    return p, build_connectivity(p, np.random.default_rng(seed))


def test_rows_list_e_targets_then_i_targets_with_block_weights():
    p, c = _build(N=400, p_ie=0.3, jee=20.0, jii=-200.0)
    for k in range(p.N):
        row = c.out_post[c.out_ptr[k] : c.out_ptr[k + 1]]
        n_e = c.out_split[k] - c.out_ptr[k]
        assert np.all(row[:n_e] < p.Ne) and np.all(row[n_e:] >= p.Ne)
        assert np.all(np.diff(row) > 0)
    for blk in BLOCKS:
        a, b = block_ranges(c, blk)
        w = np.concatenate([c.weight[x:y] for x, y in zip(a, b, strict=True)])
        assert np.all(w == getattr(p, f"j{blk}") / math.sqrt(p.N))


@pytest.mark.parametrize("blk", BLOCKS)
def test_block_counts_are_binomial(blk):
    """Total synapses of a block ~ Binomial(n_post n_pre, p): within 5 s.d.; out-degree variance too."""
    p, c = _build(N=2000, seed=4, **{f"p_{blk}": 0.15})
    n_post = p.Ne if blk[0] == "e" else p.Ni
    n_pre = p.Ne if blk[1] == "e" else p.Ni
    q = 0.15
    mean, sd = n_post * n_pre * q, math.sqrt(n_post * n_pre * q * (1 - q))
    assert abs(block_sizes(c)[BLOCKS.index(blk)] - mean) < 5 * sd
    a, b = block_ranges(c, blk)
    deg = b - a
    var = n_post * q * (1 - q)
    assert abs(deg.var(ddof=1) / var - 1) < 5 * math.sqrt(2 / (deg.size - 1))


def test_bernoulli_rows_edge_probabilities_and_autapses():
    rng = np.random.default_rng(0)
    counts, cols = bernoulli_rows(rng, 3, 5, 1.0)
    assert counts.tolist() == [5, 5, 5] and cols.tolist() == list(range(5)) * 3
    counts, cols = bernoulli_rows(rng, 3, 5, 0.0)
    assert counts.tolist() == [0, 0, 0] and cols.size == 0
    p, c = _build(N=100, p_ee=1.0, p_ii=1.0)
    assert all(k in c.out_post[c.out_ptr[k] : c.out_ptr[k + 1]] for k in range(p.N))  # autapses exist


def test_no_dense_matrix_while_building():
    """Peak build memory stays far below one dense N x N float64 matrix."""
    p = SimParams(N=3000)
    tracemalloc.start()
    c = build_connectivity(p, np.random.default_rng(0))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 0.25 * p.N**2 * 8
    assert c.weight.size == pytest.approx(0.1 * p.N**2, rel=0.02)


def test_incoming_index_only_for_plastic_blocks_and_consistent():
    p, c = _build(N=300, rule_ei="homeo", eta_ei=1e-3, rule_ee="kohonen", eta_ee=1e-3)
    pre_of = synapse_pre(c, c.in_syn)
    assert np.array_equal(pre_of, c.in_pre)
    for i in range(p.N):
        q = slice(c.in_ptr[i], c.in_ptr[i + 1])
        assert np.all(c.out_post[c.in_syn[q]] == i)
        n_e = c.in_split[i] - c.in_ptr[i]
        pres = c.in_pre[q]
        assert np.all(pres[:n_e] < p.Ne) and np.all(pres[n_e:] >= p.Ne)
        if i >= p.Ne:
            assert pres.size == 0  # IE and II are static: no incoming entries for I cells
    sizes = block_sizes(c)
    assert c.in_syn.size == sizes[0] + sizes[1]


def test_dense_round_trip():
    rng = np.random.default_rng(1)
    N, Ne, Nx = 50, 40, 10
    J = (rng.random((N, N)) < 0.2) * rng.normal(size=(N, N))
    Jx = (rng.random((N, Nx)) < 0.3) * 1.5
    c = connectivity_from_dense(J, Jx, Ne)
    back = np.zeros((N, N))
    back[c.out_post, synapse_pre(c, np.arange(c.weight.size))] = c.weight
    assert np.array_equal(back, J)
    backx = np.zeros((N, Nx))
    backx[c.x_post, np.searchsorted(c.x_ptr, np.arange(c.x_weight.size), side="right") - 1] = c.x_weight
    assert np.array_equal(backx, Jx)
    with pytest.raises(ValueError, match="N x N"):
        connectivity_from_dense(J[:, :-1], Jx, Ne)


def test_sampled_synapses_are_distinct_in_block_and_findable():
    p, c = _build(N=500)
    rng = np.random.default_rng(2)
    for blk in BLOCKS:
        s = sample_synapses(c, blk, 200, rng)
        assert len(np.unique(s)) == 200
        pre, post = synapse_pre(c, s), c.out_post[s]
        assert np.all((pre < p.Ne) == (blk[1] == "e")) and np.all((post < p.Ne) == (blk[0] == "e"))
        assert np.array_equal(find_synapses(c, post, pre), s)
    assert sample_synapses(c, "ee", 10**9, rng).size == block_sizes(c)[0]  # min(requested, available)


def test_same_seed_same_synapses_different_seed_different():
    _, a = _build(N=300, seed=5)
    _, b = _build(N=300, seed=5)
    _, d = _build(N=300, seed=6)
    assert np.array_equal(a.out_post, b.out_post) and np.array_equal(a.x_post, b.x_post)
    assert a.out_post.size != d.out_post.size or not np.array_equal(a.out_post, d.out_post)


def test_incoming_index_is_completed_when_a_run_needs_more_blocks():
    from sim.connectivity import post_update_blocks, with_incoming

    _p, c = _build(N=200)  # static: no incoming entries
    assert c.in_syn.size == 0 and not c.indexed.any()
    q = SimParams(N=200, rule_ii="oja", eta_ii=1e-3)
    d = with_incoming(c, post_update_blocks(q))
    assert d.in_syn.size == block_sizes(c)[3] and d.indexed.tolist() == [False, False, False, True]
    assert with_incoming(d, post_update_blocks(q)) is d


def test_uniform_weights_and_row_splits():
    """The one weight of each block whose weights are all equal, NaN where they differ or are none;
    the first I target per row, flagged -1 when a row is not E-first."""
    ptr = np.array([0, 3, 5, 6])
    post = np.array([0, 1, 2, 0, 2, 1], np.int32)  # Ne = 2: rows E, E, I | E, I | E (row 2: an I pre)
    split = row_split(ptr, post, 2)
    assert split.tolist() == [2, 4, 6]
    w = np.array([1.0, 1.0, 5.0, 1.0, 6.0, 2.0])
    val = uniform_weights(ptr, split, w, 2)  # rows 0, 1 E pres, row 2 an I pre
    assert val[0] == 1.0 and np.isnan(val[2])  # ee all 1; ie 5 and 6
    assert val[1] == 2.0 and np.isnan(val[3])  # ei one synapse; ii none
    assert row_split(ptr, np.array([2, 0, 1, 0, 2, 1], np.int32), 2)[0] == -1
