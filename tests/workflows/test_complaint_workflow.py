"""The complaint workflow against the time-skipping test server (R25, R26, A2, R16, R11).

Escalations are emailed for real, through the product's worker, to a local SMTP server.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from core.config import Settings
from models.complaint import ComplaintAction, ComplaintState, RegisteredRequest
from models.escalation import (
    ACKNOWLEDGE_UPDATE,
    NOT_AN_OWNER,
    UNKNOWN_ESCALATION,
    AcknowledgeRequest,
    Escalation,
)
from models.followup import ComplaintStart
from models.refusals import FORBIDDEN, INVALID_PAYLOAD, INVALID_TRANSITION
from models.roles import Role
from models.tables import ComplaintRecord, EscalationRecord
from models.ticket import Customer, Product
from store.users import create_user
from tests.mail import SmtpServer
from worker import DATA_CONVERTER, build_worker, sandbox_runner
from workflows.complaint import ComplaintWorkflow

DIRECTOR = ("dir1", ["director"])
VP = ("vp1", ["vp"])
CLERK = ("clerk1", ["clerk"])


class Notices:
    """What the owners of the escalations received, by email (R16)."""

    def __init__(self, smtp: SmtpServer) -> None:
        self.smtp = smtp

    async def to(self, count: int) -> list[tuple[str, str]]:
        """(recipient, subject) of each email, once `count` have arrived (they go in the
        background)."""
        for _ in range(200):
            if len(self.smtp.messages()) >= count:
                break
            await asyncio.sleep(0.05)
        return [(str(m["To"]), str(m["Subject"])) for m in self.smtp.messages()]


@dataclass
class Office:
    client: Client
    task_queue: str
    notices: Notices
    now: datetime

    async def receive(
        self,
        *,
        phone: str = "13800000000",
        serial: str | None = "SN-1",
        model: str = "TV-55",
        received_at: datetime | None = None,
    ) -> tuple[WorkflowHandle[Any, ComplaintState], ComplaintState]:
        ticket_id = f"t-{uuid.uuid4().hex}"
        start = ComplaintStart(
            ticket_id=ticket_id,
            ticket_number="T2026-000001",
            customer=Customer("Li Lei", phone, "1 Ring Road"),
            product=Product(model, serial),
            technician="tech1",
            text="the technician came late and left a mess",
            received_at=received_at or self.now - timedelta(hours=2),
            received_via="phone",
            recorded_by="clerk1",
        )
        handle = await self.client.start_workflow(
            ComplaintWorkflow.run, start, id=f"complaint-{ticket_id}-1", task_queue=self.task_queue
        )
        state = await handle.execute_update(ComplaintWorkflow.registered, RegisteredRequest())
        return handle, state


@pytest.fixture
async def office(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, smtp: SmtpServer
) -> AsyncIterator[Office]:
    with Session(engine) as db:
        for username, role in (("dir1", Role.DIRECTOR), ("vp1", Role.VP)):
            create_user(
                db,
                username=username,
                password="password-123",
                full_name=username.title(),
                roles=[role],
                email=f"{username}@example.com",
            )
    settings = Settings(smtp_host="127.0.0.1", smtp_port=smtp.port, _env_file=None)
    async with build_worker(time_env.client, engine, task_queue, settings=settings):
        yield Office(time_env.client, task_queue, Notices(smtp), await time_env.get_current_time())


def step(who: tuple[str, list[str]], action: str, **data: object) -> ComplaintAction:
    actor, roles = who
    return ComplaintAction(action=action, actor=actor, roles=roles, data=dict(data))


async def refused(handle: WorkflowHandle[Any, ComplaintState], request: ComplaintAction) -> str:
    """The error type of a refused step, after checking it left no trace (R11)."""
    before = await handle.query(ComplaintWorkflow.state_query)
    with pytest.raises(WorkflowUpdateFailedError) as failure:
        await handle.execute_update(ComplaintWorkflow.act, request)
    after = await handle.query(ComplaintWorkflow.state_query)
    assert after.seq == before.seq
    cause = failure.value.cause
    assert isinstance(cause, ApplicationError) and cause.type is not None
    return cause.type


def visit(office: Office) -> dict[str, Any]:
    return {
        "visited_by": "dir1",
        "visited_at": (office.now - timedelta(hours=1)).isoformat(),
        "outcome": "apologised; the technician will call ahead next time",
    }


async def test_complaint_cannot_be_closed_without_its_visit_and_reply(
    office: Office, engine: Engine
) -> None:
    # R26: every complaint, however minor, is visited; it cannot be closed without the visit.
    # R25: a general complaint is handled by the service department, which may reply by phone.
    handle, state = await office.receive()
    assert state.complaint_id is not None and state.complaint_id.startswith("C")
    assert [e.kind for e in state.escalations] == ["complaint"]
    assert state.escalations[0].owner_role == "director"
    [(to, subject)] = await office.notices.to(1)
    assert to == "dir1@example.com" and "visited (R26)" in subject

    assert await refused(handle, step(DIRECTOR, "close")) == INVALID_TRANSITION
    await handle.execute_update(
        ComplaintWorkflow.act, step(DIRECTOR, "triage", severity="general", note="lateness")
    )
    assert await refused(handle, step(DIRECTOR, "close")) == INVALID_TRANSITION
    # R25: a general complaint never goes to the VP.
    assert await refused(handle, step(VP, "vp_review", decision="x")) == INVALID_TRANSITION
    replied = await handle.execute_update(
        ComplaintWorkflow.act,
        step(CLERK, "reply", method="phone", text="we are sorry; it will not happen again"),
    )
    assert replied.status == "replied" and replied.reply is not None
    assert replied.reply["by"] == "clerk1" and replied.reply["method"] == "phone"
    with pytest.raises(WorkflowUpdateFailedError) as too_early:
        await handle.execute_update(ComplaintWorkflow.act, step(DIRECTOR, "close"))
    assert "visit" in str(too_early.value.cause)
    assert await refused(handle, step(CLERK, "visit", **visit(office))) == FORBIDDEN
    visited = await handle.execute_update(
        ComplaintWorkflow.act, step(("mgr1", ["manager"]), "visit", **visit(office))
    )
    assert visited.status == "visited" and visited.visit is not None
    assert visited.visit["visited_by"] == "dir1" and visited.visit["by"] == "mgr1"
    closed = await handle.execute_update(
        ComplaintWorkflow.act, step(DIRECTOR, "close", note="customer satisfied")
    )
    assert closed.status == "closed"
    final = await handle.result()
    # R11: every step says who and when.
    assert [(e.action, e.actor) for e in final.timeline] == [
        ("received", "clerk1"),
        ("triage", "dir1"),
        ("reply", "clerk1"),
        ("visit", "mgr1"),
        ("acknowledge", "dir1"),
        ("close", "dir1"),
    ]
    # Deterministic: its own history replays.
    replayer = Replayer(
        workflows=[ComplaintWorkflow],
        data_converter=DATA_CONVERTER,
        workflow_runner=sandbox_runner(),
    )
    await replayer.replay_workflow(await handle.fetch_history())

    with Session(engine) as db:
        row = db.get(ComplaintRecord, state.complaint_id)
        assert row is not None
        assert (row.status, row.severity, row.closed_by) == ("closed", "general", "dir1")
        assert row.visit is not None and row.visit["outcome"].startswith("apologised")
        escalation = db.get(EscalationRecord, f"{state.complaint_id}-complaint")
        assert escalation is not None and escalation.acknowledged_by == "dir1"  # R16


async def test_serious_complaint_goes_to_the_vp_and_is_answered_in_writing_after_review(
    office: Office, engine: Engine
) -> None:
    # R25: a serious complaint goes to the VP at once for review; the customer is told the
    # outcome in writing, after the review.
    handle, state = await office.receive()
    assert await refused(handle, step(CLERK, "triage", severity="serious")) == FORBIDDEN
    assert await refused(handle, step(DIRECTOR, "triage", severity="urgent")) == INVALID_PAYLOAD
    triaged = await handle.execute_update(
        ComplaintWorkflow.act, step(DIRECTOR, "triage", severity="serious", note="damage")
    )
    assert [(e.kind, e.owner_role) for e in triaged.escalations] == [
        ("complaint", "director"),
        ("serious_complaint", "vp"),
    ]
    mails = await office.notices.to(2)
    assert [to for to, _ in mails] == ["dir1@example.com", "vp1@example.com"]
    assert "VP's review" in mails[1][1]

    letter = {"method": "letter", "text": "we will replace the unit"}
    assert await refused(handle, step(DIRECTOR, "reply", **letter)) == INVALID_TRANSITION
    assert await refused(handle, step(DIRECTOR, "vp_review", decision="x")) == FORBIDDEN
    reviewed = await handle.execute_update(
        ComplaintWorkflow.act, step(VP, "vp_review", decision="replace the unit", notes="ok")
    )
    assert reviewed.status == "reviewed"
    # The general complaint's service department may not answer a serious one.
    assert await refused(handle, step(CLERK, "reply", **letter)) == FORBIDDEN
    by_phone = step(VP, "reply", method="phone", text="we will replace the unit")
    assert await refused(handle, by_phone) == INVALID_PAYLOAD
    # The visit may come before the reply (R26); closing still waits for the reply.
    await handle.execute_update(ComplaintWorkflow.act, step(DIRECTOR, "visit", **visit(office)))
    assert await refused(handle, step(DIRECTOR, "close")) == INVALID_TRANSITION
    replied = await handle.execute_update(ComplaintWorkflow.act, step(VP, "reply", **letter))
    assert replied.status == "visited"
    await handle.execute_update(ComplaintWorkflow.act, step(DIRECTOR, "close"))
    final = await handle.result()
    assert final.vp_review is not None and final.vp_review["by"] == "vp1"

    with Session(engine) as db:
        serious = db.get(EscalationRecord, f"{state.complaint_id}-serious")
        assert serious is not None and serious.owner_role == "vp"
        row = db.get(ComplaintRecord, state.complaint_id)
        assert row is not None and row.reply is not None and row.reply["method"] == "letter"


async def test_visit_cannot_be_recorded_in_the_future(office: Office) -> None:
    # R26, R11: a visit is a fact with its time.
    handle, _ = await office.receive()
    await handle.execute_update(ComplaintWorkflow.act, step(DIRECTOR, "triage", severity="general"))
    later = visit(office) | {"visited_at": (office.now + timedelta(days=2)).isoformat()}
    assert await refused(handle, step(DIRECTOR, "visit", **later)) == INVALID_PAYLOAD
    await handle.terminate("test over")


@pytest.mark.both_databases
async def test_repeat_complaint_within_the_window_is_flagged(office: Office) -> None:
    # A2 (R26): a repeated complaint from the same customer about the same product is flagged
    # when it comes within the policy's window (90 days), not after it.
    day = timedelta(days=1)
    first_handle, first = await office.receive(received_at=office.now - 200 * day)
    second_handle, second = await office.receive(received_at=office.now - 170 * day)
    assert not first.repeated
    assert second.repeated and second.previous_complaint_id == first.complaint_id
    other_handle, other_product = await office.receive(
        serial="SN-2", received_at=office.now - 170 * day
    )
    assert not other_product.repeated
    late_handle, late = await office.receive(received_at=office.now - 60 * day)
    assert not late.repeated  # 110 days after the second one
    # Without a serial number the model tells the product.
    model_handle, by_model = await office.receive(serial=None, model="FRIDGE-2")
    again_handle, again = await office.receive(serial=None, model="FRIDGE-2")
    assert not by_model.repeated
    assert again.repeated and again.previous_complaint_id == by_model.complaint_id
    other_phone_handle, other_customer = await office.receive(phone="13900000000")
    assert not other_customer.repeated
    for handle in (
        first_handle,
        second_handle,
        other_handle,
        late_handle,
        model_handle,
        again_handle,
        other_phone_handle,
    ):
        await handle.terminate("test over")


async def test_only_owners_acknowledge_an_escalation(office: Office, engine: Engine) -> None:
    # R16: an escalation stays open until its owner (or a director or admin) acknowledges it.
    handle, state = await office.receive()

    async def acknowledge(request: AcknowledgeRequest) -> Escalation:
        # By name, as the API's POST /escalations/{id}/acknowledge sends it.
        return await handle.execute_update(ACKNOWLEDGE_UPDATE, request, result_type=Escalation)

    escalation_id = f"{state.complaint_id}-complaint"
    for actor, roles in (("tech1", ["technician"]), VP, CLERK):
        with pytest.raises(WorkflowUpdateFailedError) as failure:
            await acknowledge(AcknowledgeRequest(escalation_id, actor, roles))
        assert isinstance(failure.value.cause, ApplicationError)
        assert failure.value.cause.type == NOT_AN_OWNER
    with pytest.raises(WorkflowUpdateFailedError) as unknown:
        await acknowledge(AcknowledgeRequest("E-nope", "dir1", ["director"]))
    assert isinstance(unknown.value.cause, ApplicationError)
    assert unknown.value.cause.type == UNKNOWN_ESCALATION

    acknowledged = await acknowledge(
        AcknowledgeRequest(escalation_id, "dir1", ["director"], "visit booked")
    )
    assert acknowledged.acknowledged_by == "dir1" and acknowledged.acknowledged_at is not None
    again = await acknowledge(AcknowledgeRequest(escalation_id, "admin", ["admin"]))
    assert again == acknowledged
    with Session(engine) as db:
        row = db.get(EscalationRecord, escalation_id)
        assert row is not None and row.acknowledged_by == "dir1"
        assert row.workflow_id == f"complaint-{state.start.ticket_id}-1"
    await handle.terminate("test over")
