"""The ticket steps the console has forms for, and what a posted form becomes: the same body
the JSON API takes (`models/actions.py`), checked by the same command
(`api/ticket_commands.py` `take_step`). A form only gathers what a person typed; every rule is
the command's and the workflow's, so a form with a field missing or wrong is refused with the
field named, as over the JSON API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from starlette.datastructures import FormData

from models.lifecycle import Action
from models.roles import refusal
from models.tables import User

STEPS = (
    Action.DISPATCH,
    Action.ARRIVE,
    Action.RESOLVE,
    Action.CARRY_IN,
    Action.QUOTE,
    Action.ACCEPT_QUOTE,
    Action.DECLINE_QUOTE,
    Action.RECORD_REPAIR,
    Action.INSPECT,
    Action.RETURN,
    Action.DISCOUNT,
    Action.RECORD_PAYMENT,
    Action.PROMISE,
    Action.HOLD,
    Action.RESUME,
    Action.CANCEL,
)
"""The steps this slice of the console offers, in the order the ticket page shows them."""
REQUIRED: dict[str, tuple[str, ...]] = {
    Action.DISPATCH: ("technician",),
    Action.ARRIVE: (),
    Action.RESOLVE: ("work_summary", "labor_minutes", "customer_signature"),
    Action.CARRY_IN: ("customer_signature", "promised_by"),
    Action.QUOTE: ("labor_minutes",),
    Action.ACCEPT_QUOTE: ("customer_signature",),
    Action.DECLINE_QUOTE: ("reason",),
    Action.RECORD_REPAIR: ("labor_minutes", "notes"),
    Action.INSPECT: ("notes",),
    Action.RETURN: ("customer_signature",),
    Action.DISCOUNT: ("percent", "reason"),
    Action.RECORD_PAYMENT: ("amount", "method"),
    Action.PROMISE: ("promised_by",),
    Action.HOLD: ("reason",),
    Action.RESUME: (),
    Action.CANCEL: ("reason",),
}
"""Fields sent as typed, empty or not: the body's rules name the ones left empty."""
OPTIONAL: dict[str, tuple[str, ...]] = {
    Action.RESOLVE: ("margin_justification", "customer_signature_image"),
    Action.CARRY_IN: ("customer_signature_image",),
    Action.QUOTE: ("note",),
    Action.DECLINE_QUOTE: ("customer_signature",),
    Action.RETURN: ("margin_justification", "customer_signature_image"),
    Action.PROMISE: ("note",),
    Action.RESUME: ("note",),
}
"""Fields sent only when filled in."""
PASSED = {"yes": True, "no": False}
"""An inspection's verdict as its form sends it; anything else is sent as typed and refused."""
PRICED = frozenset({Action.RESOLVE, Action.QUOTE, Action.RECORD_REPAIR})
"""Steps whose form lists the price list's parts."""
IDEMPOTENCY_KEY = "idempotency_key"
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")


def offered(allowed: Sequence[str], user: User, technician: str | None) -> list[str]:
    """The steps the ticket page offers `user`: those its status allows (`allowed`), that the
    console has a form for, and that the user's roles and the assignment permit."""
    return [
        step
        for step in STEPS
        if step in allowed and refusal(step, user.username, user.roles, technician) is None
    ]


def body_of(
    action: str, form: FormData, prices: Mapping[str, Decimal], issued: set[str]
) -> dict[str, Any]:
    """The step's body from its form. A part the ticket was not issued goes at its list price
    (`prices`); an issued one at the price it was issued at (R19)."""
    body: dict[str, Any] = {name: _text(form, name) for name in REQUIRED.get(action, ())}
    for name in OPTIONAL.get(action, ()):
        if value := _text(form, name):
            body[name] = value
    if action in (Action.RESOLVE, Action.RECORD_REPAIR):
        body["parts"] = _parts(form, prices, issued)
    if action == Action.RESOLVE:
        body["collected_on_site"] = form.get("collected_on_site") == "on"
    if action == Action.QUOTE:  # the store prices a quotation's parts at list (R19)
        body["parts"] = _parts(form, {}, set())
    if action == Action.INSPECT:
        passed = _text(form, "passed")
        body["passed"] = PASSED.get(passed, passed)
    return body


def part_numbers(form: FormData) -> list[str]:
    return [no for no in (_strings(form, "part_no")) if no]


def idempotency_key(form: FormData) -> str | None:
    """The key the form was rendered with: the same form sent twice is one step."""
    key = _text(form, IDEMPOTENCY_KEY)
    return key if _KEY.match(key) else None


def _parts(form: FormData, prices: Mapping[str, Decimal], issued: set[str]) -> list[dict[str, Any]]:
    lines = []
    for part_no, qty in zip(_strings(form, "part_no"), _strings(form, "qty"), strict=False):
        if not part_no:
            continue
        line: dict[str, Any] = {"part_no": part_no, "qty": qty or "1"}
        if part_no not in issued and part_no in prices:
            line["unit_price"] = f"{prices[part_no]:.2f}"
        lines.append(line)
    return lines


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _strings(form: FormData, name: str) -> list[str]:
    return [value.strip() for value in form.getlist(name) if isinstance(value, str)]
