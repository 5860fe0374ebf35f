"""Call-in (R3, issue 15): the clerk's form — customer, product, zone, problem, channel. As the
phone or the serial number is typed, the customers and products it matches appear
(`store/catalog.py`, HTMX), each with what a call on it would be served under (R2), and
picking one fills the form. Saving is the JSON API's call-in (`api/ticket_commands.py`
`register`), once per form (its idempotency key); then the new ticket's page shows its number
and arrival deadline in the office's time."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import RedirectResponse
from pydantic import ValidationError

from api import ticket_commands
from api.console import forms
from api.console.auth import ConsoleUser, Poster
from api.console.i18n import language_of, translator
from api.console.pages import CALL_IN, PREFIX, console_router, problem_of, render, require
from api.deps import ServicesDep, SessionDep
from api.errors import status_of
from api.schemas.tickets import CallInRequest
from api.workflow_answers import field_errors
from models.refusals import INVALID_PAYLOAD, Refused
from models.ticket import Channel
from models.worktime import local
from store import catalog

router = console_router()
MATCHES = 5
"""Customers or products a lookup shows."""
LOOKUP_MIN = 3
"""Characters typed before a lookup answers."""
CHANNELS = [channel.value for channel in Channel if channel is not Channel.INTERNAL]
FIELDS = (
    "customer_name",
    "customer_phone",
    "customer_address",
    "product_model",
    "product_serial_no",
    "zone",
    "problem",
    "channel",
)


@router.get("/call-in")
def call_in_page(request: Request, app: ServicesDep, user: ConsoleUser) -> Response:
    require(user, CALL_IN)
    return _form(request, app, {"channel": "phone", "zone": next(iter(app.policy.zones))})


def _form(
    request: Request,
    app: ServicesDep,
    values: dict[str, str],
    status_code: int = 200,
    problem: Any = None,
) -> Response:
    context = {
        "active": CALL_IN.key,
        "values": values,
        "zones": list(app.policy.zones),
        "channels": CHANNELS,
        "problem": problem,
        "idempotency_key": values.get(forms.IDEMPOTENCY_KEY) or uuid.uuid4().hex,
    }
    return render(request, "console/call_in.html", context, status_code)


@router.post("/call-in")
async def call_in(request: Request, app: ServicesDep, user: Poster) -> Response:
    """Registers the call as `POST /tickets` does; the ticket page follows."""
    require(user, CALL_IN)
    form = await request.form()
    values = {name: value.strip() for name, value in form.items() if isinstance(value, str)}
    t = translator(language_of(request))
    serial = values.get("product_serial_no") or None
    call = {
        "customer": {
            "name": values.get("customer_name", ""),
            "phone": values.get("customer_phone", ""),
            "address": values.get("customer_address", ""),
        },
        "product": {"model": values.get("product_model", ""), "serial_no": serial},
        "zone": values.get("zone", ""),
        "problem": values.get("problem", ""),
        "channel": values.get("channel", Channel.PHONE.value),
    }
    try:
        request_body = CallInRequest.model_validate(call)
        state = await ticket_commands.register(
            app, request_body, user.username, forms.idempotency_key(form)
        )
        ticket_id = state.ticket_id
    except ValidationError as invalid:
        refused = Refused(INVALID_PAYLOAD, "invalid call-in", errors=field_errors(invalid))
        return _form(request, app, values, 422, problem_of(refused, t))
    except ticket_commands.TicketGone as gone:
        ticket_id = str(gone)  # the form was sent before: its ticket, already ended
    except Refused as refused:
        return _form(request, app, values, status_of(refused), problem_of(refused, t))
    return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done=call_in", status_code=303)


Typed = Annotated[str, Query(max_length=64)]


@router.get("/call-in/customers")
def customers(
    request: Request, db: SessionDep, user: ConsoleUser, customer_phone: Typed = ""
) -> Response:
    """The customers whose phone begins with what was typed, with their products."""
    require(user, CALL_IN)
    found: list[tuple[Any, list[Any]]] = []
    if len(customer_phone.strip()) >= LOOKUP_MIN:
        for customer in catalog.customers_by_phone(db, customer_phone, MATCHES):
            assert customer.id is not None
            found.append((customer, catalog.customer_products(db, customer.id)[:MATCHES]))
    return render(request, "console/_customers.html", {"customers": found})


@router.get("/call-in/products")
def products(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
    product_serial_no: Typed = "",
) -> Response:
    """The products whose serial number begins with what was typed, with their owner and
    what a call on them would be served under today (R2)."""
    require(user, CALL_IN)
    today = local(datetime.now(UTC), app.policy.office_timezone).date()
    found = []
    if len(product_serial_no.strip()) >= LOOKUP_MIN:
        for product in catalog.products_by_serial(db, product_serial_no, MATCHES):
            owner = catalog.get_customer(db, product.customer_id) if product.customer_id else None
            found.append((product, owner, catalog.product_entitlement(db, product, today)))
    return render(request, "console/_products.html", {"products": found})
