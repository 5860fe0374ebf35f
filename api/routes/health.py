"""Liveness of the API's dependencies (no authentication)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from api.deps import ServicesDep
from models.db import ping

router = APIRouter(tags=["health"])
TIMEOUT_SECONDS = 3


@router.get("/health")
async def health(app: ServicesDep) -> JSONResponse:
    """200 `{"status": "ok"}` once Temporal and the database answer, 503 naming what does not."""
    problems: dict[str, str] = {}
    try:
        await asyncio.wait_for(app.temporal.service_client.check_health(), TIMEOUT_SECONDS)
    except Exception as error:  # any failure to answer means unavailable
        problems["temporal"] = str(error) or type(error).__name__
    try:
        await asyncio.wait_for(run_in_threadpool(ping, app.engine), TIMEOUT_SECONDS)
    except (SQLAlchemyError, TimeoutError) as error:
        problems["database"] = str(error).splitlines()[0] if str(error) else "timeout"
    if problems:
        return JSONResponse({"status": "unavailable", **problems}, status_code=503)
    return JSONResponse({"status": "ok"})
