"""precision="float32": the float32 fast exp, the kernel's use of it, and the run identity of the default."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

import sim
from sim.fastexp import fast_exp32
from sim.params import SimParams
from worker.sweep import cache_key, canonical_json

EPS32 = float(np.finfo(np.float32).eps)
EXP32_BOUND = 2 * EPS32
"""Relative error bound of fast_exp32 (4 float32 roundings, u = eps/2): the reduction r = t - k ln2 rounds
once (k ln2_hi is exact: 9-bit ln2_hi times |k| <= 127; the ln2_lo term is below u/50 even for |k| = 127),
Horner with FMA rounds once per step but the steps before the last two are scaled by |r|^2 <= 0.12, the
last two (p r + 1) add u each, truncation of the degree-7 polynomial < u/10; times 2^k is exact."""


def test_fast_exp32_matches_exp_within_float32_rounding():
    y = np.concatenate([np.linspace(-87.0, 88.0, 1_000_001), np.linspace(-30.0, 10.0, 400_001)])
    y = y.astype(np.float32)
    ours = fast_exp32(y)
    assert ours.dtype == np.float32
    ref = np.exp(y.astype(np.float64))  # exp of the float32 argument, in float64
    assert np.max(np.abs(ours / ref - 1)) < EXP32_BOUND
    big = fast_exp32(np.array([-1e30, 1e30, -100.0, 100.0, 3e38], np.float32))  # clamped to [-87, 88]
    assert np.all(np.isfinite(big)) and np.all(big > 0)


def test_float32_kernel_exp_is_fast_exp32():
    """The float32 kernel takes VT and 1/DeltaT in float32 and calls the tested fast_exp32."""
    from sim.kernel import eif_exp

    V = np.linspace(-120.0, -40.0, 1001).astype(np.float32)
    bits, poly = np.empty(V.size, np.int32), np.empty(V.size, np.float32)
    eif_exp(V, -55.0, 1 / 1.5, bits, poly)
    y = (V - np.float32(-55.0)) * np.float32(1 / 1.5)
    np.testing.assert_array_equal(poly * bits.view(np.float32), fast_exp32(y))


@pytest.mark.parametrize(("field", "other"), [("precision", "float32"), ("post_updates", "deferred")])
def test_default_precision_keeps_the_run_identity(field, other):
    """Runs stored before these fields existed keep their cache keys; float32 or deferred is another run."""
    p = SimParams(N=500, seed=3, eta_ei=1.5e-5)
    before = {k: v for k, v in p.model_dump(mode="json").items() if k not in ("precision", "post_updates")}
    text = canonical_json({"params": before, "model_version": sim.MODEL_VERSION})
    assert cache_key(p) == hashlib.sha256(text.encode()).hexdigest()
    assert cache_key(p.model_copy(update={field: other})) != cache_key(p)


def test_precision_is_validated_and_results_come_back_as_float64():
    with pytest.raises(ValueError, match="precision"):
        SimParams(precision="float16")
    r = sim.simulate(dict(N=100, T=50.0, precision="float32", record=dict(cells=2, weights=2, dt=1.0)))
    assert all(r.extra[k].dtype == np.float64 for k in ("V", "Ie", "Ii", "Ix", "x", "weight"))
    assert r.summary["status"] == "done"
