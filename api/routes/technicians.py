"""Technicians as the dispatcher chooses them (R34): their certificates and open jobs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, status

from api.deps import ServicesDep, SessionDep, reader, require_roles
from api.schemas.sites import CertificateBody, CertificatePublic, TechnicianPublic
from models.roles import CERTIFYING_ROLES, Reading
from models.tables import User
from models.values import Category
from models.worktime import local
from store import sites

router = APIRouter(prefix="/technicians", tags=["technicians"])
Reader = Annotated[User, Depends(reader(Reading.TECHNICIANS))]
Certifier = Annotated[User, Depends(require_roles(*CERTIFYING_ROLES))]
Username = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]


@router.get("", response_model=list[TechnicianPublic])
def list_technicians(
    db: SessionDep,
    app: ServicesDep,
    _: Reader,
    qualified_for: Annotated[
        Category | None, Query(description="only those with a valid certificate for it today")
    ] = None,
    available: Annotated[
        bool | None, Query(description="true: out on no job now; false: out on one")
    ] = None,
) -> list[TechnicianPublic]:
    """Active technicians by username, with their certificates, unresolved tickets and field
    work of the moment."""
    today = local(datetime.now(UTC), app.policy.office_timezone).date()
    cards = sites.technicians(db, qualified_for, available, today)
    return [TechnicianPublic.from_card(card) for card in cards]


@router.get("/{username}/certificates", response_model=list[CertificatePublic])
def list_certificates(username: Username, db: SessionDep, _: Reader) -> list[CertificatePublic]:
    """R34: the technician's certificates, the longest-valid first."""
    return [
        CertificatePublic.from_record(row) for row in sites.certificates(db, [username])[username]
    ]


@router.post(
    "/{username}/certificates",
    status_code=status.HTTP_201_CREATED,
    response_model=CertificatePublic,
)
def add_certificate(
    username: Username, new: CertificateBody, db: SessionDep, user: Certifier
) -> CertificatePublic:
    """R34: records a technician's certificate for a product category."""
    row = sites.add_certificate(db, username, new.model_dump(), user.username)
    return CertificatePublic.from_record(row)
