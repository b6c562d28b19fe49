"""Units and theory partners of summary keys and parameters, for the CLI's tables and the plots' labels.

Summary keys come from sim's summary vocabulary (`sim.vocabulary`); parameter units from the descriptions of
`sim.params`. Every caller goes through `unit_of`, `theory_partner`, `label` and `param_unit`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from pydantic import BaseModel

WINDOW_STATS = ("cov_", "corr_", "var_")
"""Statistics computed from spike counts in analysis windows: NaN when fewer than two windows fit."""


def measured_with_theory() -> tuple[str, ...]:
    """Summary statistics with a mean-field prediction, in vocabulary order (`pbn run` prints them first)."""
    from sim import vocabulary

    return tuple(s.name for s in vocabulary.MEASURED if s.theory)


def unit_of(key: str) -> str:
    """The unit of a summary key ('' for dimensionless or unknown), from sim's summary vocabulary."""
    from sim import vocabulary

    return vocabulary.unit_of(key)


def theory_partner(key: str) -> str | None:
    """`theory_<key>` when the mean field predicts `key`, else None."""
    from sim import vocabulary

    try:
        return vocabulary.stat(key).theory
    except KeyError:
        return None


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
    info = cast("type[BaseModel]", model).model_fields.get(leaf)
    found = re.findall(r"\(([^()]*)\)\s*$", (info.description or "") if info else "")
    if not found:
        return ""
    parts = [p.strip() for p in re.split(r"[,;]", found[-1])]
    if parts[0] == "scaled":
        return "scaled " + parts[1] if len(parts) > 1 and parts[1] in PARAM_UNITS else "scaled"
    return parts[0] if parts[0] in PARAM_UNITS else ""


def label(key: str, parameter: bool = False) -> str:
    """`key [unit]` for axis labels (a summary key, as sim.vocabulary.label, or a simulation parameter)."""
    unit = param_unit(key) if parameter else unit_of(key)
    return f"{key} [{unit}]" if unit else key


def with_theory(keys: list[str] | tuple[str, ...], available: list[str] | None = None) -> list[str]:
    """Each key followed by its theory partner (when it has one and, if given, it is `available`); the
    finite-N prediction is in `pbn run`, the CSV and the store (a third column per statistic does not fit
    80 columns)."""
    out: list[str] = []
    for key in keys:
        out.append(key)
        partner = theory_partner(key)
        if partner is not None and (available is None or partner in available):
            out.append(partner)
    return out
