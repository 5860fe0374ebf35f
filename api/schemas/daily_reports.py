"""The day's reports as clients read and sign them (R27-R29)."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field

from api.schemas.base import Request
from models.daily_report import Correction, ReportStep
from models.tables import DailyReportRecord
from models.values import Text, Username

Minutes = Annotated[int, Field(ge=0, le=24 * 60)]


class CorrectionBody(Request):
    """A job's minutes as they really were, and why."""

    ticket_id: Annotated[str, Field(min_length=1, max_length=64)]
    travel_minutes: Minutes | None = None
    on_site_minutes: Minutes | None = None
    workshop_minutes: Minutes | None = None
    note: Text | None = None


class ConfirmBody(Request):
    """R27: the technician confirms the day's report (a director or admin names them)."""

    technician: Username | None = None
    corrections: Annotated[list[CorrectionBody], Field(max_length=100)] = []
    note: Text | None = None

    def step(self, actor: str, roles: list[str]) -> ReportStep:
        corrections = [Correction(**c.model_dump()) for c in self.corrections]
        return ReportStep(actor, roles, self.technician, corrections, self.note)


class ReviewBody(Request):
    """A8.10: the director reviews a technician's confirmed report."""

    technician: Username
    note: Text | None = None

    def step(self, actor: str, roles: list[str]) -> ReportStep:
        return ReportStep(actor, roles, self.technician, note=self.note)


class SignBody(Request):
    """R29: the branch manager signs the director's report."""

    note: Text | None = None

    def step(self, actor: str, roles: list[str]) -> ReportStep:
        return ReportStep(actor, roles, note=self.note)


class DailyReportPublic(BaseModel):
    id: str
    branch: str
    day: date
    status: str
    """drafting, no_work, awaiting_confirmation, awaiting_review, awaiting_signature, signed,
    forwarded."""
    due_at: datetime
    drafted_at: datetime | None
    technicians: list[dict[str, Any]]
    """Each technician's report (R27): jobs with category and minutes travelling, on site
    and in the workshop, parts, result; totals; who confirmed and reviewed it, when."""
    roll_up: dict[str, Any] | None
    """R28: the director's report: per technician, per category, in all."""
    signed_by: str | None
    signed_at: datetime | None
    sign_note: str | None
    forwarded_at: datetime | None

    @classmethod
    def from_record(cls, row: DailyReportRecord) -> DailyReportPublic:
        return cls.model_validate(row, from_attributes=True)


JOB_COLUMNS = (
    "ticket_id",
    "number",
    "category",
    "travel_minutes",
    "on_site_minutes",
    "workshop_minutes",
    "result",
    "note",
)


def reports_csv(reports: list[DailyReportPublic]) -> str:
    """One row per job of each technician's report."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(
        (
            "branch",
            "day",
            "status",
            "technician",
            *JOB_COLUMNS,
            "confirmed_by",
            "reviewed_by",
            "signed_by",
        )
    )
    for report in reports:
        for mine in report.technicians:
            for job in mine["jobs"]:
                writer.writerow(
                    (
                        report.branch,
                        report.day,
                        report.status,
                        mine["technician"],
                        *(job.get(c) for c in JOB_COLUMNS),
                        mine["confirmed_by"],
                        mine["reviewed_by"],
                        report.signed_by,
                    )
                )
    return out.getvalue()
