"""The ticket lifecycle (R3–R9, R12 holds, R15 promises) as a `transitions` state machine:
one table, read by the workflow's update validators (which decide) and by the API's
`allowed_actions` (which shows).

The table mirrors the one in shared/spec/api.md line by line.
"""

from __future__ import annotations

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
    # Taken by the workflow itself, never offered to a person.
    CLOSE = "close"


TERMINAL = frozenset({Status.CLOSED, Status.CANCELLED})

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
TRANSITIONS: list[dict[str, object]] = [
    {"trigger": Action.DISPATCH, "source": [S.REGISTERED, S.DISPATCHED], "dest": S.DISPATCHED},
    # R12: a customer on hold cannot receive the technician; resume first.
    {"trigger": Action.ARRIVE, "source": S.DISPATCHED, "dest": S.ON_SITE, "unless": "on_hold"},
    {"trigger": Action.RESOLVE, "source": S.ON_SITE, "dest": S.RESOLVED},
    {"trigger": Action.CARRY_IN, "source": S.ON_SITE, "dest": S.CARRIED_IN},
    {"trigger": Action.RECORD_REPAIR, "source": S.CARRIED_IN, "dest": S.REPAIRED},
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
    # Payments are recorded while resolved; the ticket closes once fully paid.
    {
        "trigger": Action.RECORD_PAYMENT,
        "source": S.RESOLVED,
        "dest": S.CLOSED,
        "conditions": "fully_paid",
    },
    {
        "trigger": Action.RECORD_PAYMENT,
        "source": S.RESOLVED,
        "dest": S.RESOLVED,
        "unless": "fully_paid",
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
]

HUMAN_ACTIONS = tuple(a for a in Action if a is not Action.CLOSE)
ACTIONS = frozenset(a.value for a in Action)


class _Ticket:
    """The machine's model: only a state and the facts its conditions read."""

    def __init__(self, inspection_passed: bool, fully_paid: bool, on_hold: bool) -> None:
        self._inspection_passed = inspection_passed
        self._fully_paid = fully_paid
        self._on_hold = on_hold
        self.state: str = ""

    def inspection_passed(self) -> bool:
        return self._inspection_passed

    def fully_paid(self) -> bool:
        return self._fully_paid

    def on_hold(self) -> bool:
        return self._on_hold


def _machine(
    status: Status, *, inspection_passed: bool, fully_paid: bool, on_hold: bool
) -> Machine:
    return Machine(
        model=_Ticket(inspection_passed, fully_paid, on_hold),
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


def refusal_message(status: Status, action: str, hold_reason: str | None = None) -> str:
    """Why `action` cannot be taken now, in words a person can act on: a step that only the
    hold prevents (R12) says so, and how to lift it."""
    if hold_reason is not None and action == Action.HOLD:
        return (
            f"action 'hold' is not allowed: the ticket is '{status}' and already on hold "
            f"({hold_reason})"
        )
    if hold_reason is not None and action in ACTIONS:
        if action in _allowed(Status(status), False) and action not in _allowed(
            Status(status), True
        ):
            return (
                f"action '{action}' is not possible while the ticket is '{status}' and on hold "
                f"({hold_reason}): take the action 'resume' first"
            )
    return f"action '{action}' is not allowed while the ticket is '{status}'"


def next_status(
    status: Status,
    action: str,
    *,
    inspection_passed: bool = False,
    fully_paid: bool = False,
    on_hold: bool = False,
) -> Status:
    """The status `action` leads to from `status`; raises TransitionRefused if not allowed."""
    known = action in ACTIONS
    destination = known and _destination(
        Status(status), Action(action), inspection_passed, fully_paid, on_hold
    )
    if not destination:
        raise TransitionRefused(status, action)
    return destination


# The table is fixed, so each answer is asked of the machine once and remembered.
@cache
def _destination(
    status: Status, action: Action, inspection_passed: bool, fully_paid: bool, on_hold: bool
) -> Status | None:
    machine = _machine(
        status, inspection_passed=inspection_passed, fully_paid=fully_paid, on_hold=on_hold
    )
    ticket: Any = machine.model
    try:
        taken = ticket.trigger(action)
    except MachineError:
        return None
    return Status(ticket.state) if taken else None


def allowed_actions(status: Status, *, on_hold: bool = False) -> list[str]:
    """The actions a person may take on a ticket in `status`, in the table's order."""
    return list(_allowed(Status(status), on_hold))


@cache
def _allowed(status: Status, on_hold: bool) -> tuple[str, ...]:
    """Actions with a destination for some outcome of the facts a person supplies (an
    inspection's result, a payment's amount), given whether the ticket is on hold."""
    return tuple(
        action.value
        for action in HUMAN_ACTIONS
        if any(
            _destination(status, action, passed, paid, on_hold)
            for passed in (True, False)
            for paid in (True, False)
        )
    )
