"""One maintenance contract, alive until it ends (R31, R32, R35): at each event of its calendar
(models/contract.py) it opens the inspection, follow-up or renewal job at the customer's site,
tells the customer in advance and a month before the end, and warns the sales director before
free maintenance ends. Renewals, terminations and new schedules arrive as the `change` update
and move what is still to come; what was done stays done (each event once, by its key).

Workflow timers, not Temporal Schedules: a contract's events depend on its own state (its end,
its termination, its schedule), are few (a couple a month), and must each happen once and
in order; a worker that was down finds the due timers fired and catches up in order.
Deterministic, sandbox-safe.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.customer_notices import deliver

with workflow.unsafe.imports_passed_through():
    from models.contract import (
        JOBS,
        ContractChange,
        ContractEvent,
        ContractTerms,
        EventKind,
        changed,
        ends_at,
        events,
        fires_at,
        repair_clock,
    )
    from models.lifecycle import SYSTEM_ACTOR
    from models.messages import SMS, CustomerNotice, Milestone, OutgoingMessage, StaffNotice
    from models.refusals import Refused, refuse
    from models.ticket import CallIn, TicketStart

# The activities and the workflow type it uses, by name (activities/notify.py, workflows/ticket.py).
SEND_MESSAGE, NOTIFY_STAFF, TICKET_WORKFLOW = "send_message", "notify_staff", "Ticket"
NOTICE_TIMEOUT = timedelta(seconds=30)
# Contracts started before their customer's notices went in the customer's language and way
# (issue 14) send them as before, by SMS in English.
CUSTOMER_NOTICES = "contract-customer-notices"
NOTICE_RETRY = RetryPolicy(maximum_interval=timedelta(minutes=5))


@dataclass
class Happened:
    """One event carried out: when, and what came of it (the job's ticket, the message)."""

    key: str
    kind: str
    on: date
    at: datetime
    ticket_id: str | None = None
    missed: bool = False
    """Fell due before the workflow was started (at an upgrade), past the catch-up window."""


@dataclass
class ContractState:
    terms: ContractTerms
    done: list[Happened] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    """Who changed the contract, how, and when (renew, terminate, reschedule)."""


@dataclass
class ContractStart:
    terms: ContractTerms
    since: datetime | None = None
    """Events that fell due before this are recorded as missed, not carried out (a contract
    whose workflow starts late); those after it are caught up at once, in order."""
    resumed: ContractState | None = None


def contract_workflow_id(uid: str) -> str:
    return f"contract-{uid}"


def job_ticket_id(uid: str, event: ContractEvent) -> str:
    """The ticket id of an event's job: the same for the same event, never a second job."""
    return f"contract-{uid}-{event.key}"


@workflow.defn(name="Contract")
class ContractWorkflow:
    @workflow.init
    def __init__(self, start: ContractStart) -> None:
        self.state = start.resumed or ContractState(start.terms)
        self.version = 0

    @workflow.run
    async def run(self, start: ContractStart) -> ContractState:
        if start.resumed is None and start.since is not None:
            for event in self.pending():
                if fires_at(self.state.terms, event) < start.since:
                    missed = Happened(event.key, event.kind, event.on, workflow.now(), missed=True)
                    self.state.done.append(missed)
        while True:
            terms = self.state.terms
            pending = self.pending()
            if not pending:
                if workflow.now() >= ends_at(terms) or await self._until(ends_at(terms)):
                    break
                continue
            event = pending[0]
            if not await self._until(fires_at(terms, event)):
                continue  # the contract changed: compute its calendar again
            await self._carry_out(event)
            if workflow.info().is_continue_as_new_suggested():
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(replace(start, resumed=self.state))
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.state

    def pending(self) -> list[ContractEvent]:
        done = {happened.key for happened in self.state.done}
        return [event for event in events(self.state.terms) if event.key not in done]

    async def _until(self, instant: datetime) -> bool:
        """True once `instant` has come; False as soon as the contract changes before."""
        version = self.version
        delay = instant - workflow.now()
        if delay <= timedelta(0):
            return True
        try:
            await workflow.wait_condition(lambda: self.version != version, timeout=delay)
        except TimeoutError:
            return True
        return False

    async def _carry_out(self, event: ContractEvent) -> None:
        terms, kind = self.state.terms, EventKind(event.kind)
        happened = Happened(event.key, event.kind, event.on, workflow.now())
        if kind in JOBS:
            happened.ticket_id = await self._open_job(event)
        if kind in (EventKind.VISIT_NOTICE, EventKind.EXPIRY_NOTICE):
            await self._tell_customer(event)
        if kind == EventKind.SALES_WARNING:
            assert terms.free_maintenance_until is not None
            notice = StaffNotice(
                key=f"contract:{terms.uid}:{event.key}",
                roles=["sales"],
                subject=f"Free maintenance of contract {terms.number} ends in three months",
                body=(
                    f"{terms.customer.name}'s free maintenance under contract {terms.number} "
                    f"({terms.product.model}, {terms.product.serial_no}) ends on "
                    f"{terms.free_maintenance_until.isoformat()} (R31)."
                ),
            )
            await workflow.execute_activity(
                NOTIFY_STAFF,
                notice,
                start_to_close_timeout=NOTICE_TIMEOUT,
                retry_policy=NOTICE_RETRY,
                result_type=int,
            )
        self.state.done.append(happened)

    async def _open_job(self, event: ContractEvent) -> str:
        """R31, R32: an internal job at the customer's site, queued for dispatch."""
        terms = self.state.terms
        ticket_id = job_ticket_id(terms.uid, event)
        what = {
            EventKind.INSPECTION: "preventive inspection (R32); checklist: "
            + ("; ".join(terms.checklist) or "none"),
            EventKind.FOLLOW_UP: "quarterly follow-up visit (R32)",
            EventKind.RENEWAL_VISIT: f"renewal visit: the contract ends on {terms.ends_on} (R31)",
        }[EventKind(event.kind)]
        start = TicketStart(
            ticket_id=ticket_id,
            call_in=CallIn(
                customer=terms.customer,
                product=terms.product,
                zone=terms.zone,
                problem=f"Contract {terms.number}: {what}",
                channel="internal",
            ),
            registered_by=SYSTEM_ACTOR,
            terms=terms.billing,
            fingerprint=ticket_id,
            service_type="internal",
            checklist=list(terms.checklist) if event.kind == EventKind.INSPECTION else None,
            repair_clock=repair_clock(terms) if event.kind == EventKind.INSPECTION else None,
            branch=terms.branch,
        )
        try:
            await workflow.start_child_workflow(
                TICKET_WORKFLOW,
                start,
                id=f"ticket-{ticket_id}",
                parent_close_policy=workflow.ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # opened before (this event's job is this ticket)
        return ticket_id

    async def _tell_customer(self, event: ContractEvent) -> None:
        """R35: what will be done and when; R31: the contract ends in a month. In the
        customer's language, the way their record says (issue 14)."""
        terms = self.state.terms
        if workflow.patched(CUSTOMER_NOTICES):
            await deliver(self._notice(event))
            return
        if event.kind == EventKind.EXPIRY_NOTICE:
            subject = f"Your maintenance contract {terms.number} ends on {terms.ends_on}"
            body = f"{subject}. We will visit to renew it; call us to arrange another day."
        else:
            inspection = event.visit_kind == EventKind.INSPECTION
            visit = "preventive inspection" if inspection else "follow-up visit"
            assert event.visit_on is not None
            subject = f"Contract {terms.number}: {visit} of your {terms.product.model}"
            checks = f" We will check: {'; '.join(terms.checklist)}." if inspection else ""
            body = (
                f"Our technician comes for the {visit} of your {terms.product.model} on "
                f"{event.visit_on.isoformat()}.{checks} The system may be out of service for "
                "up to an hour while it is checked; call us to arrange another day."
            )
        message = OutgoingMessage(
            f"contract:{terms.uid}:{event.key}", SMS, terms.customer.phone, subject, body
        )
        await workflow.execute_activity(
            SEND_MESSAGE,
            message,
            start_to_close_timeout=NOTICE_TIMEOUT,
            retry_policy=NOTICE_RETRY,
            result_type=str,
        )

    def _notice(self, event: ContractEvent) -> CustomerNotice:
        terms = self.state.terms
        texts = {
            "customer": terms.customer.name,
            "contract": terms.number,
            "product": terms.product.model,
        }
        dates = {"ends_on": terms.ends_on}
        if event.kind == EventKind.EXPIRY_NOTICE:
            milestone = Milestone.CONTRACT_EXPIRY
        else:
            assert event.visit_on is not None
            dates = {"visit_on": event.visit_on}
            milestone = Milestone.FOLLOW_UP_NOTICE
            if event.visit_kind == EventKind.INSPECTION:
                milestone = Milestone.INSPECTION_NOTICE
                texts["checks"] = "; ".join(terms.checklist)
        return CustomerNotice(
            key=f"contract:{terms.uid}:{event.key}",
            milestone=milestone.value,
            customer_id=terms.customer_id,
            phone=terms.customer.phone,
            email=terms.customer.email,
            texts=texts,
            timezone=terms.calendar.timezone,
            dates=dates,
        )

    @workflow.update
    async def change(self, change: ContractChange) -> ContractState:
        """A renewal or extension, an early termination, or a new schedule: what is still to
        come moves with it; what was done stays done."""
        self.state.terms = self._changed(change)
        self.state.changes.append(f"{workflow.now().isoformat()} {change.actor}: {change.kind}")
        self.version += 1
        return self.state

    @change.validator
    def _validate_change(self, change: ContractChange) -> None:
        self._changed(change)

    def _changed(self, change: ContractChange) -> ContractTerms:
        try:
            return changed(self.state.terms, change, workflow.now())
        except Refused as refusal:
            raise refuse(refusal.message, refusal.type) from None

    @workflow.query(name="contract")
    def contract_query(self) -> ContractState:
        return self.state

    @workflow.query(name="upcoming")
    def upcoming_query(self) -> list[ContractEvent]:
        return self.pending()
