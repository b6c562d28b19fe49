"""Simulation parameters: one pydantic model, the single source of truth for defaults, bounds and units.

Names follow the original package (`jee`, `eta_ei`, `tauSTDP`, `Vre` ...). Each recurrent block
(EE, EI, IE, II; "ei" means I->E) may carry one plasticity rule of MODEL.md §2 with its own rate.
The original flat rule names (`eta_ee_hebb`, `eta_ee_koh`, `beta`, `eta_ie_homeo`, `eta_ie_hebb`,
`jmax_ie_hebb`) are accepted and mapped onto the per-block fields (MODEL.md decision 2).
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

BLOCKS: tuple[str, ...] = ("ee", "ei", "ie", "ii")
"""Recurrent blocks, named post-pre as in the original: "ei" is I->E, "ie" is E->I."""

Rule = Literal["static", "soft_hebb", "hebb", "kohonen", "oja", "triplet", "homeo"]
RULES: tuple[str, ...] = ("static", "soft_hebb", "hebb", "kohonen", "oja", "triplet", "homeo")
"""Plasticity rules (MODEL.md §2): soft-bound Hebbian (P1/M1/M7), additive Hebbian with hard
bounds (M2), Kohonen (P2/M3), Oja (M4), triplet (M5), homeostatic iSTDP-type (P3/P5/P6)."""

MODEL_VERSION = "1"
"""Bumped whenever a change alters the numbers a run produces (part of the cache key)."""

IDENTITY_DEFAULTS: dict[str, Any] = {"precision": "float64", "post_updates": "immediate"}
"""Fields added after runs were stored: left out of a run's identity (cache key) at these values, so
runs made before the field existed keep their keys (with the default they give the same numbers)."""

# Original flat names -> (block, rule, name of the learning-rate field they set).
LEGACY_RULES: dict[str, tuple[str, str]] = {
    "eta_ee_hebb": ("ee", "soft_hebb"),
    "eta_ee_koh": ("ee", "kohonen"),
    "eta_ie_homeo": ("ie", "homeo"),
    "eta_ie_hebb": ("ie", "soft_hebb"),
}
LEGACY_ALIASES: dict[str, str] = {"beta": "beta_ee", "jmax_ie_hebb": "jmax_ie"}
LEGACY_RECORD: dict[str, str] = {"numrecord": "cells", "nJrecord0": "weights"}
LEGACY_ANALYSIS: dict[str, str] = {"winsize": "window", "dtRate": "rate_bin"}


class RecordOptions(BaseModel):
    """What a run records over time (MODEL.md §3.4)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    dt: float = Field(10.0, gt=0, le=1e6, description="Recording bin for weights, currents and V (ms)")
    weights: int = Field(100, ge=0, le=100_000, description="Synapses sampled per block (nJrecord0)")
    cells: int = Field(100, ge=0, le=100_000, description="Cells per population for currents and V")
    spikes: bool = Field(False, description="Keep a spike raster (bounded, see spike_neurons/window)")
    spike_neurons: int = Field(500, ge=1, description="Raster: first n E and first n I neurons at most")
    spike_window: float | None = Field(
        None, gt=0, description="Raster: keep only the final window of this length (ms); None = whole run"
    )
    max_spikes: int = Field(
        5_000_000,
        ge=1,
        le=2**31 - 1,
        description="Raster: hard cap on stored spikes (its buffer counts in the "
        "run's memory estimate, sim.cost)",
    )


class AnalysisOptions(BaseModel):
    """How spike statistics are computed (MODEL.md §3.3)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    start: float | None = Field(None, ge=0, description="Burn-in: statistics use t >= start (ms); None = T/2")
    window: float = Field(250.0, gt=0, description="Spike-count window for covariances (ms)")
    rate_bin: float = Field(10.0, gt=0, description="Bin of the population-rate time series (ms)")


class SimParams(BaseModel):
    """All parameters of one simulation; a run is a pure function of these (seed included)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=False, frozen=True, allow_inf_nan=False)

    # Size and time
    N: int = Field(5000, ge=10, le=1_000_000, description="Total recurrent neurons")
    T: float = Field(10_000.0, gt=0, le=1e8, description="Simulated time (ms)")
    dt: float = Field(0.1, gt=0, le=1.0, description="Euler time step (ms)")
    frac_exc: float = Field(0.8, gt=0, lt=1, description="Fraction of recurrent neurons that are E (Ne/N)")
    frac_ext: float = Field(0.2, gt=0, le=10, description="Feed-forward layer size as a fraction (Nx/N)")
    seed: int = Field(0, ge=0, lt=2**63, description="Seed of the one numpy Generator of the run")

    # Connectivity, scaled units j = sqrt(N) J
    jee: float = Field(25.0, ge=0, description="E->E weight (scaled, mV)")
    jei: float = Field(-150.0, le=0, description="I->E weight (scaled, mV, negative)")
    jie: float = Field(112.5, ge=0, description="E->I weight (scaled, mV)")
    jii: float = Field(-250.0, le=0, description="I->I weight (scaled, mV, negative)")
    jex: float = Field(180.0, ge=0, description="X->E weight (scaled, mV)")
    jix: float = Field(135.0, ge=0, description="X->I weight (scaled, mV)")
    p_ee: float = Field(0.1, ge=0, le=1, description="E->E connection probability")
    p_ei: float = Field(0.1, ge=0, le=1, description="I->E connection probability")
    p_ie: float = Field(0.1, ge=0, le=1, description="E->I connection probability")
    p_ii: float = Field(0.1, ge=0, le=1, description="I->I connection probability")
    p_ex: float = Field(0.1, ge=0, le=1, description="X->E connection probability")
    p_ix: float = Field(0.1, ge=0, le=1, description="X->I connection probability")

    # Feed-forward input
    rx: float = Field(0.01, gt=0, le=1.0, description="Rate of each X neuron (kHz)")
    cx: float = Field(0.1, ge=0, le=1, description="Pairwise X correlation (< 1e-5 means independent)")
    taujitter: float = Field(5.0, ge=0, le=1000, description="Jitter of correlated X spikes (ms, s.d.)")

    # Synapses and traces
    taue: float = Field(8.0, gt=0, description="E synaptic time constant (ms)")
    taui: float = Field(4.0, gt=0, description="I synaptic time constant (ms)")
    taux: float = Field(10.0, gt=0, description="X synaptic time constant (ms)")
    tauSTDP: float = Field(200.0, gt=0, description="Eligibility-trace time constant (ms)")

    # EIF neuron
    Cm: float = Field(1.0, gt=0, description="Membrane capacitance")
    gL: float = Field(1 / 15, gt=0, description="Leak conductance (1/ms with Cm=1)")
    EL: float = Field(-72.0, description="Leak reversal (mV)")
    VT: float = Field(-55.0, description="EIF soft threshold (mV)")
    DeltaT: float = Field(1.0, gt=0, description="EIF slope factor (mV)")
    Vth: float = Field(-50.0, description="Spike cut-off (mV)")
    Vre: float = Field(-75.0, description="Reset voltage (mV)")

    # Injected stimulus J_stim = sqrt(N) (jestim, jistim) during [stim_on, stim_off)
    jestim: float = Field(0.0, description="Stimulus amplitude to E cells (scaled, mV/ms)")
    jistim: float = Field(0.0, description="Stimulus amplitude to I cells (scaled, mV/ms)")
    stim_on: float = Field(0.0, ge=0, description="Stimulus onset (ms)")
    stim_off: float | None = Field(None, ge=0, description="Stimulus offset (ms); None = until T")

    # Plasticity: one rule per block
    rule_ee: Rule = Field("static", description="Rule on E->E")
    rule_ei: Rule = Field("static", description="Rule on I->E (eta_ei > 0 alone selects homeo, iSTDP)")
    rule_ie: Rule = Field("static", description="Rule on E->I")
    rule_ii: Rule = Field("static", description="Rule on I->I (eta_ii > 0 alone selects homeo)")
    eta_ee: float = Field(0.0, ge=0, description="Learning rate on E->E")
    eta_ei: float = Field(0.0, ge=0, description="Learning rate on I->E")
    eta_ie: float = Field(0.0, ge=0, description="Learning rate on E->I")
    eta_ii: float = Field(0.0, ge=0, description="Learning rate on I->I")
    jmax_ee: float = Field(30.0, description="Upper weight (scaled) of Hebbian rules on E->E")
    jmax_ei: float = Field(0.0, description="Upper weight (scaled) of Hebbian rules on I->E")
    jmax_ie: float = Field(125.0, description="Upper weight (scaled) of Hebbian rules on E->I")
    jmax_ii: float = Field(0.0, description="Upper weight (scaled) of Hebbian rules on I->I")
    jmin_ee: float = Field(0.0, description="Lower bound (scaled) of hebb/triplet on E->E")
    jmin_ei: float = Field(-1000.0, description="Lower bound (scaled) of hebb/triplet on I->E")
    jmin_ie: float = Field(0.0, description="Lower bound (scaled) of hebb/triplet on E->I")
    jmin_ii: float = Field(-1000.0, description="Lower bound (scaled) of hebb/triplet on I->I")
    beta_ee: float = Field(2.0, description="Kohonen/Oja potentiation (scaled) on E->E (original `beta`)")
    beta_ei: float = Field(-150.0, description="Kohonen/Oja potentiation (scaled) on I->E")
    beta_ie: float = Field(2.0, description="Kohonen/Oja potentiation (scaled) on E->I")
    beta_ii: float = Field(-250.0, description="Kohonen/Oja potentiation (scaled) on I->I")
    theta_ee: float = Field(2.0, description="Triplet LTP factor v_theta (dimensionless) on E->E")
    theta_ei: float = Field(2.0, description="Triplet LTP factor v_theta on I->E")
    theta_ie: float = Field(2.0, description="Triplet LTP factor v_theta on E->I")
    theta_ii: float = Field(2.0, description="Triplet LTP factor v_theta on I->I")
    rho_ee: float = Field(0.010, gt=0, le=0.2, description="Homeostatic target rate of E->E (kHz, post E)")
    rho_ei: float = Field(0.010, gt=0, le=0.2, description="iSTDP target rate of the E cells (kHz)")
    rho_ie: float = Field(0.020, gt=0, le=0.2, description="Homeostatic target rate of the I cells (kHz)")
    rho_ii: float = Field(0.020, gt=0, le=0.2, description="iSTDP target rate of the I cells (kHz)")
    jnorm_ee: float = Field(25.0, description="Normaliser of homeostatic E->E (scaled)")
    jnorm_ei: float = Field(-150.0, description="Normaliser of iSTDP I->E (scaled; original hard-codes -150)")
    jnorm_ie: float = Field(112.5, description="Normaliser of homeostatic E->I (scaled; original 112.5)")
    jnorm_ii: float = Field(-250.0, description="Normaliser of iSTDP I->I (scaled; original -250)")

    # Numerics, guards, outputs
    integrator: Literal["exact", "reference"] = Field(
        "exact",
        description="'reference': Euler factors (1-dt/tau) as the original; 'exact': exponential decay and "
        "charge-exact delivery (MODEL.md B16)",
    )
    precision: Literal["float64", "float32"] = Field(
        "float64",
        description="Membrane state V, I^e, I^i, I^x in float64 (the reference, checked against the naive "
        "loop) or float32 (faster neuron pass, same statistics; traces and weights stay float64)",
    )
    post_updates: Literal["immediate", "deferred"] = Field(
        "immediate",
        description="Post-spike updates of the multiplicative rules (homeo, oja): 'immediate' at each "
        "post spike (the reference, checked against the naive loop), or 'deferred' to the synapse's next "
        "pre spike as J <- J (1 + B sum of x_pre) (equal to first order in eta; faster at large N; "
        "docs/sim.md)",
    )
    rate_max_hz: float = Field(50.0, gt=0, le=1000, description="Runaway guard on the mean network rate (Hz)")
    record: RecordOptions = Field(default_factory=RecordOptions)
    analysis: AnalysisOptions = Field(default_factory=AnalysisOptions)

    @model_validator(mode="before")
    @classmethod
    def _map_legacy_names(cls, data: Any) -> Any:
        """Accept the original package's flat names and map them onto the per-block fields."""
        if not isinstance(data, dict):
            return data
        check_finite(data)
        data = dict(data)
        for old, new in LEGACY_ALIASES.items():
            if old in data:
                if new in data and data[new] != data[old]:
                    raise ValueError(f"{old}={data[old]!r} conflicts with {new}={data[new]!r}; give one")
                data[new] = data.pop(old)
        chosen: dict[str, str] = {}
        for old, (block, rule) in LEGACY_RULES.items():
            if old not in data:
                continue
            eta = data.pop(old)
            if not isinstance(eta, int | float) or isinstance(eta, bool):
                raise ValueError(f"{old}: expected a number, got {eta!r}")
            if eta == 0:
                continue
            if block in chosen:
                raise ValueError(
                    f"{old}={eta!r} conflicts with {chosen[block]}: one rule per block "
                    f"(the original package also refuses this combination)"
                )
            given = data.get(f"rule_{block}")
            if given not in (None, rule):
                raise ValueError(f"{old}={eta!r} selects rule {rule!r} but rule_{block}={given!r}")
            chosen[block] = old
            data[f"rule_{block}"] = rule
            data[f"eta_{block}"] = eta
        for block in ("ei", "ii"):
            eta = data.get(f"eta_{block}", 0)
            if isinstance(eta, int | float) and eta > 0 and f"rule_{block}" not in data:
                data[f"rule_{block}"] = "homeo"
        record = dict(data.get("record") or {})
        for old, new in LEGACY_RECORD.items():
            if old in data:
                record[new] = data.pop(old)
        if "nBinsRecord" in data:
            record["dt"] = data.pop("nBinsRecord") * data.get("dt", 0.1)
        if record:
            data["record"] = record
        analysis = dict(data.get("analysis") or {})
        for old, new in LEGACY_ANALYSIS.items():
            if old in data:
                analysis[new] = data.pop(old)
        if analysis:
            data["analysis"] = analysis
        return data

    @model_validator(mode="after")
    def _check_consistency(self) -> SimParams:
        """Cross-field rules; each message names the field, the value and what was expected."""
        if self.Ne < 1 or self.Ni < 1:
            raise ValueError(f"N={self.N} with frac_exc={self.frac_exc} leaves an empty E or I population")
        if self.Nx < 1:
            raise ValueError(f"frac_ext={self.frac_ext} with N={self.N} gives no feed-forward neuron")
        if not self.dt <= self.T:
            raise ValueError(f"T={self.T} must be at least dt={self.dt}")
        if not self.Vre < self.Vth:
            raise ValueError(f"Vre={self.Vre} must be below Vth={self.Vth}")
        if not self.Vth > self.VT:  # NaN-safe: NaN compares False
            raise ValueError(f"VT={self.VT} must be below Vth={self.Vth}")
        for name in ("taue", "taui", "taux", "tauSTDP"):
            if not getattr(self, name) > self.dt:
                raise ValueError(f"{name}={getattr(self, name)} must exceed dt={self.dt} (Euler stability)")
        if self.stim_off is not None and not self.stim_off >= self.stim_on:
            raise ValueError(f"stim_off={self.stim_off} must not precede stim_on={self.stim_on}")
        if not self.record.dt >= self.dt:
            raise ValueError(f"record.dt={self.record.dt} must be at least dt={self.dt}")
        if not self.analysis.rate_bin >= self.dt:
            raise ValueError(f"analysis.rate_bin={self.analysis.rate_bin} must be at least dt={self.dt}")
        if self.analysis.start is not None and not self.analysis.start < self.T:
            raise ValueError(f"analysis.start={self.analysis.start} must be before T={self.T}")
        for block in BLOCKS:
            self._check_block(block)
        return self

    def _check_block(self, block: str) -> None:
        rule, eta = getattr(self, f"rule_{block}"), getattr(self, f"eta_{block}")
        if rule == "static" and eta > 0:
            raise ValueError(f"eta_{block}={eta} but rule_{block}='static'; choose a rule from {RULES[1:]}")
        if rule == "homeo" and getattr(self, f"jnorm_{block}") == 0:
            raise ValueError(f"jnorm_{block}=0: the homeostatic rule divides by it; expected non-zero")
        if rule in ("hebb", "triplet"):
            lo, hi = getattr(self, f"jmin_{block}"), getattr(self, f"jmax_{block}")
            if not lo < hi:
                raise ValueError(f"jmin_{block}={lo} must be below jmax_{block}={hi} for rule {rule!r}")
        if rule != "static" and getattr(self, f"p_{block}") == 0:
            raise ValueError(f"rule_{block}={rule!r} on a block with p_{block}=0 has no synapse to act on")

    # Derived sizes (MODEL.md §1.1, with Ni = N - Ne, bug B17)
    @property
    def Ne(self) -> int:
        return round(self.frac_exc * self.N)

    @property
    def Ni(self) -> int:
        return self.N - self.Ne

    @property
    def Nx(self) -> int:
        return round(self.frac_ext * self.N)

    @property
    def Nt(self) -> int:
        return round(self.T / self.dt)

    @property
    def burn_in(self) -> float:
        """Start of the analysis window (ms)."""
        return self.T / 2 if self.analysis.start is None else self.analysis.start

    @property
    def plastic_blocks(self) -> tuple[str, ...]:
        return tuple(
            b for b in BLOCKS if getattr(self, f"rule_{b}") != "static" and getattr(self, f"eta_{b}") > 0
        )

    def j(self, block: str) -> float:
        """Initial scaled weight of a block ('ee', 'ei', 'ie', 'ii', 'ex', 'ix')."""
        return float(getattr(self, f"j{block}"))

    def neuron_seconds(self) -> float:
        """Cost measure used by sweep limits: N x T in neuron-seconds."""
        return self.N * self.T / 1000.0

    @property
    def sqrtN(self) -> float:
        return math.sqrt(self.N)


def check_finite(data: dict[str, Any], prefix: str = "") -> None:
    """Refuse NaN and infinities before any other rule sees them (NaN compares False with everything, so
    a consistency check like `Vre < Vth` would pass it); nested record/analysis mappings included."""
    for key, value in data.items():
        if isinstance(value, dict):
            check_finite(value, f"{prefix}{key}.")
        elif _non_finite(value):
            raise ValueError(f"{prefix}{key}={value}: must be finite")


def _non_finite(value: Any) -> bool:
    """NaN or an infinity, given as a float or as text a float field would parse ("inf", "NaN")."""
    if isinstance(value, str) and len(value) < 16:
        try:
            value = float(value)
        except ValueError:
            return False
    return isinstance(value, float) and not math.isfinite(value)


def parse_params(params: SimParams | dict[str, Any]) -> SimParams:
    """Return a SimParams from a model or a plain dict of fields (validation errors name the field)."""
    if isinstance(params, SimParams):
        return params
    if isinstance(params, dict):
        return SimParams(**params)
    raise TypeError(f"params: expected SimParams or dict, got {type(params).__name__}")
