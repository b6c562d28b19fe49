"""Finite-N predictions beside the N->inf ones: rates, rate spread, plastic fixed points with Cov(J, r).

`predict_finite(params)` returns the `theory_finite_*` keys of `sim.summary_keys`, computed from the
parameters alone with the self-consistent mean field of `sim.finite_n`. Plastic blocks are solved at
their fixed point with the finite-N rates, including the covariance between a synapse's weight and
its presynaptic rate where the rule makes one (per-synapse fixed points of Kohonen, multiplicative
iSTDP). Never raises: NaN where there is no prediction.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import optimize

from sim import finite_n
from sim.params import BLOCKS, SimParams
from sim.summary_keys import FINITE_KEYS
from sim.theory import FIXED_WEIGHT_RULES, POP, fixed_point, initial_weights, mean_field

MAX_OUTER_EVALS = 60


def _pos(block: str) -> tuple[int, int]:
    return POP[block[0]], POP[block[1]]


def _rule(p: SimParams, block: str) -> str:
    return getattr(p, f"rule_{block}") if block in p.plastic_blocks else "static"


def _moments(state: finite_n.FiniteState, b: int) -> tuple[float, float]:
    """Mean and second moment of the presynaptic rates of population b (kHz, kHz²)."""
    m = float(state.rates[b])
    return m, m * m + float(state.rate_sd[b]) ** 2


def _homeo_mean_weight(p: SimParams, state: finite_n.FiniteState, block: str, j_eff: float) -> float:
    """Mean weight of a multiplicative iSTDP block whose rate-weighted mean is j_eff.

    d ln J_ik/dt is proportional to r_k (2 tau r_i - alpha), so from a uniform start J_ik = j0 e^{-A r_k}:
    balance needs j_eff = j0 E[r e^{-A r}]/E[r]; the measured mean is j0 E[e^{-A r}] (Cov(J, r) != 0).
    """
    b = _pos(block)[1]
    j0 = p.j(block)
    ratio = j_eff / j0 if j0 else math.nan
    if not ratio > 0 or state.rate_sd[b] <= 0:
        return j_eff
    r = finite_n.rate_nodes(p, state, b)
    w = finite_n.NODE_WEIGHTS
    m = float(w @ r)

    def gap(A: float) -> float:
        return float(w @ (r * np.exp(-A * r))) / m - ratio

    try:
        lo, hi = -50.0 / max(r.max(), 1e-9), 50.0 / max(r.max(), 1e-9)
        A = optimize.brentq(gap, lo, hi, xtol=1e-12)
    except ValueError:
        return math.nan
    return float(j0 * (w @ np.exp(-A * r)))


class FinitePoint:
    """Finite-N end state: effective weights (what the balance sees), mean weights, the state."""

    def __init__(self, p: SimParams):
        self.p = p
        self.mf = mean_field(p)
        self.inf = fixed_point(p)
        self.uniform = tuple(
            any(_rule(p, b) == "homeo" and POP[b[0]] == a for b in p.plastic_blocks) for a in range(2)
        )
        self._last: np.ndarray | None = None
        if not finite_n.applicable(p):
            raise ValueError("in-degrees too small for the diffusion approximation")
        self.j_eff, self.state = self._solve()
        self.j_mean = self._mean_weights()

    def _state(self, j: np.ndarray) -> finite_n.FiniteState:
        st = finite_n.solve(self.p, j, self.mf, uniform=self.uniform, start=self._last)
        if st.ok:
            self._last = st.x
        return st

    def _residual(self, j: np.ndarray, block: str, st: finite_n.FiniteState) -> float:
        a, b = _pos(block)
        p, mf = self.p, self.mf
        rule, eps = _rule(p, block), mf.eps
        if rule == "kohonen":  # per synapse J = beta tau r_k (1+eps): the balance sees beta tau E[r²]/E[r]
            m, m2 = _moments(st, b)
            return getattr(p, f"beta_{block}") * mf.tau * (m2 / m) * (1 + eps) - j[a, b]
        if rule == "homeo":
            return 1000.0 * (st.rates[a] * (1 + eps) - getattr(p, f"rho_{block}"))
        theta = getattr(p, f"theta_{block}")  # triplet, rate level with finite-N rates
        return mf.tau * st.rates[b] * (1 + eps) ** 2 + 0.5 - theta * (1 + eps)

    def _solve(self) -> tuple[np.ndarray, finite_n.FiniteState]:
        p, inf = self.p, self.inf
        if inf.status == "static":
            j = initial_weights(p)
            return j, self._state(j)
        if inf.status not in ("ok", "manifold"):
            raise ValueError(f"no N->inf fixed point ({inf.status})")
        base = inf.weights.copy()
        unknown = [b for b in p.plastic_blocks if _rule(p, b) not in FIXED_WEIGHT_RULES]
        if inf.status == "manifold" or not unknown:
            return base, self._state(base)

        def full(x: np.ndarray) -> np.ndarray:
            j = base.copy()
            for block, value in zip(unknown, x, strict=True):
                j[_pos(block)] = value
            return j

        def fun(x: np.ndarray) -> np.ndarray:
            st = self._state(full(x))
            if not st.ok:
                return np.full(len(unknown), 1e3)
            return np.array([self._residual(full(x), b, st) for b in unknown])

        x0 = np.array([base[_pos(b)] for b in unknown])
        sol = optimize.root(fun, x0, method="hybr", options={"xtol": 1e-6, "maxfev": MAX_OUTER_EVALS})
        if not sol.success or np.max(np.abs(fun(sol.x))) > 1e-3:
            raise ValueError("finite-N fixed point not found")
        j = full(sol.x)
        return j, self._state(j)

    def _mean_weights(self) -> np.ndarray:
        j = self.j_eff.copy()
        for block in self.p.plastic_blocks:
            a, b = _pos(block)
            rule = _rule(self.p, block)
            if rule == "kohonen":
                m, m2 = _moments(self.state, b)
                j[a, b] = self.j_eff[a, b] * m * m / m2
            elif rule == "homeo" and not self.uniform[b]:
                j[a, b] = _homeo_mean_weight(self.p, self.state, block, float(self.j_eff[a, b]))
        if self.inf.status == "manifold":
            for block in self.p.plastic_blocks:
                j[_pos(block)] = math.nan
        return j


def _predict(p: SimParams) -> dict[str, float]:
    out = dict.fromkeys(FINITE_KEYS, math.nan)
    fp = FinitePoint(p)
    st = fp.state
    if not st.ok:
        return out
    for block in BLOCKS:
        out[f"theory_finite_j_{block}"] = float(fp.j_mean[_pos(block)])
    out["theory_finite_rate_e_hz"], out["theory_finite_rate_i_hz"] = (float(x) * 1000 for x in st.rates)
    out["theory_finite_rate_sd_e_hz"], out["theory_finite_rate_sd_i_hz"] = (
        float(x) * 1000 for x in st.rate_sd
    )
    if finite_n.mean_field(p).c > 0:  # c = 0: O(1/N) correlations, not modelled at finite N (NaN)
        R = finite_n.correlations(p, st, fp.j_eff, p.analysis.window)
        for name, (a, b) in {"ee": (0, 0), "ei": (0, 1), "ii": (1, 1)}.items():
            out[f"theory_finite_corr_{name}"] = float(R[a, b])
    return out


def predict_finite(params: SimParams | dict) -> dict[str, float]:
    """The `theory_finite_*` keys for one parameter set (rates in Hz, weights in scaled units j)."""
    try:
        params = params if isinstance(params, SimParams) else SimParams(**params)
        with np.errstate(all="ignore"):
            return _predict(params)
    except Exception:  # a prediction must never take a run down; NaN means "no prediction"
        return dict.fromkeys(FINITE_KEYS, math.nan)
