"""The ticket lifecycle (R3–R9, R12 holds, R15 promises, R17–R20 money controls) as a
`transitions` state machine: one table, read by the workflow's update validators (which
decide) and by the API's `allowed_actions` (which shows).

The table mirrors the one in shared/spec/api.md line by line, then adds the work order's steps
(parts, quotation, discount, responsibility, deposit) for tickets called in with the approval
terms; a ticket's facts (`TicketFacts`) are the conditions.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from enum import StrEnum
from functools import cache
from typing import Any

from transitions import Machine, MachineError


class Status(StrEnum):
    REGISTERED = "registered"
    DISPATCHED = "dispatched"
    ON_SITE = "on_site"
    CARRIED_IN = "carried_in"
    REPAIRED = "repaired"
    READY_FOR_RETURN = "ready_for_return"
    RESOLVED = "resolved"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class Action(StrEnum):
    DISPATCH = "dispatch"
    ARRIVE = "arrive"
    RESOLVE = "resolve"
    CARRY_IN = "carry_in"
    RECORD_REPAIR = "record_repair"
    INSPECT = "inspect"
    RETURN = "return"
    RECORD_PAYMENT = "record_payment"
    CANCEL = "cancel"
    HOLD = "hold"
    RESUME = "resume"
    PROMISE = "promise"
    # R17-R20: the work order's steps (tickets called in with the approval terms).
    ISSUE_PARTS = "issue_parts"
    RETURN_PARTS = "return_parts"
    QUOTE = "quote"
    ACCEPT_QUOTE = "accept_quote"
    DECLINE_QUOTE = "decline_quote"
    DISCOUNT = "discount"
    DECIDE_RESPONSIBILITY = "decide_responsibility"
    TAKE_DEPOSIT = "take_deposit"
    # R32: a contract inspection's checklist, item by item.
    RECORD_INSPECTION = "record_inspection"
    # Taken by the workflow itself, never offered to a person.
    CLOSE = "close"


TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED})
SYSTEM_ACTOR = "system"
"""Who takes the steps a workflow takes by itself (closing a paid ticket, opening a job)."""

S = Status
# The statuses the deadlines watch (R10, R12, R14, R15), defined once.
BEFORE_ARRIVAL = frozenset({S.REGISTERED, S.DISPATCHED})
"""R12: the arrival clock runs (or is on hold)."""
IN_WORKSHOP = frozenset({S.CARRIED_IN, S.REPAIRED})
"""R10: a carried-in repair is under way, due by its promised date."""
DONE_FOR_THE_DAY = frozenset({S.RESOLVED, S.CLOSED, S.CANCELLED})
"""R15: nothing left to report to sales at the end of the working day."""
UNRESOLVED = frozenset(
    {S.REGISTERED, S.DISPATCHED, S.ON_SITE, S.CARRIED_IN, S.REPAIRED, S.READY_FOR_RETURN}
)
OPEN_WORK_ORDER = frozenset({S.ON_SITE, S.CARRIED_IN, S.REPAIRED})
"""R19: past arrival or in the workshop: parts may be issued against the ticket."""
BEFORE_INVOICE = frozenset({S.ON_SITE, S.CARRIED_IN, S.REPAIRED, S.READY_FOR_RETURN})


@dataclass(frozen=True)
class TicketFacts:
    """What a ticket's steps depend on besides its status."""

    on_hold: bool = False
    """R12: the customer cannot receive the technician."""
    money_rules: bool = False
    """Called in with the approval terms (R17-R20): tickets from before have no work order."""
    quote_pending: bool = False
    """R19: the workshop repair waits for the customer to accept a quotation."""
    quoted: bool = False
    """R19: there is a quotation to accept or decline."""
    responsibility_pending: bool = False
    """R20: a defect under warranty whose responsibility is not decided yet."""
    invoice_waiting: bool = False
    """R18: the invoice waits for the director's approval of a low margin."""
    paid: bool = False
    """R17: a general (paid) repair, the only kind a discount applies to."""
    claim: bool = False
    """R19: a warranty claim, the only job a deposit is taken on."""
    checklist_open: bool = False
    """R32: a contract inspection whose checklist is not recorded yet."""


NO_FACTS = TicketFacts()
WORK_ORDER = ["money_rules"]
QUOTE_OPEN = ["money_rules", "quote_pending"]
TRANSITIONS: list[dict[str, object]] = [
    {"trigger": Action.DISPATCH, "source": [S.REGISTERED, S.DISPATCHED], "dest": S.DISPATCHED},
    # R12: a customer on hold cannot receive the technician; resume first.
    {"trigger": Action.ARRIVE, "source": S.DISPATCHED, "dest": S.ON_SITE, "unless": "on_hold"},
    # R20: a defect under warranty is repaired once its responsibility is decided.
    # R32: an inspection is resolved once its checklist is recorded.
    {
        "trigger": Action.RESOLVE,
        "source": S.ON_SITE,
        "dest": S.RESOLVED,
        "unless": ["responsibility_pending", "checklist_open"],
    },
    {
        "trigger": Action.RECORD_INSPECTION,
        "source": S.ON_SITE,
        "dest": "=",
        "conditions": "checklist_open",
    },
    {"trigger": Action.CARRY_IN, "source": S.ON_SITE, "dest": S.CARRIED_IN},
    # R19: a paid workshop repair starts once the customer has accepted the quotation.
    {
        "trigger": Action.RECORD_REPAIR,
        "source": S.CARRIED_IN,
        "dest": S.REPAIRED,
        "unless": ["quote_pending", "responsibility_pending"],
    },
    # R8: a passed inspection readies the product for return, a failed one sends it back.
    {
        "trigger": Action.INSPECT,
        "source": S.REPAIRED,
        "dest": S.READY_FOR_RETURN,
        "conditions": "inspection_passed",
    },
    {
        "trigger": Action.INSPECT,
        "source": S.REPAIRED,
        "dest": S.CARRIED_IN,
        "unless": "inspection_passed",
    },
    {"trigger": Action.RETURN, "source": S.READY_FOR_RETURN, "dest": S.RESOLVED},
    # Payments are recorded while resolved, once invoiced; the ticket closes once fully paid.
    {
        "trigger": Action.RECORD_PAYMENT,
        "source": S.RESOLVED,
        "dest": S.CLOSED,
        "conditions": "fully_paid",
        "unless": "invoice_waiting",
    },
    {
        "trigger": Action.RECORD_PAYMENT,
        "source": S.RESOLVED,
        "dest": S.RESOLVED,
        "unless": ["fully_paid", "invoice_waiting"],
    },
    {"trigger": Action.CANCEL, "source": [S.REGISTERED, S.DISPATCHED], "dest": S.CANCELLED},
    {"trigger": Action.CLOSE, "source": S.RESOLVED, "dest": S.CLOSED},
    # R12: the arrival clock pauses while the customer cannot receive the technician.
    {"trigger": Action.HOLD, "source": sorted(BEFORE_ARRIVAL), "dest": "=", "unless": "on_hold"},
    {
        "trigger": Action.RESUME,
        "source": sorted(BEFORE_ARRIVAL),
        "dest": "=",
        "conditions": "on_hold",
    },
    # R15: the customer is told a definite resolution time.
    {"trigger": Action.PROMISE, "source": sorted(UNRESOLVED), "dest": "="},
    # R19: parts against an open work order, never before the quotation is accepted; unused
    # ones back to the store until the ticket is paid.
    {
        "trigger": Action.ISSUE_PARTS,
        "source": sorted(OPEN_WORK_ORDER),
        "dest": "=",
        "conditions": WORK_ORDER,
        "unless": "quote_pending",
    },
    {
        "trigger": Action.RETURN_PARTS,
        "source": sorted(OPEN_WORK_ORDER | {S.READY_FOR_RETURN, S.RESOLVED}),
        "dest": "=",
        "conditions": WORK_ORDER,
    },
    # R19: the quotation, and the customer's answer; a declined one returns the product
    # unrepaired.
    {"trigger": Action.QUOTE, "source": S.CARRIED_IN, "dest": "=", "conditions": QUOTE_OPEN},
    {
        "trigger": Action.ACCEPT_QUOTE,
        "source": S.CARRIED_IN,
        "dest": "=",
        "conditions": [*QUOTE_OPEN, "quoted"],
    },
    {
        "trigger": Action.DECLINE_QUOTE,
        "source": S.CARRIED_IN,
        "dest": S.READY_FOR_RETURN,
        "conditions": [*QUOTE_OPEN, "quoted"],
    },
    # R17: a discount on a general repair, before the invoice.
    {
        "trigger": Action.DISCOUNT,
        "source": sorted(BEFORE_INVOICE),
        "dest": "=",
        "conditions": [*WORK_ORDER, "paid"],
    },
    # R20: the responsibility for a defect under warranty, and a deposit on a claim (R19).
    {
        "trigger": Action.DECIDE_RESPONSIBILITY,
        "source": sorted(OPEN_WORK_ORDER),
        "dest": "=",
        "conditions": [*WORK_ORDER, "responsibility_pending"],
    },
    {
        "trigger": Action.TAKE_DEPOSIT,
        "source": sorted(OPEN_WORK_ORDER),
        "dest": "=",
        "conditions": [*WORK_ORDER, "claim"],
    },
]

HUMAN_ACTIONS = tuple(a for a in Action if a is not Action.CLOSE)
WORK_ORDER_ACTIONS = frozenset(
    {
        Action.ISSUE_PARTS,
        Action.RETURN_PARTS,
        Action.QUOTE,
        Action.ACCEPT_QUOTE,
        Action.DECLINE_QUOTE,
        Action.DISCOUNT,
        Action.DECIDE_RESPONSIBILITY,
        Action.TAKE_DEPOSIT,
    }
)
ACTIONS = frozenset(a.value for a in Action)


class _Ticket:
    """The machine's model: only a state and the facts its conditions read."""

    def __init__(self, inspection_passed: bool, fully_paid: bool, facts: TicketFacts) -> None:
        self.state: str = ""
        self.inspection_passed = lambda: inspection_passed
        self.fully_paid = lambda: fully_paid
        for fact in fields(TicketFacts):
            value = bool(getattr(facts, fact.name))
            setattr(self, fact.name, lambda value=value: value)


def _machine(
    status: Status, *, inspection_passed: bool, fully_paid: bool, facts: TicketFacts
) -> Machine:
    return Machine(
        model=_Ticket(inspection_passed, fully_paid, facts),
        states=list(Status),
        transitions=TRANSITIONS,
        initial=status,
        auto_transitions=False,
        send_event=False,
    )


class TransitionRefused(Exception):
    """An action that the ticket's current status does not allow."""

    def __init__(self, status: Status, action: str) -> None:
        super().__init__(f"action '{action}' is not allowed while the ticket is '{status}'")
        self.status = status
        self.action = action


# Facts that block steps only for a while, and what lifts each.
BLOCKERS = {
    "on_hold": "take the action 'resume' first",
    "quote_pending": "the customer has not accepted the quotation yet (R19): 'quote', then "
    "'accept_quote' with their signature",
    "responsibility_pending": "the responsibility for the defect under warranty is not decided "
    "yet (R20): take 'decide_responsibility' first",
    "invoice_waiting": "the invoice waits for the director's decision on the margin (R18)",
    "checklist_open": "the inspection's checklist is not recorded yet (R32): take "
    "'record_inspection' first",
}
# Facts a step needs for the whole life of a ticket, and what the step is for.
NEEDS = {
    "paid": (Action.DISCOUNT, "a discount applies to a general (paid) repair only (R17)"),
    "claim": (Action.TAKE_DEPOSIT, "a deposit is taken on a warranty claim only (R19)"),
}


def refusal_message(
    status: Status, action: str, facts: TicketFacts = NO_FACTS, hold_reason: str | None = None
) -> str:
    """Why `action` cannot be taken now, in words a person can act on: a step that only a
    passing fact prevents (the hold, R12; the quotation, R19; the responsibility, R20; the
    invoice's approval, R18) says so, and how to lift it."""
    refused = f"action '{action}' is not allowed while the ticket is '{status}'"
    if action not in ACTIONS:
        return refused
    if facts.on_hold and action == Action.HOLD:
        return (
            f"action 'hold' is not allowed: the ticket is '{status}' and already on hold "
            f"({hold_reason})"
        )
    if not facts.money_rules and action in WORK_ORDER_ACTIONS:
        return (
            f"action '{action}' is not available on this ticket: it was called in before work "
            "orders (parts, quotations, discounts) existed"
        )
    for fact, (step, purpose) in NEEDS.items():
        if action == step and not getattr(facts, fact):
            return f"action '{action}' is not available on this ticket: {purpose}"
    for fact, lift in BLOCKERS.items():
        if getattr(facts, fact) and action in _allowed(
            Status(status), replace(facts, **{fact: False})
        ):
            if fact == "on_hold":
                return (
                    f"action '{action}' is not possible while the ticket is '{status}' and on "
                    f"hold ({hold_reason}): {lift}"
                )
            return f"action '{action}' is not possible while the ticket is '{status}': {lift}"
    return refused


def next_status(
    status: Status,
    action: str,
    *,
    inspection_passed: bool = False,
    fully_paid: bool = False,
    facts: TicketFacts = NO_FACTS,
) -> Status:
    """The status `action` leads to from `status`; raises TransitionRefused if not allowed."""
    known = action in ACTIONS
    destination = known and _destination(
        Status(status), Action(action), inspection_passed, fully_paid, facts
    )
    if not destination:
        raise TransitionRefused(status, action)
    return destination


# The table is fixed, so each answer is asked of the machine once and remembered.
@cache
def _destination(
    status: Status, action: Action, inspection_passed: bool, fully_paid: bool, facts: TicketFacts
) -> Status | None:
    machine = _machine(
        status, inspection_passed=inspection_passed, fully_paid=fully_paid, facts=facts
    )
    ticket: Any = machine.model
    try:
        taken = ticket.trigger(action)
    except MachineError:
        return None
    return Status(ticket.state) if taken else None


def allowed_actions(status: Status, facts: TicketFacts = NO_FACTS) -> list[str]:
    """The actions a person may take on a ticket in `status` with `facts`, in the table's
    order."""
    return list(_allowed(Status(status), facts))


@cache
def _allowed(status: Status, facts: TicketFacts) -> tuple[str, ...]:
    """Actions with a destination for some outcome of the facts a person supplies (an
    inspection's result, a payment's amount), given the ticket's facts."""
    return tuple(
        action.value
        for action in HUMAN_ACTIONS
        if any(
            _destination(status, action, passed, paid, facts)
            for passed in (True, False)
            for paid in (True, False)
        )
    )
