"""Feed-forward X spike trains (MODEL.md §1.6) generated in fixed time blocks, and the stimulus window.

A spike at time t is delivered at the first step n with t_n = n dt >= t (§1.6-1.7); every spike
in (0, T) is delivered (B5, B7: all Nx neurons fire, no last spike lost). Sources hand out
(step, id) arrays for steps < n1, so the kernel never sees more than one chunk of input.
"""

from __future__ import annotations

import math

import numpy as np

from sim.params import SimParams

BLOCK_MS = 1000.0
"""Length of a generation block; fixed so the random stream does not depend on the kernel chunking."""
CX_MIN = 1e-5
"""Below this cx the input is independent Poisson (MODEL.md §1.6)."""
JITTER_MARGIN_SD = 10.0
"""Mother spikes are generated this many jitter s.d. ahead of what the kernel consumes."""


def spike_steps(times: np.ndarray, dt: float, Nt: int) -> np.ndarray:
    """First step n >= 1 with n*dt >= t, robust to rounding of t/dt; clipped to [1, Nt]."""
    n = np.ceil(np.asarray(times, np.float64) / dt)
    n[(n - 1) * dt >= times] -= 1
    n[n * dt < times] += 1
    return np.clip(n, 1, Nt).astype(np.int64)


def geometric_positions(rng: np.random.Generator, total: int, p: float) -> np.ndarray:
    """Positions in [0, total) of independent Bernoulli(p) successes, drawn as geometric gaps."""
    if total <= 0 or p <= 0:
        return np.zeros(0, np.int64)
    if p >= 1:
        return np.arange(total, dtype=np.int64)
    m = int(total * p + 6 * math.sqrt(total * p) + 10)
    pos = np.cumsum(rng.geometric(p, size=m)) - 1
    parts = [pos]
    while parts[-1][-1] < total:
        parts.append(parts[-1][-1] + np.cumsum(rng.geometric(p, size=m)))
    pos = np.concatenate(parts)
    return pos[pos < total]


class XSource:
    """Independent Poisson (cx < 1e-5) or correlated mother-process X trains, made block by block."""

    def __init__(self, params: SimParams, rng: np.random.Generator):
        self.p = params
        self.rng = rng
        self.correlated = params.cx >= CX_MIN
        self.margin = JITTER_MARGIN_SD * params.taujitter if self.correlated else 0.0
        self.t_made = 0.0  # generation blocks cover [0, t_made)
        self.n_taken = 1  # steps < n_taken were handed out
        self.pending: list[tuple[np.ndarray, np.ndarray]] = []
        self.late_spikes = 0  # spikes jittered into steps already handed out (delivered late)
        self.n_spikes = 0

    def _make_block(self, a: float, b: float) -> tuple[np.ndarray, np.ndarray]:
        p, rng = self.p, self.rng
        if not self.correlated:
            n = rng.poisson(p.Nx * p.rx * (b - a))
            return a + (b - a) * rng.random(n), rng.integers(0, p.Nx, n)
        n_m = rng.poisson(p.rx / p.cx * (b - a))
        mother = a + (b - a) * rng.random(n_m)
        pos = geometric_positions(rng, n_m * p.Nx, p.cx)
        times = mother[pos // p.Nx] + p.taujitter * rng.standard_normal(pos.size)
        return times, pos % p.Nx

    def _generate_until(self, t: float) -> None:
        while self.t_made < min(t, self.p.T):
            a = self.t_made
            b = min(a + BLOCK_MS, self.p.T)
            times, ids = self._make_block(a, b)
            keep = (times > 0) & (times < self.p.T)
            self.pending.append((spike_steps(times[keep], self.p.dt, self.p.Nt), ids[keep].astype(np.int32)))
            self.t_made = b

    def take(self, n1: int) -> tuple[np.ndarray, np.ndarray]:
        """All not yet handed out spikes with step < n1 as (step, id), sorted by step."""
        self._generate_until(n1 * self.p.dt + self.margin)
        if self.pending:
            steps = np.concatenate([s for s, _ in self.pending])
            ids = np.concatenate([i for _, i in self.pending])
        else:
            steps, ids = np.zeros(0, np.int64), np.zeros(0, np.int32)
        late = steps < self.n_taken
        self.late_spikes += int(late.sum())
        steps[late] = self.n_taken
        order = np.argsort(steps, kind="stable")
        steps, ids = steps[order], ids[order]
        cut = int(np.searchsorted(steps, n1))
        self.pending = [(steps[cut:], ids[cut:])]
        self.n_taken = n1
        self.n_spikes += cut
        return steps[:cut], ids[:cut]


class ExplicitX:
    """Given X spike (times_ms, ids), e.g. the original package's trains, served like XSource."""

    def __init__(self, times_ms: np.ndarray, ids: np.ndarray, dt: float, Nt: int):
        times_ms = np.asarray(times_ms, np.float64)
        steps = spike_steps(times_ms, dt, Nt)
        order = np.argsort(steps, kind="stable")
        self.steps = steps[order]
        self.ids = np.asarray(ids, np.int32)[order]
        self.n_taken = 1
        self.late_spikes = 0
        self.n_spikes = 0

    def take(self, n1: int) -> tuple[np.ndarray, np.ndarray]:
        a = int(np.searchsorted(self.steps, self.n_taken))
        b = int(np.searchsorted(self.steps, n1))
        self.n_taken = n1
        self.n_spikes += b - a
        return self.steps[a:b], self.ids[a:b]


def stim_steps(params: SimParams) -> tuple[int, int]:
    """Steps [n_on, n_off) during which the stimulus acts: those whose start (n-1) dt is in [on, off)."""
    dt = params.dt
    n_on = math.ceil(params.stim_on / dt - 1e-9) + 1
    off = params.T if params.stim_off is None else params.stim_off
    n_off = math.ceil(off / dt - 1e-9) + 1
    return n_on, n_off


def stim_amplitude(params: SimParams) -> np.ndarray:
    """Per-neuron stimulus current J_stim = sqrt(N) (jestim | jistim) in mV/ms."""
    amp = np.empty(params.N, np.float64)
    amp[: params.Ne] = params.sqrtN * params.jestim
    amp[params.Ne :] = params.sqrtN * params.jistim
    return amp
