"""What waits for whom on the day's reports (R27-R29, issue 15): the steps the console offers a
user on each report — the technician's confirmation, the director's reviews, the manager's
signature — and the reports a user reads, as the JSON API gives them. The navigation counts
these (`api/console/pages.py`), the daily reports page offers them (`api/console/reports.py`);
the day's workflow decides each step again when it is taken."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import Session

from api.schemas.daily_reports import DailyReportPublic
from models.daily_report import REVIEWING_ROLES, SIGNING_ROLES
from models.roles import READ_ROLES, Reading, branch_scope
from models.tables import DailyReportRecord, User
from store import daily_reports


@dataclass(frozen=True)
class Offers:
    """R27-R29: the steps the page offers a user on a day's report. Offered, not decided:
    the day's workflow checks each again (models/daily_report.py)."""

    confirm: bool
    """Their own report, not yet confirmed (R27)."""
    review: frozenset[str]
    """A director: the technicians whose confirmed reports wait for a review (A8.10)."""
    sign: bool
    """A manager: the day is reviewed and waits for the signature (R29)."""

    @property
    def count(self) -> int:
        return int(self.confirm) + len(self.review) + int(self.sign)


def offers(report: DailyReportPublic, user: User) -> Offers:
    roles = set(user.roles)
    if report.signed_at is not None:
        return Offers(False, frozenset(), False)
    mine = [r for r in report.technicians if r["technician"] == user.username]
    reviews = frozenset(
        r["technician"] for r in report.technicians if r["confirmed_at"] and not r["reviewed_at"]
    )
    return Offers(
        any(not r["confirmed_at"] for r in mine),
        reviews if REVIEWING_ROLES & roles else frozenset(),
        bool(SIGNING_ROLES & roles) and report.status == "awaiting_signature",
    )


def _own_part(row: DailyReportRecord, username: str) -> DailyReportPublic | None:
    """The part of a day's report that is `username`'s (as `GET /reports/daily/mine`), or
    None if they have none."""
    public = DailyReportPublic.from_record(row)
    mine = [report for report in public.technicians if report["technician"] == username]
    return public.model_copy(update={"technicians": mine, "roll_up": None}) if mine else None


def visible_reports(
    db: Session, user: User, day: date | None, branch: str | None
) -> list[DailyReportPublic]:
    """The day's reports (the latest ones without `day`) as the API gives them to `user`: a
    reader those of the branch `branch_scope` grants, a technician their own part of each."""
    if READ_ROLES[Reading.REPORTS].intersection(user.roles):
        scope = branch_scope(user.roles, user.branch, branch)
        return [DailyReportPublic.from_record(r) for r in daily_reports.reports_of(db, day, scope)]
    parts = (_own_part(row, user.username) for row in daily_reports.reports_of(db, day, None))
    return [part for part in parts if part is not None]


def waiting_steps(db: Session, user: User) -> int:
    """The navigation's count: the steps waiting for `user` on the latest reports they read
    (reports to confirm, to review, to sign)."""
    return sum(offers(report, user).count for report in visible_reports(db, user, None, None))
