"""Every HTTP request counted and timed by its route's template (`/tickets/{ticket_id}`, never
the path itself, so the label has as many values as the API has routes), its method and its
status class; and the access log's line about a ticket carries the ticket's id.

A plain ASGI middleware: it runs around the whole app, the error handlers included, and costs
no task of its own per request (Starlette's BaseHTTPMiddleware does)."""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.logs import about_ticket

UNMATCHED = "unmatched"
"""The route label of a request no route matched (a 404 for an unknown path)."""
# Seconds; 0.15 and 0.5 are issue 16's p95 goals for one user and for twenty.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    def __init__(self, app: ASGIApp, registry: CollectorRegistry) -> None:
        self.app = app
        labels = ("method", "route", "status")
        self.requests = Counter(
            "aftersales_http_requests",
            "HTTP requests answered, by route template and status class (2xx, 4xx, 5xx)",
            labels,
            registry=registry,
        )
        self.seconds = Histogram(
            "aftersales_http_request_duration_seconds",
            "Time from a request's arrival to the end of its answer",
            labels,
            registry=registry,
            buckets=BUCKETS,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets when the app fails before answering

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # Uvicorn writes the access log line as the answer starts: about this ticket.
                with about_ticket(scope.get("path_params", {}).get("ticket_id")):
                    await send(message)
                return
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            labels = (scope["method"], route_template(scope), f"{status // 100}xx")
            self.requests.labels(*labels).inc()
            self.seconds.labels(*labels).observe(time.perf_counter() - started)


def route_template(scope: Scope) -> str:
    """The matched route's path template, a mount's prefix (static files), or UNMATCHED."""
    route = scope.get("route")
    template = getattr(route, "path", None) or scope.get("root_path")
    return str(template) if template else UNMATCHED
