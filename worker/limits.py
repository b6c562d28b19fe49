"""The size limits of a sweep: one settings model, one set of `PBN_*` names and defaults, for `pbn sweep`,
`pbn serve` (whose Settings extend it) and the docs."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SweepLimits(BaseSettings):
    """Checked before anything is created; each field is also `PBN_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="PBN_", extra="forbid")  # a misspelt option is an error

    max_runs: int = Field(10_000, ge=1, description="Runs in one sweep at most")
    max_N: int = Field(100_000, ge=10, description="Largest network of any run")
    max_T_ms: float = Field(3_600_000.0, gt=0, description="Longest simulated time of any run (ms)")
    max_neuron_seconds: float = Field(1e9, gt=0, description="Sum over a sweep's runs of N*T/1000")
    max_run_memory_bytes: float | None = Field(
        None,
        gt=0,
        description="Estimated peak memory of one run (sim.cost); none: the smallest worker's limit",
    )


def env_table() -> list[tuple[str, str, str]]:
    """(environment name, default, meaning) of every limit, for the docs and `--help` texts."""
    return [
        (
            f"PBN_{name.upper()}",
            "none" if info.default is None else f"{info.default:g}",
            info.description or "",
        )
        for name, info in SweepLimits.model_fields.items()
    ]
