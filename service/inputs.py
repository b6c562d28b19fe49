"""User input of the CLI and the client: numbers as a scientist writes them, and names checked with a hint.

YAML 1.1 reads `1e3` as a string and `.nan` as a float; both reach pydantic as something it explains
badly ("≤ 100000000" for nan). Here `1e3` becomes a number and nan/inf are refused naming the field.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable
from typing import Any

EXPONENT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")
"""Numbers in exponent form that YAML 1.1 leaves as strings (`1e3`, `2.5E-5`)."""
NONFINITE = {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}


class NonFiniteError(ValueError):
    """A parameter value that is NaN or infinite; `field` names where it was given."""

    def __init__(self, field: str, value: Any) -> None:
        self.field, self.value = field, value
        super().__init__(f"{field}={value!r}: must be finite")


def as_number(value: Any, field: str) -> Any:
    """`1e3` -> 1000 (an int when it is whole), other values unchanged; NaN/inf -> NonFiniteError."""
    if isinstance(value, str):
        text = value.strip()
        if text.lower() in NONFINITE:
            raise NonFiniteError(field, value)
        if EXPONENT.match(text):
            number = float(text)
            return int(number) if number.is_integer() and abs(number) < 2**53 else number
        return value
    if isinstance(value, float) and not math.isfinite(value):
        raise NonFiniteError(field, value)
    return value


def normalize_numbers(data: Any, field: str = "") -> Any:
    """A copy of nested dicts/lists with every value passed through `as_number` (fields dotted)."""
    if isinstance(data, dict):
        return {k: normalize_numbers(v, f"{field}.{k}" if field else str(k)) for k, v in data.items()}
    if isinstance(data, list):
        return [normalize_numbers(v, f"{field}[{i}]") for i, v in enumerate(data)]
    return as_number(data, field or "value")


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """' (did you mean X?)' for the closest known name, or '' when nothing is close."""
    leaf = name.rsplit(".", 1)[-1]
    names = list(known)
    lowered = {n.lower(): n for n in names}
    if leaf.lower() in lowered and lowered[leaf.lower()] != leaf:
        return f" (did you mean {lowered[leaf.lower()]}?)"
    close = difflib.get_close_matches(leaf, names, n=1, cutoff=0.6)
    return f" (did you mean {close[0]}?)" if close else ""


def parameter_names(section: str | None = None) -> list[str]:
    """Field names of sim.params (top level, or of `record` / `analysis`), legacy names included."""
    from sim import params

    if section == "record":
        return list(params.RecordOptions.model_fields)
    if section == "analysis":
        return list(params.AnalysisOptions.model_fields)
    legacy = [*params.LEGACY_ALIASES, *params.LEGACY_RULES, *params.LEGACY_RECORD, *params.LEGACY_ANALYSIS]
    return [*params.SimParams.model_fields, *legacy, "nBinsRecord"]


def suggest_parameter(field: str) -> str:
    """The did-you-mean hint for an unknown (possibly dotted, e.g. `record.dtt`) parameter name."""
    parts = [p for p in field.split(".") if p]
    section = parts[-2] if len(parts) >= 2 and parts[-2] in ("record", "analysis") else None
    return did_you_mean(parts[-1] if parts else field, parameter_names(section))
