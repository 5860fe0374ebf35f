"""Request bodies of the lifecycle actions (shared/spec/api.md), validated by the API and
again by the workflow's update validator.

Every field is bounded, so no step can grow a ticket's state (and its workflow's history)
without limit: texts, lists, counts and amounts. The amounts a ticket may reach are policy
(`[billing] max_line_amount`, `max_ticket_amount`), checked by the workflow against the
terms frozen at call-in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints, model_validator

from models.lifecycle import Action
from models.values import (
    MONEY_CEILING,
    FileKey,
    MoneyIn,
    PartNumber,
    ShortItem,
    ShortText,
    Text,
)
from models.work_order import Party

LaborMinutes = Annotated[int, Field(ge=0, le=10_000)]
MAX_PARTS = 50
"""Part lines in one step."""
MAX_REPAIR_ROUNDS = 20
"""Rounds on one repair card (R8): past them the repair is not going to work."""
MAX_PAYMENTS = 100
"""Payments recorded against one ticket (R21)."""
SIGNED_ACTIONS = frozenset({Action.RESOLVE, Action.CARRY_IN, Action.RETURN})
"""Steps the customer signs: the typed name, and the pad's image if there is one."""
ZONED_FIELDS = ("promised_by",)
"""Times a person types: given without a zone, they are the office's (R10, R15)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


PaymentMethod = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
"""One of the policy's `[billing] payment_methods`."""
Quantity = Annotated[int, Field(gt=0, le=10_000)]


class PartUsed(_Body):
    part_no: PartNumber
    qty: Quantity
    unit_price: MoneyIn | None = None
    """Omitted: the list price the part was issued at to this ticket (R19)."""


class PartAsked(_Body):
    part_no: PartNumber
    qty: Quantity


class DispatchBody(_Body):
    technician: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{1,63}$")]
    """The technician's username."""


class ArriveBody(_Body):
    pass


class ResolveBody(_Body):
    work_summary: Text
    labor_minutes: LaborMinutes
    parts: list[PartUsed] = Field([], max_length=MAX_PARTS)
    customer_signature: ShortText
    signature_image: FileKey | None = None
    """The signature pad's image, stored by the API (`customer_signature_image`)."""
    collected_on_site: bool = False
    margin_justification: Text | None = None
    """R18: needed when the job's gross margin is below the policy's minimum."""


class CarryInBody(_Body):
    customer_signature: ShortText
    signature_image: FileKey | None = None
    """The signature pad's image, stored by the API (`customer_signature_image`)."""
    promised_by: AwareDatetime


class RecordRepairBody(_Body):
    labor_minutes: LaborMinutes
    parts: list[PartUsed] = Field([], max_length=MAX_PARTS)
    notes: Text


class InspectBody(_Body):
    passed: bool
    notes: Text


class ReturnBody(_Body):
    customer_signature: ShortText
    signature_image: FileKey | None = None
    """The signature pad's image, stored by the API (`customer_signature_image`)."""
    margin_justification: Text | None = None
    """R18: needed when the job's gross margin is below the policy's minimum."""


class RecordPaymentBody(_Body):
    amount: Annotated[Decimal, Field(gt=0, le=MONEY_CEILING, decimal_places=2)]
    method: PaymentMethod


class CancelBody(_Body):
    reason: Text


class HoldBody(_Body):
    """R12: why the customer cannot receive the technician now."""

    reason: Text


class ResumeBody(_Body):
    note: Text | None = None


class PromiseBody(_Body):
    """R15: the definite resolution time the customer was told."""

    promised_by: AwareDatetime
    note: Text | None = None


class IssuePartsBody(_Body):
    """R19: parts out of the store against this ticket's work order."""

    parts: list[PartAsked] = Field(min_length=1, max_length=MAX_PARTS)
    reason: Text | None = None
    """Why, for the sign-off parts beyond the quotation or a warranty claim need."""


class ReturnPartsBody(_Body):
    """R19: unused parts handed back to the store."""

    parts: list[PartAsked] = Field(min_length=1, max_length=MAX_PARTS)
    note: Text | None = None


class QuoteBody(_Body):
    """R19: the labour estimate and the parts, priced at list by the store."""

    labor_minutes: LaborMinutes
    parts: list[PartAsked] = Field([], max_length=MAX_PARTS)
    note: Text | None = None


class AcceptQuoteBody(_Body):
    customer_signature: ShortText


class DeclineQuoteBody(_Body):
    reason: Text
    customer_signature: ShortText | None = None


class DiscountBody(_Body):
    """R17: a percentage off this ticket's invoice, with the reason the director reads."""

    percent: Annotated[Decimal, Field(gt=0, le=100, decimal_places=2)]
    reason: Text


class DecideResponsibilityBody(_Body):
    """R20: who is responsible for the defect; `customer_share_percent` for a shared one."""

    party: Party
    customer_share_percent: Annotated[Decimal, Field(gt=0, lt=100, decimal_places=2)] | None = None
    reason: Text

    @model_validator(mode="after")
    def _share_when_shared(self) -> DecideResponsibilityBody:
        shared = self.party == Party.SHARED
        if shared != (self.customer_share_percent is not None):
            raise ValueError("customer_share_percent is given for a shared responsibility only")
        return self


class TakeDepositBody(_Body):
    """R19: a deposit on a warranty claim, refunded when the parts are fitted."""

    amount: Annotated[Decimal, Field(gt=0, le=MONEY_CEILING, decimal_places=2)]
    method: PaymentMethod


class ChecklistResult(_Body):
    item: ShortItem
    result: Literal["ok", "fault", "not_checked"]
    note: Text | None = None
    photo_ref: ShortText | None = None
    """Where the photo is (a file name, a reference in the photo store)."""


class RecordInspectionBody(_Body):
    """R32: each item of the inspection's checklist, once; a fault opens a repair ticket."""

    items: list[ChecklistResult] = Field(min_length=1, max_length=50)


ACTION_BODIES: dict[str, type[_Body]] = {
    Action.DISPATCH: DispatchBody,
    Action.ARRIVE: ArriveBody,
    Action.RESOLVE: ResolveBody,
    Action.CARRY_IN: CarryInBody,
    Action.RECORD_REPAIR: RecordRepairBody,
    Action.INSPECT: InspectBody,
    Action.RETURN: ReturnBody,
    Action.RECORD_PAYMENT: RecordPaymentBody,
    Action.CANCEL: CancelBody,
    Action.HOLD: HoldBody,
    Action.RESUME: ResumeBody,
    Action.PROMISE: PromiseBody,
    Action.ISSUE_PARTS: IssuePartsBody,
    Action.RETURN_PARTS: ReturnPartsBody,
    Action.QUOTE: QuoteBody,
    Action.ACCEPT_QUOTE: AcceptQuoteBody,
    Action.DECLINE_QUOTE: DeclineQuoteBody,
    Action.DISCOUNT: DiscountBody,
    Action.DECIDE_RESPONSIBILITY: DecideResponsibilityBody,
    Action.RECORD_INSPECTION: RecordInspectionBody,
    Action.TAKE_DEPOSIT: TakeDepositBody,
}
