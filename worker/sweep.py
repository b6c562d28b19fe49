"""Sweep definition, deterministic expansion into validated runs, per-run seeds and size limits."""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from sim import MODEL_VERSION, SimParams
from sim.cost import DEFAULT_MODEL, CostModel, estimate
from sim.params import IDENTITY_DEFAULTS
from worker.errors import LimitExceededError, MemoryBudgetError, SweepValidationError
from worker.limits import SweepLimits

NESTED = ("record", "analysis")
"""Sub-models of SimParams that swept keys may address with a dot (`record.dt`)."""


class SweepDefinition(BaseModel):
    """A sweep as a user writes it (YAML for the CLI, JSON for the API); see docs/sweeps.md."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field("sweep", min_length=1, max_length=100, description="Human name of the sweep")
    base: dict[str, Any] = Field(default_factory=dict, description="Parameters shared by every run")
    grid: dict[str, list[Any]] = Field(default_factory=dict, description="Axes of a cartesian product")
    zip: dict[str, list[Any]] = Field(default_factory=dict, description="Equal-length lists varied together")
    points: list[dict[str, Any]] = Field(default_factory=list, description="Explicit points (one more axis)")
    # secure: strict, so `true` or "3" is refused as the schema says (schemathesis negative_data_rejection)
    replicates: int = Field(1, ge=1, le=10_000, strict=True, description="Independent seeds per point")
    seed: int = Field(0, ge=0, lt=2**63, strict=True, description="Sweep seed; per-run seeds derive from it")
    record: dict[str, Any] = Field(default_factory=dict, description="SimParams.record for every run")
    analysis: dict[str, Any] = Field(default_factory=dict, description="SimParams.analysis for every run")


@dataclass(frozen=True)
class RunSpec:
    """One fully specified run of a sweep."""

    index: int
    point_index: int
    params: SimParams
    point: dict[str, Any]
    replicate: int
    seed: int
    cache_key: str


class _DefinitionLoader(yaml.SafeLoader):
    """YAML as a scientist writes numbers: `1e3` and `2.5e-5` are floats (YAML 1.1 leaves them strings;
    a whole float is accepted where an integer is expected, e.g. `N: 1e3`)."""


_DefinitionLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)[eE][-+]?\d+$"),
    list("-+0123456789."),
)


def load_definition(source: str | os.PathLike[str] | dict[str, Any] | SweepDefinition) -> SweepDefinition:
    """Read a definition from a YAML/JSON file or a dict; errors name the field and the reason."""
    if isinstance(source, SweepDefinition):
        return source
    if isinstance(source, dict):
        data: Any = source
    else:
        path = Path(source)
        if not path.is_file():
            raise SweepValidationError("file", str(path), "no such file")
        try:
            data = yaml.load(path.read_text(), Loader=_DefinitionLoader)
        except yaml.YAMLError as exc:
            raise SweepValidationError("file", str(path), f"not valid YAML/JSON: {exc}") from None
    if not isinstance(data, dict):
        raise SweepValidationError("definition", type(data).__name__, "expected a mapping at the top level")
    try:
        return SweepDefinition.model_validate(data)
    except ValidationError as exc:
        raise _from_pydantic(exc, None) from None


def expand_sweep(defn: SweepDefinition) -> list[RunSpec]:
    """All runs of a sweep in their fixed order; every point is validated before returning."""
    _check_axes(defn)
    runs: list[RunSpec] = []
    for point_index, point in enumerate(sweep_points(defn)):
        params = build_params(defn, point, point_index)
        for replicate in range(defn.replicates):
            seed = derive_seed(defn.seed, point, replicate)
            p = params.model_copy(update={"seed": seed})
            runs.append(RunSpec(len(runs), point_index, p, point, replicate, seed, cache_key(p)))
    return runs


def sweep_axes(defn: SweepDefinition) -> list[dict[str, Any]]:
    """The axes of the expansion, outermost first: {dim, kind, keys, size}."""
    axes = [{"dim": k, "kind": "grid", "keys": [k], "size": len(v)} for k, v in defn.grid.items()]
    if defn.zip:
        keys = list(defn.zip)
        axes.append({"dim": keys[0], "kind": "zip", "keys": keys, "size": len(defn.zip[keys[0]])})
    if defn.points:
        keys = sorted({k for p in defn.points for k in flatten_point(p)})
        axes.append({"dim": "point", "kind": "points", "keys": keys, "size": len(defn.points)})
    return axes


def sweep_points(defn: SweepDefinition) -> list[dict[str, Any]]:
    """Swept values of each point (before replicates), in expansion order."""
    factors: list[list[dict[str, Any]]] = [[{k: v} for v in vals] for k, vals in defn.grid.items()]
    if defn.zip:
        keys = list(defn.zip)
        factors.append([dict(zip(keys, vals, strict=True)) for vals in zip(*defn.zip.values(), strict=True)])
    if defn.points:
        factors.append([flatten_point(p) for p in defn.points])
    return [{k: v for part in combo for k, v in part.items()} for combo in itertools.product(*factors)]


def flatten_point(point: dict[str, Any]) -> dict[str, Any]:
    """Nested record/analysis dicts of an explicit point become dotted keys (`record.dt`)."""
    flat: dict[str, Any] = {}
    for key, value in point.items():
        if key in NESTED and isinstance(value, dict):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return flat


def build_params(defn: SweepDefinition, point: dict[str, Any], point_index: int) -> SimParams:
    """Base + record/analysis + swept values -> validated SimParams (seed set later)."""
    data = copy.deepcopy(defn.base)
    for sub in NESTED:
        data[sub] = {**dict(data.get(sub) or {}), **getattr(defn, sub)}
    for key, value in point.items():
        head, _, tail = key.partition(".")
        if tail:
            data[head][tail] = value
        else:
            data[key] = value
    data = {k: v for k, v in data.items() if not (k in NESTED and v == {})}
    try:
        return SimParams(**data)
    except ValidationError as exc:
        raise _from_pydantic(exc, point_index) from None


def derive_seed(sweep_seed: int, point: dict[str, Any], replicate: int) -> int:
    """Child of SeedSequence(sweep_seed) keyed by the point's content and the replicate (63-bit)."""
    digest = hashlib.sha256(canonical_json(point).encode()).digest()
    h0, h1 = int.from_bytes(digest[:4], "little"), int.from_bytes(digest[4:8], "little")
    child = np.random.SeedSequence(sweep_seed, spawn_key=(h0, h1, replicate))
    lo, hi = (int(x) for x in child.generate_state(2, dtype=np.uint32))
    return ((hi << 32) | lo) & (2**63 - 1)


def cache_key(params: SimParams) -> str:
    """Identity of a run's result: full parameters (seed included) + the model version."""
    dump = params.model_dump(mode="json")
    for name, value in IDENTITY_DEFAULTS.items():
        if dump.get(name) == value:
            del dump[name]
    text = canonical_json({"params": dump, "model_version": MODEL_VERSION})
    return hashlib.sha256(text.encode()).hexdigest()


def canonical_json(value: Any) -> str:
    """Stable JSON text (sorted keys, no whitespace) for hashing."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), default=str)


def count_runs(defn: SweepDefinition) -> int:
    """Runs a definition expands to, from its axes alone (a huge grid is refused before any expansion)."""
    return math.prod(axis["size"] for axis in sweep_axes(defn)) * defn.replicates


def prepare_sweep(
    defn: SweepDefinition,
    limits: SweepLimits,
    model: CostModel = DEFAULT_MODEL,
    memory_budget: float | None = None,
) -> list[RunSpec]:
    """The one submission path (CLI and service): count, expand once (each point validated once), limit, and
    refuse a run whose estimated peak memory exceeds the budget (`limits.max_run_memory_bytes`, else
    `memory_budget`: the smallest worker's memory limit, when known)."""
    check_count(defn, limits)
    runs = expand_sweep(defn)
    check_limits(runs, limits)
    budget = limits.max_run_memory_bytes or memory_budget
    if budget is not None:
        check_memory(runs, budget, model)
    return runs


def check_count(defn: SweepDefinition, limits: SweepLimits) -> None:
    """Refuse a sweep with more runs than `max_runs`, counted from its axes (nothing expanded)."""
    n = count_runs(defn)
    if n > limits.max_runs:
        raise LimitExceededError("max_runs", n, limits.max_runs)


def check_memory(runs: list[RunSpec], budget: float, model: CostModel = DEFAULT_MODEL) -> None:
    """MemoryBudgetError for the first point whose run would not fit a worker (replicates cost the same)."""
    seen: set[int] = set()
    for run in runs:
        if run.point_index in seen:
            continue
        seen.add(run.point_index)
        need = estimate(run.params, model).memory_bytes
        if need > budget:
            p = run.params
            shown = {"N": p.N, "T": p.T, **{k: v for k, v in run.point.items() if k not in ("N", "T")}}
            raise MemoryBudgetError(need, budget, run.point_index, shown)


def check_limits(runs: list[RunSpec], limits: SweepLimits) -> None:
    """Refuse a sweep over any limit, naming the limit, the value and the point."""
    if len(runs) > limits.max_runs:
        raise LimitExceededError("max_runs", len(runs), limits.max_runs)
    for run in runs:
        if limits.max_N < run.params.N:
            raise LimitExceededError("max_N", run.params.N, limits.max_N, run.point_index)
        if limits.max_T_ms < run.params.T:
            raise LimitExceededError("max_T_ms", run.params.T, limits.max_T_ms, run.point_index)
    total = sum(run.params.neuron_seconds() for run in runs)
    if total > limits.max_neuron_seconds:
        raise LimitExceededError("max_neuron_seconds", total, limits.max_neuron_seconds)


def _check_axes(defn: SweepDefinition) -> None:
    """Axis-level rules: non-empty lists, equal zip lengths, no key swept twice, seeds not swept."""
    if "seed" in defn.base:
        raise SweepValidationError("base.seed", defn.base["seed"], "set the sweep's `seed`, not base.seed")
    seen: dict[str, str] = {}
    for where, keys in (("grid", defn.grid), ("zip", defn.zip)):
        for key, values in keys.items():
            _check_key(f"{where}.{key}", key, seen, where)
            if not values:
                raise SweepValidationError(f"{where}.{key}", values, "expected a non-empty list")
    for key, values in defn.grid.items():
        if len({canonical_json(v) for v in values}) != len(values):
            raise SweepValidationError(f"grid.{key}", values, "values repeat; each grid value must be unique")
    lengths = {k: len(v) for k, v in defn.zip.items()}
    if len(set(lengths.values())) > 1:
        raise SweepValidationError("zip", lengths, "zip lists must all have the same length")
    for i, point in enumerate(defn.points):
        for key, value in flatten_point(point).items():
            if key == "seed":
                raise SweepValidationError(f"points[{i}].seed", value, "seeds derive from the sweep seed", i)
            if key in seen:
                raise SweepValidationError(f"points[{i}].{key}", value, f"already swept in {seen[key]}", i)
            # secure: dotted keys of explicit points obey the grid/zip rule (`x.y` was a KeyError, a 500)
            if "." in key and key.partition(".")[0] not in NESTED:
                raise SweepValidationError(
                    f"points[{i}].{key}", value, f"dotted keys are only allowed under {NESTED}", i
                )


def _check_key(field: str, key: str, seen: dict[str, str], where: str) -> None:
    """A swept key is swept once and is never the seed."""
    if key == "seed":
        raise SweepValidationError(field, key, "seeds derive from the sweep `seed` and `replicates`")
    head, _, tail = key.partition(".")
    if tail and head not in NESTED:
        raise SweepValidationError(field, key, f"dotted keys are only allowed under {NESTED}")
    if key in seen:
        raise SweepValidationError(field, key, f"already swept in {seen[key]}")
    seen[key] = where


def _from_pydantic(exc: ValidationError, point: int | None) -> SweepValidationError:
    """The first pydantic error as a SweepValidationError naming the field, the value and the reason.

    Cross-field errors have no location; their message starts with `field=value`, which names the field.
    """
    err = exc.errors()[0]
    field = ".".join(str(p) for p in err["loc"])
    reason = str(err["msg"]).removeprefix("Value error, ")
    value = err.get("input")
    if not field:
        match = re.match(r"([A-Za-z_][\w.]*)=", reason)
        field = match.group(1) if match else "params"
        value = _lookup(value, field) if match else value
    return SweepValidationError(field, value, reason, point)


def _lookup(data: Any, dotted: str) -> Any:
    """Value of a dotted key in nested dicts (None if absent)."""
    for part in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data
