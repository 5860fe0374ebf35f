"""Reports from the read model: a technician's monthly appraisal (R24), the KPIs of a
period (R30, R36)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.csv_export import CSV_RESPONSE, Format, csv_file, wants_csv
from api.deps import CurrentUser, ServicesDep, SessionDep, reader, require_roles
from api.schemas.reports import (
    MONTH_PATTERN,
    DefectPublic,
    GroupKpisPublic,
    KpiReport,
    TechnicianMonthly,
    WhatIfBody,
    WhatIfReport,
)
from models.kpis import GroupBy
from models.policy import PolicyError, parse_policy
from models.refusals import FORBIDDEN, NOT_FOUND, Refused, field_refused
from models.roles import APPRAISING_ROLES, Reading, Role, branch_scope
from models.tables import User
from models.what_if import compare
from models.worktime import days_bounds, month_bounds
from store import kpis, reports, users
from store import what_if as what_ifs

router = APIRouter(prefix="/reports", tags=["reports"])
ReportReader = Annotated[User, Depends(reader(Reading.REPORTS))]
# Who tries a policy before adopting it: the directors (and the VP and admin above them).
Director = Annotated[User, Depends(require_roles(Role.DIRECTOR, Role.VP, Role.ADMIN))]
Branch = Annotated[str, Query(min_length=1, max_length=100)]
MAX_PERIOD = timedelta(days=366)
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]
TechnicianId = Annotated[str, Path(min_length=1, max_length=64)]


def appraisal_reader(technician_id: TechnicianId, user: CurrentUser) -> User:
    """R24: the appraisal is for the director, managers and admin, and the technician."""
    if APPRAISING_ROLES.intersection(user.roles) or user.username == technician_id:
        return user
    needed = " or ".join(sorted(APPRAISING_ROLES))
    raise Refused(FORBIDDEN, f"another technician's appraisal needs the role {needed}")


@router.get("/technicians/{technician_id}/monthly", response_model=TechnicianMonthly)
def technician_monthly(
    technician_id: TechnicianId,
    month: Month,
    app: ServicesDep,
    db: SessionDep,
    _: Annotated[User, Depends(appraisal_reader)],
) -> TechnicianMonthly:
    """R24: the survey cards sent in `month` (answers, response rate, the four items' averages,
    R23) and the complaints received in it (R25, R26), in the office calendar's time zone."""
    if users.technician(db, technician_id) is None:
        raise Refused(NOT_FOUND, f"no technician '{technician_id}'")
    start, end = month_bounds(month, app.policy.office_timezone)
    figures = reports.monthly_figures(db, technician_id, start, end)
    return TechnicianMonthly.of(technician_id, month, figures)


def _check_period(first: date, last: date, loc: str) -> None:
    if last < first:
        raise field_refused("to", "the period ends on or after its first day", loc=loc)
    if last - first >= MAX_PERIOD:
        raise field_refused("to", "a period of at most 366 days", loc=loc)


@router.get(
    "/kpis",
    response_model=KpiReport,
    responses=CSV_RESPONSE,
)
def kpi_report(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ReportReader,
    period_from: Annotated[date, Query(alias="from", description="the first day (office)")],
    period_to: Annotated[date, Query(alias="to", description="the last day, included")],
    group_by: GroupBy | None = None,
    branch: Branch | None = None,
    format: Format = None,
) -> KpiReport | Response:
    """R30, R36: the figures of the tickets called in from `from` to `to` (office days,
    both included), per `group_by` (or all together): arrival compliance, time to arrive and
    to resolve, first-visit fix and re-dispatch rates, backlog by age, satisfaction,
    complaints, escalations, approvals; and the defects by product model and part. A
    director or manager of a branch reads that branch's. CSV (one row per group) with
    `format=csv` or `Accept: text/csv`."""
    _check_period(period_from, period_to, "query")
    scope = branch_scope(user.roles, user.branch, branch)
    start, end = days_bounds(period_from, period_to, app.policy.office_timezone)
    period = kpis.Period(start, end, datetime.now(UTC), scope)
    groups, defects = kpis.kpis(db, period, group_by)
    report = KpiReport(
        period_from=period_from,
        period_to=period_to,
        group_by=group_by,
        branch=scope,
        groups=[GroupKpisPublic.of(found) for found in groups],
        defects=[DefectPublic(**vars(defect)) for defect in defects],
    )
    if wants_csv(request, format):
        return csv_file(report.csv(), f"kpis-{period_from}-{period_to}.csv")
    return report


@router.post("/what-if", response_model=WhatIfReport)
def what_if(body: WhatIfBody, app: ServicesDep, db: SessionDep, user: Director) -> WhatIfReport:
    """Tries a candidate policy on the real tickets called in from `from` to `to`: the
    arrival deadlines and escalations (R12-R16) its calendars, zones, arrival hours, warning
    fraction and same-day rule would have produced, recomputed from the tickets' recorded
    instants, beside what happened. Nothing about any ticket changes."""
    _check_period(body.period_from, body.period_to, "body")
    try:
        candidate = parse_policy(body.policy, "policy")
    except PolicyError as bad:
        raise field_refused("policy", str(bad)) from None
    scope = branch_scope(user.roles, user.branch, body.branch)
    start, end = days_bounds(body.period_from, body.period_to, app.policy.office_timezone)
    comparison = compare(what_ifs.recorded(db, start, end, scope), candidate, datetime.now(UTC))
    return WhatIfReport.of(body.period_from, body.period_to, scope, comparison)
