"""The FastAPI application, and the uvicorn server every process runs it with."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from fastapi import Depends, FastAPI, Request, Response
from fastapi_offline import FastAPIOffline
from temporalio.client import Client

from api import console, metrics
from api.deps import Services, ticket_in_path
from api.errors import document_errors, install_error_handlers
from api.routes import (
    approvals,
    attachments,
    auth,
    catalog,
    codec,
    complaints,
    daily_reports,
    documents,
    escalations,
    health,
    messages,
    parts,
    reports,
    session,
    status,
    surveys,
    technicians,
    tickets,
    workshop,
)
from core.config import Settings
from core.db import make_engine
from core.logs import LogFormat, uvicorn_log_config
from models.policy import Policy, load_policy
from store.users import bootstrap_admin
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
        dependencies=[Depends(ticket_in_path)],
    )
    install_error_handlers(app)
    app.middleware("http")(_docs_stay_home)
    metrics.install(app)  # outermost: it times the other middleware too
    for module in (
        health,
        auth,
        session,
        tickets,
        catalog,
        parts,
        workshop,
        attachments,
        escalations,
        approvals,
        technicians,
        complaints,
        daily_reports,
        reports,
        messages,
        documents,
        surveys,
        status,
        codec,
    ):
        app.include_router(module.router)
    # Uploads take bodies up to the attachment limit, which they count themselves.
    app.include_router(attachments.uploads)
    console.install(app)  # the staff console's pages, out of the OpenAPI schema
    _document_policy_values(app, policy)
    return app


# The docs pages load nothing from elsewhere (ReDoc would fetch its badge from a CDN).
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'"
)
DOCS_PAGES = ("/docs", "/redoc")


async def _docs_stay_home(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    if request.url.path in DOCS_PAGES:
        response.headers["Content-Security-Policy"] = DOCS_POLICY
    return response


def _document_policy_values(app: FastAPI, policy: Policy) -> None:
    """The OpenAPI schema states what the API enforces: the values the policy accepts (zones)
    and the one error shape every route answers with, so clients can check a request before
    sending it and read every answer."""
    plain = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = plain()
            components = schema.get("components", {}).get("schemas", {})
            for name in ("CallInRequest", "InternalJobRequest"):
                if name in components:
                    components[name]["properties"]["zone"]["enum"] = sorted(policy.zones)
            document_errors(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def server(app: FastAPI, host: str, port: int, log_format: LogFormat = "text") -> uvicorn.Server:
    """The uvicorn server for `app`, as `aftersales api` runs it (and the tests)."""
    return uvicorn.Server(
        uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=uvicorn_log_config(log_format),
            timeout_graceful_shutdown=5,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
    )
