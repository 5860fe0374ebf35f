"""GET /health (shared/spec/api.md): 200 once Temporal and the database answer, 503 otherwise,
answered within the endpoint's own timeouts, without a token. Callers learn only ok or not
(docs/security.md); what failed is in the API's log."""

from __future__ import annotations

import socket
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.routes.health import TIMEOUT_SECONDS
from core.config import Settings
from tests.api.conftest import Api
from tests.ports import free_port

# Both checks may each use their full timeout; allow a little for the request itself.
WORST_CASE_SECONDS = 2 * TIMEOUT_SECONDS + 1.5


async def test_health_is_ok_when_temporal_and_database_answer(api: Api) -> None:
    answer = await api.anonymous.get("/health")
    assert answer.status_code == 200
    assert answer.json() == {"status": "ok"}


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app built from `settings` as `aftersales api` builds it, its lifespan running."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield client


def settings_for(tmp_path: Path, *, temporal_address: str, database_url: str) -> Settings:
    return Settings(
        temporal_address=temporal_address,
        database_url=database_url,
        data_dir=tmp_path,
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections and then never says a word (a hung server)."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


def temporal_address(env: WorkflowEnvironment) -> str:
    return str(env.client.service_client.config.target_host)


async def timed_health(client: httpx.AsyncClient) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = await client.get("/health")
    return answer, time.monotonic() - started


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(r.getMessage() for r in caplog.records if r.name == "aftersales.health")


async def test_health_is_503_and_logs_temporal_when_temporal_is_unreachable(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        tmp_path,
        temporal_address=f"127.0.0.1:{free_port()}",
        database_url=f"sqlite:///{tmp_path / 'aftersales.db'}",
    )
    async with serving(settings) as client:
        answer, took = await timed_health(client)
    assert answer.status_code == 503 and answer.headers["Retry-After"]
    assert answer.json() == {"status": "unavailable"}  # nothing more for anonymous callers
    assert "temporal" in logged(caplog) and "database" not in logged(caplog)
    assert took < WORST_CASE_SECONDS


async def test_health_is_503_and_logs_the_database_when_it_is_unreachable(
    tmp_path: Path, dev_env: WorkflowEnvironment, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        tmp_path,
        temporal_address=temporal_address(dev_env),
        database_url=f"postgresql+psycopg://aftersales@127.0.0.1:{free_port()}/aftersales",
    )
    async with serving(settings) as client:
        answer, took = await timed_health(client)
    assert answer.status_code == 503
    assert answer.json() == {"status": "unavailable"}
    assert "database" in logged(caplog) and "temporal" not in logged(caplog)
    assert took < WORST_CASE_SECONDS


async def test_health_answers_in_time_when_both_hang(
    tmp_path: Path, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    # A server that accepts and never answers must not hang the health check (or its caller,
    # a load balancer) beyond the endpoint's timeouts.
    settings = settings_for(
        tmp_path,
        temporal_address=f"127.0.0.1:{silent_port}",
        database_url=f"postgresql+psycopg://aftersales@127.0.0.1:{silent_port}/aftersales",
    )
    async with serving(settings) as client:
        answer, took = await timed_health(client)
    assert answer.status_code == 503
    assert "temporal" in logged(caplog) and "database" in logged(caplog)
    assert took < WORST_CASE_SECONDS
