"""A complaint's projections into the read model (store/complaints.py): its registration with
the number and the repeat check (R26, A2), and each step after with its escalations (R16).
Run as local activities in the complaint's workflow."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from temporalio import activity

from activities.errors import invalid_data_is_final
from models.complaint import ComplaintState, Registered
from store import complaints


class ComplaintActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def register_complaint(self, state: ComplaintState) -> Registered:
        """R26, A2: the complaint's number, the repeat check and its row, decided once."""
        with invalid_data_is_final("complaint"), self.engine.begin() as db:
            return complaints.register(db, state)

    @activity.defn
    def project_complaint(self, state: ComplaintState) -> None:
        """One step into the read model: the complaint's row and its escalations (R16)."""
        with invalid_data_is_final(state.complaint_id or "complaint"), self.engine.begin() as db:
            complaints.project(db, state)
