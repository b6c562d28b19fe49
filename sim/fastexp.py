"""Branch-free exp that LLVM can vectorise (llvmlite has no SVML; `math.exp` stays scalar).

exp(y) = 2^k * P(r) with k = round(y / ln 2), r = y - k ln 2 (two-constant Cody-Waite
reduction, |r| <= ln2/2) and P the degree-11 Taylor polynomial (truncation < 7e-15). The factor
2^k is built from its bit pattern; the caller multiplies `poly * bits.view(float64)`. Arguments
are clamped to [-700, 700], which keeps 2^k a normal float (exp(-700) ~ 1e-304 stands in for 0).
Only FMA contraction is allowed (`fastmath={"contract"}`): deterministic, and it halves the work.
The kernel calls `exp_parts_scalar` on (V - VT)/DeltaT, so tests of this module test its exp.

`exp_parts_scalar32` is the float32 twin for the float32 neuron pass (`precision="float32"`): the
same scheme in float32 throughout (Cephes expf: LN2 split 0.693359375 + -2.12194440e-4, so k ln2_hi
is exact for |k| < 2^15; degree-5 polynomial for (exp(r) - 1 - r)/r^2; relative error ~1e-7), 2^k
from an int32 bit pattern, arguments clamped to [-87, 88] (2^k stays a normal float32).
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
LOG2E_32 = np.float32(LOG2E)
LN2_HI_32 = np.float32(0.693359375)
LN2_LO_32 = np.float32(-2.12194440e-4)
Y_MIN_32 = np.float32(-87.0)
Y_MAX_32 = np.float32(88.0)
HALF_32, ONE_32 = np.float32(0.5), np.float32(1.0)
P32 = tuple(np.float32(v) for v in (1.98756915e-4, 1.3981999507e-3, 8.3334519073e-3, 4.1665795894e-2))
P32 += (np.float32(1.6666665459e-1), np.float32(5.0000001201e-1))


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


@njit(cache=True, nogil=True, fastmath={"contract"})
def exp_parts_scalar32(y: np.float32) -> tuple[np.float32, np.int32]:
    """(P(r), bits of 2^k) in float32 with exp(y) = P(r) * 2^k (float32 bits); all arithmetic float32."""
    t = min(max(y, Y_MIN_32), Y_MAX_32)
    kf = np.floor(t * LOG2E_32 + HALF_32)
    r = (t - kf * LN2_HI_32) - kf * LN2_LO_32
    c0, c1, c2, c3, c4, c5 = P32
    p = c0 * r + c1
    p = p * r + c2
    p = p * r + c3
    p = p * r + c4
    p = p * r + c5
    p = p * r + ONE_32
    p = p * r + ONE_32
    return p, np.int32((np.int32(kf) + 127) << 23)


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


@njit(cache=True, nogil=True)
def exp_parts32(y: np.ndarray, bits: np.ndarray, poly: np.ndarray) -> None:
    """float32 `exp_parts`: P(r) into `poly` (float32), the int32 bits of 2^k into `bits`."""
    for i in range(y.size):
        poly[i], bits[i] = exp_parts_scalar32(y[i])


def fast_exp32(y: np.ndarray) -> np.ndarray:
    """exp of a float32 array via `exp_parts32` (the float32 kernel's exp; for tests and reference code)."""
    y = np.ascontiguousarray(y, dtype=np.float32).ravel()
    bits = np.empty(y.size, np.int32)
    poly = np.empty(y.size, np.float32)
    exp_parts32(y, bits, poly)
    return poly * bits.view(np.float32)
