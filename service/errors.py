"""Service errors and their mapping to HTTP: every 4xx body names the field, the value and the reason."""

from __future__ import annotations

import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from worker.errors import (
    LimitExceededError,
    PbnError,
    RunNotFoundError,
    SweepNotFoundError,
    SweepStateError,
    SweepValidationError,
)

log = logging.getLogger("pbn.service")


class ServiceError(Exception):
    """An error with an HTTP status and a message meant for the user."""

    status_code = 400
    headers: dict[str, str] | None = None

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class AuthError(ServiceError):
    """401 (who are you?) or 403 (not allowed)."""

    def __init__(self, status_code: int, message: str) -> None:
        super().__init__(message)
        self.status_code = status_code


class NotFoundError(ServiceError):
    """No such sweep/run for this caller (others' sweeps look absent too)."""

    status_code = 404


class QuotaExceededError(ServiceError):
    """The caller already has too much unfinished work queued (Retry-After when waiting can help)."""

    status_code = 429

    def __init__(self, message: str, field: str | None = None, retry_after_s: int | None = None) -> None:
        super().__init__(message, field=field)
        self.headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None


class TooManyReadsError(ServiceError):
    """The caller already has as many expensive reads (results, plots, runs) in flight as allowed."""

    status_code = 429

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.headers = {"Retry-After": str(retry_after_s)}


class CsrfError(ServiceError):
    """A cookie-authenticated request that changes state came from another site (or says nothing)."""

    status_code = 403


class ConflictError(ServiceError):
    """The request does not fit the sweep's current state."""

    status_code = 409


def json_safe(value: Any) -> Any:
    """A copy that JSON can carry: NaN and infinities become their names ("nan", "inf"), as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    return value


def _detail(message: str, field: str | None = None, **extra: Any) -> dict[str, Any]:
    item = {"loc": [field] if field else [], "msg": message, "type": "value_error"}
    item.update({k: v for k, v in extra.items() if k not in item})
    return {"detail": [json_safe(item)]}


def _pydantic_detail(exc: ValidationError | RequestValidationError) -> list[dict[str, Any]]:
    """Pydantic errors with their location, message and the offending input (inputs clipped)."""
    out = []
    for err in exc.errors():
        item = {"loc": list(err.get("loc", ())), "msg": err.get("msg", ""), "type": err.get("type", "")}
        if item["type"] == "finite_number":
            item["msg"] = "must be finite"
        if "input" in err:
            item["input"] = repr(err["input"])[:200]
        out.append(item)
    return out


async def _service_error(request: Request, exc: ServiceError) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else exc.headers
    return JSONResponse(_detail(exc.message, exc.field), status_code=exc.status_code, headers=headers)


async def _validation_error(request: Request, exc: ValidationError | RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": json_safe(jsonable_encoder(_pydantic_detail(exc)))}, status_code=422)


ENGINE_STATUS: dict[type[PbnError], int] = {
    SweepValidationError: 422,
    LimitExceededError: 422,
    SweepNotFoundError: 404,
    RunNotFoundError: 404,
    SweepStateError: 409,
    PbnError: 400,
}
"""worker.errors -> HTTP status (the engine's errors are always the user's input or state, never a 5xx)."""


async def _engine_error(request: Request, exc: PbnError) -> JSONResponse:
    info = jsonable_encoder(exc.to_dict())
    field = info.get("field") or info.get("limit")
    status = next(code for cls, code in ENGINE_STATUS.items() if isinstance(exc, cls))
    extra = {k: v for k, v in info.items() if k not in ("message", "field")}
    return JSONResponse(_detail(str(exc), field, **extra), status_code=status)


async def _http_error(request: Request, exc: HTTPException) -> JSONResponse:
    """Starlette's own errors (404 no route, 405, 400 unparsable body) in the same body shape as ours; a
    405 lists every method of the path in `Allow` (Starlette names only the first route's)."""
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        methods = set()
        for route in request.app.router.routes:
            match, _ = route.matches(request.scope)
            if match != Match.NONE:
                methods |= set(getattr(route, "methods", None) or ())
        headers["Allow"] = ", ".join(sorted(methods))
    return JSONResponse(_detail(str(exc.detail)), status_code=exc.status_code, headers=headers or None)


def install_exception_handlers(app: FastAPI) -> None:
    """Register every mapping once, in one place."""
    app.add_exception_handler(ServiceError, _service_error)  # type: ignore[arg-type]
    app.add_exception_handler(HTTPException, _http_error)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(ValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(PbnError, _engine_error)  # type: ignore[arg-type]
