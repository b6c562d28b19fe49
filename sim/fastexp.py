"""Branch-free exp that LLVM can vectorise (llvmlite has no SVML; `math.exp` stays scalar).

exp(y) = 2^k * P(r) with k = round(y / ln 2), r = y - k ln 2 (two-constant Cody-Waite
reduction, |r| <= ln2/2) and P the degree-11 Taylor polynomial (truncation < 7e-15). The factor
2^k is built from its bit pattern; the caller multiplies `poly * bits.view(float64)`. Arguments
are clamped to [-700, 700], which keeps 2^k a normal float (exp(-700) ~ 1e-304 stands in for 0).
Only FMA contraction is allowed (`fastmath={"contract"}`): deterministic, and it halves the work.
The kernel calls `exp_parts_scalar` on (V - VT)/DeltaT, so tests of this module test its exp.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

LOG2E = 1.4426950408889634
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
Y_MIN = -700.0
Y_MAX = 700.0


@njit(cache=True, nogil=True, fastmath={"contract"})
def exp_parts_scalar(y: float) -> tuple[float, np.int64]:
    """(P(r), bits of 2^k) with exp(y) = P(r) * 2^k; the one copy of the arithmetic (kernel included)."""
    t = min(max(y, Y_MIN), Y_MAX)
    kf = math.floor(t * LOG2E + 0.5)
    r = (t - kf * LN2_HI) - kf * LN2_LO
    p = 2.50521083854417187751e-08
    p = p * r + 2.75573192239858906526e-07
    p = p * r + 2.75573192239858906526e-06
    p = p * r + 2.48015873015873015873e-05
    p = p * r + 1.98412698412698412698e-04
    p = p * r + 1.38888888888888888889e-03
    p = p * r + 8.33333333333333333333e-03
    p = p * r + 4.16666666666666666667e-02
    p = p * r + 1.66666666666666666667e-01
    p = p * r + 0.5
    p = p * r + 1.0
    p = p * r + 1.0
    return p, (np.int64(kf) + 1023) << 52


@njit(cache=True, nogil=True)
def exp_parts(y: np.ndarray, bits: np.ndarray, poly: np.ndarray) -> None:
    """Write P(r) into `poly` and the bits of 2^k into `bits` for every y (exp = poly * 2^k)."""
    for i in range(y.size):
        poly[i], bits[i] = exp_parts_scalar(y[i])


def fast_exp(y: np.ndarray) -> np.ndarray:
    """exp of a float64 array via `exp_parts` (for tests and reference code)."""
    y = np.ascontiguousarray(y, dtype=np.float64).ravel()
    bits = np.empty(y.size, np.int64)
    poly = np.empty(y.size, np.float64)
    exp_parts(y, bits, poly)
    return poly * bits.view(np.float64)
