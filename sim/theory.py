"""Mean-field theory of the plastic balanced network (MODEL.md §4): rates, covariances, fixed points.

Rates come from the balance condition W r + W_x r_x + s = 0 (r in kHz), covariances from its rank-one
linear response, and the end state of plastic blocks from the zero of each rule's mean drift with the
rates re-solved from W(j) (§4.3). Correlation corrections use eps = c/(2 tauSTDP r_x), the one-sided
integral of the rank-one cross-covariance relative to the rate term (valid for tauSTDP >> jitter).
`predict(params)` never raises: it returns NaN where the theory has no answer.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from sim.params import BLOCKS, SimParams
from sim.vocabulary import THEORY

POP = {"e": 0, "i": 1}
CX_MIN = 1e-5
"""Below this cx the input generator is independent Poisson (MODEL §1.6), so the theory uses c = 0."""
FIXED_WEIGHT_RULES = ("soft_hebb", "oja")
SOLVED_RULES = ("kohonen", "homeo", "triplet")
_DEFAULT_J = {"ee": 25.0, "ei": -150.0, "ie": 112.5, "ii": -250.0}


@dataclass(frozen=True)
class MeanField:
    """The 2x2 mean-field system of a parameter set: W(j) = p q j (charge factor), W_x, input s."""

    p: np.ndarray  # [post, pre] connection probabilities
    q: np.ndarray  # (q_e, q_i) presynaptic fractions Ne/N, Ni/N
    charge: np.ndarray  # (E, I) delivered charge per unit weight: 1, or 1 - dt/tau with Euler decay
    wx: np.ndarray  # (W_x,e, W_x,i)
    rx: float  # kHz
    stim: np.ndarray  # mean injected drive (scaled, mV/ms) averaged over the analysis window
    c: float  # effective input correlation (0 below CX_MIN)
    tau: float  # tauSTDP (ms)
    Nx: int

    def W(self, j: np.ndarray) -> np.ndarray:
        return self.p * self.q[None, :] * self.charge[None, :] * j

    def raw_rates(self, j: np.ndarray) -> np.ndarray:
        """r = -W^-1 (W_x r_x + s) in kHz, possibly negative or non-finite (no positivity check)."""
        try:
            return -np.linalg.solve(self.W(j), self.wx * self.rx + self.stim)
        except np.linalg.LinAlgError:
            return np.full(2, np.nan)

    def rates(self, j: np.ndarray) -> np.ndarray:
        """Balanced rates (kHz), or NaNs when there is no positive balanced solution."""
        r = self.raw_rates(j)
        return r if np.all(np.isfinite(r)) and np.all(r > 0) else np.full(2, np.nan)

    @property
    def eps(self) -> float:
        """One-sided STDP-window integral of the input-driven cross-covariance over tau r_a r_b."""
        return self.c / (2 * self.tau * self.rx)


def _stim_fraction(params: SimParams) -> float:
    """Fraction of the analysis window [burn_in, T) during which the stimulus is on."""
    on = max(params.stim_on, params.burn_in)
    off = min(params.T if params.stim_off is None else params.stim_off, params.T)
    return max(off - on, 0.0) / (params.T - params.burn_in)


def mean_field(params: SimParams, euler: bool | None = None) -> MeanField:
    """Build the mean-field system; `euler` (default: integrator 'reference') adds the Euler charge loss."""
    if euler is None:
        euler = params.integrator == "reference"
    N = params.N
    q = np.array([params.Ne / N, params.Ni / N])
    p = np.array([[params.p_ee, params.p_ei], [params.p_ie, params.p_ii]])
    charge = np.array([1 - params.dt / params.taue, 1 - params.dt / params.taui]) if euler else np.ones(2)
    wx = np.array([params.p_ex, params.p_ix]) * (params.Nx / N) * np.array([params.jex, params.jix])
    stim = np.array([params.jestim, params.jistim]) * _stim_fraction(params)
    c = params.cx if params.cx >= CX_MIN else 0.0
    return MeanField(p, q, charge, wx, params.rx, stim, c, params.tauSTDP, params.Nx)


def initial_weights(params: SimParams) -> np.ndarray:
    """Scaled weights j as a [post, pre] 2x2 array."""
    return np.array([[params.jee, params.jei], [params.jie, params.jii]], dtype=float)


def balanced_rates(params: SimParams, weights: np.ndarray | None = None, euler: bool | None = None):
    """Balanced rates (r_e, r_i) in kHz for the given (default: initial) weights; NaN if none exist."""
    mf = mean_field(params, euler)
    r = mf.rates(initial_weights(params) if weights is None else weights)
    return float(r[0]), float(r[1])


def covariances(params: SimParams, window_ms: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean spike-count covariance matrix [[C_ee, C_ei], [C_ei, C_ii]] over windows of `window_ms` (§4.2).

    C = T_win Sigma_x v v^T with v = W^-1 W_x; Sigma_x = c r_x (correlated input) or r_x / Nx (c = 0).
    """
    mf = mean_field(params)
    j = initial_weights(params) if weights is None else weights
    if np.any(np.isnan(mf.rates(j))):
        return np.full((2, 2), np.nan)
    v = np.linalg.solve(mf.W(j), mf.wx)
    sigma_x = mf.c * mf.rx if mf.c > 0 else mf.rx / mf.Nx
    return window_ms * sigma_x * np.outer(v, v)


def correlations(params: SimParams, window_ms: float, weights: np.ndarray | None = None) -> np.ndarray:
    """Mean spike-count correlations C_ab / (T_win sqrt(r_a r_b)) (Poisson variances, Fano factor 1).

    NaN where the linear theory breaks down (|correlation| > 1).
    """
    j = initial_weights(params) if weights is None else weights
    r = mean_field(params).rates(j)
    R = covariances(params, window_ms, j) / (window_ms * np.sqrt(np.outer(r, r)))
    return np.where(np.abs(R) <= 1, R, np.nan)


# --- Plasticity: drifts and fixed points (§4.3) ---------------------------------------------------


@dataclass(frozen=True)
class FixedPoint:
    """Joint end state of the plastic blocks: weights [post, pre], rates (kHz) and linear stability."""

    weights: np.ndarray
    rates: np.ndarray
    stable: float  # 1.0 stable, 0.0 unstable, NaN when not assessed (static network or no fixed point)
    eigenvalues: np.ndarray  # of the drift Jacobian over the plastic blocks (1/ms)
    status: str  # "static", "ok", "manifold" (weights not unique), "no_fixed_point", "unbalanced"


def _pos(block: str) -> tuple[int, int]:
    return POP[block[0]], POP[block[1]]


def _rule(params: SimParams, block: str) -> str:
    return getattr(params, f"rule_{block}") if block in params.plastic_blocks else "static"


def drift(params: SimParams, mf: MeanField, j: np.ndarray, block: str) -> float:
    """Mean drift dj/dt (scaled weight per ms) of one plastic block at weights j (rate level + eps)."""
    a, b = _pos(block)
    r = mf.raw_rates(j)
    ra, rb, jab, tau, eps = r[a], r[b], j[a, b], mf.tau, mf.eps
    eta, rule = getattr(params, f"eta_{block}"), _rule(params, block)
    if rule == "soft_hebb":
        return eta * tau * ra * rb * (1 + eps) * (getattr(params, f"jmax_{block}") - jab)
    if rule == "oja":
        return eta * tau * ra * rb * (1 + eps) * (getattr(params, f"beta_{block}") - jab)
    if rule == "kohonen":
        return eta * ra * (getattr(params, f"beta_{block}") * tau * rb * (1 + eps) - jab)
    if rule == "triplet":
        theta = getattr(params, f"theta_{block}")
        return params.sqrtN * eta * ra * tau * rb * (theta * (1 + eps) - tau * rb * (1 + eps) ** 2 - 0.5)
    if rule == "homeo":
        k = eta * params.sqrtN / getattr(params, f"jnorm_{block}")
        return -k * jab * rb * 2 * tau * (ra * (1 + eps) - getattr(params, f"rho_{block}"))
    return 0.0  # static; additive hebb has no rate-level drift (handled by the caller)


def _residual(params: SimParams, mf: MeanField, j: np.ndarray, block: str) -> float:
    """Scaled fixed-point condition of a rate-dependent rule (zero at its non-trivial fixed point)."""
    a, b = _pos(block)
    r = mf.raw_rates(j)
    rule, eps = _rule(params, block), mf.eps
    if rule == "kohonen":
        return getattr(params, f"beta_{block}") * mf.tau * r[b] * (1 + eps) - j[a, b]
    if rule == "homeo":
        return 1000.0 * (r[a] * (1 + eps) - getattr(params, f"rho_{block}"))
    theta = getattr(params, f"theta_{block}")  # triplet: tau r_pre (1+eps)^2 + 1/2 = theta (1+eps)
    return mf.tau * r[b] * (1 + eps) ** 2 + 0.5 - theta * (1 + eps)


def _jacobian(params: SimParams, mf: MeanField, j: np.ndarray, blocks: tuple[str, ...]) -> np.ndarray:
    """Central-difference Jacobian of the drifts of `blocks` with respect to their weights."""
    jac = np.zeros((len(blocks), len(blocks)))
    for col, block in enumerate(blocks):
        h = 1e-5 * max(1.0, abs(j[_pos(block)]))
        up, down = j.copy(), j.copy()
        up[_pos(block)] += h
        down[_pos(block)] -= h
        for row, other in enumerate(blocks):
            jac[row, col] = (drift(params, mf, up, other) - drift(params, mf, down, other)) / (2 * h)
    return jac


def _starts(params: SimParams, blocks: tuple[str, ...]) -> list[tuple[float, ...]]:
    """Starting points for the root search: initial, default and rescaled weights of each block."""
    per_block = []
    for block in blocks:
        j0 = params.j(block) or _DEFAULT_J[block]
        per_block.append(sorted({j0, 0.2 * j0, 3.0 * j0, _DEFAULT_J[block]}))
    return list(itertools.product(*per_block))


def _admissible(params: SimParams, mf: MeanField, j: np.ndarray, blocks: tuple[str, ...]) -> bool:
    """Balanced positive rates, sign kept by multiplicative homeo rules, triplet inside its bounds."""
    if np.any(np.isnan(mf.rates(j))):
        return False
    for block in blocks:
        rule, value = _rule(params, block), j[_pos(block)]
        if rule == "homeo" and not value * (params.j(block) or _DEFAULT_J[block]) > 0:
            return False
        lo, hi = getattr(params, f"jmin_{block}"), getattr(params, f"jmax_{block}")
        if rule == "triplet" and not lo <= value <= hi:
            return False
    return True


def _roots(params: SimParams, mf: MeanField, base: np.ndarray, unknown: tuple[str, ...]) -> list[np.ndarray]:
    """Distinct admissible joint roots of the rate-dependent rules, weights as 2x2 arrays."""

    def full(x: np.ndarray) -> np.ndarray:
        j = base.copy()
        for block, value in zip(unknown, x, strict=True):
            j[_pos(block)] = value
        return j

    def fun(x: np.ndarray) -> np.ndarray:
        j = full(x)
        return np.array([_residual(params, mf, j, block) for block in unknown])

    found: list[np.ndarray] = []
    for start in _starts(params, unknown):
        with np.errstate(all="ignore"):
            sol = optimize.root(fun, np.array(start), method="hybr", options={"xtol": 1e-12})
        if not sol.success or not np.all(np.abs(fun(sol.x)) < 1e-7):
            continue
        j = full(sol.x)
        if _admissible(params, mf, j, unknown) and not any(np.allclose(j, f, rtol=1e-7) for f in found):
            found.append(j)
    return found


def fixed_point(params: SimParams) -> FixedPoint:
    """Joint fixed point of all plastic blocks (static blocks keep their weights), stable one preferred.

    Among several admissible roots the stable one closest to the initial weights is returned; with
    none stable, the closest one, flagged unstable. Additive Hebb has no rate-level fixed point.
    """
    mf, j0 = mean_field(params), initial_weights(params)
    plastic = params.plastic_blocks
    if not plastic:
        r = mf.rates(j0)
        return FixedPoint(j0, r, math.nan, np.empty(0), "unbalanced" if np.isnan(r[0]) else "static")
    none = FixedPoint(j0.copy(), np.full(2, np.nan), math.nan, np.empty(0), "no_fixed_point")
    for block in plastic:
        none.weights[_pos(block)] = np.nan
    if any(_rule(params, b) == "hebb" for b in plastic):
        return none
    base = j0.copy()
    for block in plastic:
        rule = _rule(params, block)
        if rule in FIXED_WEIGHT_RULES:
            base[_pos(block)] = getattr(params, f"{'jmax' if rule == 'soft_hebb' else 'beta'}_{block}")
    unknown = tuple(b for b in plastic if _rule(params, b) in SOLVED_RULES)
    roots = _roots(params, mf, base, unknown) if unknown else [base]
    roots = [j for j in roots if _admissible(params, mf, j, ())]
    if not roots:
        return none
    scored = []
    for j in roots:
        eig = np.linalg.eigvals(_jacobian(params, mf, j, plastic))
        stable = bool(np.all(eig.real < 0))
        scored.append((not stable, float(np.linalg.norm(j - j0)), j, eig, stable))
    scored.sort(key=lambda item: item[:2])
    _, _, j, eig, stable = scored[0]
    size = np.abs(eig)
    if size.size and size.min() < 1e-8 * size.max():  # a line of fixed points (two rules pin one rate)
        return FixedPoint(j, mf.rates(j), math.nan, eig, "manifold")
    return FixedPoint(j, mf.rates(j), float(stable), eig, "ok")


def kohonen_beta_c(params: SimParams, block: str = "ee") -> tuple[float, float]:
    """Saddle-node of the Kohonen fixed point j = beta tau r_pre(j) (1 + eps): (beta_c, j_c).

    Other blocks stay at their initial weights; fixed points exist for beta below beta_c (beta > 0).
    """
    mf, j0 = mean_field(params), initial_weights(params)
    b = _pos(block)[1]

    def g(value: float) -> float:
        j = j0.copy()
        j[_pos(block)] = value
        r = mf.rates(j)
        return value / (mf.tau * r[b] * (1 + mf.eps)) if np.isfinite(r[b]) else -np.inf

    grid = np.linspace(0.0, 2000.0, 4001)
    values = np.array([g(x) for x in grid])
    gaps = np.flatnonzero(~np.isfinite(values[1:]))
    if gaps.size:  # keep the balanced segment that starts at j = 0
        values[gaps[0] + 1 :] = -np.inf
    k = int(np.argmax(values))
    if not np.isfinite(values[k]):
        return math.nan, math.nan
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, grid.size - 1)]
    res = optimize.minimize_scalar(
        lambda x: -g(x), bounds=(lo, hi), method="bounded", options={"xatol": 1e-9}
    )
    return float(-res.fun), float(res.x)


# --- The prediction reported beside every run ----------------------------------------------------

PREDICT_KEYS: tuple[str, ...] = tuple(s.name for s in THEORY)
"""Keys of `predict`, declared in sim.vocabulary."""


def _predict(params: SimParams) -> dict[str, float]:
    out = dict.fromkeys(PREDICT_KEYS, math.nan)
    fp = fixed_point(params)
    for block in BLOCKS:
        unique = fp.status != "manifold" or block not in params.plastic_blocks
        out[f"theory_j_{block}"] = float(fp.weights[_pos(block)]) if unique else math.nan
    out["theory_stable"] = fp.stable
    if fp.stable == 1.0 and fp.eigenvalues.size:
        out["theory_tau_w_s"] = float(1.0 / -fp.eigenvalues.real.max() / 1000.0)
    if np.any(np.isnan(fp.rates)):
        return out
    out["theory_rate_e_hz"], out["theory_rate_i_hz"] = (float(x) * 1000.0 for x in fp.rates)
    window = params.analysis.window
    C, R = covariances(params, window, fp.weights), correlations(params, window, fp.weights)
    for name, (a, b) in {"ee": (0, 0), "ei": (0, 1), "ii": (1, 1)}.items():
        out[f"theory_cov_{name}"], out[f"theory_corr_{name}"] = float(C[a, b]), float(R[a, b])
    return out


def predict(params: SimParams | dict) -> dict[str, float]:
    """Theory beside a run: rates (Hz), mean covariances/correlations, end-state weights, stability.

    Flat keys `PREDICT_KEYS`; NaN where no prediction exists (no balanced state, additive Hebb, no
    fixed point). `theory_tau_w_s` is the slowest linear relaxation time of the weights (s). Never raises
    for a valid parameter set.
    """
    try:
        params = params if isinstance(params, SimParams) else SimParams(**params)
        with np.errstate(all="ignore"):
            return _predict(params)
    except Exception:  # the theory must never take a run down; NaN means "no prediction"
        return dict.fromkeys(PREDICT_KEYS, math.nan)
