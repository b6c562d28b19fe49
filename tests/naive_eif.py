"""Naive reference for sim.eif: direct Euler-Maruyama simulation of many independent EIF neurons.

Driven by Gaussian white noise (intensity D) or by an Ornstein-Uhlenbeck current of the same
intensity and correlation time tau_s (synaptic filtering). Explicit and obviously correct; njit
only for speed.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def _run(mu, D, tau_s, n, steps, burn_steps, dt, seed, Cm, gL, EL, VT, DeltaT, Vth, Vre):
    np.random.seed(seed)
    counts = np.zeros(n)
    isi_sum, isi_sq, isi_n = np.zeros(n), np.zeros(n), np.zeros(n)
    a = math.exp(-dt / tau_s) if tau_s > 0 else 0.0
    ou_sd = math.sqrt(D / (2 * tau_s) * (1 - a * a)) if tau_s > 0 else 0.0
    wn_sd = math.sqrt(D * dt)
    for i in range(n):
        V = Vre + (VT - Vre) * np.random.random()
        eta = 0.0
        last = -1.0
        for k in range(steps):
            xi = np.random.standard_normal()
            if tau_s > 0:
                eta = a * eta + ou_sd * xi
                noise = eta * dt
            else:
                noise = wn_sd * xi
            drift = -gL * (V - EL) + gL * DeltaT * math.exp(min((V - VT) / DeltaT, 50.0)) + mu
            V += (drift * dt + noise) / Cm
            if V >= Vth:  # noqa: SIM300 (Vth is a name, not a constant)
                V = Vre
                if k >= burn_steps:
                    t = k * dt
                    counts[i] += 1
                    if last >= 0:
                        isi = t - last
                        isi_sum[i] += isi
                        isi_sq[i] += isi * isi
                        isi_n[i] += 1
                    last = t
    return counts, isi_sum, isi_sq, isi_n


def simulate_eif(
    mu: float,
    D: float,
    *,
    tau_s: float = 0.0,
    n: int = 400,
    T: float = 10_000.0,
    dt: float = 0.01,
    seed: int = 0,
    burn: float = 500.0,
    Cm: float = 1.0,
    gL: float = 1 / 15,
    EL: float = -72.0,
    VT: float = -55.0,
    DeltaT: float = 1.0,
    Vth: float = -50.0,
    Vre: float = -75.0,
) -> tuple[float, float, np.ndarray]:
    """(mean rate kHz, mean ISI CV², per-neuron spike counts after burn-in) of n independent neurons."""
    steps, burn_steps = int(T / dt), int(burn / dt)
    counts, s1, s2, m = _run(mu, D, tau_s, n, steps, burn_steps, dt, seed, Cm, gL, EL, VT, DeltaT, Vth, Vre)
    rate = counts.sum() / (n * (T - burn))
    good = m > 2
    mean = s1[good] / m[good]
    cv2 = s2[good] / m[good] / mean**2 - 1
    return float(rate), float(np.mean(cv2)) if good.any() else float("nan"), counts
