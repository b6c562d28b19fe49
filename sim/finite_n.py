"""Finite-N mean field of the EIF balanced network: self-consistent rates, rate spread, gains.

A finite network keeps a net mean input mu_a = sqrt(N) [W r + W_x r_x + s]_a of O(1), so
r = W^-1 (mu / sqrt(N) - W_x r_x - s) differs from the balanced rates by O(1/sqrt(N)). mu is fixed by
the neurons' transfer: each population's mean rate is the EIF rate (sim.eif, threshold integration,
diffusion approximation with a synaptic-filtering correction) averaged over the quenched spread of
mean input across cells (Bernoulli in-degrees and presynaptic rate spread), with temporal noise
D_a = sum_b p_ab q_b j_ab² r_b (Brunel 2000 self-consistency, heterogeneity as in van Vreeswijk &
Sompolinsky 1998). Everything comes from the parameters alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.polynomial.hermite_e import hermegauss
from scipy import optimize

from sim import eif
from sim.params import SimParams
from sim.theory import MeanField, mean_field

GH_NODES = 16
MIN_INDEGREE = 10.0
"""Below this expected in-degree p N_b the diffusion approximation is not used (NaN prediction)."""
MAX_EVALS = 400
_Z, _WZ = hermegauss(GH_NODES)
_WZ = _WZ / math.sqrt(2 * math.pi)


@dataclass(frozen=True)
class FiniteState:
    """Self-consistent finite-N state of the two populations (E, I); rates in kHz."""

    rates: np.ndarray
    rate_sd: np.ndarray  # spread of time-averaged rates across cells (kHz)
    mu: np.ndarray  # net mean input sqrt(N)[W r + W_x r_x + s] (mV/ms)
    noise: np.ndarray  # effective white-noise intensity D_eff (mV²/ms)
    shift: np.ndarray  # filtering threshold shift (mV)
    sigma_q: np.ndarray  # quenched s.d. of the mean input across cells (mV/ms)
    gain: np.ndarray  # population-mean DC gain d r / d mu (kHz per mV/ms)
    gain_over_sd: np.ndarray  # mean over cells of gain / sqrt(rate * CV²), for correlations
    cv2: np.ndarray  # rate-weighted mean ISI CV² (the long-window Fano factor of a renewal train)
    ok: bool
    x: np.ndarray  # the solver's unknowns (mu, sd in Hz), to warm-start a nearby solve


def shared_tau(p: SimParams) -> float:
    """Correlation time of the net shared input with correlated X (ms): X synapse plus jitter width.

    The pairwise X cross-covariance is a Gaussian of s.d. sqrt(2) taujitter; an exponential
    autocovariance of the same area and peak has time constant sqrt(pi) taujitter.
    """
    return p.taux + math.sqrt(math.pi) * p.taujitter


def _block_inputs(p: SimParams, mf: MeanField, j: np.ndarray, r: np.ndarray, var: np.ndarray, shared=None):
    """Per population: effective noise D, threshold shift, quenched input s.d. at rates r (kHz).

    `shared` (mV²/ms per population) is the intensity of the net shared input that correlated X
    leaves after the recurrent cancellation (zero for c = 0).
    """
    nrn_tau = p.Cm / p.gL
    qx = p.Nx / p.N
    taus = np.array([p.taue, p.taui, p.taux, shared_tau(p)])
    shared = np.zeros(2) if shared is None else shared
    noise, shift, sig = np.zeros(2), np.zeros(2), np.zeros(2)
    jx, px = (p.jex, p.jix), (p.p_ex, p.p_ix)
    rr = np.maximum(r, 0.0)
    for a in range(2):
        w = mf.charge * j[a]
        pa = mf.p[a]
        intens = np.array([*(pa * mf.q * w**2 * rr), px[a] * qx * jx[a] ** 2 * mf.rx, shared[a]])
        noise[a], shift[a] = eif.filtered_noise(nrn_tau, intens, taus)
        quenched = mf.q * w**2 * pa * ((1 - pa) * rr**2 + var)
        sig[a] = math.sqrt(float(np.sum(quenched)) + qx * jx[a] ** 2 * px[a] * (1 - px[a]) * mf.rx**2)
    return noise, shift, sig


def _population(nrn: eif.Neuron, mu: float, D: float, shift: float, sig: float, stats: bool = False):
    """Mean and s.d. of rates over the quenched Gaussian input spread; optionally gain and CV² too."""
    base = mu - nrn.gL * shift
    vals = np.array(
        [eif.rate_cv2(nrn, base + sig * z, D) if stats else (eif.rate(nrn, base + sig * z, D), 0) for z in _Z]
    )
    rates = vals[:, 0]
    m = float(_WZ @ rates)
    sd = math.sqrt(max(float(_WZ @ rates**2) - m * m, 0.0))
    if not stats:
        return m, sd
    g = np.array([eif.gain(nrn, base + sig * z, D) for z in _Z])
    cv2 = np.nan_to_num(vals[:, 1], nan=1.0)
    g_sd = np.where(rates > 1e-6, g / np.sqrt(np.maximum(rates * cv2, 1e-12)), 0.0)
    return m, sd, float(_WZ @ g), float(_WZ @ g_sd), float(_WZ @ (rates * cv2)) / max(m, 1e-12)


def applicable(p: SimParams) -> bool:
    """Every non-empty block has enough synapses per cell for the diffusion approximation."""
    sizes = {"e": p.Ne, "i": p.Ni, "x": p.Nx}
    blocks = ("ee", "ei", "ie", "ii", "ex", "ix")
    return all(
        getattr(p, f"p_{b}") == 0 or getattr(p, f"p_{b}") * sizes[b[1]] >= MIN_INDEGREE for b in blocks
    )


def solve(
    params: SimParams,
    j: np.ndarray | None = None,
    mf: MeanField | None = None,
    uniform: tuple[bool, bool] = (False, False),
    start: np.ndarray | None = None,
) -> FiniteState:
    """Self-consistent finite-N rates for weights j (default: initial weights) [post, pre].

    With correlated input (c > 0) the net shared input depends on the gains, so the state is
    re-solved with it a few times (it changes the rates by a few per cent). `uniform[a]` marks a
    population whose plastic inputs have equalised its cells' rates (a homeostatic rule onto it):
    no quenched spread there. `start` is a previous state's (mu, sd) to warm-start from.
    """
    from sim.theory import initial_weights

    mf = mean_field(params) if mf is None else mf
    j = initial_weights(params) if j is None else j
    state = _solve(params, j, mf, np.zeros(2), uniform, start)
    for _ in range(3 if mf.c > 0 else 0):
        if not state.ok:
            break
        state = _solve(params, j, mf, shared_intensity(params, mf, state, j), uniform, state.x)
    return state


def shared_intensity(p: SimParams, mf: MeanField, state: FiniteState, j: np.ndarray) -> np.ndarray:
    """Low-frequency intensity of the net shared input (mV²/ms): c r_x (u_a / L_a)².

    u = (W - L^-1 / sqrt N)^-1 W_x is the finite-N response of the rates to the X population rate.
    """
    u = np.linalg.solve(mf.W(j) - np.diag(1.0 / state.gain) / p.sqrtN, mf.wx)
    return mf.c * mf.rx * (u / state.gain) ** 2


def _solve(p: SimParams, j: np.ndarray, mf: MeanField, shared: np.ndarray, uniform, start) -> FiniteState:
    nrn = eif.Neuron.of(p)
    W = mf.W(j)
    drive = mf.wx * mf.rx + mf.stim
    sq = p.sqrtN
    r_inf = mf.raw_rates(j)

    def rates_of(mu: np.ndarray) -> np.ndarray:
        return np.linalg.solve(W, mu / sq - drive)

    def fun(x: np.ndarray) -> np.ndarray:
        mu, sd = x[:2], x[2:] / 1000.0
        r = rates_of(mu)
        noise, shift, sig = _block_inputs(p, mf, j, r, sd**2, shared)
        sig = np.where(uniform, 0.0, sig)
        out = np.zeros(4)
        for a in range(2):
            m, s = _population(nrn, mu[a], noise[a], shift[a], sig[a])
            out[a], out[2 + a] = (m - r[a]) * 1000.0, (s - sd[a]) * 1000.0
        return out

    x0 = np.array([0.0, 0.0, *(0.5 * np.abs(np.nan_to_num(r_inf)) * 1000.0)]) if start is None else start
    with np.errstate(all="ignore"):
        sol = optimize.root(fun, x0, method="hybr", options={"xtol": 1e-8, "maxfev": MAX_EVALS})
    mu, sd = sol.x[:2], np.abs(sol.x[2:]) / 1000.0
    r = rates_of(mu)
    ok = bool(sol.success and np.all(np.abs(fun(sol.x)) < 1e-4) and np.all(r > 0))
    noise, shift, sig = _block_inputs(p, mf, j, r, sd**2, shared)
    sig = np.where(uniform, 0.0, sig)
    stats = [_population(nrn, mu[a], noise[a], shift[a], sig[a], stats=True) for a in range(2)]
    gain = np.array([s[2] for s in stats])
    g_sd = np.array([s[3] for s in stats])
    cv2 = np.array([s[4] for s in stats])
    return FiniteState(r, sd, mu, noise, shift, sig, gain, g_sd, cv2, ok, sol.x.copy())


def rate_nodes(params: SimParams, state: FiniteState, a: int) -> np.ndarray:
    """Rates (kHz) of population a at the Gauss-Hermite nodes of its quenched input spread (weights _WZ)."""
    nrn = eif.Neuron.of(params)
    base = state.mu[a] - nrn.gL * state.shift[a]
    return np.array([eif.rate(nrn, base + state.sigma_q[a] * z, state.noise[a]) for z in _Z])


NODE_WEIGHTS = _WZ


def covariances(params: SimParams, state: FiniteState, j: np.ndarray, window_ms: float) -> np.ndarray:
    """Mean pairwise spike-count covariance [[C_ee, C_ei], [C_ei, C_ii]] by linear response (counts²).

    Population-averaged counts obey n = xi + sqrt(N) L (W n + W_x n_x): L the population gains, xi
    the private variability (variance F r / N_a per ms). The mean off-diagonal covariance subtracts
    each cell's own variance from the population variance (the diagonal is excluded, MODEL §3.3).
    """
    p, mf = params, mean_field(params)
    L = np.diag(state.gain)
    sq = p.sqrtN
    M = np.linalg.inv(np.eye(2) - sq * L @ mf.W(j))
    sizes = np.array([p.Ne, p.Ni], dtype=float)
    private = np.diag(state.cv2 * state.rates / sizes)
    sigma_x = mf.c * mf.rx + (1 - mf.c) * mf.rx / p.Nx
    ext = sq * L @ mf.wx
    pop = M @ (private + np.outer(ext, ext) * sigma_x) @ M.T * window_ms
    single = state.cv2 * state.rates * window_ms + np.diag(pop)  # mean count variance of one cell
    C = pop.copy()
    for a in range(2):
        C[a, a] = (pop[a, a] - single[a] / sizes[a]) / (1 - 1 / sizes[a])
    return C


def correlations(state: FiniteState, C: np.ndarray, window_ms: float) -> np.ndarray:
    """Mean pairwise correlation: C_ab scaled by E[L/sd] per population over the gains L_a L_b.

    A pair's shared input gives C_ij = L_i L_j K_ab, a cell's count s.d. is sqrt(F_i r_i T); averaging
    over cells with the predicted rate spread replaces 1/sqrt(F r) of the N->inf formula.
    """
    scale = state.gain_over_sd / state.gain / math.sqrt(window_ms)
    return C * np.outer(scale, scale)
