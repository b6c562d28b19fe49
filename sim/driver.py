"""The Python driver: build a network from params, run the kernel in chunks, assemble a SimResult.

`simulate(params)` is a pure function of the parameters (seed included): one SeedSequence(seed)
spawns independent streams for connectivity, X trains, and initial state plus sampling.
`run_network` is the lower-level entry used by `sim.compat` to run our kernel on given synapses,
X spikes, initial voltages and recording choices.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from sim import kernel_threads, recording
from sim.connectivity import (
    Connectivity,
    block_sizes,
    block_sums,
    build_connectivity,
    find_synapses,
    post_update_blocks,
    row_split,
    sample_synapses,
    uniform_weights,
    with_incoming,
)
from sim.inputs import ExplicitX, XSource, stim_amplitude, stim_steps
from sim.kernel import Consts, Net, Plast, State, run_steps
from sim.params import BLOCKS, MODEL_VERSION, SimParams, parse_params
from sim.plasticity import DEFERRED, plasticity_table
from sim.result import SimResult
from sim.summary import summarise

CHUNK_MS = 1000.0
"""Simulated time per kernel call (progress granularity)."""
GUARD_MS = 100.0
"""Window of the runaway guard."""

FLUSH_DECAY = 1e-6
"""Deferred post events are all applied (flushed) before g = fs^steps falls below this: acc - snap then
loses at most 6 of float64's 16 digits to cancellation, a relative 1e-10 of a pending change."""

Samples = dict[str, tuple[np.ndarray, np.ndarray]]


def flush_steps(p: SimParams) -> int:
    """Steps between flushes of deferred post events (0 if none is deferred): the largest divisor of a
    kernel call's steps (so results do not depend on how a run is cut into calls) within FLUSH_DECAY."""
    if not np.any(plasticity_table(p)[0] == DEFERRED):
        return 0
    chunk = recording.steps_of(CHUNK_MS, p.dt)
    fs = integrator_factors(p)["fs"]
    kmax = max(1, int(math.log(FLUSH_DECAY) / math.log(fs))) if 0 < fs < 1 else 1
    return max(d for d in range(1, min(chunk, kmax) + 1) if chunk % d == 0)


def snap_range(p: SimParams, conn: Connectivity) -> tuple[int, int]:
    """(first synapse, count) that need a deferral snapshot: the rows of pre populations with a deferred
    block (I rows only for EI/II iSTDP: a fifth of the synapses)."""
    flags = plasticity_table(p)[0] == DEFERRED
    if not flags.any():
        return 0, 0
    lo = 0 if (flags[0] or flags[2]) else int(conn.out_ptr[conn.Ne])
    return lo, int(conn.out_ptr[-1]) - lo


def integrator_factors(p: SimParams) -> dict[str, float]:
    """Per-step decay factors and per-spike increments (J -> current) of the chosen integrator."""
    if p.integrator == "reference":
        f = {
            k: 1 - p.dt / getattr(p, t)
            for k, t in (("fe", "taue"), ("fi", "taui"), ("fx", "taux"), ("fs", "tauSTDP"))
        }
        return {**f, "inc_e": 1 / p.taue, "inc_i": 1 / p.taui, "inc_x": 1 / p.taux}
    f = {
        k: math.exp(-p.dt / getattr(p, t))
        for k, t in (("fe", "taue"), ("fi", "taui"), ("fx", "taux"), ("fs", "tauSTDP"))
    }
    return {
        **f,
        "inc_e": (1 - f["fe"]) / (p.dt * f["fe"]),
        "inc_i": (1 - f["fi"]) / (p.dt * f["fi"]),
        "inc_x": (1 - f["fx"]) / p.dt,
    }


def make_consts(
    p: SimParams, lay: recording.Layout, raster: tuple[int, int, int], snap_from: int = 0
) -> Consts:
    """Scalars of the step loop (snap_from: the first synapse of `snap_range`)."""
    fac = integrator_factors(p)
    n_on, n_off = stim_steps(p)
    guard_steps = recording.steps_of(GUARD_MS, p.dt)
    guard_max = int(p.rate_max_hz / 1000.0 * p.N * guard_steps * p.dt)
    return Consts(
        N=p.N,
        Ne=p.Ne,
        dt_cm=p.dt / p.Cm,
        gL=p.gL,
        EL=p.EL,
        VT=p.VT,
        inv_dT=1.0 / p.DeltaT,
        gLDT=p.gL * p.DeltaT,
        Vth=p.Vth,
        Vre=p.Vre,
        fe=fac["fe"],
        fi=fac["fi"],
        fx=fac["fx"],
        fs=fac["fs"],
        inc_e=fac["inc_e"] * fac["fe"],
        inc_i=fac["inc_i"] * fac["fi"],
        inc_x=fac["inc_x"],
        n_on=n_on,
        n_off=n_off if (p.jestim or p.jistim) else n_on,
        guard_steps=guard_steps,
        guard_max=guard_max,
        rec_steps=lay.rec_steps,
        rate_steps=lay.rate_steps,
        burn_step=lay.burn_step,
        win_steps=lay.win_steps,
        raster_e=raster[0],
        raster_i=raster[1],
        raster_from=raster[2],
        any_plastic=int(bool(p.plastic_blocks)),
        flush_steps=flush_steps(p),
        snap_from=snap_from,
    )


def make_net(conn: Connectivity, c: Consts, flags: np.ndarray) -> Net:
    """Kernel view of the synapses (the same arrays, no copies), the X rows' E/I splits, and the
    increment w * inc of each static block whose weights are all equal (ee, ei, ie, ii, X->E, X->I;
    NaN otherwise), so that delivery need not read those weights: the same products, bit for bit."""
    n = conn
    u = uniform_weights(n.out_ptr, n.out_split, n.weight, n.Ne)
    u = np.where(np.asarray(flags) > 0, np.nan, u * np.array([c.inc_e, c.inc_i, c.inc_e, c.inc_i]))
    x_split = row_split(n.x_ptr, n.x_post, n.Ne)
    ux = uniform_weights(n.x_ptr, x_split, n.x_weight, n.Nx + 1)[[0, 2]] * c.inc_x
    if x_split.size and x_split[0] < 0:  # rows not E-first: every X weight is read
        x_split, ux = np.asarray(n.x_ptr[:-1]), np.full(2, np.nan)
    recurrent = (n.out_ptr, n.out_split, n.out_post, n.weight)
    incoming = (n.in_ptr, n.in_split, n.in_syn, n.in_pre)
    return Net(*recurrent, *incoming, n.x_ptr, n.x_post, n.x_weight, x_split, np.concatenate([u, ux]))


def raster_choice(p: SimParams, keep_all: bool) -> tuple[int, int, int, int]:
    """(E neurons, I neurons, first step, max stored spikes) of the optional raster."""
    if keep_all:
        return p.Ne, p.Ni, 1, 2**62
    if not p.record.spikes:
        return 0, 0, p.Nt + 1, 0
    n = p.record.spike_neurons
    first = (
        1
        if p.record.spike_window is None
        else max(1, p.Nt - recording.steps_of(p.record.spike_window, p.dt) + 1)
    )
    return min(n, p.Ne), min(n, p.Ni), first, p.record.max_spikes


def sample_positions(p: SimParams, conn: Connectivity, samples: Samples | None, rng) -> np.ndarray:
    """Synapse positions [4, n] of the sampled synapses per block (-1 padded)."""
    if samples is None:
        pos = [sample_synapses(conn, b, p.record.weights, rng) for b in BLOCKS]
    else:
        pos = [find_synapses(conn, *samples[b]) if b in samples else np.zeros(0, np.int64) for b in BLOCKS]
    out = np.full((4, max([len(a) for a in pos] + [0])), -1, np.int64)
    for b, a in enumerate(pos):
        out[b, : len(a)] = a
    return out


def choose_cells(p: SimParams, rng: np.random.Generator) -> np.ndarray:
    """record.cells E cells and as many I cells (at most the population), sorted, E first."""
    e = np.sort(rng.choice(p.Ne, size=min(p.record.cells, p.Ne), replace=False))
    i = np.sort(rng.choice(p.Ni, size=min(p.record.cells, p.Ni), replace=False)) + p.Ne
    return np.concatenate([e, i]).astype(np.int64)


def _chunk_cap(p: SimParams, c: Consts, chunk_steps: int, left: int) -> int:
    """Raster buffer for one chunk: what the guard allows in it, bounded by what is left."""
    bound = c.guard_max * (chunk_steps // c.guard_steps + 2) + p.N
    return int(max(0, min(left, bound)))


def run_network(
    params: SimParams | dict[str, Any],
    conn: Connectivity,
    x_source: XSource | ExplicitX | tuple[np.ndarray, np.ndarray],
    V0: np.ndarray,
    samples: Samples | np.ndarray | None = None,
    cells: np.ndarray | None = None,
    keep_all_spikes: bool = False,
    progress: Callable[[float], None] | None = None,
    rng: np.random.Generator | None = None,
    copy_weights: bool = True,
    threads: int = 1,
) -> SimResult:
    """Run the kernel on given synapses and inputs; `conn.weight` is copied unless copy_weights=False.

    x_source: an XSource, an ExplicitX, or (times_ms, ids) of the X spikes. samples: per block
    (post, pre) arrays of synapses to record, or an int64[4, n] array of synapse positions (-1
    padded), or None to sample `record.weights` per block with `rng`. cells: neuron indices whose
    currents and V are recorded (default: sampled with `rng`). keep_all_spikes: keep every spike
    (result.spike_times_ms / spike_neurons), as the original package does.
    result.extra holds the final state: `weight` (J units, aligned with conn), `V`, `Ie`, `Ii`, `Ix`,
    `x` (traces), and `win_counts` (the covariance window counts).
    threads: cores for this one run (at most one per BLOCK of cells; results identical to one thread
    except `weight_mean` at rounding level; not part of the parameters).
    """
    threads = kernel_threads.check_threads(threads)
    p = parse_params(params)
    t_wall = time.perf_counter()
    rng = np.random.default_rng(p.seed) if rng is None else rng
    if isinstance(x_source, tuple):
        x_source = ExplicitX(x_source[0], x_source[1], p.dt, p.Nt)
    samp = samples if isinstance(samples, np.ndarray) else sample_positions(p, conn, samples, rng)
    cells = choose_cells(p, rng) if cells is None else np.asarray(cells, np.int64)
    flags, coef = plasticity_table(p)
    if copy_weights:
        conn = conn._replace(weight=conn.weight.copy())
    conn = with_incoming(conn, post_update_blocks(p))
    sizes = block_sizes(conn)
    lay = recording.make_layout(p)
    n_e, n_i, first, cap = raster_choice(p, keep_all_spikes)
    c = make_consts(p, lay, (n_e, n_i, first), snap_range(p, conn)[0])
    samp_kernel = np.where(flags[:, None] > 0, samp, -1)
    chunk_steps = recording.steps_of(CHUNK_MS, p.dt)
    inv = np.where(sizes > 0, 1.0 / np.maximum(sizes, 1), 0.0)
    samp_pre = np.searchsorted(conn.out_ptr, samp_kernel, side="right") - 1
    rec = recording.allocate(p, lay, cells, samp_kernel, inv, _chunk_cap(p, c, chunk_steps, cap), samp_pre)
    st = _initial_state(p, conn, V0)
    net = make_net(conn, c, flags)
    tk = kernel_threads.prepare(net, st, rec, threads) if threads > 1 else None
    n_stop, status, raster = _loop(
        p, c, net, st, Plast(flags, coef), rec, x_source, chunk_steps, cap, progress, tk
    )
    result = summarise(p, lay, rec, conn, samp, flags, sizes, n_stop, status, raster, x_source, t_wall)
    st.x[:] *= c.fs  # the trace decay of the last step (the neuron pass applies it one step late)
    f64 = {k: np.asarray(getattr(st, k), np.float64) for k in ("V", "Ie", "Ii", "Ix")}  # no copy if float64
    result.extra.update(weight=conn.weight, x=st.x, **f64)
    return result


def _initial_state(p: SimParams, conn: Connectivity, V0: np.ndarray) -> State:
    """Zero currents and traces, V = V0 (rounded to float32 with precision="float32"), block sums."""
    V0 = np.asarray(V0, dtype=np.float64)
    if V0.shape != (p.N,):
        raise ValueError(f"V0: expected shape ({p.N},), got {V0.shape}")
    sums = block_sums(conn.out_ptr, conn.out_split, conn.weight, conn.Ne)
    dtype = np.dtype(p.precision)
    if dtype == np.float64:
        S = np.zeros((5, p.N))
        rows = tuple(S)
    else:  # the traces stay float64
        S = np.zeros((4, p.N), dtype)
        rows = (*S, np.zeros(p.N))
    S[0] = V0
    return State(
        *rows,
        sums,
        S,
        np.zeros(p.N, np.int64),
        stim_amplitude(p).astype(dtype, copy=False),
        np.zeros(1, np.int64),
        np.zeros(max(1, int(np.max(np.diff(conn.in_ptr), initial=0)))),
        np.zeros(p.N),
        np.zeros(snap_range(p, conn)[1]),
        np.ones(1),
    )


def _loop(p, c, net, st, pl, rec, x_source, chunk_steps, cap, progress, tk=None):
    """Call the kernel in chunks (on the threads of `tk` if any); collect the raster; stop on divergence."""
    n, status = 1, 0
    times: list[np.ndarray] = []
    ids: list[np.ndarray] = []
    kept, dropped = 0, 0
    while n <= p.Nt:
        n1 = min(n + chunk_steps, p.Nt + 1)
        xs_step, xs_id = x_source.take(n1)
        rec.raster_n[:] = 0
        if tk is None:
            n_last, status = run_steps(n, n1, xs_step, xs_id, net, st, c, pl, rec)
        else:
            n_last, status = kernel_threads.run_chunk(tk, n, n1, xs_step, xs_id, net, st, c, pl, rec)
        k = int(rec.raster_n[0])
        take = min(k, cap - kept)
        times.append(rec.raster_step[:take].copy())
        ids.append(rec.raster_id[:take].copy())
        kept += take
        dropped += k - take + int(rec.raster_n[1])
        if progress is not None:
            progress(min(1.0, n_last / p.Nt))
        n = n_last + 1
        if status != 0:
            break
    raster = (np.concatenate(times) * p.dt, np.concatenate(ids).astype(np.int64), dropped)
    return n - 1, status, raster


def simulate(
    params: SimParams | dict[str, Any], progress: Callable[[float], None] | None = None, threads: int = 1
) -> SimResult:
    """Run one simulation: connectivity, X trains and V0 all drawn from streams of `params.seed`.

    threads: cores for this run (default 1, so sweeps keep one run per core); results do not depend on it
    (`weight_mean` up to rounding)."""
    threads = kernel_threads.check_threads(threads)
    p = parse_params(params)
    s_conn, s_x, s_misc = np.random.SeedSequence(p.seed).spawn(3)
    conn = build_connectivity(p, np.random.default_rng(s_conn))
    x_source = XSource(p, np.random.default_rng(s_x))
    rng = np.random.default_rng(s_misc)
    V0 = rng.uniform(p.Vre, p.VT, p.N)
    return run_network(p, conn, x_source, V0, progress=progress, rng=rng, copy_weights=False, threads=threads)


def warm_up(threads: int = 1) -> None:
    """Compile (or load from the on-disk cache) every kernel on a tiny network: both integrators, both
    precisions (float32 state is a second specialisation of the kernel); with threads > 1 also the
    threaded kernel (it needs more than one block of cells)."""
    for integ, precision in (("exact", "float64"), ("reference", "float64"), ("exact", "float32")):
        simulate(
            dict(
                N=40,
                T=20.0,
                integrator=integ,
                precision=precision,
                rule_ee="soft_hebb",
                eta_ee=1e-3,
                rule_ei="homeo",
                eta_ei=1e-3,
                jestim=0.1,
                stim_on=5.0,
                stim_off=10.0,
                record=dict(spikes=True, cells=2, weights=2, dt=1.0),
                analysis=dict(window=5.0, rate_bin=1.0),
            )
        )
    if threads > 1:
        plastic = dict(eta_ei=1e-3, eta_ii=1e-3, record=dict(cells=2, weights=2))
        simulate(dict(N=2100, T=20.0, **plastic), threads=threads)
    from sim import eif  # the finite-N theory's threshold integration (too few synapses above to reach it)

    eif.rate_cv2(eif.Neuron.of(SimParams()), mu=1.0, D=4.0)


__all__ = ["MODEL_VERSION", "run_network", "simulate", "warm_up"]
