"""The ticket workflow's projections into the read model (store/tickets.py): its registration
with the entitlement decided (R2, R3) and each step after (R11). Run as local activities in
the ticket's workflow task."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.errors import invalid_data_is_final
from models.ticket import Projection, Registration
from store import tickets


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def register_ticket(self, projection: Projection) -> Registration:
        """R2, R3: the ticket's row, number and entitlement, decided once; a second call
        returns what the first decided."""
        state = projection.state
        with invalid_data_is_final(f"ticket {state.ticket_id}"), self.engine.begin() as db:
            return tickets.register(db, state, projection.entry)

    @activity.defn
    def project_step(self, projection: Projection) -> None:
        """One step into the read model; older or repeated deliveries change nothing."""
        state = projection.state
        with invalid_data_is_final(f"ticket {state.number}"), self.engine.begin() as db:
            tickets.project_step(db, state, *projection.earlier, projection.entry)
