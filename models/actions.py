"""Request bodies of the lifecycle actions (shared/spec/api.md), validated by the API and
again by the workflow's update validator.

Every field is bounded, so no step can grow a ticket's state (and its workflow's history)
without limit: texts, lists, counts and amounts. The amounts a ticket may reach are policy
(`[billing] max_line_amount`, `max_ticket_amount`), checked by the workflow against the
terms frozen at call-in.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from models.lifecycle import Action
from models.values import MONEY_CEILING, MoneyIn, PartNumber, ShortText, Text

LaborMinutes = Annotated[int, Field(ge=0, le=10_000)]
MAX_PARTS = 50
"""Part lines in one step."""
MAX_REPAIR_ROUNDS = 20
"""Rounds on one repair card (R8): past them the repair is not going to work."""
MAX_PAYMENTS = 100
"""Payments recorded against one ticket (R21)."""
ZONED_FIELDS = ("promised_by",)
"""Times a person types: given without a zone, they are the office's (R10, R15)."""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartUsed(_Body):
    part_no: PartNumber
    qty: int = Field(gt=0, le=10_000)
    unit_price: MoneyIn


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
    collected_on_site: bool = False


class CarryInBody(_Body):
    customer_signature: ShortText
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


class RecordPaymentBody(_Body):
    amount: Annotated[Decimal, Field(gt=0, le=MONEY_CEILING, decimal_places=2)]
    method: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,31}$")]
    """One of the policy's `[billing] payment_methods`."""


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
}
