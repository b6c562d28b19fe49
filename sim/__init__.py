"""The plastic balanced network of Akil, Rosenbaum & Josić (2021).

Parameters, sparse connectivity, the Numba kernel, analysis, mean-field theory and a drop-in compat layer.
"""

from sim.params import BLOCKS, MODEL_VERSION, AnalysisOptions, RecordOptions, SimParams, parse_params
from sim.result import SimResult

__all__ = [
    "BLOCKS",
    "MODEL_VERSION",
    "AnalysisOptions",
    "RecordOptions",
    "SimParams",
    "SimResult",
    "parse_params",
    "run_network",
    "simulate",
    "warm_up",
]


def __getattr__(name: str):  # lazy: importing sim must not compile kernels
    if name in ("simulate", "warm_up", "run_network"):
        from sim import driver

        return getattr(driver, name)
    raise AttributeError(name)
