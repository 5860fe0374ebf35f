"""The ticket workflow: one repair ticket from call-in to closure (R3–R11, R21), keeping
its promises about time with durable timers (R10, R12–R16), its money under the approvals of
its work order (R17–R20, workflows/work_order.py) and starting its survey (R22).

Deterministic and sandbox-safe: it decides with the lifecycle machine from `models/` and has
activities do every write. Human steps arrive as the `act` update, refused by its validator
(leaving no trace in history) when the machine, the payload or the actor's role says no.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.workflow import ParentClosePolicy

from workflows.customer_notices import CustomerNotices
from workflows.escalations import InFlight, Notices
from workflows.timing import passes_before
from workflows.work_order import DecisionRequest, WorkOrderSteps

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from models.actions import ACTION_BODIES, MAX_PAYMENTS, MAX_REPAIR_ROUNDS
    from models.approvals import DECIDE_UPDATE, Approval
    from models.deadlines import arrival_deadline, resume
    from models.documents import DocumentKind
    from models.entitlement import ServiceType
    from models.escalation import (
        ACKNOWLEDGE_UPDATE,
        AcknowledgeRequest,
        Escalation,
        EscalationKind,
        new_escalation,
        ticket_notice,
        to_acknowledge,
    )
    from models.followup import SurveyStart
    from models.lifecycle import (
        BEFORE_ARRIVAL,
        DONE_FOR_THE_DAY,
        IN_WORKSHOP,
        SYSTEM_ACTOR,
        TERMINAL,
        WORK_ORDER_ACTIONS,
        Action,
        Status,
        TransitionRefused,
        allowed_actions,
        next_status,
        refusal_message,
    )
    from models.messages import CustomerNotice, Milestone, NotifyTerms
    from models.pricing import amount_refusal, job_fee, money
    from models.refusals import (
        FORBIDDEN,
        IDEMPOTENCY_KEY_REUSED,
        INVALID_PAYLOAD,
        INVALID_TRANSITION,
        refuse,
    )
    from models.roles import acting_for, refusal
    from models.ticket import (
        ActionRequest,
        Hold,
        Inspection,
        Invoice,
        InvoiceRequest,
        Payment,
        ProductReceipt,
        Projection,
        RegisterRequest,
        Registration,
        RepairRound,
        SurveyTerms,
        TicketStart,
        TicketState,
        TimelineEntry,
    )
    from models.work_order import WorkOrder, customer_part

PROJECTION_TIMEOUT = timedelta(seconds=30)
INVOICE_TIMEOUT = timedelta(seconds=20)  # longer than the SQLite lock wait (core/db.py)
ON_SITE_METHOD = "collected_on_site"
# Patches: tickets started before these changes replay without them.
DEADLINES_PATCH = "deadlines-and-escalations"
SURVEY_PATCH = "survey-card"
INTERNAL_JOBS_PATCH = "internal-jobs-without-customer-deadlines"
WORK_ORDER_PATCH = "work-orders-and-approvals"
CUSTOMER_NOTICES_PATCH = "customer-notices"
# A ticket started since this marker has every patch above without a marker of each (a patch
# costs two history events, its marker and the SDK's TemporalChangeVersion upsert), and
# resolves without waiting for its survey card to start: the step and the close it leads to
# are projected together.
LEAN_HISTORY_PATCH = "lean-history"
# The newest steps the state keeps (all are in the read model): continue-as-new carries the
# state, and a payload must stay far below Temporal's limit however long a ticket lives.
TIMELINE_KEPT = 100

# The activities it has run (activities/), by name: workflows do not import them.
REGISTER_TICKET, PROJECT_STEP, ISSUE_INVOICE = "register_ticket", "project_step", "issue_invoice"
K = EscalationKind

# Search attributes: the Temporal Web UI filters tickets by these (registered by the worker).
STATUS_KEY = SearchAttributeKey.for_keyword("TicketStatus")
TECHNICIAN_KEY = SearchAttributeKey.for_keyword("Technician")
ZONE_KEY = SearchAttributeKey.for_keyword("Zone")
SERVICE_TYPE_KEY = SearchAttributeKey.for_keyword("ServiceType")
PENDING_APPROVALS_KEY = SearchAttributeKey.for_keyword_list("PendingApprovals")
"""The kinds of the ticket's undecided approvals (R17-R20)."""
SEARCH_ATTRIBUTE_KEYS = (
    STATUS_KEY,
    TECHNICIAN_KEY,
    ZONE_KEY,
    SERVICE_TYPE_KEY,
    PENDING_APPROVALS_KEY,
)


@workflow.defn(name="Ticket")
class TicketWorkflow(WorkOrderSteps):
    @workflow.init
    def __init__(self, start: TicketStart) -> None:
        now = workflow.now()
        self.state = start.resumed or TicketState(
            ticket_id=start.ticket_id,
            call_in=start.call_in,
            service_type=start.service_type,
            terms=start.terms,
            fingerprint=start.fingerprint,
            created_at=now,
            updated_at=now,
            timezone=start.clock.calendar.timezone if start.clock else "UTC",
            branch=start.branch,
        )
        if start.resumed is None and start.checklist:
            self.state.inspection = Inspection(
                list(start.checklist), repair_clock=start.repair_clock
            )
        self.registered_by = start.registered_by
        self.clock = start.clock
        self.survey_terms = start.survey or SurveyTerms()
        self.lock = asyncio.Lock()
        self.published: dict[str, Any] = {}
        self.deadlines = False
        self.clock_changes = 0
        self.notices = Notices()
        self.customer_notices = CustomerNotices()
        self.notify: NotifyTerms | None = None
        self.watchers: list[asyncio.Task[None]] = []
        self.lean = False
        self.followups = InFlight()

    @workflow.run
    async def run(self, start: TicketStart) -> TicketState:
        self.lean = workflow.patched(LEAN_HISTORY_PATCH)
        self.deadlines = self.clock is not None and self._patched(DEADLINES_PATCH)
        if (
            self.deadlines
            and start.service_type == ServiceType.INTERNAL
            and self._patched(INTERNAL_JOBS_PATCH)
        ):
            self.deadlines = False  # R1: an internal job makes no promise to a customer
        if (
            start.notify is not None
            and start.service_type != ServiceType.INTERNAL
            and start.call_in.customer.is_someone
            and self._patched(CUSTOMER_NOTICES_PATCH)
        ):
            self.notify = start.notify
        if start.resumed is None:
            if start.approval_terms is not None and self._patched(WORK_ORDER_PATCH):
                self.state.work_order = WorkOrder(start.approval_terms)
            async with self.lock:
                await self._register()
            self._tell_customer(Milestone.REGISTERED)
        self._watch()
        self._watch_approvals()
        await workflow.wait_condition(
            lambda: (
                (self.state.status in TERMINAL and not self._open_escalations())
                or workflow.info().is_continue_as_new_suggested()
            )
        )
        await workflow.wait_condition(
            lambda: (
                workflow.all_handlers_finished()
                and self.notices.settled()
                and self.customer_notices.settled()
                and self.followups.settled()
            )
        )
        if self.state.status not in TERMINAL or self._open_escalations():
            workflow.continue_as_new(replace(start, resumed=self.state))
        return self.state

    def _patched(self, patch: str) -> bool:
        return self.lean or workflow.patched(patch)

    async def _register(self) -> None:
        """R2, R3: number the ticket and decide its service type, in one projection."""
        state = self.state
        entry = self._step("call_in", self.registered_by, asdict(state.call_in), Status.REGISTERED)
        if self.deadlines:
            assert self.clock is not None
            # R12: fixed at call-in from the zone's terms then in force.
            deadline = arrival_deadline(self.clock, state.created_at)
            state.arrival_due_at, state.arrival_warning_at = deadline.due_at, deadline.warning_at
            entry.data.update(arrival_due_at=state.arrival_due_at.isoformat())
        registration = await workflow.execute_local_activity(
            REGISTER_TICKET,
            Projection(state, entry),
            start_to_close_timeout=PROJECTION_TIMEOUT,
            result_type=Registration,
        )
        state.number = registration.number
        state.service_type = registration.service_type
        state.evidence = registration.evidence
        state.covers_labor = registration.covers_labor
        state.covers_parts = registration.covers_parts
        state.customer_id = registration.customer_id
        entry.data.update(service_type=state.service_type, evidence=state.evidence)
        self._upsert_search_attributes()

    @workflow.query
    def state_query(self) -> TicketState:
        return self.state

    def _answer(self) -> TicketState:
        """The state as updates answer with it: without the timeline, so an answer does not
        grow with the ticket's age (the timeline is in the read model)."""
        return replace(self.state, timeline=[])

    @workflow.update
    async def register(self, request: RegisterRequest) -> TicketState:
        """R3: answers the call-in with the ticket, however many times the call is sent."""
        await workflow.wait_condition(lambda: self.state.number is not None)
        return self._answer()

    @register.validator
    def _validate_register(self, request: RegisterRequest) -> None:
        if request.fingerprint != self.state.fingerprint:
            raise refuse(
                "this Idempotency-Key was already used for a different call-in",
                IDEMPOTENCY_KEY_REUSED,
                ticket_id=self.state.ticket_id,
            )

    @workflow.update
    async def act(self, request: ActionRequest) -> TicketState:
        """One human step of the lifecycle (R4–R9)."""
        async with self.lock:
            # Another step may have landed between this one's validation and now.
            self._validate_act(request)
            await self._apply(request)
            return self._answer()

    @act.validator
    def _validate_act(self, request: ActionRequest) -> None:
        state = self.state
        if state.number is None:
            raise refuse(
                "the ticket is still being registered",
                INVALID_TRANSITION,
                status=state.status,
                allowed_actions=[],
            )
        body = ACTION_BODIES.get(request.action)
        if body is None or state.status in TERMINAL:
            self._refuse_transition(request.action)
        try:
            next_status(state.status, request.action, facts=state.facts())
        except TransitionRefused:
            self._refuse_transition(request.action)
        if why := refusal(request.action, request.actor, request.roles, state.technician):
            raise refuse(why, FORBIDDEN)
        try:
            body.model_validate(request.data)  # type: ignore[union-attr]
        except ValidationError as invalid:
            raise refuse(
                f"invalid '{request.action}' request",
                INVALID_PAYLOAD,
                errors=invalid.errors(
                    include_url=False, include_context=False, include_input=False
                ),
            ) from None
        self._validate_facts(request)
        self._check_work_order(request)

    def _validate_facts(self, request: ActionRequest) -> None:
        """Refusals that depend on the ticket's facts, not only on its status."""
        state, data = self.state, request.data
        match request.action:
            case Action.RECORD_PAYMENT:
                outstanding = state.amount_due - state.amount_paid
                if Decimal(str(data["amount"])) > outstanding:
                    raise refuse(
                        f"the payment exceeds the outstanding {outstanding}",
                        INVALID_PAYLOAD,
                        outstanding=str(outstanding),
                    )
                if len(state.payments) >= MAX_PAYMENTS:
                    raise refuse(
                        f"a ticket takes at most {MAX_PAYMENTS} payments (R21)", INVALID_PAYLOAD
                    )
            case Action.RESOLVE:
                fee = self._fee(data)
                self._check_amounts(data, state.amount_due + fee)
                self._check_invoice(fee, data["labor_minutes"], data)
                limit = state.terms.small_fee_threshold
                if data.get("collected_on_site") and fee > limit:
                    raise refuse(
                        f"a fee of {fee} is above the on-site collection limit of {limit}; "
                        "it is invoiced instead (R6)",
                        INVALID_PAYLOAD,
                        fee=str(fee),
                    )
            case Action.RECORD_REPAIR:
                if len(state.repair_rounds) >= MAX_REPAIR_ROUNDS:
                    raise refuse(
                        f"the repair card is full: {MAX_REPAIR_ROUNDS} rounds (R8)",
                        INVALID_PAYLOAD,
                    )
                billed = sum((r.fee for r in state.repair_rounds), state.amount_due)
                self._check_amounts(data, billed + self._fee(data))
            case Action.RETURN:
                _, amount, labor_minutes = self._return_lines()
                self._check_invoice(amount, labor_minutes, data)
            case Action.RECORD_INSPECTION:
                assert state.inspection is not None
                self._check_checklist(state.inspection.checklist, data["items"])
            case Action.CARRY_IN | Action.PROMISE:
                if datetime.fromisoformat(str(data["promised_by"])) <= workflow.now():
                    raise refuse(
                        "promised_by must be in the future (R10, R15)",
                        INVALID_PAYLOAD,
                        promised_by=str(data["promised_by"]),
                    )

    @staticmethod
    def _check_checklist(checklist: list[str], items: list[dict[str, Any]]) -> None:
        """R32: every item of the checklist, once, and nothing else."""
        given = [item["item"] for item in items]
        missing = [item for item in checklist if item not in given]
        extra = [item for item in given if item not in checklist or given.count(item) > 1]
        if missing or extra:
            why = "each item of the checklist once: " + "; ".join(checklist)
            raise refuse(
                why,
                INVALID_PAYLOAD,
                errors=[{"loc": ["items"], "msg": why, "type": "value_error"}],
                missing=missing,
                unexpected=sorted(set(extra)),
            )

    def _check_amounts(self, data: dict[str, Any], ticket_total: Decimal) -> None:
        """R21: no line and no ticket above the policy's limits in force at call-in."""
        terms = self.state.terms
        if over := amount_refusal(
            data["labor_minutes"],
            self._priced(data.get("parts", [])),
            terms.hourly_rate,
            max_line=terms.max_line_amount,
            max_ticket=terms.max_ticket_amount,
            ticket_total=ticket_total,
        ):
            where, why = over
            raise refuse(
                why,
                INVALID_PAYLOAD,
                errors=[{"loc": where.split("."), "msg": why, "type": "amount_too_large"}],
            )

    def _refuse_transition(self, action: str) -> None:
        status, hold, facts = self.state.status, self.state.hold, self.state.facts()
        raise refuse(
            refusal_message(status, action, facts, hold.reason if hold else None),
            INVALID_TRANSITION,
            status=status,
            allowed_actions=allowed_actions(status, facts),
        )

    def _fee(self, data: dict[str, Any]) -> Decimal:
        """R21: what the job or round costs the customer; R20: under warranty, their share
        of what a paid job would cost."""
        state, order = self.state, self.state.work_order
        service_type = state.service_type
        responsibility = order.responsibility if order else None
        if responsibility is not None and service_type == ServiceType.WARRANTY:
            service_type = ServiceType.PAID
        fee = job_fee(
            data["labor_minutes"],
            self._priced(data.get("parts", [])),
            state.terms.hourly_rate,
            service_type,
            covers_labor=state.covers_labor,
            covers_parts=state.covers_parts,
        )
        return customer_part(fee, responsibility) if responsibility is not None else fee

    def _return_lines(self) -> tuple[list[dict[str, Any]], Decimal, int]:
        """R8, R9, R19: what a returned product is invoiced for: its repair rounds, or the
        diagnosis of a declined quotation; and the labour it took."""
        state, order = self.state, self.state.work_order
        quotation = order.quotation if order else None
        if order is not None and quotation is not None and quotation.declined_at is not None:
            fee = order.terms.diagnosis_fee
            line = {"description": "diagnosis (quotation declined)", "amount": str(fee)}
            return [line], fee, 0
        lines = [
            self._line(f"workshop repair, round {r.round}", asdict(r), r.fee)
            for r in state.repair_rounds
        ]
        amount = sum((r.fee for r in state.repair_rounds), Decimal(0))
        return lines, amount, sum(r.labor_minutes for r in state.repair_rounds)

    def _next_status(self, request: ActionRequest) -> Status:
        paid = self.state.amount_paid
        if request.action == Action.RECORD_PAYMENT:
            paid += Decimal(str(request.data["amount"]))
        return next_status(
            self.state.status,
            request.action,
            inspection_passed=bool(request.data.get("passed")),
            fully_paid=paid >= self.state.amount_due,
            facts=self.state.facts(),
        )

    async def _apply(self, request: ActionRequest) -> None:
        state, data, now = self.state, dict(request.data), workflow.now()
        status = self._next_status(request)
        if on_behalf := acting_for(request.action, request.actor, request.roles, state.technician):
            data["acting_for"] = on_behalf
        match request.action:
            case Action.DISPATCH:
                data["previous_technician"] = state.technician
                state.technician = data["technician"]
                state.priority = 0
            case Action.RESOLVE:
                fee = self._fee(data)
                data.update(fee=str(fee), parts=self._priced(data.get("parts", [])))
                line = self._line("on-site repair", data, fee)
                billed = await self._charge(
                    fee, [line], data["labor_minutes"], request.actor, data, now
                )
                if state.work_order is not None:
                    state.work_order.used_on_site = data["parts"]
                if data.get("collected_on_site") and billed > 0:
                    self._pay(billed, ON_SITE_METHOD, request.actor, now)
            case Action.CARRY_IN:
                promised_by = datetime.fromisoformat(data["promised_by"])
                state.receipt = ProductReceipt(f"PR-{state.number}", now, promised_by)
                data["receipt"] = state.receipt.number
            case Action.RECORD_REPAIR:
                fee = self._fee(data)
                data["parts"] = self._priced(data.get("parts", []))
                state.repair_rounds.append(
                    RepairRound(
                        len(state.repair_rounds) + 1,
                        data["labor_minutes"],
                        data["parts"],
                        data["notes"],
                        request.actor,
                        now,
                        fee,
                    )
                )
                data.update(round=len(state.repair_rounds), fee=str(fee))
            case Action.INSPECT:
                current = state.repair_rounds[-1]
                current.inspection_passed = bool(data["passed"])
                current.inspection_notes = data["notes"]
                current.inspected_by, current.inspected_at = request.actor, now
                data["round"] = current.round
            case Action.RETURN:
                # R8, R9: the carry-in repair is invoiced on return and the receipt voided.
                assert state.receipt is not None
                lines, amount, labor_minutes = self._return_lines()
                await self._charge(amount, lines, labor_minutes, request.actor, data, now)
                state.receipt.voided_at = now
                data["receipt_voided"] = state.receipt.number
            case Action.RECORD_PAYMENT:
                self._pay(Decimal(str(data["amount"])), data["method"], request.actor, now)
            case Action.HOLD:
                state.hold = Hold(now, data["reason"], request.actor)
            case Action.RESUME:
                data.update(self._resume(now))
            case Action.PROMISE:
                state.resolution_promised_by = datetime.fromisoformat(data["promised_by"])
            case Action.RECORD_INSPECTION:
                data.update(await self._record_inspection(data["items"], request.actor, now))
            case _ if request.action in WORK_ORDER_ACTIONS:
                await self._work_order_step(request, data, now)
        if state.invoice is not None and request.action in (Action.RESOLVE, Action.RETURN):
            data["invoice"] = state.invoice.number
        entry = self._step(request.action, request.actor, data, status)
        resolved = status is Status.RESOLVED and request.action in (Action.RESOLVE, Action.RETURN)
        if self.lean:
            if resolved:
                self.followups.start(self._start_survey())
            closing = self._close_step()
            await self._project(closing or entry, earlier=[entry] if closing else [])
        else:
            await self._project(entry)
        self._tell_customer_of(request.action, status)
        if request.action == Action.CARRY_IN and self.deadlines:
            self._start_watch(self._watch_repair())
        if request.action == Action.PROMISE:
            self._report_promise()
        if not self.lean:
            if resolved:
                await self._start_survey()
            await self._close_if_paid()

    async def _record_inspection(
        self, items: list[dict[str, Any]], actor: str, now: datetime
    ) -> dict[str, Any]:
        """R32: the checklist's results; a fault opens a repair ticket for the customer's
        product, linked both ways (its problem names this inspection)."""
        state = self.state
        inspection = state.inspection
        assert inspection is not None
        inspection.results, inspection.recorded_by, inspection.recorded_at = items, actor, now
        faults = [item for item in items if item["result"] == "fault"]
        if not faults:
            return {"faults": 0}
        found = "; ".join(f"{item['item']}: {item.get('note') or 'fault'}" for item in faults)
        repair_id = f"repair-of-{state.ticket_id}"
        start = TicketStart(
            ticket_id=repair_id,
            call_in=replace(state.call_in, problem=f"Found by inspection {state.number}: {found}"),
            registered_by=SYSTEM_ACTOR,
            terms=state.terms,
            fingerprint=repair_id,
            clock=inspection.repair_clock,
            branch=state.branch,
        )
        try:
            await workflow.start_child_workflow(
                TicketWorkflow.run,
                start,
                id=f"ticket-{repair_id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # opened before: this fault's repair is that ticket
        inspection.repair_ticket = repair_id
        return {"faults": len(faults), "repair_ticket": repair_id}

    async def _close_if_paid(self) -> None:
        if closing := self._close_step():
            await self._project(closing)

    def _close_step(self) -> TimelineEntry | None:
        """Nothing (left) to pay on a resolved, invoiced ticket: it closes by itself."""
        state = self.state
        if (
            state.status is Status.RESOLVED
            and state.amount_paid >= state.amount_due
            and not state.facts().invoice_waiting
        ):
            return self._step(Action.CLOSE, SYSTEM_ACTOR, {}, Status.CLOSED)
        return None

    # --- R17-R20: approvals, decided by the roles the ticket's terms name ----------------

    @workflow.update(name=DECIDE_UPDATE)
    async def decide(self, request: DecisionRequest) -> Approval:
        async with self.lock:
            return await self._decide(request)

    @decide.validator
    def _validate_decide(self, request: DecisionRequest) -> None:
        self._validate_decision(request)

    # --- R16: escalations, acknowledged by their owners --------------------------------

    @workflow.update(name=ACKNOWLEDGE_UPDATE)
    async def acknowledge(self, request: AcknowledgeRequest) -> Escalation:
        async with self.lock:
            escalation = to_acknowledge(self.state.escalations, request)
            if escalation.is_open:
                escalation.acknowledged_at = workflow.now()
                escalation.acknowledged_by = request.actor
                data = {"escalation": escalation.id, "kind": escalation.kind}
                if request.note:
                    data["note"] = request.note
                await self._project(
                    self._step("acknowledge", request.actor, data, self.state.status)
                )
            return escalation

    @acknowledge.validator
    def _validate_acknowledge(self, request: AcknowledgeRequest) -> None:
        to_acknowledge(self.state.escalations, request)

    def _open_escalations(self) -> bool:
        return any(escalation.is_open for escalation in self.state.escalations)

    async def _escalate(
        self, kind: EscalationKind, raised_at: datetime, due_at: datetime | None, **details: Any
    ) -> Escalation:
        """Records the escalation on the ticket (a timeline step) and notifies its owners.
        `raised_at` is the instant of the missed promise, not when the worker got to it."""
        async with self.lock:
            escalation = self._record_escalation(kind, raised_at, due_at, details)
            data = {"escalation": escalation.id, "kind": kind.value, **details}
            await self._project(self._step("escalate", SYSTEM_ACTOR, data, self.state.status))
        self._notify(escalation)
        return escalation

    def _record_escalation(
        self,
        kind: EscalationKind,
        raised_at: datetime,
        due_at: datetime | None,
        details: dict[str, Any],
        owners: tuple[str, ...] | None = None,
    ) -> Escalation:
        """A new escalation on the ticket, projected with the next step."""
        state = self.state
        assert state.number is not None
        escalation = new_escalation(
            f"{state.number}-E{len(state.escalations) + 1}",
            kind,
            state.ticket_id,
            workflow.info().workflow_id,
            raised_at,
            due_at,
            details,
            owners,
        )
        state.escalations.append(escalation)
        return escalation

    def _notify(self, escalation: Escalation, key: str = "") -> None:
        state = self.state
        assert state.number is not None
        customer = state.call_in.customer.name
        self.notices.send(
            ticket_notice(escalation, state.number, customer, state.call_in.zone, key)
        )

    def _report_promise(self) -> None:
        """R15: the promised resolution time goes to the sales director with the report."""
        promised = self.state.resolution_promised_by
        assert promised is not None
        for escalation in self.state.escalations:
            if escalation.kind == K.UNRESOLVED_SAME_DAY:
                escalation.details["promised_by"] = promised.isoformat()
                escalation.due_at = promised
                self._notify(escalation, key=f":promise-{self.state.seq}")

    # --- R10, R12, R14, R15: deadlines kept by timers ------------------------------------

    def _watch(self) -> None:
        """Starts the timers that still matter (at registration, or after continue-as-new)."""
        if not self.deadlines:
            return
        self._start_watch(self._watch_arrival())
        self._start_watch(self._watch_working_day())
        if self.state.status in IN_WORKSHOP:
            self._start_watch(self._watch_repair())

    def _start_watch(self, work: Coroutine[Any, Any, None]) -> None:
        self.watchers.append(asyncio.create_task(work))

    def _raised(self, kind: EscalationKind) -> bool:
        return any(escalation.kind == kind for escalation in self.state.escalations)

    async def _watch_arrival(self) -> None:
        """R12: a warning at the policy's fraction of the arrival time, then the breach."""
        state = self.state
        while state.status in BEFORE_ARRIVAL and not self._raised(K.ARRIVAL_OVERDUE):
            if state.hold is not None:
                await workflow.wait_condition(
                    lambda: state.hold is None or state.status not in BEFORE_ARRIVAL
                )
                continue
            warned = self._raised(K.ARRIVAL_WARNING)
            assert state.arrival_due_at is not None and state.arrival_warning_at is not None
            kind = K.ARRIVAL_OVERDUE if warned else K.ARRIVAL_WARNING
            at = state.arrival_due_at if warned else state.arrival_warning_at
            if await passes_before(at, self._arrival_settled(self.clock_changes)):
                await self._escalate(kind, at, state.arrival_due_at, technician=state.technician)

    def _arrival_settled(self, clock_changes: int) -> Callable[[], bool]:
        """Whether the arrival timer being waited for no longer applies: the technician came,
        the ticket went on hold, or a resume moved the deadline."""
        state = self.state
        return lambda: (
            state.status not in BEFORE_ARRIVAL
            or state.hold is not None
            or self.clock_changes != clock_changes
        )

    async def _watch_working_day(self) -> None:
        """R14: undispatched at the end of its working day, a ticket is carried over to the top
        of the next day's list; R15: unresolved, it is reported to the sales director."""
        state, clock = self.state, self.clock
        assert clock is not None
        day_end = clock.calendar.day_end(state.created_at)
        if not await passes_before(day_end, lambda: state.status in DONE_FOR_THE_DAY):
            return
        next_start = clock.calendar.next_day_start(day_end)
        if state.status is Status.REGISTERED and not self._raised(K.CARRIED_OVER):
            state.carried_over_at, state.priority = day_end, 1
            await self._escalate(K.CARRIED_OVER, day_end, next_start)
        if state.status not in DONE_FOR_THE_DAY and not self._raised(K.UNRESOLVED_SAME_DAY):
            promised = state.resolution_promised_by
            await self._escalate(
                K.UNRESOLVED_SAME_DAY,
                day_end,
                promised or next_start,
                promised_by=promised.isoformat() if promised else None,
            )

    async def _watch_repair(self) -> None:
        """R10: a carry-in repair not done by its promised date goes to the director at once."""
        state = self.state
        assert state.receipt is not None
        promised_by = state.receipt.promised_by
        if await passes_before(promised_by, lambda: state.status not in IN_WORKSHOP):
            if not self._raised(K.REPAIR_OVERDUE):
                await self._escalate(
                    K.REPAIR_OVERDUE, promised_by, promised_by, receipt=state.receipt.number
                )

    def _resume(self, now: datetime) -> dict[str, Any]:
        """R12: the arrival deadline moves by the paused *working* time (models/deadlines.py)."""
        state, hold = self.state, self.state.hold
        assert hold is not None
        state.hold = None
        moved: dict[str, Any] = {"held_since": hold.since.isoformat()}
        if self.clock is None or state.arrival_due_at is None:
            return moved
        resumed = resume(
            self.clock,
            hold.since,
            now,
            state.arrival_due_at,
            state.arrival_warning_at,
            overdue=self._raised(K.ARRIVAL_OVERDUE),
        )
        moved["paused_working_minutes"] = resumed.paused.total_seconds() / 60
        if resumed.due_at is not None:
            state.arrival_due_at = resumed.due_at
            moved["arrival_due_at"] = state.arrival_due_at.isoformat()
        if resumed.warning_at is not None:
            state.arrival_warning_at = resumed.warning_at
        self.clock_changes += 1
        return moved

    # --- issue 14, R37: the customer hears of each milestone -----------------------------

    def _tell_customer_of(self, action: str, status: Status) -> None:
        if action == Action.DISPATCH:
            self._tell_customer(Milestone.DISPATCHED)
        elif action == Action.CARRY_IN:
            self._tell_customer(Milestone.RECEIVED)
        elif action == Action.INSPECT and status is Status.READY_FOR_RETURN:
            self._tell_customer(Milestone.READY)
        elif action == Action.PROMISE:
            self._tell_customer(Milestone.PROMISED)

    def _tell_customer(self, milestone: Milestone) -> None:
        """The milestone's message, with what it names; once per milestone (a promise and a
        dispatch once per step, they may come again)."""
        state, terms = self.state, self.notify
        if terms is None:
            return
        assert state.number is not None
        texts = {
            "customer": state.call_in.customer.name,
            "number": state.number,
            "product": state.call_in.product.model,
        }
        times: dict[str, datetime] = {}
        attach: list[str] = []
        key = f"notice:{state.ticket_id}:{milestone.value}"
        match milestone:
            case Milestone.REGISTERED if state.arrival_due_at is not None:
                times["arrival_due"] = state.arrival_due_at
            case Milestone.REGISTERED:
                return  # no deadline to tell
            case Milestone.DISPATCHED:
                texts["technician"] = state.technician or ""
                key += f":{state.seq}"
            case Milestone.RECEIVED:
                assert state.receipt is not None
                texts["receipt"] = state.receipt.number
                times["promised_by"] = state.receipt.promised_by
            case Milestone.INVOICED:
                assert state.invoice is not None
                texts.update(invoice=state.invoice.number, amount=f"{state.invoice.amount:.2f}")
                attach.append(DocumentKind.INVOICE.value)
            case Milestone.PROMISED:
                assert state.resolution_promised_by is not None
                times["promised_by"] = state.resolution_promised_by
                key += f":{state.seq}"
        customer = state.call_in.customer
        notice = CustomerNotice(
            key,
            milestone.value,
            state.customer_id,
            customer.phone,
            customer.email,
            texts,
            times,
            terms.timezone,
            ticket_id=state.ticket_id,
            attach=attach,
            currency=terms.currency,
        )
        self.customer_notices.send(terms, notice)

    # --- R22: every resolved ticket gets its survey card ---------------------------------

    async def _start_survey(self) -> None:
        state = self.state
        if state.service_type == ServiceType.INTERNAL or state.survey_started:
            return
        if not self._patched(SURVEY_PATCH):
            return
        assert state.number is not None
        try:
            await workflow.start_child_workflow(
                "Survey",
                SurveyStart(
                    state.ticket_id,
                    state.number,
                    state.call_in.customer,
                    state.call_in.product,
                    state.technician,
                    state.service_type,
                    workflow.now(),
                    self.survey_terms,
                    self.notify,
                ),
                id=f"survey-{state.ticket_id}",
                parent_close_policy=ParentClosePolicy.ABANDON,
            )
        except WorkflowAlreadyStartedError:
            pass  # a second resolution after a reopened job keeps the first card
        state.survey_started = True

    def _line(self, what: str, work: dict[str, Any], fee: Decimal) -> dict[str, Any]:
        return {
            "description": what,
            "labor_minutes": work["labor_minutes"],
            "parts": work.get("parts", []),
            "amount": str(fee),
        }

    async def _bill(self, amount: Decimal, lines: list[dict[str, Any]], now: datetime) -> None:
        """R6, R9, R21: a chargeable job gets its invoice now, exactly once. The state changes
        only once the invoice is there: a step whose invoice fails leaves no trace."""
        state = self.state
        if amount > 0 and state.invoice is None:
            assert state.number is not None
            state.invoice = await workflow.execute_activity(
                ISSUE_INVOICE,
                InvoiceRequest(
                    state.ticket_id, state.number, money(amount), lines, now, state.timezone
                ),
                start_to_close_timeout=INVOICE_TIMEOUT,
                retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
                result_type=Invoice,
            )
            self._tell_customer(Milestone.INVOICED)
        state.amount_due = money(state.amount_due + amount)

    def _pay(self, amount: Decimal, method: str, actor: str, now: datetime) -> None:
        state = self.state
        state.amount_paid = money(state.amount_paid + amount)
        state.payments.append(Payment(money(amount), method, actor, now))

    def _step(self, action: str, actor: str, data: dict[str, Any], status: Status) -> TimelineEntry:
        state = self.state
        state.seq += 1
        state.status = status
        state.updated_at = workflow.now()
        entry = TimelineEntry(state.seq, state.updated_at, action, actor, data)
        days = self.clock.calendar if self.clock else None
        state.milestones.step(action, status, state.updated_at, state.created_at, days)
        state.timeline.append(entry)
        del state.timeline[:-TIMELINE_KEPT]
        return entry

    def _upsert_search_attributes(self) -> None:
        """Publishes what changed since the last upsert (each upsert is a history event)."""
        state = self.state
        current: dict[Any, Any] = {
            STATUS_KEY: state.status.value,
            ZONE_KEY: state.call_in.zone,
            SERVICE_TYPE_KEY: state.service_type,
            TECHNICIAN_KEY: state.technician,
        }
        if state.work_order is not None:
            pending = sorted({approval.kind for approval in state.work_order.pending()})
            if pending or PENDING_APPROVALS_KEY.name in self.published:
                current[PENDING_APPROVALS_KEY] = pending
        changed = [
            key.value_set(value)
            for key, value in current.items()
            if value is not None and self.published.get(key.name) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self.published.update({k.name: v for k, v in current.items() if v is not None})

    async def _project(
        self, entry: TimelineEntry, earlier: list[TimelineEntry] | None = None
    ) -> None:
        """Projects `entry`, and the `earlier` entries of the same state."""
        self._upsert_search_attributes()
        await workflow.execute_local_activity(
            PROJECT_STEP,
            Projection(self.state, entry, earlier or []),
            start_to_close_timeout=PROJECTION_TIMEOUT,
        )
