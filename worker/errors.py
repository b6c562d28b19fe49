"""Typed errors of the sweep engine; the service maps each class to one HTTP status."""

from __future__ import annotations

from typing import Any


class PbnError(Exception):
    """Base of every error the sweep engine raises on purpose."""

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready description (the service returns it as the error body)."""
        return {"type": type(self).__name__, "message": str(self)}


class SweepValidationError(PbnError, ValueError):
    """A sweep definition or one of its expanded points is invalid."""

    def __init__(self, field: str, value: Any, reason: str, point: int | None = None) -> None:
        self.field, self.value, self.reason, self.point = field, value, reason, point
        where = f"point {point}: " if point is not None else ""
        said = reason if reason.startswith(f"{field}=") else f"{field}={value!r}: {reason}"
        super().__init__(f"{where}{said}")

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "field": self.field,
            "value": _jsonable(self.value),
            "reason": self.reason,
            "point": self.point,
        }


class LimitExceededError(PbnError, ValueError):
    """A sweep is larger than the configured limits (refused before anything runs)."""

    def __init__(self, limit: str, value: float, maximum: float, point: int | None = None) -> None:
        self.limit, self.value, self.maximum, self.point = limit, value, maximum, point
        where = f" (point {point})" if point is not None else ""
        super().__init__(f"{limit}: {value:g} exceeds the limit {maximum:g}{where}")

    def to_dict(self) -> dict[str, Any]:
        return {
            **super().to_dict(),
            "limit": self.limit,
            "value": self.value,
            "maximum": self.maximum,
            "point": self.point,
        }


class MemoryBudgetError(LimitExceededError):
    """A run's estimated peak memory is over a worker's memory budget (sim.cost)."""

    def __init__(self, estimate: float, budget: float, point: int, params: dict[str, Any]) -> None:
        super().__init__("max_run_memory_bytes", estimate, budget, point)
        self.params = params
        said = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())
        self.args = (
            f"point {point} ({said}): estimated peak memory {estimate / 1e9:.2f} GB exceeds the worker "
            f"memory budget {budget / 1e9:.2f} GB (max_run_memory_bytes)",
        )

    def __str__(self) -> str:
        return str(self.args[0])

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "message": str(self), "params": _jsonable(self.params)}


class SweepNotFoundError(PbnError, KeyError):
    """No sweep with this id in the store."""

    def __init__(self, sweep_id: str) -> None:
        self.sweep_id = sweep_id
        super().__init__(sweep_id)

    def __str__(self) -> str:
        return f"sweep {self.sweep_id!r} not found"


class RunNotFoundError(PbnError, IndexError):
    """The run index is outside the sweep."""

    def __init__(self, sweep_id: str, index: int, total: int) -> None:
        self.sweep_id, self.index, self.total = sweep_id, index, total
        super().__init__(f"sweep {sweep_id!r} has runs 0..{total - 1}; got run {index}")


class SweepStateError(PbnError):
    """The request conflicts with the sweep's state (e.g. the id already exists)."""

    def __init__(self, sweep_id: str, reason: str) -> None:
        self.sweep_id, self.reason = sweep_id, reason
        super().__init__(f"sweep {sweep_id!r}: {reason}")


class StoreUnwritableError(PbnError):
    """The store cannot be written (read-only, full, gone): the sweep pauses, its runs stay unfinished."""

    def __init__(self, sweep_id: str, reason: str) -> None:
        self.sweep_id, self.reason = sweep_id, reason
        super().__init__(f"sweep {sweep_id!r}: the store cannot be written: {reason}")


def _jsonable(value: Any) -> Any:
    """Values in error bodies must serialise; fall back to repr for exotic inputs."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return repr(value)
