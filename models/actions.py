"""Request bodies of the lifecycle actions (shared/spec/api.md), validated by the API and
again by the workflow's update validator."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from models.lifecycle import Action

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Money = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=2)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PartUsed(_Body):
    part_no: Text
    qty: int = Field(gt=0, le=10_000)
    unit_price: Money


class DispatchBody(_Body):
    technician: Text


class ArriveBody(_Body):
    pass


class ResolveBody(_Body):
    work_summary: Text
    labor_minutes: int = Field(ge=0, le=100_000)
    parts: list[PartUsed] = []
    customer_signature: Text
    collected_on_site: bool = False


class CarryInBody(_Body):
    customer_signature: Text
    promised_by: AwareDatetime


class RecordRepairBody(_Body):
    labor_minutes: int = Field(ge=0, le=100_000)
    parts: list[PartUsed] = []
    notes: Text


class InspectBody(_Body):
    passed: bool
    notes: Text


class ReturnBody(_Body):
    customer_signature: Text


class RecordPaymentBody(_Body):
    amount: Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=2)]
    method: Text


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
