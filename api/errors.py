"""Errors as HTTP answers: refusals keep their shape, invalid requests name the field and the
rule (never the value sent), and an outage of the database or of Temporal is a 503 with
`Retry-After`, never a 500."""

from __future__ import annotations

import logging

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from temporalio.service import RPCError

log = logging.getLogger("aftersales.api")
RETRY_AFTER_SECONDS = 5
TEMPORAL_CONNECT_FAILED = "Failed client connect"


async def _structured(request: Request, error: Exception) -> Response:
    """Errors whose detail is an object (409 with `allowed_actions`) are sent as that object."""
    assert isinstance(error, HTTPException)
    if isinstance(error.detail, dict):
        return JSONResponse(error.detail, status_code=error.status_code, headers=error.headers)
    return await http_exception_handler(request, error)


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


async def _runtime(request: Request, error: Exception) -> Response:
    # The Temporal client reports a server it cannot reach as a RuntimeError.
    if str(error).startswith(TEMPORAL_CONNECT_FAILED):
        return await _temporal_down(request, error)
    raise error


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(HTTPException, _structured)
    app.add_exception_handler(RequestValidationError, _invalid)
    for outage in (OperationalError, InterfaceError, PoolTimeout):
        app.add_exception_handler(outage, _database_down)
    app.add_exception_handler(RPCError, _temporal_down)
    app.add_exception_handler(RuntimeError, _runtime)
