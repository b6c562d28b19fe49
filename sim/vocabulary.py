"""The summary vocabulary: every scalar a run reports, its unit, its meaning and its `theory_*` partner.

Declared once, statically, so the store's schema, the CLI tables, the results API and the docs know every key
before any run (no simulation is needed to learn them). `summarise` must produce exactly these numeric keys
(tests/unit/test_vocabulary.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.params import BLOCKS
from sim.summary_keys import CONVERGENCE_SPEC, FINITE_SPEC


@dataclass(frozen=True)
class Stat:
    """One summary scalar: name, unit ("" when dimensionless) and a short description."""

    name: str
    unit: str
    description: str

    @property
    def theory(self) -> str | None:
        """Name of the (N → ∞) mean-field prediction of this measurement, if there is one."""
        partner = f"theory_{self.name}"
        return partner if partner in _NAMES else None

    @property
    def finite(self) -> str | None:
        """Name of the finite-N prediction of this measurement (sim.finite_theory), if there is one."""
        partner = f"theory_finite_{self.name}"
        return partner if partner in _NAMES else None


_J_UNIT = "j = √N·J"
_POPS = {"e": "E", "i": "I"}
_PAIRS = {"ee": "E-E", "ei": "E-I", "ii": "I-I"}

MEASURED: tuple[Stat, ...] = (
    Stat("t_stop_ms", "ms", "simulated time reached (T, or the time a diverged run stopped)"),
    Stat("rate_e_hz", "Hz", "mean rate of E neurons over the analysis period"),
    Stat("rate_i_hz", "Hz", "mean rate of I neurons over the analysis period"),
    *(Stat(f"j_{b}", _J_UNIT, f"mean {b.upper()} weight at the end of the run") for b in BLOCKS),
    *(Stat(f"cov_{p}", "spikes²", f"mean {d} spike-count covariance per window") for p, d in _PAIRS.items()),
    *(Stat(f"corr_{p}", "", f"mean {d} spike-count correlation") for p, d in _PAIRS.items()),
    *(Stat(f"var_{p}", "spikes²", f"mean {d} spike-count variance per window") for p, d in _POPS.items()),
    *(
        Stat(f"current_{src}_in_{pop}", "mV/ms", f"mean {src.upper()} input to {d} neurons")
        for src in ("e", "i", "x")
        for pop, d in _POPS.items()
    ),
    Stat("n_windows", "", "counting windows in the covariance estimate"),
    Stat("n_spikes", "", "spikes of the network over the whole run"),
    Stat("x_late_spikes", "", "X spikes delivered one step late (chunk boundary)"),
    Stat("raster_dropped", "", "spikes not kept in the raster (over record.max_spikes)"),
    Stat("seed", "", "the run's seed"),
    Stat("wall_s", "s", "wall time of the simulation"),
    # --- issue 9 (cli): what a divergence message needs ("E rate 212 Hz above the 200 Hz guard") ---
    Stat("stop_rate_e_hz", "Hz", "E rate in the last rate bin before the run stopped"),
    Stat("stop_rate_i_hz", "Hz", "I rate in the last rate bin before the run stopped"),
    Stat("rate_max_hz", "Hz", "the runaway guard on the mean network rate (parameter rate_max_hz)"),
    # --- end issue 9 ---
)
THEORY: tuple[Stat, ...] = (
    Stat("theory_rate_e_hz", "Hz", "mean-field E rate (N → ∞)"),
    Stat("theory_rate_i_hz", "Hz", "mean-field I rate (N → ∞)"),
    *(Stat(f"theory_cov_{p}", "spikes²", f"linear-response {d} covariance") for p, d in _PAIRS.items()),
    *(Stat(f"theory_corr_{p}", "", f"linear-response {d} correlation") for p, d in _PAIRS.items()),
    *(Stat(f"theory_j_{b}", _J_UNIT, f"plasticity fixed point of j_{b}") for b in BLOCKS),
    Stat("theory_stable", "", "1 if the plastic fixed point is stable, 0 if not"),
    Stat("theory_tau_w_s", "s", "slowest time constant of the weights near the fixed point"),
)
TEXT: tuple[str, ...] = ("status", "reason", "integrator", "model_version")
"""Text entries of the summary (kept in each run's info, not in the numeric summary array)."""

FINITE: tuple[Stat, ...] = tuple(Stat(*spec) for spec in FINITE_SPEC)
"""Finite-N predictions (declared in sim.summary_keys, beside the code that computes them)."""
CONVERGENCE: tuple[Stat, ...] = tuple(Stat(*spec) for spec in CONVERGENCE_SPEC)
"""Convergence verdicts of plastic runs (sim.convergence)."""

SUMMARY_STATS: tuple[Stat, ...] = MEASURED + THEORY + FINITE + CONVERGENCE
SUMMARY_KEYS: tuple[str, ...] = tuple(s.name for s in SUMMARY_STATS)
_NAMES = frozenset(SUMMARY_KEYS)
_BY_NAME = {s.name: s for s in SUMMARY_STATS}


def stat(name: str) -> Stat:
    """The declared statistic `name` (KeyError naming it if undeclared)."""
    try:
        return _BY_NAME[name]
    except KeyError:
        raise KeyError(f"{name!r} is not a summary statistic") from None


def unit_of(name: str) -> str:
    """The unit of a summary key ("" when dimensionless or unknown)."""
    found = _BY_NAME.get(name)
    return found.unit if found else ""


def label(name: str) -> str:
    """An axis/column label: the key with its unit, e.g. `rate_e_hz [Hz]`."""
    unit = unit_of(name)
    return f"{name} [{unit}]" if unit else name


def summary_table_markdown() -> str:
    """docs/summary.md: every summary key with its unit, meaning and predictions (generated, never edited)."""
    lines = [
        "# Summary statistics of a run",
        "",
        "Generated from `sim.vocabulary` (`python -m sim.vocabulary > docs/summary.md`; a test checks it).",
        "Every run's summary has exactly these numeric keys (and the text entries "
        + ", ".join(f"`{t}`" for t in TEXT)
        + "); the store's `summary[run, stat]` array, the results API and the CLI tables use them.",
        "",
        "| key | unit | meaning | N → ∞ prediction | finite-N prediction |",
        "| --- | --- | --- | --- | --- |",
    ]
    for s in SUMMARY_STATS:
        theory, finite = (f"`{x}`" if x else "" for x in (s.theory, s.finite))
        lines.append(f"| `{s.name}` | {s.unit} | {s.description} | {theory} | {finite} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(summary_table_markdown(), end="")
