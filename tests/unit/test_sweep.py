"""Sweep definition: expansion sizes and order, seed derivation, validation errors, limits, cache keys."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from worker.errors import LimitExceededError, SweepValidationError
from worker.limits import SweepLimits
from worker.sweep import (
    SweepDefinition,
    cache_key,
    check_limits,
    count_runs,
    derive_seed,
    expand_sweep,
    load_definition,
    prepare_sweep,
    sweep_axes,
)

BASE = {"T": 500.0, "N": 200}


def make(**kw) -> SweepDefinition:
    return load_definition({"name": "t", "base": dict(BASE), **kw})


def test_expand_sweep_grid_is_cartesian_in_given_order_with_replicates_innermost():
    runs = expand_sweep(make(grid={"N": [200, 300, 400], "cx": [0.0, 0.1]}, replicates=2))
    assert len(runs) == 3 * 2 * 2
    got = [(r.point["N"], r.point["cx"], r.replicate) for r in runs]
    want = [(n, c, k) for n in (200, 300, 400) for c in (0.0, 0.1) for k in range(2)]
    assert got == want
    assert [r.index for r in runs] == list(range(12))
    assert [r.point_index for r in runs] == [i // 2 for i in range(12)]
    assert all(r.point["N"] == r.params.N and r.params.cx == r.point["cx"] for r in runs)


def test_expand_sweep_zip_is_one_axis_after_grid():
    runs = expand_sweep(make(grid={"cx": [0.0, 0.1]}, zip={"jee": [20, 25, 30], "jie": [90, 112.5, 135]}))
    assert len(runs) == 2 * 3
    assert [(r.point["cx"], r.point["jee"], r.point["jie"]) for r in runs][:3] == [
        (0.0, 20, 90),
        (0.0, 25, 112.5),
        (0.0, 30, 135),
    ]
    axes = sweep_axes(make(grid={"cx": [0.0, 0.1]}, zip={"jee": [20, 25], "jie": [90, 100]}))
    assert [(a["dim"], a["kind"], a["keys"]) for a in axes] == [
        ("cx", "grid", ["cx"]),
        ("jee", "zip", ["jee", "jie"]),
    ]


def test_expand_sweep_points_form_one_more_axis_and_accept_nested_record():
    defn = make(grid={"cx": [0.0, 0.1]}, points=[{"N": 300, "record": {"dt": 2.0}}, {"N": 400}])
    runs = expand_sweep(defn)
    assert [r.point for r in runs] == [
        {"cx": 0.0, "N": 300, "record.dt": 2.0},
        {"cx": 0.0, "N": 400},
        {"cx": 0.1, "N": 300, "record.dt": 2.0},
        {"cx": 0.1, "N": 400},
    ]
    assert runs[0].params.record.dt == 2.0 and runs[1].params.record.dt == 10.0


def test_expand_sweep_without_axes_is_the_base_point():
    runs = expand_sweep(make(replicates=3))
    assert len(runs) == 3 and all(r.point == {} for r in runs)
    assert len({r.seed for r in runs}) == 3


def test_expand_sweep_merges_record_and_analysis_and_dotted_keys():
    runs = expand_sweep(
        make(record={"dt": 5.0, "weights": 7}, analysis={"window": 50.0}, grid={"record.cells": [3, 4]})
    )
    assert [(r.params.record.dt, r.params.record.weights, r.params.record.cells) for r in runs] == [
        (5.0, 7, 3),
        (5.0, 7, 4),
    ]
    assert runs[0].params.analysis.window == 50.0


def test_expand_sweep_is_deterministic_and_seeds_are_distinct_63_bit():
    defn = make(grid={"N": [200, 300], "cx": [0.0, 0.1]}, replicates=3, seed=2538)
    a, b = (
        expand_sweep(defn),
        expand_sweep(SweepDefinition.model_validate(json.loads(defn.model_dump_json()))),
    )
    assert [(r.seed, r.cache_key) for r in a] == [(r.seed, r.cache_key) for r in b]
    seeds = [r.seed for r in a]
    assert len(set(seeds)) == len(seeds)
    assert all(0 <= s < 2**63 for s in seeds)
    assert all(r.params.seed == r.seed for r in a)


def test_derive_seed_is_a_seedsequence_child_of_the_sweep_seed():
    """The seed is the documented child: SeedSequence(seed, spawn_key=(h0, h1, replicate))."""
    import hashlib

    point = {"N": 200}
    digest = hashlib.sha256(b'{"N":200}').digest()
    key = (int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little"), 1)
    lo, hi = np.random.SeedSequence(7, spawn_key=key).generate_state(2, dtype=np.uint32)
    assert derive_seed(7, point, 1) == ((int(hi) << 32) | int(lo)) & (2**63 - 1)
    assert derive_seed(7, point, 1) != derive_seed(8, point, 1)
    assert derive_seed(7, point, 1) != derive_seed(7, point, 0)


def test_seeds_do_not_change_when_a_grid_is_extended():
    small = expand_sweep(make(grid={"N": [200, 300]}, replicates=2, seed=1))
    large = expand_sweep(make(grid={"N": [200, 300, 400]}, replicates=2, seed=1))
    assert {r.cache_key for r in small} <= {r.cache_key for r in large}


def test_cache_key_changes_with_any_parameter_and_is_stable():
    runs = expand_sweep(make(grid={"cx": [0.0, 0.1]}))
    assert runs[0].cache_key != runs[1].cache_key
    assert runs[0].cache_key == cache_key(runs[0].params)
    assert cache_key(runs[0].params) != cache_key(runs[0].params.model_copy(update={"seed": 1}))
    assert len(runs[0].cache_key) == 64


@pytest.mark.parametrize(
    ("definition", "field", "point"),
    [
        ({"grid": {"N": [200, 5]}}, "N", 1),
        ({"grid": {"cx": [0.0, 2.0]}}, "cx", 1),
        ({"grid": {"nonsense": [1]}}, "nonsense", 0),
        ({"grid": {"Vre": [-75.0, -40.0]}}, "Vre", 1),
        ({"grid": {"record.dt": [0.01]}}, "record.dt", 0),
        ({"points": [{"N": 300}, {"jee": -3}]}, "jee", 1),
    ],
)
def test_invalid_point_names_point_and_field(definition, field, point):
    with pytest.raises(SweepValidationError) as info:
        expand_sweep(make(**definition))
    assert info.value.field == field
    assert info.value.point == point
    assert field in str(info.value) and f"point {point}" in str(info.value)
    assert info.value.reason


@pytest.mark.parametrize(
    ("definition", "field"),
    [
        ({"grid": {"N": 5}}, "grid.N"),
        ({"gird": {"N": [5]}}, "gird"),
        ({"replicates": 0}, "replicates"),
        ({"grid": {"seed": [1, 2]}}, "grid.seed"),
        ({"grid": {"N": [200, 200]}}, "grid.N"),
        ({"grid": {"N": []}}, "grid.N"),
        ({"zip": {"jee": [1, 2], "jie": [3]}}, "zip"),
        ({"grid": {"cx": [0.0]}, "zip": {"cx": [0.1]}}, "zip.cx"),
        ({"grid": {"cx": [0.0]}, "points": [{"cx": 0.2}]}, "points[0].cx"),
        ({"grid": {"foo.bar": [1]}}, "grid.foo.bar"),
    ],
)
def test_invalid_definition_names_field(definition, field):
    with pytest.raises(SweepValidationError) as info:
        expand_sweep(make(**definition))
    assert info.value.field == field


def test_base_seed_is_refused():
    with pytest.raises(SweepValidationError, match=r"base\.seed"):
        expand_sweep(load_definition({"base": {"seed": 3}}))


def test_load_definition_reads_yaml_and_json(tmp_path):
    text = "name: y\nbase: {T: 500, N: 200}\ngrid:\n  cx: [0.0, 0.1]\nreplicates: 2\nseed: 5\n"
    (tmp_path / "s.yaml").write_text(text)
    (tmp_path / "s.json").write_text(
        json.dumps({"name": "y", "base": BASE, "grid": {"cx": [0.0, 0.1]}, "replicates": 2, "seed": 5})
    )
    a, b = load_definition(tmp_path / "s.yaml"), load_definition(str(tmp_path / "s.json"))
    assert [r.cache_key for r in expand_sweep(a)] == [r.cache_key for r in expand_sweep(b)]
    with pytest.raises(SweepValidationError, match="no such file"):
        load_definition(tmp_path / "missing.yaml")
    (tmp_path / "bad.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(SweepValidationError, match="mapping"):
        load_definition(tmp_path / "bad.yaml")


def test_check_limits_names_the_limit():
    runs = expand_sweep(make(grid={"N": [200, 2000]}, replicates=2))
    check_limits(runs, SweepLimits())
    cases = [
        (SweepLimits(max_runs=3), "max_runs"),
        (SweepLimits(max_N=1000), "max_N"),
        (SweepLimits(max_T_ms=100), "max_T_ms"),
        (SweepLimits(max_neuron_seconds=2000), "max_neuron_seconds"),
    ]
    for limits, name in cases:
        with pytest.raises(LimitExceededError) as info:
            check_limits(runs, limits)
        assert info.value.limit == name and name in str(info.value)
    total = 2 * (200 + 2000) * 500 / 1000
    check_limits(runs, SweepLimits(max_neuron_seconds=total))


def test_sweep_limits_from_env(monkeypatch):
    monkeypatch.setenv("PBN_MAX_RUNS", "7")
    monkeypatch.setenv("PBN_MAX_T_MS", "1000")
    limits = SweepLimits()
    assert limits.max_runs == 7 and limits.max_T_ms == 1000 and limits.max_N == SweepLimits().max_N


def test_validation_error_serialises():
    with pytest.raises(SweepValidationError) as info:
        expand_sweep(make(grid={"N": [200, 5]}))
    body = info.value.to_dict()
    assert body["field"] == "N" and body["value"] == 5 and body["point"] == 1
    json.dumps(body)


@settings(max_examples=30, deadline=None)
@given(
    n_values=st.lists(st.integers(100, 400), min_size=1, max_size=3, unique=True),
    cx_values=st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.2]), min_size=1, max_size=3, unique=True),
    zip_len=st.integers(0, 3),
    n_points=st.integers(0, 2),
    replicates=st.integers(1, 3),
)
def test_expansion_size_order_and_seeds_property(n_values, cx_values, zip_len, n_points, replicates):
    zipped = {"jee": [20.0 + i for i in range(zip_len)], "jie": [100.0 + i for i in range(zip_len)]}
    points = [{"taujitter": 1.0 + i} for i in range(n_points)]
    defn = make(
        grid={"N": n_values, "cx": cx_values},
        zip=zipped if zip_len else {},
        points=points,
        replicates=replicates,
    )
    runs = expand_sweep(defn)
    assert len(runs) == len(n_values) * len(cx_values) * max(zip_len, 1) * max(n_points, 1) * replicates
    sizes = [a["size"] for a in sweep_axes(defn)] + [replicates]
    for r in runs:  # the run index is the row-major position over the axes
        pos = np.unravel_index(r.index, sizes)
        assert r.point["N"] == n_values[pos[0]] and r.point["cx"] == cx_values[pos[1]]
        assert r.replicate == pos[-1]
    assert len({r.seed for r in runs}) == len(runs)
    assert len({r.cache_key for r in runs}) == len(runs)


@pytest.mark.parametrize(
    "defn",
    [
        {"grid": {"N": [100, 200], "cx": [0.0, 0.1, 0.2]}, "replicates": 2},
        {
            "grid": {"N": [100, 200]},
            "zip": {"jee": [20, 25], "jie": [90, 100]},
            "points": [{"T": 200}, {"T": 300}],
        },
        {"points": [{"N": 100}], "replicates": 3},
        {},
    ],
)
def test_count_runs_is_the_expansion_size(defn):
    d = SweepDefinition.model_validate({"base": BASE, **defn})
    assert count_runs(d) == len(expand_sweep(d)) == len(prepare_sweep(d, SweepLimits()))


def test_prepare_refuses_a_huge_grid_before_expanding_it(monkeypatch):
    """10^6 points: refused by the count alone (expanding would validate 10^6 parameter sets)."""
    import worker.sweep

    def never(*_: object) -> None:
        raise AssertionError("expanded a sweep over the run limit")

    monkeypatch.setattr(worker.sweep, "expand_sweep", never)
    grid = {"N": list(range(100, 1100)), "cx": [i / 1000 for i in range(1000)]}
    d = SweepDefinition.model_validate({"base": BASE, "grid": grid})
    with pytest.raises(LimitExceededError, match="max_runs: 1e\\+06 exceeds the limit 10000"):
        prepare_sweep(d, SweepLimits())


def test_definition_files_read_exponents_as_numbers_and_refuse_nan(tmp_path):
    """YAML 1.1 leaves `1e3` a string; a definition file reads it as the number a scientist meant."""
    path = tmp_path / "s.yaml"
    path.write_text("name: e\nbase: {N: 1e3, T: 2e2, eta_ei: 1.5e-5}\ngrid: {cx: [0.0, 1e-1]}\n")
    runs = expand_sweep(load_definition(path))
    assert [(r.params.N, r.params.T, r.params.cx) for r in runs] == [(1000, 200.0, 0.0), (1000, 200.0, 0.1)]
    path.write_text("base: {N: 1000, T: .nan}\n")
    with pytest.raises(SweepValidationError, match="T=nan: must be finite"):
        expand_sweep(load_definition(path))
