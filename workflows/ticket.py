"""The ticket workflow: one repair ticket from call-in to closure (R3–R11, R21).

Deterministic and sandbox-safe: it decides with the lifecycle machine from `models/` and has
activities do every write. Human steps arrive as the `act` update, refused by its validator
(leaving no trace in history) when the machine, the payload or the actor's role says no.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy, SearchAttributeKey
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

    from activities.billing import BillingActivities
    from activities.projection import ProjectionActivities
    from models.actions import ACTION_BODIES
    from models.lifecycle import (
        TERMINAL,
        Action,
        Status,
        TransitionRefused,
        allowed_actions,
        next_status,
    )
    from models.pricing import job_fee, money
    from models.roles import acting_for, refusal
    from models.ticket import (
        ActionRequest,
        InvoiceRequest,
        Payment,
        ProductReceipt,
        Projection,
        RegisterRequest,
        Registration,
        RepairRound,
        TicketStart,
        TicketState,
        TimelineEntry,
    )

SYSTEM_ACTOR = "system"
PROJECTION_TIMEOUT = timedelta(seconds=30)
INVOICE_TIMEOUT = timedelta(seconds=20)  # longer than the SQLite lock wait (models/db.py)
ON_SITE_METHOD = "collected_on_site"

# Search attributes: the Temporal Web UI filters tickets by these (registered by the worker).
STATUS_KEY = SearchAttributeKey.for_keyword("TicketStatus")
TECHNICIAN_KEY = SearchAttributeKey.for_keyword("Technician")
ZONE_KEY = SearchAttributeKey.for_keyword("Zone")
SERVICE_TYPE_KEY = SearchAttributeKey.for_keyword("ServiceType")
SEARCH_ATTRIBUTE_KEYS = (STATUS_KEY, TECHNICIAN_KEY, ZONE_KEY, SERVICE_TYPE_KEY)

# Error types the API translates to HTTP answers.
INVALID_TRANSITION = "InvalidTransition"
FORBIDDEN = "Forbidden"
INVALID_PAYLOAD = "InvalidPayload"
IDEMPOTENCY_KEY_REUSED = "IdempotencyKeyReused"


def _refuse(message: str, error_type: str, **details: Any) -> ApplicationError:
    return ApplicationError(message, details, type=error_type, non_retryable=True)


@workflow.defn(name="Ticket")
class TicketWorkflow:
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
        )
        self.registered_by = start.registered_by
        self.lock = asyncio.Lock()
        self.published: dict[str, str] = {}

    @workflow.run
    async def run(self, start: TicketStart) -> TicketState:
        if start.resumed is None:
            async with self.lock:
                await self._register()
        await workflow.wait_condition(
            lambda: self.state.status in TERMINAL or workflow.info().is_continue_as_new_suggested()
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.status not in TERMINAL:
            workflow.continue_as_new(replace(start, resumed=self.state))
        return self.state

    async def _register(self) -> None:
        """R2, R3: number the ticket and decide its service type, in one projection."""
        state = self.state
        entry = self._step("call_in", self.registered_by, asdict(state.call_in), Status.REGISTERED)
        registration: Registration = await workflow.execute_local_activity_method(
            ProjectionActivities.register_ticket,
            Projection(state, entry),
            start_to_close_timeout=PROJECTION_TIMEOUT,
        )
        state.number = registration.number
        state.service_type = registration.service_type
        state.evidence = registration.evidence
        state.covers_labor = registration.covers_labor
        state.covers_parts = registration.covers_parts
        entry.data.update(service_type=state.service_type, evidence=state.evidence)
        self._upsert_search_attributes()

    @workflow.query
    def state_query(self) -> TicketState:
        return self.state

    @workflow.update
    async def register(self, request: RegisterRequest) -> TicketState:
        """R3: answers the call-in with the ticket, however many times the call is sent."""
        await workflow.wait_condition(lambda: self.state.number is not None)
        return self.state

    @register.validator
    def _validate_register(self, request: RegisterRequest) -> None:
        if request.fingerprint != self.state.fingerprint:
            raise _refuse(
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
            return self.state

    @act.validator
    def _validate_act(self, request: ActionRequest) -> None:
        state = self.state
        if state.number is None:
            raise _refuse(
                "the ticket is still being registered",
                INVALID_TRANSITION,
                status=state.status,
                allowed_actions=[],
            )
        body = ACTION_BODIES.get(request.action)
        if body is None or state.status in TERMINAL:
            self._refuse_transition(request.action)
        try:
            next_status(state.status, request.action)
        except TransitionRefused:
            self._refuse_transition(request.action)
        if why := refusal(request.action, request.actor, request.roles, state.technician):
            raise _refuse(why, FORBIDDEN)
        try:
            body.model_validate(request.data)  # type: ignore[union-attr]
        except ValidationError as invalid:
            raise _refuse(
                f"invalid '{request.action}' request",
                INVALID_PAYLOAD,
                errors=invalid.errors(include_url=False, include_context=False),
            ) from None
        self._validate_facts(request)

    def _validate_facts(self, request: ActionRequest) -> None:
        """Refusals that depend on the ticket's facts, not only on its status."""
        state, data = self.state, request.data
        match request.action:
            case Action.RECORD_PAYMENT:
                outstanding = state.amount_due - state.amount_paid
                if Decimal(str(data["amount"])) > outstanding:
                    raise _refuse(
                        f"the payment exceeds the outstanding {outstanding}",
                        INVALID_PAYLOAD,
                        outstanding=str(outstanding),
                    )
            case Action.RESOLVE if data.get("collected_on_site"):
                fee, limit = self._fee(data), state.terms.small_fee_threshold
                if fee > limit:
                    raise _refuse(
                        f"a fee of {fee} is above the on-site collection limit of {limit}; "
                        "it is invoiced instead (R6)",
                        INVALID_PAYLOAD,
                        fee=str(fee),
                    )
            case Action.CARRY_IN:
                if datetime.fromisoformat(str(data["promised_by"])) <= workflow.now():
                    raise _refuse(
                        "promised_by must be in the future (R10)",
                        INVALID_PAYLOAD,
                        promised_by=str(data["promised_by"]),
                    )

    def _refuse_transition(self, action: str) -> None:
        status = self.state.status
        raise _refuse(
            f"action '{action}' is not allowed while the ticket is '{status}'",
            INVALID_TRANSITION,
            status=status,
            allowed_actions=allowed_actions(status),
        )

    def _fee(self, data: dict[str, Any]) -> Decimal:
        state = self.state
        return job_fee(
            data["labor_minutes"],
            data.get("parts", []),
            state.terms.hourly_rate,
            state.service_type,
            covers_labor=state.covers_labor,
            covers_parts=state.covers_parts,
        )

    def _next_status(self, request: ActionRequest) -> Status:
        paid = self.state.amount_paid
        if request.action == Action.RECORD_PAYMENT:
            paid += Decimal(str(request.data["amount"]))
        return next_status(
            self.state.status,
            request.action,
            inspection_passed=bool(request.data.get("passed")),
            fully_paid=paid >= self.state.amount_due,
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
            case Action.RESOLVE:
                fee = self._fee(data)
                data["fee"] = str(fee)
                await self._bill(fee, [self._line("on-site repair", data, fee)], now)
                if data.get("collected_on_site") and fee > 0:
                    self._pay(fee, ON_SITE_METHOD, request.actor, now)
            case Action.CARRY_IN:
                promised_by = datetime.fromisoformat(data["promised_by"])
                state.receipt = ProductReceipt(f"PR-{state.number}", now, promised_by)
                data["receipt"] = state.receipt.number
            case Action.RECORD_REPAIR:
                fee = self._fee(data)
                state.repair_rounds.append(
                    RepairRound(
                        len(state.repair_rounds) + 1,
                        data["labor_minutes"],
                        data.get("parts", []),
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
                # R8, R9: the receipt is voided and the carry-in repair invoiced on return.
                assert state.receipt is not None
                state.receipt.voided_at = now
                lines = [
                    self._line(f"workshop repair, round {r.round}", asdict(r), r.fee)
                    for r in state.repair_rounds
                ]
                await self._bill(sum((r.fee for r in state.repair_rounds), Decimal(0)), lines, now)
                data["receipt_voided"] = state.receipt.number
            case Action.RECORD_PAYMENT:
                self._pay(Decimal(str(data["amount"])), data["method"], request.actor, now)
        if state.invoice is not None and request.action in (Action.RESOLVE, Action.RETURN):
            data["invoice"] = state.invoice.number
        await self._project(self._step(request.action, request.actor, data, status))
        if state.status is Status.RESOLVED and state.amount_paid >= state.amount_due:
            # Nothing (left) to pay: the ticket closes by itself.
            await self._project(self._step(Action.CLOSE, SYSTEM_ACTOR, {}, Status.CLOSED))

    def _line(self, what: str, work: dict[str, Any], fee: Decimal) -> dict[str, Any]:
        return {
            "description": what,
            "labor_minutes": work["labor_minutes"],
            "parts": work.get("parts", []),
            "amount": str(fee),
        }

    async def _bill(self, amount: Decimal, lines: list[dict[str, Any]], now: datetime) -> None:
        """R6, R9, R21: a chargeable job gets its invoice now, exactly once."""
        state = self.state
        state.amount_due = money(state.amount_due + amount)
        if amount <= 0 or state.invoice is not None:
            return
        assert state.number is not None
        state.invoice = await workflow.execute_activity_method(
            BillingActivities.issue_invoice,
            InvoiceRequest(state.ticket_id, state.number, money(amount), lines, now),
            start_to_close_timeout=INVOICE_TIMEOUT,
            retry_policy=RetryPolicy(maximum_interval=timedelta(seconds=30)),
        )

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
        state.timeline.append(entry)
        return entry

    def _upsert_search_attributes(self) -> None:
        """Publishes what changed since the last upsert (each upsert is a history event)."""
        state = self.state
        current = {
            STATUS_KEY: state.status.value,
            ZONE_KEY: state.call_in.zone,
            SERVICE_TYPE_KEY: state.service_type,
            TECHNICIAN_KEY: state.technician,
        }
        changed = [
            key.value_set(value)
            for key, value in current.items()
            if value is not None and self.published.get(key.name) != value
        ]
        if changed:
            workflow.upsert_search_attributes(changed)
            self.published.update({k.name: v for k, v in current.items() if v is not None})

    async def _project(self, entry: TimelineEntry) -> None:
        self._upsert_search_attributes()
        await workflow.execute_local_activity_method(
            ProjectionActivities.project_step,
            Projection(self.state, entry),
            start_to_close_timeout=PROJECTION_TIMEOUT,
        )
