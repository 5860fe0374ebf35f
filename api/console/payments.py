"""The payments queue (issue 15, R21): the resolved tickets whose invoice still has a balance,
resolved longest ago first, each with its invoice, what is due and paid, and the form to record
a payment there. The payment is the ticket's `record_payment` step (the ticket page's form
posts it, then comes back here), so whether it may be taken, and once, is the workflow's
rule."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import Query, Request, Response

from api.console.auth import ConsoleUser
from api.console.pages import PAYMENTS, console_router, render, require
from api.console.queues import SHOWN
from api.deps import ServicesDep, SessionDep
from models.lifecycle import Action
from store import tickets

router = console_router()


@router.get("/payments")
def payments_queue(
    request: Request,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
    done: Annotated[str | None, Query(max_length=32)] = None,
) -> Response:
    """The invoices waiting for a payment; `done` after one was recorded."""
    require(user, PAYMENTS)
    rows, total = tickets.awaiting_payment(db, limit=SHOWN)
    context = {
        "active": PAYMENTS.key,
        "rows": rows,
        "total": total,
        "done": done == Action.RECORD_PAYMENT,
        "values": {},
        "payment_methods": app.policy.billing.payment_methods,
        "idempotency_key": uuid.uuid4().hex,
    }
    return render(request, "console/payments.html", context)
