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
    "simulate",
    "warm_up",
]


def __getattr__(name: str):  # lazy: importing sim must not compile kernels
    if name == "simulate":
        from sim.simulate import simulate

        globals()["simulate"] = simulate  # the submodule import set this name to the module
        return simulate
    if name == "warm_up":
        from sim.simulate import warm_up

        return warm_up
    raise AttributeError(name)
