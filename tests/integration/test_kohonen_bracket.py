"""Kohonen E->E at finite N: runs started below and above the fixed point bracket it (issue 12).

Each synapse relaxes at eta times its post rate, so the mean weight approaches its limit as a power law and
no run of affordable length reaches it (docs/theory.md). But the approach is monotone from either side:
the fixed point lies between the end weights of a run from below and one from above, whatever the seed.
At N = 2000 (beta = 3, j_ei = -100, eta = 1e-2, T = 200 s) that bracket, [3.07, 4.06] in
bench/finite_n_kohonen.json, holds the finite-N fixed point 3.40 and not the N->inf 4.69 — which is why
the finite-N prediction is the one to read at the sizes a lab runs. The end rates test the finite-N rates
at those weights (r_e insensitive to j_ee here: 5.80 from both sides) within the 10 % the theory claims.
"""

from __future__ import annotations

import pytest

import sim

BASE = dict(N=2000, T=200_000.0, cx=0.0, rule_ee="kohonen", eta_ee=1e-2, beta_ee=3.0, jei=-100.0, seed=3)


@pytest.mark.slow
def test_runs_from_below_and_above_bracket_the_finite_n_kohonen_fixed_point():
    ends = []
    for jee in (1.0, 8.0):
        s = sim.simulate(dict(BASE, jee=jee, record=dict(weights=20, cells=0, dt=1000.0))).summary
        ends.append(s["j_ee"])
        assert abs(s["theory_finite_rate_e_hz"] / s["rate_e_hz"] - 1) < 0.10, s["rate_e_hz"]
    low, high = ends
    finite, infinite = s["theory_finite_j_ee"], s["theory_j_ee"]
    assert low < finite < high, (low, finite, high)
    assert not low < infinite < high, (low, infinite, high)
