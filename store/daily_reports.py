"""The day's reports in the read model (R27-R29): the steps a day's draft reads, and each
report as its workflow last projected it."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from typing import Any

from pydantic_core import to_jsonable_python
from sqlalchemy import exists
from sqlalchemy.engine import Connection
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from models.daily_report import DailyReportState, Step
from models.tables import DailyReportRecord, TicketRecord, TimelineRecord
from store.escalations import project_escalations
from store.sql import upsert

T, E = TicketRecord, TimelineRecord


def report_id(branch: str, day: date) -> str:
    return f"{branch}:{day.isoformat()}"


def day_steps(connection: Connection, branch: str, start: datetime, end: datetime) -> list[Step]:
    """Every step up to `end` of the branch's tickets that had a step in (start, end], oldest
    first (a dispatch of days before says whose the day's steps are)."""
    day = aliased(TimelineRecord)
    touched = exists().where(
        col(day.ticket_id) == col(T.id), col(day.at) > start, col(day.at) <= end
    )
    columns = [T.id, T.number, T.service_type, T.status, E.at, E.action, E.actor, E.data]
    rows: Any = connection.execute(
        select(*map(col, columns))
        .join(E, col(E.ticket_id) == col(T.id))
        .where(col(T.branch) == branch, touched, col(E.at) <= end)
        .order_by(col(E.at), col(E.seq))
    )
    return [
        Step(ticket, number, service_type, at, action, actor, data or {}, status)
        for ticket, number, service_type, status, at, action, actor, data in rows
    ]


def project(connection: Connection, state: DailyReportState, workflow_id: str) -> None:
    """Writes the report's row and its escalations; the workflow's state is the truth."""
    values: dict[str, Any] = {
        "id": report_id(state.branch, state.day),
        "workflow_id": workflow_id,
        "branch": state.branch,
        "day": state.day,
        "status": state.status,
        "due_at": state.due_at,
        "drafted_at": state.drafted_at,
        "technicians": [
            to_jsonable_python(asdict(report) | {"totals": report.totals()})
            for report in state.technicians
        ],
        "roll_up": to_jsonable_python(asdict(state.roll_up)) if state.roll_up else None,
        "signed_by": state.signed_by,
        "signed_at": state.signed_at,
        "sign_note": state.sign_note,
        "forwarded_at": state.forwarded_at,
        "updated_at": state.updated_at or state.due_at,
    }
    upsert(connection, DailyReportRecord, values, ["id"])
    project_escalations(connection, state.escalations)


def report(session: Session, branch: str, day: date) -> DailyReportRecord | None:
    return session.get(DailyReportRecord, report_id(branch, day))


def reports_of(
    session: Session, day: date | None, branch: str | None, limit: int = 60
) -> list[DailyReportRecord]:
    """Reports by day and/or branch, the latest day first."""
    query = select(DailyReportRecord)
    if day is not None:
        query = query.where(col(DailyReportRecord.day) == day)
    if branch is not None:
        query = query.where(col(DailyReportRecord.branch) == branch)
    order = (col(DailyReportRecord.day).desc(), col(DailyReportRecord.branch))
    return list(session.exec(query.order_by(*order).limit(limit)).all())
