"""The API served by a real uvicorn on a free port, a worker, and a real Temporal dev server."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, async_playwright
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.app import server as serve
from core.config import Settings
from core.security import hash_password
from models.roles import Role
from models.tables import User
from tests.ports import free_port
from worker import build_worker

ADMIN_PASSWORD = "admin-secret-1"
SECRET_KEY = secrets.token_urlsafe(48)
PASSWORD = "password-123"
STAFF = {
    "clerk1": [Role.CLERK],
    "disp1": [Role.DISPATCHER],
    "tech1": [Role.TECHNICIAN],
    "tech2": [Role.TECHNICIAN],
    "dir1": [Role.DIRECTOR],
    "acct1": [Role.ACCOUNTANT],
    "mgr1": [Role.MANAGER],
    "vp1": [Role.VP],
    "store1": [Role.STOREKEEPER],
}


# Debian's Chromium, driven by Playwright (make test installs it: scripts/test_prerequisites.py).
CHROMIUM = "/usr/bin/chromium"


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield browser
        await browser.close()


class Api:
    """An HTTP client per user, against the running API."""

    def __init__(self, base_url: str, settings: Settings) -> None:
        self.base_url = base_url
        self.settings = settings
        self.anonymous = httpx.AsyncClient(base_url=base_url, timeout=30)
        self._clients: dict[str, httpx.AsyncClient] = {}

    async def token(self, username: str, password: str = PASSWORD) -> str:
        answer = await self.anonymous.post(
            "/auth/token", data={"username": username, "password": password}
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    async def as_user(self, username: str) -> httpx.AsyncClient:
        if username not in self._clients:
            password = ADMIN_PASSWORD if username == "admin" else PASSWORD
            token = await self.token(username, password)
            self._clients[username] = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=30,
                headers={"Authorization": f"Bearer {token}"},
            )
        return self._clients[username]

    async def users(self, *usernames: str) -> list[httpx.AsyncClient]:
        return [await self.as_user(name) for name in usernames]

    async def close(self) -> None:
        for client in [self.anonymous, *self._clients.values()]:
            await client.aclose()


@pytest.fixture
def api_overrides() -> dict[str, object]:
    """Settings a test module changes for its `api` (override this fixture): a policy file,
    an SMTP server, ..."""
    return {}


def api_settings(
    tmp_path: Path, database_url: str, task_queue: str, **overrides: object
) -> Settings:
    """The settings of a test's API: a free port, its own data dir, the staff's admin."""
    values: dict[str, object] = {
        "api_port": free_port(),
        "data_dir": tmp_path,
        "database_url": database_url,
        "temporal_address": "unused:0",
        "task_queue": task_queue,
        "admin_password": ADMIN_PASSWORD,
        "secret_key": SECRET_KEY,
    }
    return Settings(_env_file=None, **(values | overrides))  # type: ignore[call-arg]


@functools.cache
def password_hash() -> str:
    """PASSWORD's hash, computed once: argon2 costs tens of milliseconds a user."""
    return hash_password(PASSWORD)


def add_staff(engine: Engine) -> None:
    """One user per role of STAFF, with PASSWORD."""
    with Session(engine) as db:
        for username, roles in STAFF.items():
            db.add(
                User(
                    username=username,
                    full_name=username.title(),
                    password_hash=password_hash(),
                    roles=[str(role) for role in roles],
                )
            )
        db.commit()


@asynccontextmanager
async def running_api(
    settings: Settings, engine: Engine, worker_client: Client, temporal: Client | None = None
) -> AsyncIterator[Api]:
    """The API under uvicorn as `aftersales api` runs it (its own lazy Temporal client when
    `temporal` is None) and a worker on `worker_client`, until the block ends."""
    app = create_app(settings, temporal=temporal)
    server = serve(app, "127.0.0.1", settings.api_port)
    async with build_worker(worker_client, engine, settings.task_queue, settings=settings):
        serving = asyncio.create_task(server.serve())
        try:
            while not server.started:
                assert not serving.done(), "the API did not start"
                await asyncio.sleep(0.02)
            client = Api(f"http://127.0.0.1:{settings.api_port}", settings)
            try:
                yield client
            finally:
                await client.close()
        finally:
            server.should_exit = True
            await serving


def database_url_of(engine: Engine) -> str:
    return str(engine.url.render_as_string(hide_password=False))


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment,
    engine: Engine,
    task_queue: str,
    tmp_path: Path,
    api_overrides: dict[str, object],
) -> AsyncIterator[Api]:
    settings = api_settings(tmp_path, database_url_of(engine), task_queue, **api_overrides)
    add_staff(engine)
    async with running_api(settings, engine, dev_env.client, temporal=dev_env.client) as client:
        yield client


CallIn = Callable[..., Awaitable[dict[str, object]]]


def call_in_body(**overrides: object) -> dict[str, object]:
    body: dict[str, object] = {
        "customer": {"name": "Li Lei", "phone": "13800000000", "address": "1 Ring Road"},
        "zone": "urban",
        "product": {"model": "TV-55", "serial_no": "SN-1"},
        "problem": "no picture",
        "channel": "phone",
    }
    body.update(overrides)
    return body
