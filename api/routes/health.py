"""Liveness of the API's dependencies (no authentication)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from models.db import ping

router = APIRouter(tags=["health"])
TIMEOUT_SECONDS = 3


@router.get("/health")
async def health(app: ServicesDep) -> JSONResponse:
    """200 `{"status": "ok"}` once Temporal and the database answer, 503 naming what does not."""
    temporal, database = await asyncio.gather(
        asyncio.wait_for(app.temporal.service_client.check_health(), TIMEOUT_SECONDS),
        asyncio.wait_for(run_in_threadpool(ping, app.engine), TIMEOUT_SECONDS),
        return_exceptions=True,
    )
    problems = {
        name: (str(result).splitlines() or [type(result).__name__])[0]
        for name, result in (("temporal", temporal), ("database", database))
        if isinstance(result, BaseException)
    }
    if problems:
        return JSONResponse({"status": "unavailable", **problems}, status_code=503)
    return JSONResponse({"status": "ok"})
