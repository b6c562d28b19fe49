"""The calibration's CPU fit: a·N + b·N² with a, b >= 0, each probe weighed by its relative error."""

from __future__ import annotations

import pytest

from worker.calibration import CPU_RUNS, _fit_a_b


def test_recovers_a_and_b_from_exact_probes():
    sizes = [kw["N"] for kw in CPU_RUNS]
    a, b = 2.3e-5, 3.0e-9
    fit = _fit_a_b(sizes, [a * n + b * n * n for n in sizes])
    assert fit == pytest.approx((a, b), rel=1e-9)


def test_needs_the_large_probe_to_see_b():
    """Probes up to N = 5000 that are nearly linear leave b unresolved; the 20,000 probe fixes it."""
    assert max(kw["N"] for kw in CPU_RUNS) >= 20_000
    a, b = 2.0e-5, 2.0e-9
    times = [a * n + b * n * n for n in (1000, 5000, 20_000)]
    times[1] *= 0.8  # a fast N = 5000 probe (caches): a fit to 1000 and 5000 alone gives b = 5e-10
    fa, fb = _fit_a_b([1000, 5000, 20_000], times)
    assert fb > 0.5 * b
    predicted_50k = fa * 50_000 + fb * 50_000**2
    assert predicted_50k == pytest.approx(a * 50_000 + b * 50_000**2, rel=0.35)


def test_never_negative():
    a, b = _fit_a_b([1000, 5000, 20_000], [0.05, 0.09, 0.2])  # concave: the best b alone would be < 0
    assert a > 0 and b >= 0


def test_probe_reports_its_own_peak_memory_not_the_parents():
    """Linux carries the parent's RSS at fork into a child's ru_maxrss; the probe must not count it."""
    import numpy as np

    from sim import SimParams
    from worker.calibration import measure

    ballast = np.ones(60_000_000)  # 480 MB resident in this process while the probe runs
    peak = measure(SimParams(N=300, T=200.0))["peak_rss_bytes"]
    assert ballast[-1] == 1.0 and 100e6 < peak < 450e6
