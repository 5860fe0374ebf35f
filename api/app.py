"""The FastAPI application."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, Response
from temporalio.client import Client

from api.deps import Services
from api.routes import (
    auth,
    catalog,
    complaints,
    escalations,
    health,
    reports,
    surveys,
    tickets,
    workshop,
)
from models.db import make_engine
from models.policy import load_policy
from models.settings import Settings
from models.users import bootstrap_admin
from worker import connect

# Longer than clients' idle pools usually keep a connection, so the server is not the side
# that closes one just as a client reuses it.
KEEP_ALIVE_SECONDS = 75
DESCRIPTION = (
    "After-sales repair tickets as durable workflows: call-in, dispatch, on-site and "
    "carry-in repair, billing, surveys and escalations."
)


async def _structured_errors(request: Request, error: Exception) -> Response:
    """Errors whose detail is an object (409 with `allowed_actions`) are sent as that object."""
    assert isinstance(error, HTTPException)
    if isinstance(error.detail, dict):
        return JSONResponse(error.detail, status_code=error.status_code, headers=error.headers)
    return await http_exception_handler(request, error)


def create_app(settings: Settings, temporal: Client | None = None) -> FastAPI:
    """The API; without `temporal` it connects lazily to the configured server at start."""
    policy = load_policy(settings.policy_file)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.resolved_database_url)
        bootstrap_admin(engine, settings.admin_password)
        client = temporal or await connect(settings, lazy=True)
        app.state.services = Services(settings, engine, client, policy, settings.signing_key())
        yield
        engine.dispose()

    app = FastAPI(title="aftersales", description=DESCRIPTION, version="0.1.0", lifespan=lifespan)
    app.add_exception_handler(HTTPException, _structured_errors)
    for module in (
        health,
        auth,
        tickets,
        catalog,
        workshop,
        escalations,
        complaints,
        reports,
        surveys,
    ):
        app.include_router(module.router)
    return app
