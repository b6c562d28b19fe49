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
    ("j_", "scaled mV"),
    ("cov_", "spikes²"),
    ("var_", "spikes²"),
    ("corr_", ""),
    ("current_", "mV/ms"),
)
"""Weights in scaled units j = √N·J (mV, as the parameters jee...); spike-count (co)variances per analysis
window; currents as in the kernel."""

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


PARAM_UNITS = ("ms", "kHz", "Hz", "mV", "mV/ms", "1/ms")
"""Units recognised at the end of a SimParams field description, e.g. 'Simulated time (ms)'."""


def param_unit(name: str) -> str:
    """The unit of a simulation parameter (dotted `record.dt` too) from its description, '' if none."""
    import re

    from sim import params

    *section, leaf = name.split(".")
    model = {"record": params.RecordOptions, "analysis": params.AnalysisOptions}.get(
        section[-1] if section else "", params.SimParams
    )
    info = model.model_fields.get(leaf)
    found = re.findall(r"\(([^()]*)\)\s*$", (info.description or "") if info else "")
    if not found:
        return ""
    parts = [p.strip() for p in re.split(r"[,;]", found[-1])]
    if parts[0] == "scaled":
        return "scaled " + parts[1] if len(parts) > 1 and parts[1] in PARAM_UNITS else "scaled"
    return parts[0] if parts[0] in PARAM_UNITS else ""


def theory_partner(key: str) -> str | None:
    """`theory_<key>` when the mean field predicts `key`, else None."""
    return f"theory_{key}" if key in MEASURED_WITH_THEORY else None


def label(key: str, parameter: bool = False) -> str:
    """`key (unit)` for axis labels (a summary key, or a simulation parameter); the bare key without one."""
    unit = param_unit(key) if parameter else unit_of(key)
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
