"""KPI benchmark (R30): `GET /reports/kpis`'s queries at 100,000 tickets on PostgreSQL.

One process, fixed seed. A fresh database gets a year of tickets spread over three branches,
six zones and forty technicians, with their survey cards, complaints, escalations, approvals,
repair rounds and resolutions, in the shapes the workflows project. Then, in alternating
rounds, for a month and for the whole year, each grouping (none, branch, technician) is
timed against a baseline in the same round: counting the period's tickets, the least any
report over them costs. Printed: the median milliseconds of each, and its ratio to the
baseline. Needs a PostgreSQL server (AFTERSALES_BENCH_POSTGRES_URL, default the local one);
run with `python -m bench.kpis --help`.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, insert, text
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, col, select

from core.db import make_engine, migrate
from models.kpis import GroupBy
from models.tables import (
    ApprovalRecord,
    ComplaintRecord,
    EscalationRecord,
    PartUsageRecord,
    RepairRoundRecord,
    SurveyRecord,
    TicketRecord,
    TimelineRecord,
)
from store.kpis import Period, kpis

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
YEAR = datetime(2026, 1, 1, tzinfo=UTC)
ZONES = {
    "urban": "city",
    "ring_1": "city",
    "ring_2": "city",
    "suburban": "county",
    "nearby_towns": "county",
    "ring_3": "harbour",
}
STATUSES = (
    ["closed"] * 70
    + ["resolved"] * 10
    + ["registered", "dispatched", "on_site"] * 3
    + ["carried_in"] * 5
    + ["cancelled"] * 6
)
MODELS = [f"FA-{n}00" for n in range(1, 9)]
PARTS = [f"PART-{n}" for n in range(1, 31)]


def ticket_rows(count: int, rng: random.Random) -> Iterator[dict[str, Any]]:
    for n in range(count):
        created = YEAR + timedelta(minutes=rng.randrange(365 * 24 * 60))
        zone = rng.choice(list(ZONES))
        status = rng.choice(STATUSES)
        dispatched = status != "registered" and status != "cancelled"
        arrived = status not in ("registered", "dispatched", "cancelled")
        arrive_min = rng.randrange(20, 600)
        resolved = status in ("closed", "resolved")
        at = created + timedelta(minutes=arrive_min)
        yield {
            "id": f"b-{n}",
            "number": f"B{n:08d}",
            "seq": 5,
            "status": status,
            "service_type": rng.choice(["paid", "paid", "warranty", "contract"]),
            "zone": zone,
            "branch": ZONES[zone],
            "customer_name": "c",
            "customer_phone": f"1{n:010d}",
            "customer_address": "a",
            "product_model": rng.choice(MODELS),
            "problem": "p",
            "channel": "phone",
            "technician": f"tech{rng.randrange(40)}" if dispatched else None,
            "arrival_due_at": created + timedelta(hours=6),
            "evidence": {},
            "amount_due": Decimal("0.00"),
            "amount_paid": Decimal("0.00"),
            "registered_by": "clerk1",
            "created_at": created,
            "updated_at": created,
            "dispatched_at": created + timedelta(minutes=10) if dispatched else None,
            "dispatches": (1 + (rng.random() < 0.1)) if dispatched else 0,
            "arrived_at": at if arrived else None,
            "arrival_minutes": arrive_min if arrived else None,
            "carried_in": status == "carried_in" or (resolved and rng.random() < 0.15),
            "resolved_at": at + timedelta(minutes=90) if resolved else None,
            "resolution_minutes": arrive_min + 90 if resolved else None,
            "ended_at": at + timedelta(minutes=95) if status in ("closed", "cancelled") else None,
        }


def fill(engine: Engine, count: int, seed: int) -> None:
    rng = random.Random(seed)
    tickets = list(ticket_rows(count, rng))
    with engine.begin() as db:
        db.execute(insert(TicketRecord.__table__), tickets)  # type: ignore[attr-defined]
        resolved = [t for t in tickets if t["resolved_at"] is not None]
        db.execute(
            insert(SurveyRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "ticket_id": t["id"],
                    "ticket_number": t["number"],
                    "workflow_id": t["id"],
                    "status": "answered",
                    "technician": t["technician"],
                    "service_type": "paid",
                    "customer_name": "c",
                    "customer_phone": "1",
                    "product_model": "m",
                    "channels": [],
                    "scheduled_for": t["resolved_at"],
                    "answered_at": t["resolved_at"] + timedelta(days=1),
                    "updated_at": t["resolved_at"],
                    "attitude": rng.randint(1, 4),
                    "skill": rng.randint(1, 4),
                    "arrival_time": rng.randint(1, 4),
                    "promise_keeping": rng.randint(1, 4),
                }
                for t in resolved
                if rng.random() < 0.4
            ],
        )
        db.execute(
            insert(ComplaintRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": f"C{n}",
                    "ticket_id": t["id"],
                    "ticket_number": t["number"],
                    "workflow_id": t["id"],
                    "customer_name": "c",
                    "customer_phone": "1",
                    "product_model": "m",
                    "technician": t["technician"],
                    "text": "t",
                    "received_via": "card",
                    "recorded_by": "s",
                    "received_at": t["resolved_at"],
                    "status": "open",
                    "updated_at": t["resolved_at"],
                }
                for n, t in enumerate(resolved)
                if n % 40 == 0
            ],
        )
        db.execute(
            insert(EscalationRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": f"E{n}",
                    "kind": rng.choice(
                        [
                            "arrival_warning",
                            "arrival_overdue",
                            "carried_over",
                            "unresolved_same_day",
                        ]
                    ),
                    "ticket_id": t["id"],
                    "workflow_id": t["id"],
                    "owner_role": "director",
                    "notify_roles": [],
                    "raised_at": t["created_at"] + timedelta(hours=5),
                    "details": {},
                }
                for n, t in enumerate(tickets)
                if n % 5 == 0
            ],
        )
        db.execute(
            insert(ApprovalRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "id": f"A{n}",
                    "kind": rng.choice(["discount", "low_margin"]),
                    "ticket_id": t["id"],
                    "ticket_number": t["number"],
                    "workflow_id": t["id"],
                    "requested_by": "c",
                    "requested_at": t["created_at"],
                    "amount": Decimal("10.00"),
                    "reason": "r",
                    "approver_roles": [],
                    "status": rng.choice(["approved", "rejected", "pending"]),
                    "details": {},
                }
                for n, t in enumerate(tickets)
                if n % 20 == 0
            ],
        )
        parts = lambda: [{"part_no": rng.choice(PARTS), "qty": rng.randint(1, 3)}]  # noqa: E731
        db.execute(
            insert(RepairRoundRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "ticket_id": t["id"],
                    "round": 1,
                    "labor_minutes": 60,
                    "parts": parts(),
                    "notes": "n",
                    "fee": Decimal("0.00"),
                    "recorded_by": "t",
                    "recorded_at": t["resolved_at"],
                }
                for t in resolved
                if t["carried_in"]
            ],
        )
        db.execute(
            insert(TimelineRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "ticket_id": t["id"],
                    "seq": seq,
                    "at": t["created_at"] + timedelta(minutes=seq),
                    "action": action,
                    "actor": "x",
                    "data": {},
                }
                for t in tickets
                for seq, action in enumerate(["call_in", "dispatch", "arrive", "resolve"], 1)
            ],
        )
        db.execute(
            insert(PartUsageRecord.__table__),  # type: ignore[attr-defined]
            [
                {
                    "ticket_id": t["id"],
                    "seq": 4,
                    "line": line,
                    "part_no": rng.choice(PARTS),
                    "qty": rng.randint(1, 3),
                    "product_model": t["product_model"],
                    "branch": t["branch"],
                    "used_at": t["resolved_at"],
                }
                for t in resolved
                for line in range(rng.randint(0, 2))
            ],
        )
        db.execute(text("ANALYZE"))


def timed(work: Callable[[], object]) -> float:
    started = time.perf_counter()
    work()
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--url",
        default=DEFAULT_URL,
        help="a PostgreSQL server (its database is left alone: the bench makes its own)",
    )
    parser.add_argument("--tickets", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()

    name = f"bench_kpis_{uuid.uuid4().hex[:8]}"
    admin = make_engine(args.url)
    with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(args.url).set(database=name).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        migrate(engine)
        started = time.perf_counter()
        fill(engine, args.tickets, args.seed)
        print(f"{args.tickets} tickets filled in {time.perf_counter() - started:.1f} s")
        run(engine, args.rounds)
    finally:
        engine.dispose()
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text(f'DROP DATABASE "{name}"'))
        admin.dispose()


def run(engine: Engine, rounds: int) -> None:
    now = YEAR + timedelta(days=366)
    periods = {
        "month": Period(YEAR + timedelta(days=151), YEAR + timedelta(days=181), now, None),
        "year": Period(YEAR, YEAR + timedelta(days=365), now, None),
    }
    groupings: list[GroupBy | None] = [None, GroupBy.BRANCH, GroupBy.TECHNICIAN]
    times: dict[tuple[str, str], list[float]] = {}
    with Session(engine) as db:
        for _ in range(rounds):
            for label, period in periods.items():
                base = timed(
                    lambda p=period: db.exec(
                        select(func.count()).where(
                            col(TicketRecord.created_at) >= p.start,
                            col(TicketRecord.created_at) < p.end,
                        )
                    ).one()
                )
                times.setdefault((label, "baseline"), []).append(base)
                for group_by in groupings:
                    name = group_by.value if group_by else "none"
                    times.setdefault((label, name), []).append(
                        timed(lambda p=period, g=group_by: kpis(db, p, g))
                    )
    print(f"{'period':<8}{'group_by':<14}{'median ms':>12}{'× baseline':>12}")
    for label in periods:
        baseline = statistics.median(times[(label, "baseline")])
        for name in ("baseline", "none", "branch", "technician"):
            median = statistics.median(times[(label, name)])
            print(f"{label:<8}{name:<14}{median:>12.1f}{median / baseline:>12.1f}")


if __name__ == "__main__":
    main()
