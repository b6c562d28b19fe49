"""sim.asymptotics: s_inf + a/N^power fits with intervals that cover the truth."""

from __future__ import annotations

import numpy as np
import pytest

from sim.asymptotics import fit_asymptote, fit_groups


def test_exact_data_recovers_parameters():
    N = np.repeat([2000, 5000, 10_000, 20_000], 3)
    fit = fit_asymptote(N, 6.2 - 90.0 / np.sqrt(N))
    assert fit.s_inf == pytest.approx(6.2, abs=1e-9) and fit.a == pytest.approx(-90.0, rel=1e-9)
    assert fit.n_sizes == 4 and fit.n_points == 12


def test_intervals_cover_the_truth_at_their_level():
    rng = np.random.default_rng(0)
    N = np.repeat([1000, 2000, 5000, 10_000], 4)
    hits = 0
    for _ in range(400):
        fit = fit_asymptote(N, 6.0 - 80.0 / np.sqrt(N) + rng.normal(0, 0.1, N.size))
        hits += fit.s_inf_ci[0] <= 6.0 <= fit.s_inf_ci[1]
    assert 0.92 <= hits / 400 <= 0.98  # binomial s.d. of the coverage: 1.1 %


def test_other_power_and_bad_input():
    N = np.array([100.0, 400.0, 1600.0])
    assert fit_asymptote(N, 2.0 + 5.0 / N, power=1.0).s_inf == pytest.approx(2.0)
    with pytest.raises(ValueError, match="two sizes"):
        fit_asymptote([100, 100, 100], [1, 2, 3])
    with pytest.raises(ValueError, match="power"):
        fit_asymptote(N, N, power=0)


def test_groups_fit_each_combination_and_carry_the_theory():
    rows = [
        {
            "N": n,
            "cx": c,
            "rate_e_hz": 6 - 50 / n**0.5 + c,
            "theory_rate_e_hz": 6 + c,
            "theory_finite_rate_e_hz": 5,
        }
        for n in (1000, 4000, 16000)
        for c in (0.0, 1.0)
        for _ in range(2)
    ]
    fits = fit_groups(rows, "rate_e_hz", ["cx"])
    assert [f["group"] for f in fits] == [{"cx": 0.0}, {"cx": 1.0}]
    for f in fits:
        assert f["fit"]["s_inf"] == pytest.approx(f["theory_rate_e_hz"])
        assert [s["N"] for s in f["sizes"]] == [1000, 4000, 16000] and f["sizes"][0]["n"] == 2
