"""Liveness of the API's dependencies (no authentication)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from api.deps import ServicesDep
from core.db import ping

router = APIRouter(tags=["health"])
log = logging.getLogger("aftersales.health")
TIMEOUT_SECONDS = 3
RETRY_AFTER_SECONDS = 5


def _status(value: str) -> dict[str, Any]:
    schema = {
        "type": "object",
        "properties": {"status": {"type": "string", "enum": [value]}},
        "required": ["status"],
    }
    return {"application/json": {"schema": schema}}


@router.get(
    "/health",
    responses={
        200: {"description": "Temporal and the database answer", "content": _status("ok")},
        503: {"description": "the reason is in the log", "content": _status("unavailable")},
    },
)
async def health(app: ServicesDep) -> JSONResponse:
    """200 `{"status": "ok"}` once Temporal and the database answer, 503 otherwise. Callers
    learn nothing more (it needs no sign-in): what failed goes to the API's log."""
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
        log.warning("health: unavailable: %s", problems)
        return JSONResponse(
            {"status": "unavailable"},
            status_code=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JSONResponse({"status": "ok"})
