"""The ticket workflow's work order (R17–R21): parts issued and returned against it, the
quotation and the customer's answer, discounts, the responsibility for a defect under
warranty, deposits, and the approvals they wait for — each decided by a person through the
`decide` update, after which the ticket carries on with the decision. An approval left
undecided goes up the chain in working time (`approval_overdue`, R16).

A mixin of `TicketWorkflow` (workflows/ticket.py), which owns the state, the lock and the
steps; the arithmetic is in models/work_order.py. Deterministic, sandbox-safe.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import asdict
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.timing import passes_before

with workflow.unsafe.imports_passed_through():
    from models.approvals import (
        Approval,
        ApprovalKind,
        ApprovalStatus,
        deciding_role,
        next_in_chain,
        to_decide,
    )
    from models.approvals import DecisionRequest as DecisionRequest
    from models.escalation import Escalation, EscalationKind
    from models.lifecycle import SYSTEM_ACTOR, Action, Status
    from models.parts import (
        PartLine,
        PricedPart,
        StockRequest,
        from_data,
        merged,
        part_data,
        quantities,
    )
    from models.pricing import labour_fee, money
    from models.refusals import CONFLICT, FORBIDDEN, INVALID_PAYLOAD, NOT_FOUND, refuse
    from models.ticket import ActionRequest, ServiceClock, TicketState, TimelineEntry
    from models.work_order import (
        MAX_APPROVALS,
        MAX_STOCK_MOVES,
        Deposit,
        Discount,
        DiscountCount,
        HeldInvoice,
        InvoicePlan,
        Party,
        Quotation,
        Responsibility,
        WorkOrder,
        invoice_plan,
        office_week,
    )

# The activities the work order runs (activities/stock.py), by name.
ISSUE_STOCK, RETURN_STOCK = "issue_stock", "return_stock"
PRICE_PARTS, COUNT_DISCOUNT = "price_parts", "count_discount"
STOCK_TIMEOUT = timedelta(seconds=20)  # longer than the SQLite lock wait (core/db.py)
STOCK_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30))
K, KIND = EscalationKind, ApprovalKind
PARTS_KINDS = frozenset({KIND.ADDED_PARTS, KIND.WARRANTY_CLAIM, KIND.WARRANTY_COUNTERSIGN})
CLAIM_KINDS = frozenset({KIND.WARRANTY_CLAIM, KIND.WARRANTY_COUNTERSIGN})
SHARES = {Party.COMPANY: Decimal(0), Party.CUSTOMER: Decimal(1)}


def _lines(parts: list[dict[str, Any]]) -> list[PartLine]:
    return merged(PartLine(str(part["part_no"]), int(part["qty"])) for part in parts)


def _refusal(failed: ActivityError) -> ApplicationError:
    """The store's refusal (out of stock, an unknown part) as the step's own."""
    cause = failed.cause
    if isinstance(cause, ApplicationError) and cause.type:
        details = dict(cause.details[0]) if cause.details else {}
        return refuse(cause.message, cause.type, **details)
    raise failed


class WorkOrderSteps:
    if TYPE_CHECKING:  # provided by TicketWorkflow
        state: TicketState
        registered_by: str
        clock: ServiceClock | None
        lock: asyncio.Lock

        def _step(
            self, action: str, actor: str, data: dict[str, Any], status: Status
        ) -> TimelineEntry: ...

        async def _project(self, entry: TimelineEntry) -> None: ...

        async def _bill(
            self, amount: Decimal, lines: list[dict[str, Any]], now: datetime
        ) -> None: ...

        def _start_watch(self, work: Coroutine[Any, Any, None]) -> None: ...

        def _record_escalation(
            self,
            kind: EscalationKind,
            raised_at: datetime,
            due_at: datetime | None,
            details: dict[str, Any],
            owners: tuple[str, ...] | None = None,
        ) -> Escalation: ...

        def _notify(self, escalation: Escalation, key: str = "") -> None: ...

        async def _close_if_paid(self) -> None: ...

    def _order(self) -> WorkOrder:
        order = self.state.work_order
        assert order is not None
        return order

    # --- refusals before anything happens (the `act` validator) --------------------------

    def _check_work_order(self, request: ActionRequest) -> None:
        """Refusals that depend on the work order's facts (R17-R20)."""
        order, data = self.state.work_order, request.data
        if order is None:
            return
        pending = order.pending()
        match request.action:
            case Action.RESOLVE | Action.RETURN if pending:
                waiting = ", ".join(f"{a.id} ({a.kind})" for a in pending)
                raise refuse(
                    f"the job is invoiced once its approvals are decided; still pending: {waiting}",
                    CONFLICT,
                    pending=[a.id for a in pending],
                )
            case Action.ISSUE_PARTS | Action.RETURN_PARTS if order.moves >= MAX_STOCK_MOVES:
                raise refuse(
                    f"a ticket moves parts at most {MAX_STOCK_MOVES} times", INVALID_PAYLOAD
                )
            case Action.RETURN_PARTS:
                unused = order.unused(self._used_parts())
                for line in _lines(data["parts"]):
                    if line.qty > unused.get(line.part_no, 0):
                        raise refuse(
                            f"only unused parts go back to the store (R19): {line.part_no} has "
                            f"{unused.get(line.part_no, 0)} issued and unused",
                            INVALID_PAYLOAD,
                            unused=unused,
                        )
            case Action.DISCOUNT:
                self._check_discount(order)
            case Action.DECIDE_RESPONSIBILITY:
                if not set(order.terms.responsibility_roles).intersection(request.roles):
                    needed = " or ".join(order.terms.responsibility_roles)
                    raise refuse(f"the responsibility is decided by the role {needed}", FORBIDDEN)
            case Action.TAKE_DEPOSIT:
                if order.deposit is not None and order.deposit.refunded_at is None:
                    raise refuse("this ticket holds a deposit already", CONFLICT)
        if request.action in (Action.ISSUE_PARTS, Action.DISCOUNT):
            if len(order.approvals) >= MAX_APPROVALS:
                raise refuse(f"a ticket asks for at most {MAX_APPROVALS} approvals", CONFLICT)

    def _check_discount(self, order: WorkOrder) -> None:
        if order.discount is not None and order.discount.status in ("granted", "pending"):
            raise refuse(f"this ticket has a discount {order.discount.status} already", CONFLICT)

    def _check_invoice(self, amount: Decimal, labor_minutes: int, data: dict[str, Any]) -> None:
        """R18: a job below the minimum gross margin is invoiced only with a written
        justification, once the director approves it: never collected on site."""
        order = self.state.work_order
        if order is None:
            return
        plan = invoice_plan(order, amount, labor_minutes, self.state.service_type)
        if not plan.below_margin:
            return
        assert plan.margin is not None
        margin, least = f"{plan.margin:.1%}", f"{order.terms.min_gross_margin:.1%}"
        if not data.get("margin_justification"):
            why = (
                f"the job's gross margin of {margin} is below the policy's {least}: give a "
                "margin_justification for the director's approval (R18)"
            )
            raise refuse(
                why,
                INVALID_PAYLOAD,
                errors=[{"loc": ["margin_justification"], "msg": why, "type": "missing"}],
                gross_margin=str(plan.margin),
            )
        if data.get("collected_on_site"):
            raise refuse(
                f"a job below the minimum margin ({margin}) is invoiced once the director "
                "approves it; it cannot be collected on site (R18)",
                INVALID_PAYLOAD,
            )

    def _priced(self, parts: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The parts used, each with its unit price: as given, or the list price it was
        issued at to this ticket (R19); refused when neither is known."""
        order = self.state.work_order
        priced = []
        for position, part in enumerate(parts):
            price = part.get("unit_price")
            if price is None:
                issued = order.list_price(part["part_no"]) if order else None
                if issued is None:
                    why = (
                        f"part {part['part_no']} was not issued to this ticket: give its unit_price"
                    )
                    where = ["parts", position, "unit_price"]
                    raise refuse(
                        why,
                        INVALID_PAYLOAD,
                        errors=[{"loc": where, "msg": why, "type": "missing"}],
                    )
                price = str(issued)
            priced.append({**part, "unit_price": str(price)})
        return priced

    def _used_parts(self) -> dict[str, int]:
        """Parts recorded as used in the repair (R8), by part number."""
        state = self.state
        used = [part for entry in state.repair_rounds for part in entry.parts]
        return quantities([*used, *self._order().used_on_site])

    # --- the steps (under the ticket's lock) ---------------------------------------------

    async def _work_order_step(
        self, request: ActionRequest, data: dict[str, Any], now: datetime
    ) -> None:
        """One work-order step; `data` gains what the timeline records of it."""
        order, actor = self._order(), request.actor
        match request.action:
            case Action.ISSUE_PARTS:
                data.update(await self._issue_parts(_lines(data["parts"]), actor, data, now))
            case Action.RETURN_PARTS:
                returned = await self._move(RETURN_STOCK, _lines(data["parts"]), actor, now)
                order.returned += [self._at_issue_cost(part) for part in returned]
                data["returned"] = part_data(returned)
            case Action.QUOTE:
                data.update(await self._quote(data, actor, now))
            case Action.ACCEPT_QUOTE:
                assert order.quotation is not None
                order.quotation.accepted_at = now
                order.quotation.signature = data["customer_signature"]
                data["quotation_amount"] = str(order.quotation.amount)
            case Action.DECLINE_QUOTE:
                assert order.quotation is not None
                order.quotation.declined_at = now
                order.quotation.decline_reason = data["reason"]
                order.quotation.signature = data.get("customer_signature")
                data["diagnosis_fee"] = str(order.terms.diagnosis_fee)
            case Action.DISCOUNT:
                data.update(await self._discount(request, now))
            case Action.DECIDE_RESPONSIBILITY:
                party = Party(data["party"])
                share = SHARES.get(party)
                if share is None:
                    share = Decimal(str(data["customer_share_percent"])) / 100
                order.responsibility = Responsibility(party, share, data["reason"], actor, now)
                data["customer_share"] = str(share)
            case Action.TAKE_DEPOSIT:
                amount = money(Decimal(str(data["amount"])))
                order.deposit = Deposit(amount, data["method"], actor, now)

    async def _issue_parts(
        self, lines: list[PartLine], actor: str, data: dict[str, Any], now: datetime
    ) -> dict[str, Any]:
        """R19: parts out of the store at once, or, beyond the quotation or on a warranty
        claim, once signed off (the approval carries on with the issue)."""
        order, service_type = self._order(), self.state.service_type
        kind = order.sign_off_needed(service_type, lines)
        if kind is None:
            issued = await self._move(ISSUE_STOCK, lines, actor, now)
            return {"issued": part_data(issued), **self._fitted(issued, now)}
        beyond = order.beyond_allowance(service_type, lines) or []
        priced = await self._price(beyond)
        amount = money(sum((part.list_value for part in priced), Decimal(0)))
        reason = data.get("reason") or (
            "parts beyond the accepted quotation"
            if kind == KIND.ADDED_PARTS
            else "parts claimed under the warranty"
        )
        details = {"parts": [asdict(line) for line in lines], "beyond": part_data(priced)}
        approval = self._ask(kind, actor, amount, reason, details)
        return {"approval": approval.id, "waits_for": kind.value, "amount": str(amount)}

    def _fitted(self, issued: list[PricedPart], now: datetime) -> dict[str, Any]:
        """R19: the parts are on the ticket; a warranty claim's deposit is refunded on
        fitting."""
        order = self._order()
        order.issued += issued
        if order.warranty_claims(self.state.service_type):
            return self._refund(now, "the claimed parts are fitted")
        return {}

    def _refund(self, now: datetime, why: str) -> dict[str, Any]:
        deposit = self._order().deposit
        if deposit is None or deposit.refunded_at is not None:
            return {}
        deposit.refunded_at, deposit.refund_reason = now, why
        return {"deposit_refunded": str(deposit.amount)}

    def _at_issue_cost(self, part: PricedPart) -> PricedPart:
        """A returned part at the cost and price it was issued at (R18: the job's cost)."""
        for issued in reversed(self._order().issued):
            if issued.part_no == part.part_no:
                return PricedPart(
                    part.part_no, part.name, part.qty, issued.unit_cost, issued.list_price
                )
        return part

    async def _quote(self, data: dict[str, Any], actor: str, now: datetime) -> dict[str, Any]:
        """R19: labour at the hourly rate plus the parts at list price."""
        priced = await self._price(_lines(data.get("parts", [])))
        labour = labour_fee(data["labor_minutes"], self.state.terms.hourly_rate)
        amount = money(labour + sum((part.list_value for part in priced), Decimal(0)))
        self._order().quotation = Quotation(
            data["labor_minutes"], labour, priced, amount, actor, now, data.get("note")
        )
        return {"parts": part_data(priced), "labour": str(labour), "amount": str(amount)}

    async def _discount(self, request: ActionRequest, now: datetime) -> dict[str, Any]:
        """R17: the advisor who registered the call grants up to the policy's percent, a
        number of times per office week, each reported to the service director; beyond
        either, or from anyone else, the discount waits for the director's approval."""
        order, data = self._order(), request.data
        terms, percent = order.terms, Decimal(str(data["percent"]))
        if request.actor != self.registered_by or "clerk" not in request.roles:
            why = "not the advisor who registered the call"
        elif percent > terms.discount_max_percent:
            why = f"above the advisor's {terms.discount_max_percent}%"
        elif not await self._count_discount(request.actor, now):
            why = f"the advisor's {terms.discounts_per_week} discounts this week are used"
        else:
            order.discount = Discount(
                percent, data["reason"], request.actor, now, "granted", granted_by=request.actor
            )
            report = self._record_escalation(
                K.DISCOUNT_GRANTED,
                now,
                None,
                {"percent": str(percent), "reason": data["reason"], "advisor": request.actor},
            )
            self._notify(report)
            return {"granted": True, "reported": report.id}
        approval = self._ask(KIND.DISCOUNT, request.actor, percent, data["reason"], {"why": why})
        order.discount = Discount(
            percent, data["reason"], request.actor, now, "pending", approval_id=approval.id
        )
        return {"granted": False, "approval": approval.id, "why": why}

    async def _count_discount(self, advisor: str, now: datetime) -> bool:
        terms = self._order().terms
        count = DiscountCount(
            advisor,
            office_week(now, terms.office_timezone),
            terms.discounts_per_week,
            f"{self.state.ticket_id}:{self.state.seq + 1}",
            now,
        )
        granted: bool = await workflow.execute_activity(
            COUNT_DISCOUNT,
            count,
            start_to_close_timeout=STOCK_TIMEOUT,
            retry_policy=STOCK_RETRY,
            result_type=bool,
        )
        return granted

    async def _charge(
        self,
        amount: Decimal,
        lines: list[dict[str, Any]],
        labor_minutes: int,
        actor: str,
        data: dict[str, Any],
        now: datetime,
    ) -> Decimal:
        """R17, R18, R21: invoices the job (minus its discount) and returns what was billed;
        below the minimum margin the invoice waits for the director (nothing billed yet)."""
        order = self.state.work_order
        if order is None:
            await self._bill(amount, lines, now)
            return amount
        plan = invoice_plan(order, amount, labor_minutes, self.state.service_type)
        if plan.margin is not None:
            data["gross_margin"] = str(plan.margin)
        if plan.below_margin:
            details = {"gross_margin": str(plan.margin), "cost": str(plan.cost)}
            approval = self._ask(
                KIND.LOW_MARGIN, actor, plan.price, data["margin_justification"], details
            )
            order.held_invoice = HeldInvoice(approval.id, lines, plan.amount)
            data["invoice_waits_for"] = approval.id
            return Decimal(0)
        await self._bill(plan.price, lines + plan.lines(order), now)
        return plan.price

    # --- approvals -----------------------------------------------------------------------

    def _ask(
        self, kind: ApprovalKind, actor: str, amount: Decimal, reason: str, details: dict[str, Any]
    ) -> Approval:
        """Records an approval for the role the ticket's bands name for `amount`, and
        watches it (R16)."""
        state, order, now = self.state, self._order(), workflow.now()
        roles = [deciding_role(order.terms, kind, amount)]
        approval = Approval(
            id=f"{state.number}-A{len(order.approvals) + 1}",
            kind=kind.value,
            ticket_id=state.ticket_id,
            workflow_id=workflow.info().workflow_id,
            requested_by=actor,
            requested_at=now,
            amount=money(amount),
            reason=reason,
            approver_roles=roles,
            due_at=self._approval_due(now, roles),
            details=details,
        )
        order.approvals.append(approval)
        self._start_watch(self._watch_approval(approval))
        return approval

    def _approval_due(self, start: datetime, roles: list[str]) -> datetime | None:
        """When an approval undecided since `start` goes up the chain: the policy's working
        hours later (the ticket's calendar); None at the top of the chain."""
        terms = self._order().terms
        if next_in_chain(terms.chain, roles) is None:
            return None
        wait = timedelta(hours=terms.escalate_after_hours)
        return self.clock.calendar.add(start, wait) if self.clock else start + wait

    def _watch_approvals(self) -> None:
        """The approvals' timers (after continue-as-new)."""
        order = self.state.work_order
        for approval in order.pending() if order else []:
            self._start_watch(self._watch_approval(approval))

    async def _watch_approval(self, approval: Approval) -> None:
        """R16: undecided by its due time, an approval goes to the next role of the chain,
        which may decide it from then on, and is told by an `approval_overdue` escalation."""
        chain = self._order().terms.chain
        while approval.pending and approval.due_at is not None:
            due = approval.due_at
            if not await passes_before(due, lambda: not approval.pending):
                return
            async with self.lock:
                role = next_in_chain(chain, approval.approver_roles)
                if not approval.pending or role is None:
                    return
                approval.approver_roles.append(role)
                approval.due_at = self._approval_due(due, approval.approver_roles)
                escalation = self._record_escalation(
                    K.APPROVAL_OVERDUE,
                    due,
                    approval.due_at,
                    {"approval": approval.id, "approval_kind": approval.kind, "to_role": role},
                    owners=(role,),
                )
                data = {"escalation": escalation.id, "kind": escalation.kind, **escalation.details}
                await self._project(self._step("escalate", SYSTEM_ACTOR, data, self.state.status))
            self._notify(escalation)

    def _validate_decision(self, request: DecisionRequest) -> Approval:
        order = self.state.work_order
        if order is None:
            raise refuse(f"no approval '{request.approval_id}' on this ticket", NOT_FOUND)
        return to_decide(order.approvals, request)

    async def _decide(self, request: DecisionRequest) -> Approval:
        """Records the decision, and the ticket carries on with it."""
        approval, now = self._validate_decision(request), workflow.now()
        data: dict[str, Any] = {"approval": approval.id, "kind": approval.kind}
        data.update(approve=request.approve, note=request.note)
        data.update(await self._carry_on(approval, request, now))
        approval.status = ApprovalStatus.APPROVED if request.approve else ApprovalStatus.REJECTED
        approval.decided_by, approval.decided_at, approval.note = request.actor, now, request.note
        approval.due_at = None
        await self._project(self._step("decide", request.actor, data, self.state.status))
        await self._close_if_paid()
        return approval

    async def _carry_on(
        self, approval: Approval, decision: DecisionRequest, now: datetime
    ) -> dict[str, Any]:
        order, approved = self._order(), decision.approve
        kind = ApprovalKind(approval.kind)
        if kind == KIND.DISCOUNT:
            assert order.discount is not None
            order.discount.status = "granted" if approved else "rejected"
            order.discount.granted_by = decision.actor if approved else None
            return {}
        if kind == KIND.LOW_MARGIN:
            return await self._release_invoice(approved, now)
        if not approved:
            return self._refund(now, "the claim was rejected") if kind in CLAIM_KINDS else {}
        if kind == KIND.WARRANTY_CLAIM and approval.amount > order.terms.countersign_above:
            countersign = self._ask(
                KIND.WARRANTY_COUNTERSIGN,
                approval.requested_by,
                approval.amount,
                approval.reason,
                approval.details,
            )
            return {"countersign": countersign.id}
        return await self._signed_off(approval, now)

    async def _signed_off(self, approval: Approval, now: datetime) -> dict[str, Any]:
        """R19: the signed-off parts join the quotation (or the claim) and are issued."""
        order = self._order()
        beyond = from_data(approval.details["beyond"])
        order.signed_off += [PartLine(part.part_no, part.qty) for part in beyond]
        if approval.kind == KIND.ADDED_PARTS and order.quotation is not None:
            order.quotation.parts += beyond
            added = sum((part.list_value for part in beyond), Decimal(0))
            order.quotation.amount = money(order.quotation.amount + added)
        lines = _lines(approval.details["parts"])
        try:
            issued = await self._move(ISSUE_STOCK, lines, approval.requested_by, now)
        except ApplicationError as refused:
            return {"not_issued": refused.message}
        return {"issued": part_data(issued), **self._fitted(issued, now)}

    async def _release_invoice(self, approved: bool, now: datetime) -> dict[str, Any]:
        """R18: approved, the job is invoiced as it stands; rejected, its discount is
        withdrawn and it is invoiced at list price."""
        order = self._order()
        held = order.held_invoice
        assert held is not None
        order.held_invoice = None
        if not approved and order.discount is not None and order.discount.status == "granted":
            order.discount.status = "withdrawn"
        plan: InvoicePlan = invoice_plan(order, held.amount, 0, self.state.service_type)
        await self._bill(plan.price, held.lines + plan.lines(order), now)
        invoice = self.state.invoice
        return {"invoice": invoice.number if invoice else None, "billed": str(plan.price)}

    # --- the store ------------------------------------------------------------------------

    async def _move(
        self, activity: str, lines: list[PartLine], actor: str, now: datetime
    ) -> list[PricedPart]:
        """Parts out of the store (or back), all or none; refused as the store refuses."""
        state, order = self.state, self._order()
        assert state.number is not None
        request = StockRequest(
            state.ticket_id, state.number, f"{state.ticket_id}:{order.moves + 1}", lines, actor, now
        )
        moved = await _store(activity, request)
        order.moves += 1
        return moved

    async def _price(self, lines: list[PartLine]) -> list[PricedPart]:
        """The parts at the store's list prices of the moment."""
        return await _store(PRICE_PARTS, lines) if lines else []


async def _store(activity: str, argument: StockRequest | list[PartLine]) -> list[PricedPart]:
    """One of the store's activities; its refusal (out of stock, an unknown part) as the
    step's own."""
    try:
        parts: list[PricedPart] = await workflow.execute_activity(
            activity,
            argument,
            start_to_close_timeout=STOCK_TIMEOUT,
            retry_policy=STOCK_RETRY,
            result_type=list[PricedPart],
        )
    except ActivityError as failed:
        raise _refusal(failed) from None
    return parts
