"""Rebuilds the read model from the ticket workflows themselves (issue: "rebuilt if lost"):
every Ticket workflow, open or closed, is asked for its state, which is written back."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio.client import Client

from activities.projection import rebuild_ticket
from workflows.ticket import TicketWorkflow


async def rebuild_read_model(client: Client, engine: Engine, task_queue: str) -> int:
    """Re-projects every ticket of `task_queue`; returns how many were written."""
    rebuilt = 0
    query = f"WorkflowType = 'Ticket' AND TaskQueue = '{task_queue}'"
    async for execution in client.list_workflows(query):
        handle = client.get_workflow_handle_for(
            TicketWorkflow.run, execution.id, run_id=execution.run_id
        )
        state = await handle.query(TicketWorkflow.state_query)
        if state.number is None:  # still registering: its own projection will write it
            continue
        with engine.begin() as connection:
            rebuild_ticket(connection, state)
        rebuilt += 1
    return rebuilt
