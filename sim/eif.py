"""Stationary rate, ISI CV² and DC gain of one EIF neuron driven by Gaussian white noise.

Cm dV/dt = -gL (V - EL) + gL DeltaT exp((V - VT)/DeltaT) + mu + sqrt(D) xi(t), spike at Vth, reset
to Vre. The first two moments of the first-passage time from Vre to Vth solve the backward
equations a T1' + (s/2) T1'' = -1 and a T2' + (s/2) T2'' = -2 T1 (s = D/Cm², a the drift), with a
reflecting far-left boundary and T(Vth) = 0. They are integrated on a voltage grid with exponential
steps, exact for piecewise-constant coefficients: the threshold-integration idea of Richardson (2007)
applied to the EIF of Fourcaud-Trocmé et al. (2003). rate = 1/T1, CV² = T2/T1² - 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit

from sim.params import SimParams

DV = 0.02
"""Voltage step of the grid (mV): rates agree with a 10x finer grid to < 1e-3 relative (tests)."""
RESEED = 1024
"""The EIF exponential runs by recurrence (x ratio per step), recomputed every RESEED steps: that bounds
its rounding drift (~1e-13) and brings it back from an underflow to 0 far below VT."""


@dataclass(frozen=True)
class Neuron:
    """EIF constants (MODEL.md §1.3)."""

    Cm: float
    gL: float
    EL: float
    VT: float
    DeltaT: float
    Vth: float
    Vre: float

    @classmethod
    def of(cls, p: SimParams) -> Neuron:
        return cls(p.Cm, p.gL, p.EL, p.VT, p.DeltaT, p.Vth, p.Vre)

    @property
    def tau_m(self) -> float:
        return self.Cm / self.gL

    def args(self) -> tuple[float, ...]:
        return (self.Cm, self.gL, self.EL, self.VT, self.DeltaT, self.Vth, self.Vre)


@njit(cache=True, nogil=True)
def _exp_step(a, s, dv):
    """(decay, factor) of one exact step of y' = (2a/s) y + c over dv: y <- y decay - c' factor."""
    g = 2.0 * a / s * dv
    if abs(g) < 1e-8:
        return 1.0 - g, 2.0 * dv / s
    em = math.expm1(-g)  # one transcendental call: exp(-g) = 1 + expm1(-g)
    return 1.0 + em, -em / a


@njit(cache=True, nogil=True)
def _grid(mu, D, Cm, gL, EL, Vth, Vre, dv):
    """(s = D/Cm², steps n, lowest v): from 6 s.d. of the free membrane below min(Vre, rest) up to Vth."""
    s = D / (Cm * Cm)
    sd_v = math.sqrt(max(s, 1e-12) * Cm / gL / 2.0)
    lo = min(Vre, EL + mu / gL) - 6.0 * sd_v - 5.0
    n = int((Vth - lo) / dv) + 1
    return s, n, Vth - (n - 1) * dv


@njit(cache=True, nogil=True)
def _moments(mu, D, Cm, gL, EL, VT, DeltaT, Vth, Vre, dv):
    """(T1, T2) of the first passage Vre -> Vth in ms, ms²; the grid runs from far below to Vth."""
    s, n, v = _grid(mu, D, Cm, gL, EL, Vth, Vre, dv)
    ratio = math.exp(dv / DeltaT)
    ex = 0.0
    u = 0.0  # T1'(v)
    w = 0.0  # T2'(v)
    vs = np.empty(n)
    us = np.empty(n)
    ws = np.empty(n)
    for k in range(n):
        if k % RESEED == 0:
            ex = math.exp((v + 0.5 * dv - VT) / DeltaT)
        a = (-gL * (v + 0.5 * dv - EL) + gL * DeltaT * ex + mu) / Cm
        ex *= ratio
        vs[k], us[k] = v, u
        decay, fac = _exp_step(a, s, dv)
        u = u * decay - fac
        v += dv
    # T1(v) = -int_v^Vth u: accumulate from the top
    t1 = np.empty(n)
    acc = 0.0
    for k in range(n - 1, -1, -1):
        acc += -us[k] * dv
        t1[k] = acc
    t1_re = 0.0
    for k in range(n):
        if vs[k] >= Vre:
            t1_re = t1[k]
            break
    v = vs[0]
    for k in range(n):
        if k % RESEED == 0:
            ex = math.exp((v + 0.5 * dv - VT) / DeltaT)
        a = (-gL * (v + 0.5 * dv - EL) + gL * DeltaT * ex + mu) / Cm
        ex *= ratio
        ws[k] = w
        decay, fac = _exp_step(a, s, dv)
        w = w * decay - 2.0 * t1[k] * fac
        v += dv
    t2_re = 0.0
    for k in range(n - 1, -1, -1):
        if vs[k] < Vre:
            break
        t2_re += -ws[k] * dv
    return t1_re, t2_re


@njit(cache=True, nogil=True)
def _mean_time(mu, D, Cm, gL, EL, VT, DeltaT, Vth, Vre, dv):
    """T1 alone (one pass, no arrays): the same steps as _moments, summing -T1' above Vre."""
    s, n, v = _grid(mu, D, Cm, gL, EL, Vth, Vre, dv)
    ratio = math.exp(dv / DeltaT)
    ex = 0.0
    u = 0.0
    t1 = 0.0
    for k in range(n):
        if k % RESEED == 0:
            ex = math.exp((v + 0.5 * dv - VT) / DeltaT)
        if v >= Vre:
            t1 += -u * dv
        a = (-gL * (v + 0.5 * dv - EL) + gL * DeltaT * ex + mu) / Cm
        ex *= ratio
        decay, fac = _exp_step(a, s, dv)
        u = u * decay - fac
        v += dv
    return t1


def rate_cv2(neuron: Neuron, mu: float, D: float, dv: float = DV) -> tuple[float, float]:
    """(rate in kHz, ISI CV²) for mean input mu (mV/ms) and white-noise intensity D (mV²/ms)."""
    t1, t2 = _moments(float(mu), float(D), *neuron.args(), dv)
    if not (t1 > 0 and math.isfinite(t1)):
        return 0.0, math.nan
    return 1.0 / t1, t2 / (t1 * t1) - 1.0


def rate(neuron: Neuron, mu: float, D: float, dv: float = DV) -> float:
    """Stationary firing rate (kHz) of the white-noise-driven EIF."""
    t1 = _mean_time(float(mu), float(D), *neuron.args(), dv)
    return 1.0 / t1 if t1 > 0 and math.isfinite(t1) else 0.0


def gain(neuron: Neuron, mu: float, D: float, h: float = 1e-3) -> float:
    """DC susceptibility d rate / d mu (kHz per mV/ms), central difference."""
    return (rate(neuron, mu + h, D) - rate(neuron, mu - h, D)) / (2 * h)


FILTER_KAPPA = 0.33
"""Threshold shift of filtered noise, delta = kappa sqrt(D_eff tau_s) (Fourcaud & Brunel 2002 form).

The LIF's small-tau_s value is sqrt(2)|zeta(1/2)|/2 = 1.03 for a hard threshold; for this EIF at
tau_s/tau_m = 0.13-0.67 direct simulations of the OU-driven neuron give kappa = 0.29-0.36
(tests/unit/test_eif.py checks the resulting rates against them)."""


def filtered_noise(tau_m: float, intensities: np.ndarray, taus: np.ndarray) -> tuple[float, float]:
    """(white-noise intensity D_eff, threshold shift delta in mV) equivalent to filtered input noise.

    A passive membrane turns white noise of intensity D into Var V = D tau_m / 2, an OU current of
    the same intensity and correlation time tau_s into D tau_m² / (2 (tau_m + tau_s)): each input's D
    is scaled by tau_m / (tau_m + tau_s). Filtered noise also cannot cross a threshold instantly,
    which acts as a threshold raised by delta = FILTER_KAPPA sqrt(sum D_eff,b tau_b).
    """
    d_eff = intensities * tau_m / (tau_m + taus)
    return float(np.sum(d_eff)), FILTER_KAPPA * float(np.sqrt(np.sum(d_eff * taus)))
