"""`POST /sweeps/validate`: a dry run of `POST /sweeps` — validate, expand, check limits, say per run
whether it would run or be reused (`pbn sweep --explain`) and what it costs; nothing is created.

The body is the JSON definition of `POST /sweeps`, or its YAML text (`Content-Type: text/yaml`), so the
browser's submit page can check what the user typed as they type it.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import yaml
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from service.api.deps import RegistryDep
from service.auth import CurrentUser
from service.schemas import AUTHENTICATED, error_responses
from worker.errors import SweepValidationError
from worker.sweep import SweepDefinition, load_definition

router = APIRouter(prefix="/sweeps", tags=["sweeps"])
PREVIEW_RUNS = 200
YAML_TYPES = ("text/yaml", "application/yaml", "application/x-yaml", "text/plain")


class PlannedRun(BaseModel):
    """What submitting would do with one run, and why."""

    index: int
    point: dict[str, Any]
    replicate: int
    action: str = Field(description="run | reuse")
    reason: str


class SweepPreview(BaseModel):
    """The dry run of a definition: its size, what would be reused and its cost (nothing is created)."""

    name: str
    n_runs: int
    n_reused: int = Field(description="Runs whose stored results would be copied, not recomputed")
    n_to_run: int
    neuron_seconds: float = Field(description="Sum over runs of N·T/1000 (the unit of the limits and quota)")
    neuron_seconds_to_run: float = Field(description="The same, for the runs that would be computed")
    axes: dict[str, list[Any]] = Field(description="Swept parameters and their values")
    runs: list[PlannedRun] = Field(description=f"The first {PREVIEW_RUNS} runs")
    definition: dict[str, Any] = Field(description="The definition as JSON (what `POST /sweeps` takes)")
    estimate: dict[str, Any] = Field(
        default_factory=dict, description="Estimated cost, as in the answer of `POST /sweeps` (sim.cost)"
    )


async def read_definition(request: Request) -> SweepDefinition:
    """Parse the body as JSON or YAML; errors name the line (YAML) or the field."""
    text = (await request.body()).decode("utf-8", "replace")
    media = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    try:
        data = yaml.safe_load(text) if media in YAML_TYPES else json.loads(text or "null")
    except (yaml.YAMLError, ValueError) as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else getattr(exc, "lineno", None)
        where = f"line {line}: " if line else ""
        raise SweepValidationError("definition", None, f"{where}not valid {media}: {exc}") from None
    if not isinstance(data, dict):
        raise SweepValidationError("definition", type(data).__name__, "expected a mapping at the top level")
    return load_definition(data)


@router.post(
    "/validate",
    response_model=SweepPreview,
    responses=error_responses(*AUTHENTICATED, 413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/SweepDefinition"}},
                "text/yaml": {"schema": {"$ref": "#/components/schemas/SweepDefinition"}},  # its YAML text
            },
        }
    },
)
async def validate_sweep(request: Request, registry: RegistryDep, user: CurrentUser) -> SweepPreview:
    """Dry run of `POST /sweeps`: validate, expand and limit-check a definition, plan reuse, estimate cost."""
    defn = await read_definition(request)
    runs, plan, estimate = registry.preview(defn, user)
    actions = Counter(item.action for item in plan)
    cost = [r.params.neuron_seconds() for r in runs]
    axes = {**defn.grid, **defn.zip}
    for point in defn.points:
        for key, value in point.items():
            axes.setdefault(key, []).append(value)
    return SweepPreview(
        name=defn.name,
        n_runs=len(runs),
        n_reused=actions["reuse"],
        n_to_run=actions["run"],
        neuron_seconds=sum(cost),
        neuron_seconds_to_run=sum(c for c, item in zip(cost, plan, strict=True) if item.action == "run"),
        axes=axes,
        runs=[
            PlannedRun(index=r.index, point=r.point, replicate=r.replicate, action=i.action, reason=i.reason)
            for r, i in zip(runs[:PREVIEW_RUNS], plan, strict=False)
        ],
        definition=defn.model_dump(mode="json"),
        estimate=estimate.to_dict(),
    )
