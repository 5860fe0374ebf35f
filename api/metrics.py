"""`GET /metrics` (Prometheus text format) and who may read it (docs/security.md): with
AFTERSALES_METRICS_TOKEN set, whoever sends that token as a bearer token (else 401); unset,
only a client on this machine, reaching the API directly rather than through a proxy (else
404, as if there were no such page). The figures are operational, not personal, but route
rates and backlogs are no business of the internet.

Left out of the OpenAPI schema: it is for Prometheus, not for the API's clients."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from api.deps import ServicesDep
from api.metrics_open_work import OpenWorkMetrics
from api.metrics_requests import RequestMetrics

# Headers a proxy adds: a request through one is not from this machine, whatever its address.
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def _from_this_machine(request: Request) -> bool:
    if request.client is None or any(h in request.headers for h in PROXY_HEADERS):
        return False
    try:
        return ipaddress.ip_address(request.client.host).is_loopback
    except ValueError:
        return False


def operator_only(request: Request, app: ServicesDep) -> None:
    """The metrics' reader: the token's bearer, or without a token a client on loopback."""
    token = app.settings.metrics_token
    if token is None:
        if not _from_this_machine(request):
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Not Found")
        return
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    expected = token.get_secret_value().encode()
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "metrics need the operators' bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


class Scrape(Collector):
    """One scrape: this replica's request metrics, and the read model's gauges read now."""

    def __init__(self, requests: CollectorRegistry, open_work: OpenWorkMetrics) -> None:
        self.requests = requests
        self.open_work = open_work

    def collect(self) -> Iterable[Metric]:
        yield from self.requests.collect()
        yield from self.open_work.collect()


router = APIRouter(include_in_schema=False)


@router.get("/metrics", dependencies=[Depends(operator_only)])
async def metrics(request: Request, app: ServicesDep) -> Response:
    scrape = Scrape(request.app.state.request_metrics, OpenWorkMetrics(app.engine))
    # The read model's counts are database queries: off the event loop.
    body = await run_in_threadpool(generate_latest, scrape)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


def install(app: FastAPI) -> None:
    """Counts every request from now on, and serves GET /metrics."""
    registry = CollectorRegistry(auto_describe=True)
    app.state.request_metrics = registry
    app.add_middleware(RequestMetrics, registry=registry)
    app.include_router(router)
