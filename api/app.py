"""The FastAPI application, and the uvicorn server every process runs it with."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from temporalio.client import Client

from api.deps import Services
from api.errors import install_error_handlers
from api.routes import (
    auth,
    catalog,
    codec,
    complaints,
    escalations,
    health,
    reports,
    surveys,
    tickets,
    workshop,
)
from core.logs import uvicorn_log_config
from models.db import make_engine
from models.policy import Policy, load_policy
from models.settings import Settings
from models.users import bootstrap_admin
from worker import connect

# Longer than clients' idle pools keep a connection (httpx: 5 s, browsers: up to 60 s), so the
# server is never the side that closes one just as a client sends a request on it: that race
# drops the request (httpx.ReadError) and a POST is not retried.
KEEP_ALIVE_SECONDS = 75
DESCRIPTION = (
    "After-sales repair tickets as durable workflows: call-in, dispatch, on-site and "
    "carry-in repair, billing, surveys and escalations."
)


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

    # The interactive docs' scripts and styles are served from this app (fastapi-offline):
    # /docs and /redoc work on an intranet with no way out.
    app = FastAPIOffline(
        title="aftersales",
        description=DESCRIPTION,
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.max_request_bytes,
        static_url="/static/docs",
    )
    install_error_handlers(app)
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
        codec,
    ):
        app.include_router(module.router)
    _document_policy_values(app, policy)
    return app


def _document_policy_values(app: FastAPI, policy: Policy) -> None:
    """The OpenAPI schema names the values the policy accepts (zones, payment methods), so
    clients can check a request before sending it."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            components = schema.get("components", {}).get("schemas", {})
            for name in ("CallInRequest", "InternalJobRequest"):
                if name in components:
                    components[name]["properties"]["zone"]["enum"] = sorted(policy.zones)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def server(app: FastAPI, host: str, port: int) -> uvicorn.Server:
    """The uvicorn server for `app`, as `aftersales api` runs it (and the tests)."""
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=uvicorn_log_config(),
            timeout_graceful_shutdown=5,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )
