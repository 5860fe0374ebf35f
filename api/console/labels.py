"""The words the console shows for the product's codes: statuses, steps, escalations, service
types, refusals and the fields a form names, in English (translated by `api/console/i18n.py`).
A code without a label is shown as it is."""

from __future__ import annotations

from api.console.i18n import _
from models import refusals as r
from models.escalation import EscalationKind
from models.lifecycle import Action, Status
from models.roles import Role

STATUSES = {
    Status.REGISTERED: _("Registered"),
    Status.DISPATCHED: _("Dispatched"),
    Status.ON_SITE: _("On site"),
    Status.CARRIED_IN: _("In the workshop"),
    Status.REPAIRED: _("Repaired"),
    Status.READY_FOR_RETURN: _("Ready for return"),
    Status.RESOLVED: _("Resolved"),
    Status.CLOSED: _("Closed"),
    Status.CANCELLED: _("Cancelled"),
}
STEPS = {
    "call_in": _("Called in"),
    Action.DISPATCH: _("Dispatch"),
    Action.ARRIVE: _("Arrive"),
    Action.RESOLVE: _("Resolve"),
    Action.CARRY_IN: _("Carry in"),
    Action.RECORD_REPAIR: _("Record repair"),
    Action.INSPECT: _("Inspect"),
    Action.RETURN: _("Return"),
    Action.RECORD_PAYMENT: _("Record payment"),
    Action.CANCEL: _("Cancel"),
    Action.HOLD: _("Hold"),
    Action.RESUME: _("Resume"),
    Action.PROMISE: _("Promise a time"),
    Action.ISSUE_PARTS: _("Issue parts"),
    Action.RETURN_PARTS: _("Return parts"),
    Action.QUOTE: _("Quote"),
    Action.ACCEPT_QUOTE: _("Quotation accepted"),
    Action.DECLINE_QUOTE: _("Quotation declined"),
    Action.DISCOUNT: _("Discount"),
    Action.DECIDE_RESPONSIBILITY: _("Responsibility decided"),
    Action.TAKE_DEPOSIT: _("Deposit"),
    Action.RECORD_INSPECTION: _("Inspection checklist"),
    Action.CLOSE: _("Closed"),
}
ESCALATIONS = {
    EscalationKind.ARRIVAL_WARNING: _("Arrival deadline near"),
    EscalationKind.ARRIVAL_OVERDUE: _("Arrival overdue"),
    EscalationKind.CARRIED_OVER: _("Carried over"),
    EscalationKind.UNRESOLVED_SAME_DAY: _("Not resolved the same day"),
    EscalationKind.REPAIR_OVERDUE: _("Repair overdue"),
    EscalationKind.COMPLAINT: _("Complaint"),
    EscalationKind.SERIOUS_COMPLAINT: _("Serious complaint"),
    EscalationKind.APPROVAL_OVERDUE: _("Approval overdue"),
    EscalationKind.DISCOUNT_GRANTED: _("Discount granted"),
    EscalationKind.DAILY_REPORT_OVERDUE: _("Daily report overdue"),
}
SERVICE_TYPES = {
    "paid": _("Paid repair"),
    "warranty": _("Warranty"),
    "contract": _("Contract"),
    "internal": _("Internal"),
}
CHANNELS = {
    "phone": _("Phone"),
    "letter": _("Letter"),
    "web": _("Web"),
    "email": _("Email"),
    "walk_in": _("Walk-in"),
}
ROLES = {
    Role.ADMIN: _("Admin"),
    Role.CLERK: _("Clerk"),
    Role.DISPATCHER: _("Dispatcher"),
    Role.TECHNICIAN: _("Technician"),
    Role.DIRECTOR: _("Director"),
    Role.MANAGER: _("Manager"),
    Role.VP: _("VP"),
    Role.ACCOUNTANT: _("Accountant"),
    Role.SALES: _("Sales"),
    Role.STOREKEEPER: _("Storekeeper"),
}
DOCUMENTS = {
    "voucher": _("Service voucher"),
    "receipt": _("Product receipt"),
    "repair_card": _("Repair card"),
    "invoice": _("Invoice"),
    "complaint_reply": _("Complaint reply"),
}
# Why a request was refused, by the refusal's type (models/refusals.py): the sentence a person
# reads first; the product's own detail (in English) follows it.
REFUSALS = {
    r.INVALID_TRANSITION: _("This step is not possible while the ticket is in its current state."),
    r.FORBIDDEN: _("Your role does not allow this."),
    r.INVALID_PAYLOAD: _("Some of what was entered is not valid: see the fields below."),
    r.IDEMPOTENCY_KEY_REUSED: _(
        "This form was already used for something else. Reload the page and enter it again."
    ),
    r.NOT_FOUND: _("Not found, or not yours to see."),
    r.CONFLICT: _("This cannot be done as things stand."),
    r.TOO_LARGE: _("What was sent is too large."),
    r.UNSUPPORTED_TYPE: _("This kind of file is not taken."),
    r.UNAVAILABLE: _("The service is unavailable for a moment. Nothing was changed: try again."),
    r.TIMED_OUT: _(
        "The step was not confirmed in time; it may still be taken. Reload the ticket "
        "before trying again."
    ),
    r.INVALID_DATA: _("The service is unavailable for a moment. Nothing was changed: try again."),
}
REFUSED = _("This was refused.")
"""For a refusal type without a sentence of its own."""
# R33, R34: the dispatch gates, said in the dispatcher's language.
NEEDS_SAFETY_AGREEMENT = _(
    "The customer's site needs a valid signed safety agreement before a technician is sent."
)
NEEDS_CERTIFICATE = _("Only a technician certified for '{category}' may be sent to this product.")
FIELDS = {
    "technician": _("Technician"),
    "work_summary": _("Work done"),
    "labor_minutes": _("Labour (minutes)"),
    "parts": _("Parts"),
    "part_no": _("Part"),
    "qty": _("Quantity"),
    "unit_price": _("Unit price"),
    "customer_signature": _("Customer's name as signed"),
    "customer_signature_image": _("Signature"),
    "collected_on_site": _("Collected on site"),
    "margin_justification": _("Why the margin is low"),
    "amount": _("Amount"),
    "method": _("Payment method"),
    "reason": _("Reason"),
    "note": _("Note"),
    "notes": _("Notes"),
    "percent": _("Percent"),
    "approve": _("Decision"),
    "passed": _("Inspection result"),
    "promised_by": _("Promised by"),
    "customer": _("Customer"),
    "name": _("Name"),
    "phone": _("Phone"),
    "address": _("Address"),
    "product": _("Product"),
    "model": _("Model"),
    "serial_no": _("Serial number"),
    "zone": _("Zone"),
    "problem": _("Problem"),
    "channel": _("Channel"),
}
APPROVALS = {
    "discount": _("Discount"),
    "low_margin": _("Low margin"),
    "added_parts": _("Parts beyond the quotation"),
    "warranty_claim": _("Warranty claim"),
    "warranty_countersign": _("Warranty claim countersignature"),
}
DECISIONS = {
    "pending": _("Waiting"),
    "approved": _("Approved"),
    "rejected": _("Rejected"),
    "granted": _("Granted"),
    "withdrawn": _("Withdrawn"),
}
"""An approval's status, and a discount's (R17)."""
PAYMENT_METHODS = {
    "cash": _("Cash"),
    "card": _("Card"),
    "transfer": _("Bank transfer"),
    "cheque": _("Cheque"),
}

SURVEY_STATUSES = {
    "scheduled": _("To be sent"),
    "sent": _("Sent, not answered yet"),
    "answered": _("Answered"),
    "expired": _("Expired unanswered"),
}
SURVEY_ITEMS = {
    "attitude": _("Attitude"),
    "skill": _("Skill"),
    "arrival_time": _("Arrival time"),
    "promise_keeping": _("Promise kept"),
}
"""R23: the card's four items."""
COMPLAINT_STATUSES = {
    "open": _("Received"),
    "triaged": _("Triaged"),
    "reviewed": _("Reviewed by the VP"),
    "replied": _("Replied"),
    "visited": _("Visited"),
    "closed": _("Closed"),
}
SEVERITIES = {"general": _("General"), "serious": _("Serious")}

WEEKDAYS = (_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun"))
"""Monday first, as the calendars show them."""
