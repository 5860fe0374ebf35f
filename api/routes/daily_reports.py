"""The day's reports (R27-R29): read per branch and day (JSON or CSV), a technician's own,
and the steps people take on them: the technician confirms, the director reviews, the branch
manager signs."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api import report_commands
from api.csv_export import CSV_RESPONSE, Format, csv_file, wants_csv
from api.deps import OfficeDay, ServicesDep, SessionDep, reader, require_roles
from api.schemas.daily_reports import (
    ConfirmBody,
    DailyReportPublic,
    ReviewBody,
    SignBody,
    reports_csv,
)
from models.daily_report import CONFIRMING_ROLES, REVIEWING_ROLES, SIGNING_ROLES
from models.refusals import NOT_FOUND, Refused
from models.roles import Reading, Role, branch_scope
from models.tables import User
from store import daily_reports
from workflows.daily_report import DailyReportWorkflow

router = APIRouter(prefix="/reports/daily", tags=["reports"])
ReportReader = Annotated[User, Depends(reader(Reading.REPORTS))]
Technician = Annotated[User, Depends(require_roles(Role.TECHNICIAN))]
Confirmer = Annotated[User, Depends(require_roles(*CONFIRMING_ROLES))]
Reviewer = Annotated[User, Depends(require_roles(*REVIEWING_ROLES))]
Signer = Annotated[User, Depends(require_roles(*SIGNING_ROLES))]
BranchName = Annotated[str, Query(min_length=1, max_length=100)]
BranchPath = Annotated[str, Path(min_length=1, max_length=100)]


@router.get(
    "",
    response_model=list[DailyReportPublic],
    responses=CSV_RESPONSE,
)
def list_daily_reports(
    request: Request,
    db: SessionDep,
    user: ReportReader,
    today: OfficeDay,
    day: Annotated[date | None, Query(alias="date", description="default: today (office)")] = None,
    branch: BranchName | None = None,
    format: Format = None,
) -> list[DailyReportPublic] | Response:
    """R27-R29: the day's report of each branch (the user's own branch for a director or
    manager of one): each technician's report, the director's roll-up, who confirmed,
    reviewed and signed. CSV (one row per job) with `format=csv` or `Accept: text/csv`."""
    scope = branch_scope(user.roles, user.branch, branch)
    found = [
        DailyReportPublic.from_record(row)
        for row in daily_reports.reports_of(db, day or today, scope)
    ]
    if wants_csv(request, format):
        return csv_file(reports_csv(found), f"daily-reports-{day or today}.csv")
    return found


@router.get("/mine", response_model=list[dict[str, Any]])
def my_daily_reports(
    db: SessionDep,
    user: Technician,
    today: OfficeDay,
    day: Annotated[date | None, Query(alias="date", description="default: today (office)")] = None,
) -> list[dict[str, Any]]:
    """R27: the technician's own report of the day (in each branch they worked for), with
    the day's status, to confirm."""
    found = []
    for row in daily_reports.reports_of(db, day or today, None):
        for mine in row.technicians:
            if mine["technician"] == user.username:
                found.append({"branch": row.branch, "day": row.day, "status": row.status, **mine})
    return found


async def _step(
    app: ServicesDep, user: User, branch: str, day: date, update: Any, body: Any
) -> DailyReportPublic:
    branch_scope(user.roles, user.branch, branch)  # a manager signs their own branch's

    def read() -> DailyReportPublic:
        with app.session() as db:
            row = daily_reports.report(db, branch, day)
            if row is None:
                raise Refused(NOT_FOUND, f"no daily report of branch '{branch}' on {day}")
            return DailyReportPublic.from_record(row)

    await run_in_threadpool(read)
    await report_commands.take(
        app.temporal, branch, day, update, body.step(user.username, list(user.roles))
    )
    return await run_in_threadpool(read)


@router.post("/{branch}/{day}/confirm", response_model=DailyReportPublic)
async def confirm(
    branch: BranchPath, day: date, body: ConfirmBody, app: ServicesDep, user: Confirmer
) -> DailyReportPublic:
    """R27: the technician confirms their report of the day, with corrections (a director or
    admin confirms for a named technician)."""
    return await _step(app, user, branch, day, DailyReportWorkflow.confirm, body)


@router.post("/{branch}/{day}/review", response_model=DailyReportPublic)
async def review(
    branch: BranchPath, day: date, body: ReviewBody, app: ServicesDep, user: Reviewer
) -> DailyReportPublic:
    """A8.10: the director reviews a technician's confirmed report; the last review rolls the
    day up into the director's report (R28)."""
    return await _step(app, user, branch, day, DailyReportWorkflow.review, body)


@router.post("/{branch}/{day}/sign", response_model=DailyReportPublic)
async def sign(
    branch: BranchPath, day: date, body: SignBody, app: ServicesDep, user: Signer
) -> DailyReportPublic:
    """R29: the branch manager signs the director's report; it is forwarded to the service
    department."""
    return await _step(app, user, branch, day, DailyReportWorkflow.sign, body)
