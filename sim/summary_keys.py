"""The summary keys added by issue 12 (finite-N theory, convergence verdicts): name, unit, meaning.

One declaration, known from the parameters alone, for the summary vocabulary to fold in.
A `theory_finite_<x>` key is the finite-N partner of `theory_<x>` and of the measured `<x>`.
Finite-N correlations (sim.finite_n.correlations) are reported (c > 0): within 25 % of the measurement
in 21 of 24 checked pairs, N->inf in 3. Finite-N covariances (sim.finite_n.covariances) are not: at
c = 0.2, and for jee = 10 at N = 5000, they were not closer than the N->inf ones (docs/theory.md,
bench/finite_n_corr.json).
"""

from __future__ import annotations

from sim.params import BLOCKS

FINITE_SPEC: tuple[tuple[str, str, str], ...] = (
    ("theory_finite_rate_e_hz", "Hz", "finite-N mean-field E rate (self-consistent EIF, this N)"),
    ("theory_finite_rate_i_hz", "Hz", "finite-N mean-field I rate"),
    ("theory_finite_rate_sd_e_hz", "Hz", "predicted spread (s.d.) of time-averaged E rates across cells"),
    ("theory_finite_rate_sd_i_hz", "Hz", "predicted spread (s.d.) of time-averaged I rates across cells"),
    *(
        (
            f"theory_finite_j_{b}",
            "scaled weight j",
            f"finite-N end-state mean weight of block {b} (Cov(J, r) included)",
        )
        for b in BLOCKS
    ),
    *(
        (
            f"theory_finite_corr_{ab}",
            "",
            f"finite-N mean {d} spike-count correlation (heterogeneous response to shared input, "
            "non-silent pairs)",
        )
        for ab, d in (("ee", "E-E"), ("ei", "E-I"), ("ii", "I-I"))
    ),
)

CONVERGENCE_SPEC: tuple[tuple[str, str, str], ...] = (
    (
        "weights_converged",
        "1/0",
        "1 when every plastic block's mean weight settled over the analysis window; NaN if static",
    ),
    *(
        (
            f"weight_drift_{b}",
            "scaled weight j per s",
            f"slope of block {b}'s mean weight over the analysis window; NaN if static",
        )
        for b in BLOCKS
    ),
    (
        "weight_remaining_s",
        "s",
        "predicted further time until the slowest plastic block is within tolerance of its limit",
    ),
    (
        "weight_limit_fit_ee",
        "scaled weight j",
        "extrapolated limit of the EE mean weight (power-law fit); NaN if static",
    ),
    ("weight_limit_fit_ei", "scaled weight j", "extrapolated limit of the EI mean weight"),
    ("weight_limit_fit_ie", "scaled weight j", "extrapolated limit of the IE mean weight"),
    ("weight_limit_fit_ii", "scaled weight j", "extrapolated limit of the II mean weight"),
    ("rates_stationary", "1/0", "1 when E and I population rates show no trend over the analysis window"),
)

SUMMARY_SPEC: tuple[tuple[str, str, str], ...] = FINITE_SPEC + CONVERGENCE_SPEC
"""Every key this module declares, in summary order: (key, unit, description)."""

FINITE_KEYS: tuple[str, ...] = tuple(k for k, _, _ in FINITE_SPEC)
CONVERGENCE_KEYS: tuple[str, ...] = tuple(k for k, _, _ in CONVERGENCE_SPEC)
THEORY_PARTNERS: dict[str, str] = {
    k: k.replace("theory_finite_", "theory_") for k in FINITE_KEYS if "rate_sd" not in k
}
"""theory_finite_<x> -> theory_<x> (the N->inf key it stands beside)."""
