"""The driver `sim.driver`: determinism, result layout, runaway guard, raster bounds, fast exp."""

from __future__ import annotations

import math

import numpy as np
import pytest

import sim
from sim.fastexp import fast_exp
from sim.params import SimParams

TINY = dict(
    N=300, T=600.0, record=dict(cells=5, weights=7, dt=5.0), analysis=dict(window=50.0, rate_bin=20.0)
)


def _run(**kw):
    return sim.simulate({**TINY, **kw})


def test_fast_exp_matches_math_exp_over_the_range_used():
    y = np.concatenate([np.linspace(-100.0, 50.0, 200_001), np.linspace(-700.0, 700.0, 10_001)])
    ours = fast_exp(y)
    ref = np.array([math.exp(v) for v in y])
    assert np.max(np.abs(ours / ref - 1)) < 1e-13
    assert np.all(np.isfinite(fast_exp(np.array([-1e308, 1e308, -800.0, 800.0]))))  # clamped, no overflow


def test_same_seed_same_arrays_different_seed_different():
    a, b, c = _run(seed=3, cx=0.2), _run(seed=3, cx=0.2), _run(seed=4, cx=0.2)
    for name in ("rate_e_hz", "neuron_rate_hz", "weight_samples", "current_e", "voltage", "recorded_cells"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    drop = lambda s: {k: v for k, v in s.items() if k != "wall_s"}  # noqa: E731
    assert drop(a.summary) == pytest.approx(drop(b.summary), nan_ok=True)
    assert not np.array_equal(a.neuron_rate_hz, c.neuron_rate_hz)


def test_result_layout_and_summary_keys():
    r = _run(rule_ei="homeo", eta_ei=1e-3)
    p = r.params
    n_rec = math.ceil(p.T / p.record.dt)
    assert r.time_ms.shape == (n_rec,) and r.time_ms[-1] == p.T
    assert r.rate_time_ms.shape == r.rate_e_hz.shape == (math.ceil(p.T / p.analysis.rate_bin),)
    assert r.current_e.shape == r.current_x.shape == r.voltage.shape == (10, n_rec)
    assert np.all(r.recorded_cells[:5] < p.Ne) and np.all(r.recorded_cells[5:] >= p.Ne)
    assert r.weight_samples.shape == (4, 7, n_rec) and r.weight_mean.shape == (4, n_rec)
    assert np.all(r.weight_samples[0] == 25.0)  # static EE: constant trajectories
    assert not np.allclose(r.weight_samples[1], -150.0)  # plastic EI moves
    assert np.all((r.synapse_pre[0] < p.Ne) & (r.synapse_post[0] < p.Ne))
    for key in (
        "status",
        "reason",
        "t_stop_ms",
        "rate_e_hz",
        "rate_i_hz",
        "theory_rate_e_hz",
        "theory_rate_i_hz",
        "j_ee",
        "j_ei",
        "j_ie",
        "j_ii",
        "cov_ee",
        "cov_ei",
        "cov_ii",
        "corr_ee",
        "corr_ei",
        "corr_ii",
        "var_e",
        "var_i",
        "current_e_in_e",
        "current_i_in_e",
        "current_x_in_e",
        "current_e_in_i",
        "current_i_in_i",
        "current_x_in_i",
        "n_spikes",
        "wall_s",
        "model_version",
    ):
        assert key in r.summary, key
    assert r.summary["status"] == "done" and r.summary["t_stop_ms"] == p.T
    assert r.summary["rate_e_hz"] == pytest.approx(r.neuron_rate_hz[: p.Ne].mean())
    assert r.extra["win_counts"].shape == (int((p.T - p.burn_in) // 50.0), p.N)


def test_rates_agree_between_bins_and_counts():
    r = _run(analysis=dict(window=50.0, rate_bin=20.0, start=0.0))
    assert np.nanmean(r.rate_e_hz) == pytest.approx(r.summary["rate_e_hz"], rel=1e-9)
    assert r.summary["n_spikes"] == round(r.neuron_rate_hz.sum() * r.params.T / 1000)


def test_runaway_guard_stops_cleanly():
    """Strong excitation without inhibition explodes: status diverged, arrays kept, NaN after the stop."""
    r = _run(jee=400.0, jei=-1.0, jii=-1.0, T=2000.0, rate_max_hz=50.0)
    s = r.summary
    assert s["status"] == "diverged" and s["reason"] == "rate"
    assert 0 < s["t_stop_ms"] < 2000.0
    after = r.time_ms > s["t_stop_ms"] + r.params.record.dt
    assert np.all(np.isnan(r.voltage[:, after])) and np.all(np.isfinite(r.voltage[:, ~after]))
    assert np.isnan(r.rate_e_hz[-1])


def test_nonfinite_state_stops_cleanly():
    r = _run(jestim=1e306, rate_max_hz=1000.0)
    assert r.summary["status"] == "diverged" and r.summary["reason"] in ("nonfinite", "rate")


def test_raster_is_bounded_by_neurons_window_and_cap():
    r = _run(record=dict(spikes=True, spike_neurons=20, spike_window=200.0, cells=2, weights=2))
    p = r.params
    ok = (r.spike_neurons < 20) | ((r.spike_neurons >= p.Ne) & (r.spike_neurons < p.Ne + 20))
    assert r.spike_neurons.size > 0 and np.all(ok) and np.all(r.spike_times_ms > p.T - 200.0)
    capped = _run(record=dict(spikes=True, max_spikes=50, cells=2, weights=2))
    assert capped.spike_times_ms.size == 50 and capped.summary["raster_dropped"] > 0
    assert _run().spike_times_ms is None


def test_progress_reaches_one_and_params_types():
    seen: list[float] = []
    sim.simulate(SimParams(**{**TINY, "T": 2500.0}), progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) == 3
    with pytest.raises(TypeError, match="params"):
        sim.simulate([1, 2])  # type: ignore[arg-type]


def test_simulate_is_a_function_and_the_driver_a_module():
    import types

    from sim import driver

    assert isinstance(driver, types.ModuleType) and sim.simulate is driver.simulate
    assert type(driver) is types.ModuleType  # no class swap on the module


def test_kernel_exp_is_the_tested_fast_exp():
    """The kernel's inlined exp is bit-identical to sim.fastexp.fast_exp (tested against math.exp above)."""
    from sim.kernel import eif_exp

    V = np.linspace(-120.0, -40.0, 1001)
    bits, poly = np.empty(V.size, np.int64), np.empty(V.size)
    eif_exp(V, -55.0, 1 / 1.5, bits, poly)
    np.testing.assert_array_equal(poly * bits.view(np.float64), fast_exp((V + 55.0) * (1 / 1.5)))


def test_warm_up_is_reachable_from_the_package():
    from sim import driver

    sim.warm_up()
    assert sim.run_network is driver.run_network and sim.warm_up is driver.warm_up
