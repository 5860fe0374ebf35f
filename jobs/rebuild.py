"""`aftersales rebuild-read-model`: the read model rewritten from the workflows themselves
(after a loss). Every Ticket, Survey and Complaint workflow, open or closed, is asked for its
state, which is written back: the read model is a function of the workflows' state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.engine import Connection, Engine
from temporalio.client import Client

from models.complaint import ComplaintState
from models.survey import SurveyState
from models.ticket import TicketState
from store import complaints, surveys, tickets
from workflows.complaint import ComplaintWorkflow
from workflows.survey import SurveyWorkflow
from workflows.ticket import TicketWorkflow


def _ticket(connection: Connection, state: TicketState) -> bool:
    if state.number is None:  # still registering: its own projection will write it
        return False
    tickets.rebuild(connection, state)
    return True


def _survey(connection: Connection, state: SurveyState) -> bool:
    surveys.project(connection, state)
    return True


def _complaint(connection: Connection, state: ComplaintState) -> bool:
    if state.complaint_id is None:  # still registering
        return False
    complaints.project(connection, state)
    return True


# Workflow type, its state query, and how its state is written back.
KINDS: list[tuple[str, Any, Callable[[Connection, Any], bool]]] = [
    ("Ticket", TicketWorkflow.state_query, _ticket),
    ("Survey", SurveyWorkflow.state_query, _survey),
    ("Complaint", ComplaintWorkflow.state_query, _complaint),
]


async def rebuild_read_model(client: Client, engine: Engine, task_queue: str) -> dict[str, int]:
    """Re-projects every workflow of `task_queue`; returns how many of each kind were written."""
    rebuilt: dict[str, int] = {}
    for workflow_type, query, write in KINDS:
        rebuilt[workflow_type] = 0
        listing = f"WorkflowType = '{workflow_type}' AND TaskQueue = '{task_queue}'"
        async for execution in client.list_workflows(listing):
            handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
            state = await handle.query(query)
            with engine.begin() as connection:
                rebuilt[workflow_type] += write(connection, state)
    return rebuilt
