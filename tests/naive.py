"""Slow, obviously correct reference versions of kernel pieces (stumpy's tests/naive.py style).

`naive_network` runs MODEL.md §1.7 step by step on dense matrices J [post, pre] and Jx [post, X]
with an explicit existence mask, and writes each plasticity rule of §2 in its textbook form. It
uses `sim.fastexp.fast_exp` for the EIF exponential (itself tested against math.exp) so that
spikes can be compared exactly with the kernel. With precision="float32", V and the currents are
float32 numpy arrays (Python-float constants then act as float32, NEP 50), the exponential is
`fast_exp32`, and a delivery rounds the float64 sum current + w * increment once to float32.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.fastexp import fast_exp, fast_exp32
from sim.params import SimParams

ORDER = ("ee", "ie", "ei", "ii")
"""Rule order of a step."""


def factors(p: SimParams) -> dict[str, float]:
    """Decay factors and per-spike increments, written out for both integrators."""
    if p.integrator == "reference":
        return dict(
            fe=1 - p.dt / p.taue,
            fi=1 - p.dt / p.taui,
            fx=1 - p.dt / p.taux,
            fs=1 - p.dt / p.tauSTDP,
            inc_e=1 / p.taue,
            inc_i=1 / p.taui,
            inc_x=1 / p.taux,
        )
    fe, fi, fx = math.exp(-p.dt / p.taue), math.exp(-p.dt / p.taui), math.exp(-p.dt / p.taux)
    return dict(
        fe=fe,
        fi=fi,
        fx=fx,
        fs=math.exp(-p.dt / p.tauSTDP),
        inc_e=(1 - fe) / (p.dt * fe),
        inc_i=(1 - fi) / (p.dt * fi),
        inc_x=(1 - fx) / p.dt,
    )


def _pops(p: SimParams, block: str) -> tuple[np.ndarray, np.ndarray]:
    e, i = np.arange(p.Ne), np.arange(p.Ne, p.N)
    return (e if block[0] == "e" else i), (e if block[1] == "e" else i)


def _clip(p: SimParams, block: str, w: float) -> float:
    sq = math.sqrt(p.N)
    return min(max(w, getattr(p, f"jmin_{block}") / sq), getattr(p, f"jmax_{block}") / sq)


def pre_update(p: SimParams, block: str, w: float, x_post: float) -> float:
    """One pre-spike event of the block's rule on a weight w (J units), textbook form."""
    rule, eta, sq = getattr(p, f"rule_{block}"), getattr(p, f"eta_{block}"), math.sqrt(p.N)
    if rule == "soft_hebb":
        return w - eta * x_post * w
    if rule == "hebb":
        return _clip(p, block, w - eta * x_post)
    if rule in ("kohonen", "oja"):
        return w + getattr(p, f"beta_{block}") / sq * eta * x_post
    if rule == "triplet":
        return _clip(p, block, w + eta * getattr(p, f"theta_{block}") * x_post)
    if rule == "homeo":
        alpha = 2 * getattr(p, f"rho_{block}") * p.tauSTDP
        return w - eta / (getattr(p, f"jnorm_{block}") / sq) * (x_post - alpha) * w
    return w


def post_update(p: SimParams, block: str, w: float, x_pre: float) -> float:
    """One post-spike event of the block's rule on a weight w (J units), textbook form."""
    rule, eta, sq = getattr(p, f"rule_{block}"), getattr(p, f"eta_{block}"), math.sqrt(p.N)
    if rule == "soft_hebb":
        return w + eta * x_pre * getattr(p, f"jmax_{block}") / sq
    if rule == "hebb":
        return _clip(p, block, w + eta * x_pre)
    if rule == "kohonen":
        return (1 - eta) * w
    if rule == "oja":
        return w - eta * x_pre * w
    if rule == "triplet":
        return _clip(p, block, w - eta * x_pre**2)
    if rule == "homeo":
        return w - eta / (getattr(p, f"jnorm_{block}") / sq) * x_pre * w
    return w


def deferred_blocks(p: SimParams) -> set[str]:
    """Blocks whose post events wait with post_updates="deferred": the purely multiplicative ones."""
    if p.post_updates != "deferred":
        return set()
    return {b for b in p.plastic_blocks if getattr(p, f"rule_{b}") in ("oja", "homeo")}


def post_factor(p: SimParams, block: str) -> float:
    """B of the multiplicative post event J <- J (1 + B x_pre) of oja and homeo."""
    eta, sq = getattr(p, f"eta_{block}"), math.sqrt(p.N)
    return -eta if getattr(p, f"rule_{block}") == "oja" else -eta / (getattr(p, f"jnorm_{block}") / sq)


def apply_pending(p: SimParams, J: np.ndarray, P: np.ndarray, block: str, i: int, k: int) -> None:
    """A deferred synapse's pending post events, J <- J (1 + B sum x_pre), and P <- 0."""
    J[i, k] = J[i, k] + post_factor(p, block) * P[i, k] * J[i, k]
    P[i, k] = 0.0


def naive_plasticity(
    p: SimParams,
    J: np.ndarray,
    M: np.ndarray,
    x: np.ndarray,
    spikers: np.ndarray,
    P: np.ndarray | None = None,
) -> None:
    """Step 5 on dense J with existence mask M: per block, all pre events, then all post events. Deferred
    blocks: a post spike adds x_pre to the pending sum P of each synapse, before this step's pre events;
    a pre event first applies its synapse's pending sum."""
    deferred = deferred_blocks(p)
    for block in ORDER:
        if block not in p.plastic_blocks:
            continue
        posts, pres = _pops(p, block)
        if block in deferred:
            for i in spikers[np.isin(spikers, posts)]:
                for k in pres[M[i, pres]]:
                    P[i, k] += x[k]
        for k in spikers[np.isin(spikers, pres)]:
            for i in posts[M[posts, k]]:
                if block in deferred:
                    apply_pending(p, J, P, block, i, k)
                J[i, k] = pre_update(p, block, J[i, k], x[i])
        if block in deferred:
            continue
        for i in spikers[np.isin(spikers, posts)]:
            for k in pres[M[i, pres]]:
                J[i, k] = post_update(p, block, J[i, k], x[k])


def flush_pending(p: SimParams, J: np.ndarray, M: np.ndarray, P: np.ndarray) -> None:
    """Apply every pending post event of the deferred blocks."""
    for block in deferred_blocks(p):
        posts, pres = _pops(p, block)
        for i in posts:
            for k in pres[M[i, pres]]:
                apply_pending(p, J, P, block, i, k)


def naive_network(
    p: SimParams,
    J: np.ndarray,
    Jx: np.ndarray,
    x_steps: np.ndarray,
    x_ids: np.ndarray,
    V0: np.ndarray,
    flush_at: Any = lambda n: False,
) -> dict[str, Any]:
    """Run all Nt steps; returns spikes [(step, neuron)], final J, V, currents and traces. Deferred post
    events are applied at the steps where flush_at(n) is true and at the last step."""
    f = factors(p)
    J, M = J.copy(), J != 0
    P = np.zeros_like(J)
    N, Ne = p.N, p.Ne
    dtype = np.dtype(p.precision)
    exp = fast_exp32 if dtype == np.float32 else fast_exp
    V = np.asarray(V0, np.float64).astype(dtype)
    Ie, Ii, Ix, x = np.zeros(N, dtype), np.zeros(N, dtype), np.zeros(N, dtype), np.zeros(N)
    stim = np.where(np.arange(N) < Ne, math.sqrt(N) * p.jestim, math.sqrt(N) * p.jistim).astype(dtype)
    off = p.T if p.stim_off is None else p.stim_off
    spikes = []
    for n in range(1, p.Nt + 1):
        for m in x_ids[x_steps == n]:  # 1
            Ix += Jx[:, m] * f["inc_x"]
        e = exp((V - p.VT) * (1 / p.DeltaT))  # 2
        drive = Ie + Ii + Ix + p.gL * (p.EL - V) + (p.gL * p.DeltaT) * e
        if p.stim_on <= (n - 1) * p.dt < off and (p.jestim or p.jistim):
            drive = stim + Ie + Ii + Ix + p.gL * (p.EL - V) + (p.gL * p.DeltaT) * e
        V = V + (p.dt / p.Cm) * drive
        spk = np.flatnonzero(p.Vth <= V)  # 3
        for k in spk:  # 4
            if k < Ne:
                Ie += J[:, k] * f["inc_e"]
            else:
                Ii += J[:, k] * f["inc_i"]
        naive_plasticity(p, J, M, x, spk, P)  # 5
        if flush_at(n) or n == p.Nt:
            flush_pending(p, J, M, P)
        x[spk] += 1  # 6
        Ie, Ii, Ix, x = Ie * f["fe"], Ii * f["fi"], Ix * f["fx"], x * f["fs"]  # 7, 8
        V[spk] = p.Vre  # 9
        spikes += [(n, int(k)) for k in spk]
    return dict(spikes=spikes, J=J, V=V, Ie=Ie, Ii=Ii, Ix=Ix, x=x)


def random_network(p: SimParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Dense J [post, pre] and Jx [post, X] drawn the obvious way (a Bernoulli mask per block)."""
    sq, Ne, N = math.sqrt(p.N), p.Ne, p.N
    J = np.zeros((N, N))
    for block in ("ee", "ei", "ie", "ii"):
        posts, pres = _pops(p, block)
        mask = rng.random((posts.size, pres.size)) < getattr(p, f"p_{block}")
        J[np.ix_(posts, pres)] = mask * getattr(p, f"j{block}") / sq
    Jx = np.zeros((N, p.Nx))
    Jx[:Ne] = (rng.random((Ne, p.Nx)) < p.p_ex) * p.jex / sq
    Jx[Ne:] = (rng.random((N - Ne, p.Nx)) < p.p_ix) * p.jix / sq
    return J, Jx


def poisson_x(p: SimParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Independent Poisson X trains: delivery steps (first n with n dt >= t) and ids, sorted by step."""
    n = rng.poisson(p.rx * p.T * p.Nx)
    t = rng.uniform(0, p.T, n)
    ids = rng.integers(0, p.Nx, n)
    steps = np.array([math.ceil(v / p.dt) for v in t], dtype=np.int64)
    order = np.argsort(steps, kind="stable")
    return steps[order], ids[order]


def correlated_x_original(p: SimParams, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The original mother-process algorithm, neuron by neuron (Binomial count, choice w/o replacement)."""
    n_m = rng.poisson(p.rx / p.cx * p.T)
    mother = rng.uniform(0, p.T, n_m)
    times, ids = [], []
    for j in range(p.Nx):
        k = rng.binomial(n_m, p.cx)
        t = mother[rng.choice(n_m, size=k, replace=False)] + p.taujitter * rng.standard_normal(k)
        t = t[(t > 0) & (t < p.T)]
        times.append(t)
        ids.append(np.full(t.size, j))
    return np.concatenate(times), np.concatenate(ids)
