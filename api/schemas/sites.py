"""Who may be sent where (R33, R34): safety agreements and technicians' certificates."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, model_validator

from api.schemas.base import Request
from models.tables import CertificateRecord, SafetyAgreementRecord
from models.values import Category, ShortText
from store.sites import TechnicianCard


class SafetyAgreementBody(Request):
    """R33: a safety agreement signed for the customer's site."""

    signer: ShortText
    signed_on: date
    valid_until: date
    """Its last valid day."""
    document_ref: ShortText
    """Where the signed paper is (a file number, an archive reference)."""

    @model_validator(mode="after")
    def _valid_after_signing(self) -> SafetyAgreementBody:
        if self.valid_until < self.signed_on:
            raise ValueError("valid_until: an agreement is valid from the day it is signed")
        return self


class SafetyAgreementPublic(BaseModel):
    id: int
    customer_id: int
    signer: str
    signed_on: date
    valid_until: date
    document_ref: str
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def from_record(cls, row: SafetyAgreementRecord) -> SafetyAgreementPublic:
        return cls.model_validate(row, from_attributes=True)


class CertificateBody(Request):
    """R34: a technician's certificate for a product category."""

    category: Category
    number: ShortText
    valid_until: date


class CertificatePublic(BaseModel):
    id: int
    username: str
    category: str
    number: str
    valid_until: date
    recorded_by: str
    recorded_at: datetime

    @classmethod
    def from_record(cls, row: CertificateRecord) -> CertificatePublic:
        return cls.model_validate(row, from_attributes=True)


class TechnicianPublic(BaseModel):
    """A technician as the dispatcher chooses: certificates, unresolved tickets assigned to
    them, and how many of those are field work right now (dispatched or on site)."""

    username: str
    full_name: str
    branch: str | None
    certificates: list[CertificatePublic]
    open_jobs: int
    in_the_field: int

    @classmethod
    def from_card(cls, card: TechnicianCard) -> TechnicianPublic:
        return cls(
            username=card.user.username,
            full_name=card.user.full_name,
            branch=card.user.branch,
            certificates=[CertificatePublic.from_record(row) for row in card.certificates],
            open_jobs=card.open_jobs,
            in_the_field=card.in_the_field,
        )
