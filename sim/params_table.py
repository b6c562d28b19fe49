"""The parameter table of the docs, generated from `SimParams` so it cannot drift from the model."""

from __future__ import annotations

from typing import Literal, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from sim.params import LEGACY_ALIASES, LEGACY_RULES, AnalysisOptions, RecordOptions, SimParams


def _bounds(info: FieldInfo) -> str:
    """Render the numeric constraints of a field as `> 0, ≤ 1`."""
    if get_origin(info.annotation) is Literal:
        return "one of " + ", ".join(f"`{v}`" for v in get_args(info.annotation))
    parts = []
    for meta in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sign} {value:g}" if isinstance(value, float) else f"{sign} {value:_}")
    return ", ".join(parts)


def _default(info: FieldInfo) -> str:
    if info.default_factory is not None:
        return "(see below)"
    value = info.default
    if isinstance(value, float):
        return f"{value:g}"
    return f"{value:_}" if isinstance(value, int) and not isinstance(value, bool) else f"`{value}`"


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, info in model.model_fields.items():
        if name in ("record", "analysis"):
            continue
        rows.append(f"| `{prefix}{name}` | {_default(info)} | {_bounds(info)} | {info.description or ''} |")
    return rows


def parameter_table_markdown() -> str:
    """Markdown of every simulation parameter with its default, bounds and description."""
    head = ["| name | default | bounds | meaning (unit) |", "| --- | --- | --- | --- |"]
    lines = ["# Simulation parameters", "", "Generated from `sim.params.SimParams` by", ""]
    lines += ["```", "python -m sim.params_table > docs/parameters.md", "```", ""]
    lines += head + _rows(SimParams)
    lines += ["", "## `record` (what each run stores over time)", ""]
    lines += head + _rows(RecordOptions, "record.")
    lines += ["", "## `analysis` (how statistics are computed)", ""]
    lines += head + _rows(AnalysisOptions, "analysis.")
    lines += ["", "## Names of the original package that are accepted and mapped", ""]
    lines += ["| original name | becomes |", "| --- | --- |"]
    lines += [
        f"| `{old}` | `rule_{blk}='{rule}'`, `eta_{blk}` |" for old, (blk, rule) in LEGACY_RULES.items()
    ]
    lines += [f"| `{old}` | `{new}` |" for old, new in LEGACY_ALIASES.items()]
    lines += [
        "| `numrecord`, `nJrecord0` | `record.cells`, `record.weights` |",
        "| `nBinsRecord` | `record.dt = nBinsRecord · dt` |",
        "| `winsize`, `dtRate` | `analysis.window`, `analysis.rate_bin` |",
        "| `eta_ei`, `eta_ii` > 0 without a rule | `rule_ei`/`rule_ii` = `'homeo'` (iSTDP) |",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(parameter_table_markdown(), end="")
