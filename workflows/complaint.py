"""The complaint workflow: one customer complaint from receipt to closure (R25, R26, A2, R16).

Started by staff who record a complaint (`POST /complaints`) or by a survey card that carries
one (the `Survey` workflow, as a child). On start it is numbered and checked for a repeat (A2),
and a `complaint` escalation goes to the service director (R26: every complaining customer is
visited). Its steps arrive as the `act` update, decided by `models/complaint.py` and refused by
the validator (leaving no trace in history). A serious complaint raises a `serious_complaint`
escalation for the VP at once (R25). It ends when closed, which needs the visit and the reply.

Deterministic and sandbox-safe: activities do every write; notices go out in the background so
no update waits for a mail server.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from workflows.customer_notices import CustomerNotices
from workflows.escalations import Notices

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.complaint import (
        STEP_BODIES,
        ComplaintAction,
        ComplaintState,
        Registered,
        RegisteredRequest,
        Severity,
        Step,
        allowed_actions,
        blocked,
        missing_role,
    )
    from models.documents import DocumentKind
    from models.escalation import (
        ACKNOWLEDGE_UPDATE,
        AcknowledgeRequest,
        Escalation,
        EscalationKind,
        EscalationNotice,
        complaint_notice,
        new_escalation,
        to_acknowledge,
    )
    from models.followup import ComplaintStart
    from models.messages import CustomerNotice, Milestone
    from models.refusals import (
        FORBIDDEN,
        INVALID_PAYLOAD,
        INVALID_TRANSITION,
        refuse,
    )
    from models.ticket import TimelineEntry

PROJECTION_TIMEOUT = timedelta(seconds=30)
# The activities it runs (activities/complaint.py), by name: workflows do not import them.
REGISTER_COMPLAINT, PROJECT_COMPLAINT = "register_complaint", "project_complaint"
# Patches: complaints started before these changes replay without them.
NOTICES_IN_BACKGROUND = "escalation-notices-in-the-background"
OUTCOME_LETTER = "complaint-outcome-letter"
# A visit recorded "now" by a client whose clock runs a little ahead is still not in the future.
CLOCK_TOLERANCE = timedelta(minutes=5)


def _field_error(field: str, message: str, error_type: str) -> ApplicationError:
    return refuse(
        message,
        INVALID_PAYLOAD,
        errors=[{"loc": [field], "msg": message, "type": error_type}],
    )


@workflow.defn(name="Complaint")
class ComplaintWorkflow:
    @workflow.init
    def __init__(self, start: ComplaintStart) -> None:
        self.state = ComplaintState(
            workflow_id=workflow.info().workflow_id, start=start, updated_at=workflow.now()
        )
        self.lock = asyncio.Lock()
        self.is_registered = False
        self.notices = Notices()
        self.outbox: list[EscalationNotice] = []
        """Notices of complaints started before they went to the background."""
        self.in_background = False
        self.customer_notices = CustomerNotices()

    @workflow.run
    async def run(self, start: ComplaintStart) -> ComplaintState:
        self.in_background = workflow.patched(NOTICES_IN_BACKGROUND)
        async with self.lock:
            await self._register()
        if not self.in_background:
            await self._drain_outbox()
        await workflow.wait_condition(lambda: self.state.closed_at is not None)
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and self.notices.settled()
                and self.customer_notices.settled()
            )
        )
        return self.state

    async def _drain_outbox(self) -> None:
        """How complaints started before the patch sent their notices: one at a time, from
        here, until the complaint closes."""
        while True:
            await workflow.wait_condition(
                lambda: bool(self.outbox) or self.state.closed_at is not None
            )
            while self.outbox:
                await self.notices.deliver(self.outbox[0])
                self.outbox.pop(0)
            if self.state.closed_at is not None:
                return

    async def _register(self) -> None:
        """R26, A2: number the complaint, flag a repeat, and send it to the director."""
        state, start = self.state, self.state.start
        registered = await workflow.execute_local_activity(
            REGISTER_COMPLAINT,
            state,
            start_to_close_timeout=PROJECTION_TIMEOUT,
            result_type=Registered,
        )
        state.complaint_id = registered.complaint_id
        state.repeated = registered.repeated
        state.previous_complaint_id = registered.previous_complaint_id
        received = {
            "received_via": start.received_via,
            "text": start.text,
            "repeated": state.repeated,
            "previous_complaint_id": state.previous_complaint_id,
        }
        self._step("received", start.recorded_by, received, at=start.received_at)
        self._raise(EscalationKind.COMPLAINT)
        await self._project()
        self.is_registered = True

    @workflow.query
    def state_query(self) -> ComplaintState:
        return self.state

    @workflow.update
    async def registered(self, request: RegisteredRequest) -> ComplaintState:
        """Answers with the complaint once it is numbered and projected."""
        await workflow.wait_condition(lambda: self.is_registered)
        return self.state

    @workflow.update
    async def act(self, request: ComplaintAction) -> ComplaintState:
        """One step of the complaint (R25, R26), recorded with who and when (R11)."""
        async with self.lock:
            # Another step may have landed between this one's validation and now.
            self._validate_act(request)
            await self._apply(request)
            return self.state

    @act.validator
    def _validate_act(self, request: ComplaintAction) -> None:
        facts = self.state.facts
        if not self.is_registered:
            raise refuse(
                "the complaint is still being registered",
                INVALID_TRANSITION,
                status=self.state.status.value,
                allowed_actions=[],
            )
        if why := blocked(request.action, facts):
            raise refuse(
                f"'{request.action}' is not allowed: {why}",
                INVALID_TRANSITION,
                status=self.state.status.value,
                allowed_actions=allowed_actions(facts),
            )
        if why := missing_role(request.action, request.roles, facts):
            raise refuse(why, FORBIDDEN)
        try:
            body = STEP_BODIES[request.action].model_validate(request.data)
        except ValidationError as invalid:
            raise refuse(
                f"invalid '{request.action}' request",
                INVALID_PAYLOAD,
                errors=invalid.errors(
                    include_url=False, include_context=False, include_input=False
                ),
            ) from None
        data = body.model_dump(mode="json")
        if request.action == Step.REPLY and facts.serious and data["method"] != "letter":
            raise _field_error(
                "method",
                "a serious complaint's outcome is told in writing: method must be 'letter' (R25)",
                "written_reply_required",
            )
        if request.action == Step.VISIT:
            visited_at = datetime.fromisoformat(data["visited_at"])
            if visited_at > workflow.now() + CLOCK_TOLERANCE:
                raise _field_error(
                    "visited_at", "a visit is recorded once it has happened", "in_the_future"
                )
            if visited_at < self.state.start.received_at:
                raise _field_error(
                    "visited_at",
                    "the visit cannot come before the complaint was received",
                    "before_complaint",
                )

    async def _apply(self, request: ComplaintAction) -> None:
        state, now = self.state, workflow.now()
        body = STEP_BODIES[request.action].model_validate(request.data)
        data = body.model_dump(mode="json", exclude_none=True)
        record = {**data, "by": request.actor, "at": now.isoformat()}
        match request.action:
            case Step.TRIAGE:
                state.severity, state.triage = data["severity"], record
                if state.severity == Severity.SERIOUS:
                    self._raise(EscalationKind.SERIOUS_COMPLAINT)  # R25: to the VP at once
            case Step.VP_REVIEW:
                state.vp_review = record
            case Step.REPLY:
                state.reply = record
            case Step.VISIT:
                state.visit = record
            case Step.CLOSE:
                state.closed_at, state.closed_by = now, request.actor
                # Closed means handled: its escalations leave the open list with it (R16).
                for escalation in state.escalations:
                    if escalation.is_open:
                        self._acknowledge(escalation, request.actor, "closed with the complaint")
        self._step(request.action, request.actor, data)
        await self._project()
        if request.action == Step.REPLY and data["method"] == "letter":
            self._send_outcome_letter(data["text"])

    def _send_outcome_letter(self, outcome: str) -> None:
        """R25, issue 14: the reply in writing, with the letter as PDF (once projected, so
        the letter prints it)."""
        state, start = self.state, self.state.start
        if start.notify is None or not workflow.patched(OUTCOME_LETTER):
            return
        assert state.complaint_id is not None
        notice = CustomerNotice(
            key=f"notice:{state.workflow_id}:{Milestone.COMPLAINT_OUTCOME.value}",
            milestone=Milestone.COMPLAINT_OUTCOME.value,
            customer_id=None,
            phone=start.customer.phone,
            email=start.customer.email,
            texts={
                "customer": start.customer.name,
                "complaint": state.complaint_id,
                "outcome": outcome,
            },
            timezone=start.notify.timezone,
            ticket_id=start.ticket_id,
            attach=[DocumentKind.COMPLAINT_REPLY.value],
            currency=start.notify.currency,
        )
        self.customer_notices.send(start.notify, notice)

    @workflow.update(name=ACKNOWLEDGE_UPDATE)
    async def acknowledge(self, request: AcknowledgeRequest) -> Escalation:
        """R16: an owner (or a director or admin) takes the escalation off the open list; a
        second acknowledgement answers with it unchanged."""
        async with self.lock:
            escalation = to_acknowledge(self.state.escalations, request)
            if escalation.is_open:
                self._acknowledge(escalation, request.actor, request.note)
                await self._project()
            return escalation

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        to_acknowledge(self.state.escalations, request)

    def _acknowledge(self, escalation: Escalation, actor: str, note: str | None) -> None:
        escalation.acknowledged_at, escalation.acknowledged_by = workflow.now(), actor
        if note:
            escalation.details["acknowledge_note"] = note
        data = {"escalation": escalation.id, "kind": escalation.kind}
        if note:
            data["note"] = note
        self._step("acknowledge", actor, data)

    def _raise(self, kind: EscalationKind) -> None:
        """R16, R25, R26: record the escalation and queue its notice to the owners."""
        state, start = self.state, self.state.start
        assert state.complaint_id is not None
        suffix = "serious" if kind is EscalationKind.SERIOUS_COMPLAINT else "complaint"
        escalation = new_escalation(
            f"{state.complaint_id}-{suffix}",
            kind,
            start.ticket_id,
            state.workflow_id,
            workflow.now(),
            None,
            {
                "complaint_id": state.complaint_id,
                "ticket_number": start.ticket_number,
                "customer": start.customer.name,
                "technician": start.technician,
                "repeated": state.repeated,
            },
        )
        state.escalations.append(escalation)
        notice = complaint_notice(
            escalation, state.complaint_id, start, state.previous_complaint_id
        )
        if self.in_background:
            self.notices.send(notice)
        else:
            self.outbox.append(notice)

    def _step(
        self, action: str, actor: str, data: dict[str, Any], at: datetime | None = None
    ) -> None:
        state = self.state
        state.seq += 1
        state.updated_at = workflow.now()
        state.timeline.append(TimelineEntry(state.seq, at or state.updated_at, action, actor, data))

    async def _project(self) -> None:
        await workflow.execute_local_activity(
            PROJECT_COMPLAINT, self.state, start_to_close_timeout=PROJECTION_TIMEOUT
        )
