"""`GET /tickets` at 100,000 tickets on PostgreSQL (issue 16, goal 3: p95 under 100 ms).

One process, fixed seed. A fresh PostgreSQL database gets the year of tickets `bench.kpis`
fills (three branches, six zones, forty technicians, timelines, escalations, surveys), the
real app is started in the same process (its lifespan; no Temporal: the list reads the read
model only) and an admin's bearer token lists tickets through httpx's ASGI transport, so a
request's time is the server's: auth, validation, the query and its count, the page's
survey lines and escalations, serialization. Each filter the API offers is timed in
alternating rounds with a baseline (`GET /users/me`: auth and one row). Printed, and written
to `docs/performance.md`: median and p95 ms of each, and the median's ratio to the baseline's.
Run with `python -m bench.ticket_list --help`.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import httpx
from sqlalchemy import text
from sqlalchemy.engine import make_url

from api.app import create_app
from bench.console import app_settings
from bench.kpis import DEFAULT_URL, fill
from bench.report import PERFORMANCE, write_section
from core.db import make_engine, migrate
from core.timezones import use_packaged_zone_rules

LIMIT_MS = 100
BASELINE = "baseline: GET /users/me"
QUERIES = {
    BASELINE: "/users/me",
    "newest 50": "/tickets",
    "status=registered": "/tickets?status=registered",
    "status=closed, page 100": "/tickets?status=closed&offset=5000",
    "technician": "/tickets?technician=tech7",
    "zone + status": "/tickets?zone=suburban&status=on_site",
    "branch": "/tickets?branch=harbour",
    "escalated": "/tickets?escalated=true",
    "customer phone": "/tickets?customer_phone=10000012345",
    "created in a week": "/tickets?created_from=2026-06-01&created_to=2026-06-08",
    "dispatch order": "/tickets?order=dispatch&status=registered",
}


async def measure(url: str, rounds: int, warmup: int = 2) -> dict[str, list[float]]:
    """Each query's times over `rounds` alternating rounds (after `warmup` untimed)."""
    times: dict[str, list[float]] = {name: [] for name in QUERIES}
    with tempfile.TemporaryDirectory(prefix="bench-tickets-") as tmp:
        settings = app_settings(url, Path(tmp))
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
                token = await client.post(
                    "/auth/token", data={"username": "admin", "password": "bench-admin-secret-1"}
                )
                client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
                for n in range(warmup + rounds):
                    for name, path in QUERIES.items():
                        started = time.perf_counter()
                        answer = await client.get(path)
                        elapsed = (time.perf_counter() - started) * 1000
                        assert answer.status_code == 200, (path, answer.text[:200])
                        if n >= warmup:
                            times[name].append(elapsed)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) > 1 else values[0]


def table(times: dict[str, list[float]]) -> list[str]:
    base = statistics.median(times[BASELINE])
    lines = ["| query | median ms | p95 ms | × baseline |", "| --- | --- | --- | --- |"]
    for name, values in times.items():
        median = statistics.median(values)
        flag = " ⚠" if p95(values) > LIMIT_MS else ""
        lines.append(f"| {name} | {median:.1f} | {p95(values):.1f}{flag} | {median / base:.1f} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL server (left alone)")
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--no-readme", action="store_true", help="leave docs/performance.md alone")
    args = parser.parse_args()
    use_packaged_zone_rules()
    name = f"bench_tickets_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
        server = connection.execute(text("SHOW server_version")).scalar_one()
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate(engine)
        started = time.perf_counter()
        fill(engine, args.tickets, seed=1)
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
        print(f"{args.tickets} tickets filled in {time.perf_counter() - started:.1f} s")
        engine.dispose()
        lines = table(asyncio.run(measure(url, args.rounds)))
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    print("\n".join(lines))
    if not args.no_readme:
        what = f"PostgreSQL {server}; {args.tickets:,} tickets, {args.rounds} requests of each"
        write_section("bench.ticket_list", "`GET /tickets` at 100,000 tickets", what, lines)
        print(f"written to {PERFORMANCE}")


if __name__ == "__main__":
    main()
