"""Every lifecycle action from every status, against the time-skipping test server
(R3–R9, R21, shared/spec/api.md's status/action table; R12 holds and R15 promises).

The expected table is written here from the spec, not read from models/lifecycle.py: an allowed
action lands in its destination status, a refused one fails the update with an
`InvalidTransition` that lists the allowed actions, and leaves no trace (R11: the timeline
only holds steps that happened).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from models.lifecycle import Status
from models.ticket import ActionRequest, TicketState
from tests.workflows.builders import register, ticket_start
from worker import build_worker
from workflows.ticket import TicketWorkflow

# The table is about the lifecycle, not the database: SQLite is enough here.
# Who takes each step on the happy path (the assigned technician is tech1).
ACTORS: dict[str, tuple[str, list[str]]] = {
    "dispatch": ("disp1", ["dispatcher"]),
    "arrive": ("tech1", ["technician"]),
    "resolve": ("tech1", ["technician"]),
    "carry_in": ("tech1", ["technician"]),
    "record_repair": ("tech1", ["technician"]),
    "inspect": ("dir1", ["director"]),
    "return": ("tech1", ["technician"]),
    "record_payment": ("acct1", ["accountant"]),
    "cancel": ("clerk1", ["clerk"]),
    "hold": ("clerk1", ["clerk"]),
    "resume": ("clerk1", ["clerk"]),
    "promise": ("disp1", ["dispatcher"]),
}
ACTIONS = list(ACTORS)
PROMISED_BY = "<a time after the test server's clock>"

# Valid bodies (shared/spec/api.md). R21: 60 min at the policy's 120.00/h is 120.00.
RESOLVE_WITH_FEE = {
    "work_summary": "replaced the fuse",
    "labor_minutes": 60,
    "parts": [],
    "customer_signature": "Li Lei",
}
RESOLVE_FREE = {**RESOLVE_WITH_FEE, "labor_minutes": 0}
REPAIR_WITH_FEE = {"labor_minutes": 60, "parts": [], "notes": "replaced the board"}
REPAIR_FREE = {**REPAIR_WITH_FEE, "labor_minutes": 0}
BODIES: dict[str, dict[str, Any]] = {
    "dispatch": {"technician": "tech1"},
    "arrive": {},
    "resolve": RESOLVE_WITH_FEE,
    "carry_in": {"customer_signature": "Li Lei", "promised_by": PROMISED_BY},
    "record_repair": REPAIR_WITH_FEE,
    "inspect": {"passed": True, "notes": "works"},
    "return": {"customer_signature": "Li Lei"},
    "record_payment": {"amount": "120.00", "method": "cash"},
    "cancel": {"reason": "the customer fixed it"},
    "hold": {"reason": "the customer is away until Monday"},
    "resume": {},
    "promise": {"promised_by": PROMISED_BY},
}


@dataclass(frozen=True)
class Step:
    action: str
    data: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, action: str, **overrides: Any) -> Step:
        return cls(action, {**BODIES[action], **overrides})


def steps(*actions: str) -> tuple[Step, ...]:
    return tuple(Step.of(a) for a in actions)


TO_ON_SITE = steps("dispatch", "arrive")
TO_CARRIED_IN = (*TO_ON_SITE, Step.of("carry_in"))
TO_REPAIRED = (*TO_CARRIED_IN, Step.of("record_repair"))
# How a fresh ticket is brought into each status (test label → steps).
PATHS: dict[str, tuple[Step, ...]] = {
    "registered": (),
    "dispatched": steps("dispatch"),
    "on_site": TO_ON_SITE,
    "carried_in": TO_CARRIED_IN,
    "repaired": TO_REPAIRED,
    "ready_for_return": (*TO_REPAIRED, Step.of("inspect")),
    "resolved_unpaid": (*TO_ON_SITE, Step.of("resolve")),
    "resolved_part_paid": (
        *TO_ON_SITE,
        Step.of("resolve"),
        Step.of("record_payment", amount="20.00"),
    ),
    "closed": (*TO_ON_SITE, Step.of("resolve", **RESOLVE_FREE)),
    "cancelled": steps("cancel"),
    "registered_on_hold": steps("hold"),
    "dispatched_on_hold": steps("dispatch", "hold"),
}
STATUS_OF = {
    label: "resolved" if label.startswith("resolved") else label.removesuffix("_on_hold")
    for label in PATHS
}
TERMINAL = {"closed", "cancelled"}
# What the server answers an update on an ended workflow (api/ticket_commands.py: TicketGone).
GONE = {RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION}


@dataclass(frozen=True)
class Allowed:
    """One row of the spec's table: `step` from the label's status leads to `to`."""

    step: Step
    to: str
    why: str
    path: tuple[Step, ...] | None = None  # another way into the status, where it matters


# shared/spec/api.md, row by row; every (status, action) not listed here is refused.
PROMISE = Step.of("promise")
ALLOWED: dict[str, list[Allowed]] = {
    "registered": [
        Allowed(Step.of("dispatch"), "dispatched", "R4"),
        Allowed(Step.of("cancel"), "cancelled", "spec table"),
        Allowed(Step.of("hold"), "registered", "R12: the clock pauses"),
        Allowed(PROMISE, "registered", "R15"),
    ],
    "dispatched": [
        Allowed(Step.of("dispatch", technician="tech2"), "dispatched", "R4 reassignment"),
        Allowed(Step.of("arrive"), "on_site", "R5"),
        Allowed(Step.of("cancel"), "cancelled", "spec table"),
        Allowed(Step.of("hold"), "dispatched", "R12: the clock pauses"),
        Allowed(PROMISE, "dispatched", "R15"),
    ],
    # R12: on hold, the technician cannot arrive and the ticket cannot be held twice.
    "registered_on_hold": [
        Allowed(Step.of("dispatch"), "dispatched", "R4"),
        Allowed(Step.of("cancel"), "cancelled", "spec table"),
        Allowed(Step.of("resume"), "registered", "R12"),
        Allowed(PROMISE, "registered", "R15"),
    ],
    "dispatched_on_hold": [
        Allowed(Step.of("dispatch", technician="tech2"), "dispatched", "R4 reassignment"),
        Allowed(Step.of("cancel"), "cancelled", "spec table"),
        Allowed(Step.of("resume"), "dispatched", "R12"),
        Allowed(PROMISE, "dispatched", "R15"),
    ],
    "on_site": [
        Allowed(Step.of("resolve"), "resolved", "R5, R6: a fee is due"),
        Allowed(Step.of("resolve", **RESOLVE_FREE), "closed", "nothing to pay closes"),
        Allowed(
            Step.of("resolve", labor_minutes=30, collected_on_site=True),
            "closed",
            "R6: a small fee collected on site",
        ),
        Allowed(Step.of("carry_in"), "carried_in", "R7"),
        Allowed(PROMISE, "on_site", "R15"),
    ],
    "carried_in": [
        Allowed(Step.of("record_repair"), "repaired", "R8"),
        Allowed(PROMISE, "carried_in", "R15"),
    ],
    "repaired": [
        Allowed(Step.of("inspect"), "ready_for_return", "R8: passed"),
        Allowed(Step.of("inspect", passed=False), "carried_in", "R8: failed, back to repair"),
        Allowed(PROMISE, "repaired", "R15"),
    ],
    "ready_for_return": [
        Allowed(PROMISE, "ready_for_return", "R15"),
        Allowed(Step.of("return"), "resolved", "R8, R9: invoiced on return"),
        Allowed(
            Step.of("return"),
            "closed",
            "R8: a free repair closes on return",
            path=(*TO_CARRIED_IN, Step.of("record_repair", **REPAIR_FREE), Step.of("inspect")),
        ),
    ],
    "resolved_unpaid": [
        Allowed(Step.of("record_payment", amount="50.00"), "resolved", "R21: part paid"),
        Allowed(Step.of("record_payment"), "closed", "R21: fully paid"),
    ],
    "resolved_part_paid": [
        Allowed(Step.of("record_payment", amount="50.00"), "resolved", "R21: still owing"),
        Allowed(Step.of("record_payment", amount="100.00"), "closed", "R21: the rest"),
    ],
    "closed": [],
    "cancelled": [],
}


class Tickets:
    """Starts tickets on one worker and drives them along paths."""

    def __init__(self, client: Client, task_queue: str, now: datetime) -> None:
        self.client = client
        self.task_queue = task_queue
        self.promised_by = (now + timedelta(days=30)).isoformat()  # R10: in the future

    def request(self, step: Step, actor: str | None = None, roles: Sequence[str] = ()) -> Any:
        default_actor, default_roles = ACTORS[step.action]
        data = {k: self.promised_by if v == PROMISED_BY else v for k, v in step.data.items()}
        return ActionRequest(
            step.action, actor or default_actor, list(roles or default_roles), data
        )

    async def take(self, handle: WorkflowHandle[Any, Any], step: Step) -> TicketState:
        state: TicketState = await handle.execute_update(TicketWorkflow.act, self.request(step))
        return state

    async def ticket_in(self, path: Sequence[Step]) -> WorkflowHandle[Any, Any]:
        start = ticket_start(fingerprint=uuid.uuid4().hex)
        await register(self.client, start, self.task_queue)
        handle = self.client.get_workflow_handle_for(
            TicketWorkflow.run, f"ticket-{start.ticket_id}"
        )
        for step in path:
            await self.take(handle, step)
        return handle


async def accepted_steps(handle: WorkflowHandle[Any, Any]) -> int:
    """How many `act` updates the workflow's history holds as accepted."""
    history = await handle.fetch_history()
    return sum(
        1
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
        and e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        == "act"
    )


@pytest.mark.parametrize("label", list(PATHS))
async def test_every_action_from_each_status(
    label: str, time_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    status = STATUS_OF[label]
    allowed = ALLOWED[label]
    allowed_names = {row.step.action for row in allowed}
    async with build_worker(time_env.client, engine, task_queue):
        tickets = Tickets(time_env.client, task_queue, await time_env.get_current_time())
        handle = await tickets.ticket_in(PATHS[label])
        if label in TERMINAL:
            assert (await handle.result()).status == Status(status)
        before = await handle.query(TicketWorkflow.state_query)
        assert before.status == Status(status)
        accepted = await accepted_steps(handle)

        # Refused: every action the table does not list, taken by an admin (who may take any
        # step, so the status is the only reason to refuse).
        for action in ACTIONS:
            if action in allowed_names:
                continue
            request = tickets.request(Step.of(action), "admin", ["admin"])
            if label in TERMINAL:
                # The ticket's workflow has ended: the server refuses the update, which the API
                # answers with 409 and no allowed actions (tests/api/test_tickets.py).
                with pytest.raises(RPCError) as ended:
                    await handle.execute_update(TicketWorkflow.act, request)
                assert ended.value.status in GONE, (action, ended.value)
                continue
            with pytest.raises(WorkflowUpdateFailedError) as refused:
                await handle.execute_update(TicketWorkflow.act, request)
            cause = refused.value.cause
            assert isinstance(cause, ApplicationError), (label, action, cause)
            assert cause.type == "InvalidTransition", (label, action, cause.message)
            assert set(cause.details[0]["allowed_actions"]) == allowed_names, (label, action)
            assert status in cause.message and action in cause.message

        # ... and left no trace: no step, no money moved, no accepted update in the history.
        after = await handle.query(TicketWorkflow.state_query)
        assert (after.status, after.seq, len(after.timeline)) == (
            before.status,
            before.seq,
            len(before.timeline),
        )
        assert (after.amount_due, after.amount_paid) == (before.amount_due, before.amount_paid)
        assert await accepted_steps(handle) == accepted

        # Allowed: each row of the table, the first on this ticket, the others on fresh ones.
        for n, row in enumerate(allowed):
            ticket = handle
            if n > 0 or row.path is not None:
                ticket = await tickets.ticket_in(row.path or PATHS[label])
            was = await ticket.query(TicketWorkflow.state_query)
            done = await tickets.take(ticket, row.step)
            assert done.status == Status(row.to), (label, row.step, row.why)
            # R11: one timeline step for the action, plus the system's own close when a
            # resolution or return leaves nothing to pay (a full payment closes by itself).
            closes = row.to == "closed" and row.step.action in ("resolve", "return")
            assert done.seq == was.seq + 1 + closes, (label, row.why)
            timeline = (await ticket.query(TicketWorkflow.state_query)).timeline
            assert timeline[was.seq].action == row.step.action
            if closes:
                assert (timeline[-1].action, timeline[-1].actor) == ("close", "system")
                assert done.amount_paid >= done.amount_due
            if row.to in TERMINAL:
                assert (await ticket.result()).status == Status(row.to)


async def test_resolved_rows_owe_what_the_policy_charges(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str
) -> None:
    # R6, R21: the resolved rows above owe 120.00 (60 min at the policy's 120.00/h), invoiced
    # once; a part payment keeps the ticket resolved with the rest outstanding.
    async with build_worker(time_env.client, engine, task_queue):
        tickets = Tickets(time_env.client, task_queue, await time_env.get_current_time())
        handle = await tickets.ticket_in(PATHS["resolved_part_paid"])
        state = await handle.query(TicketWorkflow.state_query)
        assert state.status is Status.RESOLVED
        assert (state.amount_due, state.amount_paid) == (Decimal("120.00"), Decimal("20.00"))
        assert state.invoice is not None and state.invoice.amount == Decimal("120.00")
