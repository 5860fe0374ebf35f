"""A maintenance contract's whole life on a time-skipping server (R31, R32, R35): two years of
monthly inspections and quarterly follow-ups, each opening its job at the customer's site and
telling the customer first; the sales director's warning; the expiry notice and renewal visit;
a renewal that moves them, a termination that stops them; and a worker down for a week that
catches up without doing anything twice.

The calendar is the office's working week in Shanghai with one holiday (2030-03-07), so the
working day of each event is known here without asking the code.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from models.contract import ContractChange, ContractTerms
from models.tables import NotificationRecord, TicketRecord, User
from models.ticket import BillingTerms, Customer, Product
from models.worktime import WorkCalendar
from tests.conftest import time_skipping_server
from tests.workflows.builders import SHANGHAI, at, skip_to
from worker import build_worker
from workflows.contract import ContractStart, ContractState, ContractWorkflow

OFFICE = WorkCalendar(
    "Asia/Shanghai", [0, 1, 2, 3, 4], [[510, 720], [780, 1050]], holidays=["2030-03-07"]
)
START, END = date(2030, 1, 7), date(2032, 1, 6)


@pytest.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    async with time_skipping_server() as env:
        yield env


def terms(**changes: Any) -> ContractTerms:
    values: dict[str, Any] = {
        "contract_id": 1,
        "uid": uuid.uuid4().hex[:16],
        "number": f"MC-{uuid.uuid4().hex[:8]}",
        "customer": Customer("Plant No. 3", "02100000000", "9 Harbour Road"),
        "product": Product("FA-900", "SN-FA-1"),
        "zone": "urban",
        "starts_on": START,
        "ends_on": END,
        "calendar": OFFICE,
        "billing": BillingTerms(Decimal("120.00"), Decimal("200.00")),
        "checklist": ["front-end devices", "cabling", "central equipment", "system functions"],
        "free_maintenance_until": date(2031, 1, 6),
    }
    return ContractTerms(**(values | changes))


async def start(env: WorkflowEnvironment, task_queue: str, contract: ContractTerms) -> Any:
    return await env.client.start_workflow(
        ContractWorkflow.run,
        ContractStart(contract),
        id=f"contract-{contract.number}",
        task_queue=task_queue,
    )


async def live_through(env: WorkflowEnvironment, until: datetime) -> None:
    """Skips to `until` a fortnight at a time, letting the worker carry out what came due."""
    while (now := await env.get_current_time()) < until:
        await skip_to(env, min(now + timedelta(days=14), until))
        await asyncio.sleep(0.2)


def local_day(instant: datetime) -> date:
    return instant.astimezone(SHANGHAI).date()


def sales_user(engine: Engine) -> None:
    with Session(engine) as db:
        db.add(
            User(
                username="sales1",
                full_name="Sales Director",
                password_hash="-",
                roles=["sales"],
                email="sales@example.com",
            )
        )
        db.commit()


def messages(engine: Engine, uid: str) -> Counter[str]:
    with Session(engine) as db:
        rows = db.exec(
            select(NotificationRecord).where(
                col(NotificationRecord.key).startswith(f"contract:{uid}:")
            )
        ).all()
    return Counter(row.key.split(":")[2].split("-")[0] for row in rows)


def jobs(engine: Engine, uid: str) -> list[TicketRecord]:
    with Session(engine) as db:
        query = select(TicketRecord).where(col(TicketRecord.id).startswith(f"contract-{uid}-"))
        return list(db.exec(query).all())


async def test_two_years_of_a_contract_each_event_once_on_its_working_day(
    env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    sales_user(engine)
    contract = terms()
    await skip_to(env, at("2030-01-06", "10:00"))
    async with build_worker(env.client, engine, task_queue):
        handle = await start(env, task_queue, contract)
        await live_through(env, at("2032-01-08", "12:00"))
        state: ContractState = await handle.result()

    kinds = Counter(happened.kind for happened in state.done)
    assert kinds == {
        "inspection": 24,  # 2030-01-07 ... 2031-12-07, monthly (R32)
        "follow_up": 7,  # every quarter after the start (R32)
        "sales_warning": 1,  # three months before free maintenance ends (R31)
        "expiry_notice": 1,  # a month before the end (R31)
        "renewal_visit": 1,
        "visit_notice": 31,  # three days before each visit (R35)
    }
    assert len({happened.key for happened in state.done}) == len(state.done)
    when = {happened.key: happened for happened in state.done}
    # A holiday and a weekend move an inspection to the next working day, at its start.
    assert local_day(when["inspection-2030-03-07"].at) == date(2030, 3, 8)
    assert local_day(when["inspection-2030-09-07"].at) == date(2030, 9, 9)
    assert local_day(when["sales_warning-2030-10-06"].at) == date(2030, 10, 7)
    assert local_day(when["expiry_notice-2031-12-06"].at) == date(2031, 12, 8)
    for happened in state.done:
        local = happened.at.astimezone(SHANGHAI)
        assert local.weekday() < 5 and (local.hour, local.minute) == (8, 30), happened
        assert local.date() == happened.on

    # Each job is a ticket at the customer's site, queued for dispatch; each notice sent once.
    opened = jobs(engine, contract.uid)
    assert len(opened) == 24 + 7 + 1
    assert {(t.status, t.service_type, t.customer_name) for t in opened} == {
        ("registered", "internal", "Plant No. 3")
    }
    checklist = next(t for t in opened if "inspection-2030-01-07" in t.id).problem
    assert "front-end devices; cabling; central equipment; system functions" in checklist
    assert local_day(when["notice_inspection-2030-02-07"].at) == date(2030, 2, 4)
    assert local_day(when["notice_inspection-2030-01-07"].at) == START  # not before the start
    assert messages(engine, contract.uid) == {
        "notice_inspection": 24,
        "notice_follow_up": 7,
        "expiry_notice": 1,
        "sales_warning": 1,
    }
    # In the customer's language (Chinese for a customer without a record saying otherwise).
    with Session(engine) as db:
        subjects = {
            row.key.split(":")[2]: row.subject
            for row in db.exec(
                select(NotificationRecord).where(
                    col(NotificationRecord.key).startswith(f"contract:{contract.uid}:")
                )
            )
        }
    number = contract.number
    assert subjects["expiry_notice-2031-12-06"] == f"您的维护合同 {number} 将于 2032年1月6日 到期"
    assert subjects["notice_follow_up-2030-04-07"] == (
        f"合同 {number}：2030年4月8日 对您的 FA-900 进行回访"
    )


async def test_a_renewal_moves_the_end_and_a_termination_stops_everything_after_it(
    env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    contract = terms(ends_on=date(2030, 7, 6), free_maintenance_until=None)
    await skip_to(env, at("2030-01-06", "10:00"))
    async with build_worker(env.client, engine, task_queue):
        handle: WorkflowHandle[Any, Any] = await start(env, task_queue, contract)
        await live_through(env, at("2030-03-20", "12:00"))
        renewed = await handle.execute_update(
            ContractWorkflow.change,
            ContractChange("renew", "clerk1", ends_on=date(2031, 1, 6)),
        )
        assert renewed.terms.ends_on == date(2031, 1, 6)
        await live_through(env, at("2030-08-20", "12:00"))
        await handle.execute_update(
            ContractWorkflow.change,
            ContractChange("terminate", "dir1", terminated_on=date(2030, 9, 1)),
        )
        await live_through(env, at("2030-09-03", "12:00"))
        state: ContractState = await handle.result()

    keys = [happened.key for happened in state.done]
    # The first end's notice (due 2030-06-06) was never sent: the renewal moved it; the
    # termination on 2030-09-01 stopped the rest, the renewed end's notice included.
    assert not [key for key in keys if key.startswith(("expiry_notice", "renewal_visit"))]
    assert [key for key in keys if key.startswith("inspection")] == [
        f"inspection-2030-{month:02d}-07" for month in range(1, 9)
    ]
    assert max(happened.on for happened in state.done) <= date(2030, 9, 1)
    assert [change.split(" ", 1)[1] for change in state.changes] == [
        "clerk1: renew",
        "dir1: terminate",
    ]


async def test_a_late_start_catches_up_the_last_week_once_and_misses_what_is_older(
    env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    # The time-skipping server holds its clock while a workflow task waits for a worker, so a
    # worker down for a week is played as a workflow that finds a week of due events when it
    # starts: those since `since` are carried out at once, in order; older ones are missed.
    contract = terms(ends_on=date(2030, 6, 6), free_maintenance_until=None)
    await skip_to(env, at("2030-04-09", "12:00"))
    async with build_worker(env.client, engine, task_queue):
        handle = await env.client.start_workflow(
            ContractWorkflow.run,
            ContractStart(contract, since=at("2030-04-02", "12:00")),
            id=f"contract-{contract.number}",
            task_queue=task_queue,
        )
        await live_through(env, at("2030-06-08", "12:00"))
        state: ContractState = await handle.result()

    keys = [happened.key for happened in state.done]
    assert len(keys) == len(set(keys))
    missed = [h.key for h in state.done if h.missed]
    assert missed == [
        "inspection-2030-01-07",
        "notice_inspection-2030-01-07",
        "notice_inspection-2030-02-07",
        "inspection-2030-02-07",
        "notice_inspection-2030-03-07",
        "inspection-2030-03-07",
    ]
    caught_up = {h.key: h for h in state.done if h.on == date(2030, 4, 8)}
    assert set(caught_up) == {"inspection-2030-04-07", "follow_up-2030-04-07"}
    assert all(h.at >= at("2030-04-09", "12:00") for h in caught_up.values())
    carried_out = [h.key for h in state.done if not h.missed]
    assert carried_out == [
        "notice_follow_up-2030-04-07",
        "notice_inspection-2030-04-07",
        "follow_up-2030-04-07",
        "inspection-2030-04-07",
        "notice_inspection-2030-05-07",
        "expiry_notice-2030-05-06",
        "renewal_visit-2030-05-06",
        "inspection-2030-05-07",
    ]
    assert len(jobs(engine, contract.uid)) == 4
    assert messages(engine, contract.uid) == {
        "notice_inspection": 2,
        "notice_follow_up": 1,
        "expiry_notice": 1,
    }
