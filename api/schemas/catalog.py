"""API schemas for customers, products and maintenance contracts (R2)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.schemas.base import Patch, Request
from models.contract import contract_status
from models.entitlement import Entitlement, ServiceType
from models.messages import Language, NotifyBy
from models.policy import MAX_HOURS
from models.tables import ContractRecord, CustomerRecord, ProductRecord, TicketRecord
from models.values import Category, Email, Phone, ShortItem, ShortText, Text

ContractNumber = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9./_-]{0,31}$")
]
RecordId = Annotated[int, Field(ge=1, le=2_147_483_647)]
ArrivalHours = Annotated[float, Field(gt=0, le=MAX_HOURS, allow_inf_nan=False)]
Every = Literal["month", "quarter"]
Dates = Annotated[list[date], Field(max_length=120)]
Checklist = Annotated[list[ShortItem], Field(min_length=1, max_length=50)]


class CustomerCreate(Request):
    name: ShortText
    phone: Phone
    address: Text
    safety_agreement_required: bool = False
    """R33: no technician is sent to this site without a valid safety agreement."""
    email: Email | None = None
    language: Language = Language.ZH
    """The language of their messages and documents."""
    notify_by: NotifyBy = NotifyBy.SMS
    """How they want to hear from us."""


class CustomerUpdate(Patch):
    nullable = frozenset({"email"})

    name: ShortText | None = None
    phone: Phone | None = None
    address: Text | None = None
    safety_agreement_required: bool | None = None
    email: Email | None = None
    language: Language | None = None
    notify_by: NotifyBy | None = None


class ProductCreate(Request):
    serial_no: ShortText
    model: ShortText
    customer_id: RecordId | None = None
    warranty_until: date | None = None
    """The last day of the free warranty (R1, R2)."""
    category: Category | None = None
    """R34: the policy's `[qualifications]` names the categories that need a certificate."""


class ProductUpdate(Patch):
    nullable = frozenset({"customer_id", "warranty_until", "category"})

    serial_no: ShortText | None = None
    model: ShortText | None = None
    customer_id: RecordId | None = None
    warranty_until: date | None = None
    category: Category | None = None


class ContractCreate(Request):
    number: ContractNumber | None = None
    """Given by the user, or MC-<year>-<seq> when left out."""
    customer_id: RecordId
    product_id: RecordId
    starts_on: date
    ends_on: date
    covers_labor: bool = True
    covers_parts: bool = False
    arrival_hours: ArrivalHours | None = None
    """R13: the contract's own working hours to arrive in, replacing the zone's."""
    zone: ShortText = "urban"
    """Where its inspections, follow-ups and renewal visit are (a zone of the policy)."""
    kind: Category | None = None
    """The contract type: picks the policy's inspection checklist (R32)."""
    every: Every | None = None
    """R32: inspections every month or quarter (the policy's default unless `dates`)."""
    dates: Dates = []
    """R32: inspections on these days instead."""
    checklist: Checklist | None = None
    """R32: the items each inspection checks (the policy's for `kind` unless given)."""
    free_maintenance_until: date | None = None
    """R31: the sales director hears three months before."""
    notes: Text | None = None

    @model_validator(mode="after")
    def _one_schedule(self) -> ContractCreate:
        if self.every is not None and self.dates:
            raise ValueError("every or dates: inspections come on one schedule")
        return self


class ContractUpdate(Patch):
    """Renewing or extending is a later `ends_on`; a new schedule is `every`, `dates`,
    `checklist` or `free_maintenance_until`; ending early is `POST /contracts/{id}/terminate`.
    The workflow of the contract moves what is still to come (R31, R32)."""

    nullable = frozenset({"notes", "arrival_hours", "every", "free_maintenance_until"})

    number: ContractNumber | None = None
    customer_id: RecordId | None = None
    product_id: RecordId | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    covers_labor: bool | None = None
    covers_parts: bool | None = None
    arrival_hours: ArrivalHours | None = None
    every: Every | None = None
    dates: Dates | None = None
    checklist: Checklist | None = None
    free_maintenance_until: date | None = None
    notes: Text | None = None


class CustomerPublic(BaseModel):
    id: int
    name: str
    phone: str
    address: str
    safety_agreement_required: bool
    email: str | None
    language: Language
    notify_by: NotifyBy
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, row: CustomerRecord) -> CustomerPublic:
        return cls.model_validate(row, from_attributes=True)


class ProductPublic(BaseModel):
    id: int
    serial_no: str
    model: str
    customer_id: int | None
    warranty_until: date | None
    category: str | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_record(cls, row: ProductRecord) -> ProductPublic:
        return cls.model_validate(row, from_attributes=True)


class ContractPublic(BaseModel):
    id: int
    number: str
    customer_id: int
    product_id: int
    starts_on: date
    ends_on: date
    covers_labor: bool
    covers_parts: bool
    arrival_hours: float | None
    zone: str
    kind: str | None
    every: str | None
    dates: list[date]
    checklist: list[str]
    free_maintenance_until: date | None
    terminated_on: date | None
    notes: str | None
    created_at: datetime
    updated_at: datetime

    status: Literal["upcoming", "active", "ended", "terminated"]
    """On the office's today: `terminated` early, `ended`, `upcoming` or `active`."""

    @classmethod
    def from_record(cls, row: ContractRecord, today: date) -> ContractPublic:
        status = contract_status(row.starts_on, row.ends_on, row.terminated_on, today)
        return cls.model_validate({**row.model_dump(), "status": status})


class CustomerDetail(CustomerPublic):
    products: list[ProductPublic]
    contracts: list[ContractPublic]


class EntitlementPublic(BaseModel):
    """R2: the service type a call-in would get on `on`, and the evidence for it."""

    on: date
    service_type: ServiceType
    evidence: dict[str, str]
    covers_labor: bool | None
    covers_parts: bool | None

    @classmethod
    def of(cls, entitlement: Entitlement, on: date) -> EntitlementPublic:
        return cls(
            on=on,
            service_type=entitlement.service_type,
            evidence=entitlement.evidence,
            covers_labor=entitlement.covers_labor,
            covers_parts=entitlement.covers_parts,
        )


class ProductDetail(ProductPublic):
    contracts: list[ContractPublic]
    entitlement: EntitlementPublic


class TerminateBody(Request):
    """R31: the contract ends early, on `terminated_on` (today when left out)."""

    terminated_on: date | None = None
    reason: Text


class ContractEventPublic(BaseModel):
    """One event of a contract's calendar (R31, R32): `upcoming`, `done` (with the job's
    ticket) or `missed` (due before the contract's workflow started)."""

    key: str
    kind: str
    on: date
    status: Literal["upcoming", "done", "missed"]
    at: datetime | None = None
    ticket_id: str | None = None


class InspectionPublic(BaseModel):
    """R32: one inspection job of a contract and, once recorded, its checklist's results."""

    ticket_id: str
    number: str
    status: str
    technician: str | None
    created_at: datetime
    checklist: list[str]
    results: list[dict[str, Any]]
    recorded_by: str | None
    recorded_at: datetime | None
    repair_ticket: str | None
    """The repair ticket a fault opened."""

    @classmethod
    def from_record(cls, row: TicketRecord) -> InspectionPublic:
        inspection = row.inspection or {}
        return cls(
            ticket_id=row.id,
            number=row.number,
            status=row.status,
            technician=row.technician,
            created_at=row.created_at,
            checklist=inspection.get("checklist", []),
            results=inspection.get("results", []),
            recorded_by=inspection.get("recorded_by"),
            recorded_at=inspection.get("recorded_at"),
            repair_ticket=inspection.get("repair_ticket"),
        )
