"""Units and theory partners of summary keys, for tables and plot labels.

One place to redirect to sim's summary vocabulary when it lands (issue 7): every caller goes through
`unit_of`, `theory_partner` and `label`.
"""

from __future__ import annotations

UNITS: dict[str, str] = {
    "rate_e_hz": "Hz",
    "rate_i_hz": "Hz",
    "t_stop_ms": "ms",
    "wall_s": "s",
    "theory_tau_w_s": "s",
    "n_spikes": "spikes",
    "n_windows": "windows",
    "rate_max_hz": "Hz",
}
"""Exact keys; prefixes below cover families (weights, covariances, currents)."""

PREFIX_UNITS: tuple[tuple[str, str], ...] = (
    ("j_", "√N·J"),
    ("cov_", "spikes²"),
    ("var_", "spikes²"),
    ("corr_", ""),
    ("current_", "mV/ms"),
)
"""Scaled weights j = √N·J; spike-count (co)variances per analysis window; currents as in the kernel."""

SUFFIX_UNITS: tuple[tuple[str, str], ...] = (("_hz", "Hz"), ("_ms", "ms"), ("_s", "s"))

MEASURED_WITH_THEORY: tuple[str, ...] = (
    "rate_e_hz",
    "rate_i_hz",
    "j_ee",
    "j_ei",
    "j_ie",
    "j_ii",
    "cov_ee",
    "cov_ei",
    "cov_ii",
    "corr_ee",
    "corr_ei",
    "corr_ii",
)
"""Summary statistics that have a mean-field prediction `theory_<key>` (sim.theory.predict)."""

WINDOW_STATS = ("cov_", "corr_", "var_")
"""Statistics computed from spike counts in analysis windows: NaN when fewer than two windows fit."""


def unit_of(key: str) -> str:
    """The unit of a summary key ('' for dimensionless or unknown); theory_<key> has the unit of <key>."""
    base = key.removeprefix("theory_") if key != "theory_tau_w_s" else key
    if base in UNITS:
        return UNITS[base]
    for prefix, unit in PREFIX_UNITS:
        if base.startswith(prefix):
            return unit
    for suffix, unit in SUFFIX_UNITS:
        if base.endswith(suffix):
            return unit
    return ""


def theory_partner(key: str) -> str | None:
    """`theory_<key>` when the mean field predicts `key`, else None."""
    return f"theory_{key}" if key in MEASURED_WITH_THEORY else None


def label(key: str) -> str:
    """`key (unit)` for axis labels; the bare key when it has no unit."""
    unit = unit_of(key)
    return f"{key} ({unit})" if unit else key


def with_theory(keys: list[str] | tuple[str, ...], available: list[str] | None = None) -> list[str]:
    """Each key followed by its theory partner (when it has one and, if given, it is `available`)."""
    out: list[str] = []
    for key in keys:
        out.append(key)
        partner = theory_partner(key)
        if partner is not None and (available is None or partner in available):
            out.append(partner)
    return out
