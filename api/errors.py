"""Errors as HTTP answers, one shape for every route (`ErrorBody`): refusals say why in a
sentence, invalid requests name the field and the rule (never the value sent), a refused step
names the allowed actions, and an outage of the database, of Temporal or of the file store
is a 503 with `Retry-After`, never a 500."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.service import RPCError

from core.security import HasherBusy
from models import refusals as r
from store.files import FilesUnavailable

log = logging.getLogger("aftersales.api")
# The HTTP answer to each refusal of models/refusals.py, whoever refused.
STATUS_OF: dict[str, int] = {
    r.INVALID_TRANSITION: 409,
    r.FORBIDDEN: 403,
    r.INVALID_PAYLOAD: 422,
    r.IDEMPOTENCY_KEY_REUSED: 422,
    r.NOT_FOUND: 404,
    r.CONFLICT: 409,
    r.SURVEY_CLOSED: 409,
    r.SURVEY_EXPIRED: 404,
    r.SURVEY_NOT_OPEN: 404,
    r.LINK_EXPIRED: 410,
    r.INVALID_ANSWER: 422,
    r.UNKNOWN_ESCALATION: 404,
    r.NOT_AN_OWNER: 403,
    r.TOO_LARGE: 413,
    r.UNSUPPORTED_TYPE: 415,
    r.UNAVAILABLE: 503,
    r.TIMED_OUT: 504,
    r.INVALID_DATA: 503,
}


class FieldError(BaseModel):
    loc: list[str | int]
    """Where: `body`, `query`, `path` or `header`, then the field's path."""
    msg: str
    """The rule it breaks."""
    type: str


class ErrorBody(BaseModel):
    """Every error answer: `detail` says what went wrong and what to do about it; a 422 lists
    the `errors`, a step the ticket's status refuses lists the `allowed_actions`; other keys
    may add context (what is still outstanding, which ticket a key named)."""

    model_config = ConfigDict(extra="allow")

    detail: str
    errors: list[FieldError] | None = None
    allowed_actions: list[str] | None = None


# What any operation may answer besides its own successes, documented on each of them.
ERROR_ANSWERS = {
    "400": "the body cannot be read",
    "401": "no valid bearer token",
    "403": "this needs another role (named in `detail`)",
    "404": "no such thing (or not one this user may read)",
    "409": "the current state does not allow it (`allowed_actions` for steps)",
    "413": "the request body is larger than the API takes",
    "422": "invalid request: `errors` names each field and rule",
    "429": "too many attempts: wait `Retry-After` seconds",
    "503": "the database, Temporal or the file store is unavailable: retry after `Retry-After`"
    " seconds",
    "504": "no worker took the step in time: retry with the same `Idempotency-Key`",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}


def document_errors(schema: dict[str, Any]) -> None:
    """Puts `ErrorBody` in place of FastAPI's own validation error schema, and documents the
    error answers on every operation (a route's own description of one is kept)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        components.pop(name, None)
    shapes = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    components.update(shapes.pop("$defs", {}))
    components["ErrorBody"] = shapes
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            answers = operation.setdefault("responses", {})
            for status, why in ERROR_ANSWERS.items():
                answer = answers.setdefault(status, {"description": why})
                content = answer.setdefault("content", {}).setdefault("application/json", {})
                if status == "422" or "schema" not in content:
                    content["schema"] = ERROR_REF


RETRY_AFTER_SECONDS = 5
TEMPORAL_CONNECT_FAILED = "Failed client connect"
HASHING_BUSY_SECONDS = 2


async def _structured(request: Request, error: Exception) -> Response:
    """Errors whose detail is an object (409 with `allowed_actions`) are sent as that object;
    every 503 tells when to try again (`Retry-After`), whichever route raised it."""
    assert isinstance(error, HTTPException)
    headers = dict(error.headers or {})
    if error.status_code == 503 and "retry-after" not in {k.lower() for k in headers}:
        headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
        error = HTTPException(error.status_code, error.detail, headers)
    if isinstance(error.detail, dict):
        return JSONResponse(error.detail, status_code=error.status_code, headers=error.headers)
    return await http_exception_handler(request, error)


def status_of(refusal: r.Refused) -> int:
    return STATUS_OF.get(refusal.type, 503)


async def _refused(request: Request, error: Exception) -> Response:
    assert isinstance(error, r.Refused)
    status = status_of(error)
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return JSONResponse({"detail": error.message, **error.details}, status, headers=headers)


async def _invalid(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in error.errors()]
    return JSONResponse({"detail": "invalid request", "errors": errors}, status_code=422)


def _unavailable(what: str) -> Response:
    return JSONResponse(
        {"detail": f"{what} is unavailable: try again shortly"},
        status_code=503,
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


async def _database_down(request: Request, error: Exception) -> Response:
    log.warning("%s %s: database unavailable: %s", request.method, request.url.path, error)
    return _unavailable("the database")


async def _temporal_down(request: Request, error: Exception) -> Response:
    log.warning("%s %s: Temporal unavailable: %s", request.method, request.url.path, error)
    return _unavailable("the workflow service")


async def _files_down(request: Request, error: Exception) -> Response:
    log.warning("%s %s: file store unavailable: %s", request.method, request.url.path, error)
    return _unavailable("the file store")


async def _hashing_busy(request: Request, error: Exception) -> Response:
    return JSONResponse(
        {"detail": "too many sign-ins at once: try again in a moment"},
        status_code=503,
        headers={"Retry-After": str(HASHING_BUSY_SECONDS)},
    )


async def _runtime(request: Request, error: Exception) -> Response:
    # The Temporal client reports a server it cannot reach as a RuntimeError.
    if str(error).startswith(TEMPORAL_CONNECT_FAILED):
        return await _temporal_down(request, error)
    raise error


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _structured)
    app.add_exception_handler(r.Refused, _refused)
    app.add_exception_handler(RequestValidationError, _invalid)
    for outage in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(outage, _database_down)
    app.add_exception_handler(RPCError, _temporal_down)
    app.add_exception_handler(FilesUnavailable, _files_down)
    app.add_exception_handler(HasherBusy, _hashing_busy)
    app.add_exception_handler(RuntimeError, _runtime)
