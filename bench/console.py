"""Console benchmark (issue 15): the staff console's pages at 10,000 tickets, on SQLite and on
PostgreSQL, each under 300 ms of server time.

One process, fixed seed, no Temporal: the pages measured only read the read model and the
policy (a ticket page's steps come from the lifecycle table, not from a workflow query), so
the app runs with its lazy Temporal client, which never connects. For each database a fresh
one gets 10,000 tickets — a fifth waiting for dispatch, the rest dispatched, on site, in the
workshop, resolved, closed or cancelled over six zones and forty technicians, recent ones
open and a year of finished ones — with their timelines, assignments, escalations (one
ticket in five, open while the ticket is) and approvals (one in twenty, pending while it is
open), and one ticket with a long timeline. Then the real app (`api.app.create_app`) serves
httpx in-process (ASGITransport: the time is the server's plus a few µs of client), a
dispatcher and a director signed in through `POST /console/login`, and each round requests
every page once, after the baseline (the sign-in page: a console page rendered from its
template, no database). Printed per database: median and p95 ms of each page over the
rounds and the ratio of its median to the baseline's. Needs a PostgreSQL server
(`--postgres`, default the local one; the bench makes its own database and drops it after).
Run with `python -m bench.console --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import secrets
import sqlite3
import statistics
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Table, insert, text
from sqlalchemy.engine import Engine, make_url

from api.app import create_app
from api.console.dispatch import BOARD_SIZE
from api.console.pages import SECTIONS, Section, opens, waiting_in
from api.deps import Services
from bench.report import PERFORMANCE, write_section
from core.config import Settings
from core.db import make_engine, migrate
from core.security import hash_password
from core.timezones import use_packaged_zone_rules
from models.policy import Policy, load_policy
from models.roles import Role
from models.tables import (
    ApprovalRecord,
    EscalationRecord,
    TicketRecord,
    TicketTechnicianRecord,
    TimelineRecord,
    User,
)

DEFAULT_POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
LIMIT_MS = 300
PASSWORD = "bench-password-1"
TECHNICIANS = [f"tech{n}" for n in range(40)]
MODELS = [f"FA-{n}00" for n in range(1, 9)]
# Percent of tickets in each status: a fifth waits for dispatch (issue 15's board).
STATUS_MIX = {
    "registered": 20,
    "dispatched": 7,
    "on_site": 4,
    "carried_in": 2,
    "repaired": 1,
    "ready_for_return": 1,
    "resolved": 8,
    "closed": 54,
    "cancelled": 3,
}
STEPS = {
    "registered": ["call_in"],
    "dispatched": ["call_in", "dispatch"],
    "on_site": ["call_in", "dispatch", "arrive"],
    "carried_in": ["call_in", "dispatch", "arrive", "carry_in"],
    "repaired": ["call_in", "dispatch", "arrive", "carry_in", "record_repair"],
    "ready_for_return": ["call_in", "dispatch", "arrive", "carry_in", "record_repair", "inspect"],
    "resolved": ["call_in", "dispatch", "arrive", "resolve"],
    "closed": ["call_in", "dispatch", "arrive", "resolve", "record_payment", "close"],
    "cancelled": ["call_in", "cancel"],
}
OPEN = {"registered", "dispatched", "on_site", "carried_in", "repaired", "ready_for_return"}
LONG_TIMELINE = 60
"""Steps of the one ticket whose page is measured: re-dispatches, holds, repair rounds."""
ESCALATION_KINDS = ["arrival_warning", "arrival_overdue", "carried_over", "unresolved_same_day"]
WAITING_COUNT = re.compile(r'id="waiting-total">(\d+)<')


@dataclass
class Seeded:
    """What the fill put in, as the pages should show it."""

    tickets: int
    waiting: int
    long_ticket: str
    open_escalations: dict[str, int] = field(default_factory=dict)
    pending_approvals: int = 0


def _status_of(n: int) -> str:
    """The n-th ticket's status, so every hundred tickets hold the mix exactly."""
    at = n % 100
    for status, share in STATUS_MIX.items():
        if at < share:
            return status
        at -= share
    raise AssertionError("STATUS_MIX adds up to 100")


def _ticket_rows(
    count: int, policy: Policy, now: datetime, rng: random.Random
) -> Iterator[dict[str, Any]]:
    zones = sorted(policy.zones)
    for n in range(count):
        status = "repaired" if n == 0 else _status_of(n)
        zone = zones[rng.randrange(len(zones))]
        # Open tickets are recent (waiting ones hours old, some overdue); finished ones span
        # the year behind.
        if status in ("registered", "dispatched", "on_site"):
            age = timedelta(minutes=rng.randrange(10, 3 * 24 * 60))
        elif status in OPEN:
            age = timedelta(minutes=rng.randrange(24 * 60, 14 * 24 * 60))
        else:
            age = timedelta(minutes=rng.randrange(3 * 24 * 60, 365 * 24 * 60))
        created = now - age
        steps = STEPS[status]
        technician = TECHNICIANS[rng.randrange(len(TECHNICIANS))] if "dispatch" in steps else None
        carried_over = status == "registered" and rng.random() < 0.05
        arrived = created + timedelta(minutes=rng.randrange(20, 600)) if "arrive" in steps else None
        resolved = arrived + timedelta(minutes=90) if arrived and "resolve" in steps else None
        yield {
            "id": f"c{n:06d}",
            "number": f"T2026-{n:06d}",
            "seq": LONG_TIMELINE if n == 0 else len(steps),
            "status": status,
            "service_type": rng.choice(["paid", "paid", "warranty", "contract"]),
            "zone": zone,
            "branch": policy.zones[zone].branch,
            "customer_name": f"Customer {n}",
            "customer_phone": f"1{n:010d}",
            "customer_address": f"{n} Long Road",
            "product_model": rng.choice(MODELS),
            "problem": "does not start",
            "channel": "phone",
            "technician": technician,
            "arrival_due_at": created + timedelta(hours=policy.zones[zone].arrival_hours),
            "priority": 1 if carried_over else 0,
            "carried_over_at": created + timedelta(hours=10) if carried_over else None,
            "evidence": {},
            "amount_due": Decimal("0.00"),
            "amount_paid": Decimal("0.00"),
            "registered_by": "clerk1",
            "created_at": created,
            "updated_at": created,
            "dispatched_at": created + timedelta(minutes=10) if technician else None,
            "dispatches": 1 if technician else 0,
            "arrived_at": arrived,
            "carried_in": "carry_in" in steps,
            "resolved_at": resolved,
            "ended_at": resolved + timedelta(minutes=5)
            if status == "closed" and resolved
            else (created + timedelta(hours=1) if status == "cancelled" else None),
        }


def _timeline(ticket: dict[str, Any], long: bool) -> Iterator[dict[str, Any]]:
    steps = STEPS[ticket["status"]]
    if long:
        middle = ["dispatch", "hold", "resume", "arrive", "record_repair", "record_payment"]
        steps = ["call_in"] + [middle[n % len(middle)] for n in range(LONG_TIMELINE - 1)]
    for seq, action in enumerate(steps, 1):
        data: dict[str, Any] = {"technician": ticket["technician"]} if action == "dispatch" else {}
        if action == "record_repair":
            data = {"labor_minutes": 30, "parts": [{"part_no": "FUSE-5A", "qty": 1}]}
        yield {
            "ticket_id": ticket["id"],
            "seq": seq,
            "at": ticket["created_at"] + timedelta(minutes=7 * seq),
            "action": action,
            "actor": "disp1" if action == "dispatch" else "clerk1",
            "data": data,
        }


def fill(engine: Engine, count: int, policy: Policy, seed: int = 1) -> Seeded:
    """`count` tickets with their timelines, assignments, escalations and approvals, and the
    staff (a dispatcher, a director, a clerk, forty technicians) with PASSWORD."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    tickets = list(_ticket_rows(count, policy, now, rng))
    escalations = [
        {
            "id": f"E{n}",
            "kind": rng.choice(ESCALATION_KINDS),
            "ticket_id": t["id"],
            "workflow_id": f"ticket-{t['id']}",
            "owner_role": "director" if rng.random() < 0.6 else "dispatcher",
            "notify_roles": ["dispatcher"],
            "raised_at": t["created_at"] + timedelta(hours=5),
            "details": {},
            "acknowledged_at": None
            if t["status"] in OPEN
            else t["created_at"] + timedelta(hours=6),
            "acknowledged_by": None if t["status"] in OPEN else "dir1",
        }
        for n, t in enumerate(tickets)
        if n % 5 == 0
    ]
    approvals = [
        {
            "id": f"A{n}",
            "kind": rng.choice(["discount", "low_margin"]),
            "ticket_id": t["id"],
            "ticket_number": t["number"],
            "workflow_id": f"ticket-{t['id']}",
            "requested_by": "clerk1",
            "requested_at": t["created_at"] + timedelta(hours=1),
            "amount": Decimal("10.00"),
            "reason": "old customer",
            "approver_roles": ["director", "manager"],
            "status": "pending" if t["status"] in OPEN else rng.choice(["approved", "rejected"]),
            "details": {},
        }
        for n, t in enumerate(tickets)
        if n % 20 == 0
    ]
    password = hash_password(PASSWORD)
    staff = {"disp1": Role.DISPATCHER, "dir1": Role.DIRECTOR, "clerk1": Role.CLERK}
    staff |= {name: Role.TECHNICIAN for name in TECHNICIANS}
    users = [
        {
            "username": name,
            "full_name": name.title(),
            "password_hash": password,
            "roles": [str(role)],
            "active": True,
            "created_at": now,
            "token_version": 0,
        }
        for name, role in staff.items()
    ]
    with engine.begin() as db:
        for model, rows in (
            (User, users),
            (TicketRecord, tickets),
            (
                TimelineRecord,
                [entry for n, t in enumerate(tickets) for entry in _timeline(t, n == 0)],
            ),
            (
                TicketTechnicianRecord,
                [
                    {"ticket_id": t["id"], "technician": t["technician"]}
                    for t in tickets
                    if t["technician"]
                ],
            ),
            (EscalationRecord, escalations),
            (ApprovalRecord, approvals),
        ):
            table: Table = model.__table__  # type: ignore[union-attr]
            db.execute(insert(table), rows)
        if db.dialect.name == "postgresql":
            db.execute(text("ANALYZE"))  # as autovacuum would have by now; SQLite never does
    open_escalations: dict[str, int] = {}
    for row in escalations:
        if row["acknowledged_at"] is None:
            owner = str(row["owner_role"])
            open_escalations[owner] = open_escalations.get(owner, 0) + 1
    return Seeded(
        tickets=count,
        waiting=sum(t["status"] == "registered" for t in tickets),
        long_ticket=tickets[0]["id"],
        open_escalations=open_escalations,
        pending_approvals=sum(a["status"] == "pending" for a in approvals),
    )


# --- measuring -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Page:
    name: str
    user: str | None
    """Who requests it (None: nobody signed in)."""
    path: str
    headers: dict[str, str] = field(default_factory=dict)


BASELINE = "baseline: sign-in page"


def pages(seeded: Seeded) -> list[Page]:
    """The pages measured, the baseline first."""
    return [
        Page(BASELINE, None, "/console/login"),
        Page("dispatch board", "disp1", "/console/dispatch"),
        Page("board fragment (polled)", "disp1", "/console/dispatch/board", {"HX-Request": "true"}),
        Page("ticket page (long timeline)", "disp1", f"/console/tickets/{seeded.long_ticket}"),
        Page("tickets list", "disp1", "/console/tickets"),
        Page("call-in page as director (nav counts)", "dir1", "/console/call-in"),
    ]


NAV_COUNTS = "nav counts alone (director)"


@dataclass
class Measured:
    """Milliseconds of each page, round by round, and what the pages showed."""

    database: str
    seeded: Seeded
    times: dict[str, list[float]] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    board_waiting: int | None = None
    nav_counts: dict[str, int] = field(default_factory=dict)

    def median(self, name: str) -> float:
        return statistics.median(self.times[name])

    def p95(self, name: str) -> float:
        ordered = sorted(self.times[name])
        return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def app_settings(database_url: str, data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        database_url=database_url,
        temporal_address="unused:0",  # the lazy client never connects for these pages
        admin_password="bench-admin-secret-1",
        secret_key=secrets.token_urlsafe(48),
        _env_file=None,
    )


@asynccontextmanager
async def signed_in(
    settings: Settings, usernames: list[str]
) -> AsyncIterator[tuple[Any, dict[str | None, httpx.AsyncClient]]]:
    """The app, started (its lifespan run), and an in-process client per user signed in
    through the console's sign-in form (None: a client signed in as nobody)."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        clients: dict[str | None, httpx.AsyncClient] = {}
        try:
            for username in [None, *usernames]:
                client = httpx.AsyncClient(
                    transport=transport,
                    base_url="https://console.test",
                    headers={"Accept-Language": "en"},
                )
                clients[username] = client
                if username is not None:
                    answer = await client.post(
                        "/console/login", data={"username": username, "password": PASSWORD}
                    )
                    assert answer.status_code == 303, (username, answer.status_code)
            yield app, clients
        finally:
            for client in clients.values():
                await client.aclose()


async def measure(
    database: str, database_url: str, tickets: int, rounds: int, warmup: int = 3
) -> Measured:
    """Fills a fresh database at `database_url` with `tickets` tickets and times every page
    `rounds` times, after `warmup` untimed rounds."""
    with tempfile.TemporaryDirectory(prefix="bench-console-") as tmp:
        settings = app_settings(database_url, Path(tmp))
        policy = load_policy(settings.policy_file)
        engine = make_engine(database_url)
        try:
            migrate(engine)
            started = time.perf_counter()
            seeded = fill(engine, tickets, policy)
            print(f"{database}: {tickets} tickets filled in {time.perf_counter() - started:.1f} s")
        finally:
            engine.dispose()
        measured = Measured(database, seeded)
        shown = pages(seeded)
        async with signed_in(settings, ["disp1", "dir1"]) as (app, clients):
            director = await _user(app, "dir1")
            services = app.state.services
            navigation = _navigation_of(director)
            for n in range(warmup + rounds):
                for page in shown:
                    client = clients[page.user]
                    started = time.perf_counter()
                    answer = await client.get(page.path, headers=page.headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    if n < warmup:
                        continue
                    measured.times.setdefault(page.name, []).append(elapsed)
                    measured.statuses.setdefault(page.name, set()).add(answer.status_code)
                    if page.path == "/console/dispatch":
                        found = WAITING_COUNT.search(answer.text)
                        measured.board_waiting = int(found.group(1)) if found else None
                started = time.perf_counter()
                counts = await asyncio.to_thread(waiting_in, services, director, navigation)
                elapsed = (time.perf_counter() - started) * 1000
                if n >= warmup:
                    measured.times.setdefault(NAV_COUNTS, []).append(elapsed)
                    measured.nav_counts = counts
        return measured


async def _user(app: Any, username: str) -> User:
    services: Services = app.state.services

    def read() -> User:
        with services.session() as db:
            user = db.get(User, username)
            assert user is not None
            return user

    return await asyncio.to_thread(read)


def _navigation_of(user: User) -> list[Section]:
    return [section for section in SECTIONS if opens(user, section)]


# --- reporting -----------------------------------------------------------------------------


def table(results: list[Measured]) -> list[str]:
    """The Markdown table of every database's pages."""
    lines = [
        "| database | page | median ms | p95 ms | × baseline |",
        "| --- | --- | --- | --- | --- |",
    ]
    for result in results:
        base = result.median(BASELINE)
        for name in result.times:
            median = result.median(name)
            flag = " ⚠" if result.p95(name) > LIMIT_MS else ""
            lines.append(
                f"| {result.database} | {name} | {median:.1f} | {result.p95(name):.1f}{flag} "
                f"| {median / base:.1f} |"
            )
    return lines


async def run(args: argparse.Namespace) -> list[Measured]:
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-console-db-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'console.db'}"
        results.append(await measure("SQLite", url, args.tickets, args.rounds))
    if args.postgres:
        name = f"bench_console_{uuid.uuid4().hex[:8]}"
        admin = make_engine(args.postgres)
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
            server = connection.execute(text("SHOW server_version")).scalar_one()
        args.versions = f"SQLite {sqlite3.sqlite_version}, PostgreSQL {server}"
        url = make_url(args.postgres).set(database=name).render_as_string(hide_password=False)
        try:
            results.append(await measure("PostgreSQL", url, args.tickets, args.rounds))
        finally:
            with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=30, help="timed requests of each page")
    parser.add_argument(
        "--postgres",
        default=DEFAULT_POSTGRES,
        help="a PostgreSQL server (its database is left alone; '' for SQLite only)",
    )
    parser.add_argument("--no-readme", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args()
    use_packaged_zone_rules()  # as every process of the product does (cli.py)
    args.versions = f"SQLite {sqlite3.sqlite_version}"
    results = asyncio.run(run(args))
    lines = table(results)
    print("\n".join(lines))
    for result in results:
        print(
            f"{result.database}: {result.seeded.waiting} waiting for dispatch, the board shows "
            f"{result.board_waiting} (at most {BOARD_SIZE}); director's counts {result.nav_counts}"
        )
    if not args.no_readme:
        what = f"{args.versions}; {args.tickets:,} tickets, {args.rounds} requests of each page"
        write_section("bench.console", "Console pages at 10,000 tickets", what, lines)
        print(f"written to {PERFORMANCE}")


if __name__ == "__main__":
    main()
