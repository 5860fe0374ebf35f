"""Reports from the read model: a technician's monthly appraisal (R24)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, status

from api.deps import CurrentUser, ServicesDep, SessionDep
from models.appraisal import MONTH_PATTERN, TechnicianMonthly, monthly_appraisal
from models.roles import APPRAISING_ROLES, Role
from models.tables import User

router = APIRouter(prefix="/reports", tags=["reports"])
OFFICE_CALENDAR = "office"
Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM")]


def appraisal_reader(technician_id: str, user: CurrentUser) -> User:
    """R24: the appraisal is for the director, managers and admin, and the technician."""
    if APPRAISING_ROLES.intersection(user.roles) or user.username == technician_id:
        return user
    needed = " or ".join(sorted(APPRAISING_ROLES))
    raise HTTPException(
        status.HTTP_403_FORBIDDEN,
        f"another technician's appraisal needs the role {needed}",
    )


@router.get("/technicians/{technician_id}/monthly", response_model=TechnicianMonthly)
def technician_monthly(
    technician_id: str,
    month: Month,
    app: ServicesDep,
    db: SessionDep,
    _: Annotated[User, Depends(appraisal_reader)],
) -> TechnicianMonthly:
    """R24: the survey cards sent in `month` (answers, response rate, the four items' averages,
    R23) and the complaints received in it (R25, R26), in the office calendar's time zone."""
    technician = db.get(User, technician_id)
    if technician is None or Role.TECHNICIAN not in technician.roles:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no technician '{technician_id}'")
    office = app.policy.calendars.get(OFFICE_CALENDAR)
    timezone = office.timezone if office is not None else "UTC"
    return monthly_appraisal(db, technician_id, month, timezone)
