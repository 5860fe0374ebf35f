"""Reports from the read model: a technician's monthly appraisal (R24)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from api.deps import CurrentUser, ServicesDep, SessionDep
from api.schemas.reports import MONTH_PATTERN, TechnicianMonthly
from models.refusals import FORBIDDEN, NOT_FOUND, Refused
from models.roles import APPRAISING_ROLES
from models.tables import User
from models.worktime import month_bounds
from store import reports, users

router = APIRouter(prefix="/reports", tags=["reports"])
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
