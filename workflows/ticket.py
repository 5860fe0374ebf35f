"""The ticket workflow: one repair ticket from call-in to closure (R3–R9, R11).

Deterministic and sandbox-safe: it decides with the lifecycle machine from `models/` and has
activities do every write. Human steps arrive as the `act` update, refused by its validator
(leaving no trace in history) when the machine, the payload or the actor's role says no.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import ValidationError

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
        Projection,
        RegisterRequest,
        TicketStart,
        TicketState,
        TimelineEntry,
    )

SYSTEM_ACTOR = "system"
PROJECTION_TIMEOUT = timedelta(seconds=30)

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

    @workflow.run
    async def run(self, start: TicketStart) -> TicketState:
        if start.resumed is None:
            async with self.lock:
                call_in = asdict(self.state.call_in)
                entry = self._step("call_in", self.registered_by, call_in, Status.REGISTERED)
                self.state.number = await workflow.execute_local_activity_method(
                    ProjectionActivities.register_ticket,
                    Projection(self.state, entry),
                    start_to_close_timeout=PROJECTION_TIMEOUT,
                )
        await workflow.wait_condition(
            lambda: self.state.status in TERMINAL or workflow.info().is_continue_as_new_suggested()
        )
        await workflow.wait_condition(workflow.all_handlers_finished)
        if self.state.status not in TERMINAL:
            workflow.continue_as_new(replace(start, resumed=self.state))
        return self.state

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
        if request.action == Action.RECORD_PAYMENT:
            outstanding = state.amount_due - state.amount_paid
            if Decimal(str(request.data["amount"])) > outstanding:
                raise _refuse(
                    f"the payment exceeds the outstanding {outstanding}",
                    INVALID_PAYLOAD,
                    outstanding=str(outstanding),
                )
        if request.action == Action.RESOLVE and request.data.get("collected_on_site"):
            fee = self._fee(request.data)
            limit = state.terms.small_fee_threshold
            if fee > limit:
                raise _refuse(
                    f"a fee of {fee} is above the on-site collection limit of {limit}; "
                    "it is invoiced instead (R6)",
                    INVALID_PAYLOAD,
                    fee=str(fee),
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
        return job_fee(
            data["labor_minutes"],
            data.get("parts", []),
            self.state.terms.hourly_rate,
            self.state.service_type,
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
        state, data = self.state, dict(request.data)
        status = self._next_status(request)
        if on_behalf := acting_for(request.action, request.actor, request.roles, state.technician):
            data["acting_for"] = on_behalf
        match request.action:
            case Action.DISPATCH:
                data["previous_technician"] = state.technician
                state.technician = data["technician"]
            case Action.RESOLVE | Action.RECORD_REPAIR:
                fee = self._fee(data)
                state.amount_due = money(state.amount_due + fee)
                data["fee"] = str(fee)
                if data.get("collected_on_site"):
                    state.amount_paid = money(state.amount_paid + fee)
            case Action.RECORD_PAYMENT:
                state.amount_paid = money(state.amount_paid + Decimal(str(data["amount"])))
        await self._project(self._step(request.action, request.actor, data, status))
        if state.status is Status.RESOLVED and state.amount_paid >= state.amount_due:
            # Nothing (left) to pay: the ticket closes by itself.
            await self._project(self._step(Action.CLOSE, SYSTEM_ACTOR, {}, Status.CLOSED))

    def _step(self, action: str, actor: str, data: dict[str, Any], status: Status) -> TimelineEntry:
        state = self.state
        state.seq += 1
        state.status = status
        state.updated_at = workflow.now()
        return TimelineEntry(state.seq, state.updated_at, action, actor, data)

    async def _project(self, entry: TimelineEntry) -> None:
        await workflow.execute_local_activity_method(
            ProjectionActivities.project_step,
            Projection(self.state, entry),
            start_to_close_timeout=PROJECTION_TIMEOUT,
        )
