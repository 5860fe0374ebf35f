"""Escalations (R16): one model for every missed or nearly missed promise and every complaint.

An escalation is raised by the workflow that owns the promise (a ticket, a complaint), recorded
on it, projected into the `escalations` table, notified to its owners once, and stays open
until someone acknowledges it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from models.refusals import NOT_AN_OWNER, UNKNOWN_ESCALATION, refuse
from models.roles import Role

if TYPE_CHECKING:  # models.followup imports the ticket's messages, which import this module
    from models.followup import ComplaintStart


class EscalationKind(StrEnum):
    ARRIVAL_WARNING = "arrival_warning"
    ARRIVAL_OVERDUE = "arrival_overdue"
    CARRIED_OVER = "carried_over"
    UNRESOLVED_SAME_DAY = "unresolved_same_day"
    REPAIR_OVERDUE = "repair_overdue"
    COMPLAINT = "complaint"
    SERIOUS_COMPLAINT = "serious_complaint"
    APPROVAL_OVERDUE = "approval_overdue"
    DISCOUNT_GRANTED = "discount_granted"
    DAILY_REPORT_OVERDUE = "daily_report_overdue"


K, R = EscalationKind, Role
# Who owns each kind (the first role) and who else is told, from the rules.
OWNERS: dict[EscalationKind, tuple[Role, ...]] = {
    K.ARRIVAL_WARNING: (R.DISPATCHER,),  # R12: still time to act
    K.ARRIVAL_OVERDUE: (R.DISPATCHER, R.DIRECTOR),  # R12, R16
    K.CARRIED_OVER: (R.DISPATCHER,),  # R14: the supervisor, first thing next day
    K.UNRESOLVED_SAME_DAY: (R.SALES, R.DISPATCHER),  # R15: reported to the sales director
    K.REPAIR_OVERDUE: (R.DIRECTOR,),  # R10: the service director, at once
    K.COMPLAINT: (R.DIRECTOR,),  # R26: visited by the director or a designee
    K.SERIOUS_COMPLAINT: (R.VP,),  # R25: the VP reviews at once
    # R16-R20: the next role of the approval chain (named when raised; the director by default).
    K.APPROVAL_OVERDUE: (R.DIRECTOR,),
    K.DISCOUNT_GRANTED: (R.DIRECTOR,),  # R17: each discount reported to the service director
    # R27-R29: the director while technicians' reports wait, the manager for the signature.
    K.DAILY_REPORT_OVERDUE: (R.DIRECTOR, R.MANAGER),
}
ACKNOWLEDGE_UPDATE = "acknowledge"
# Besides the owners, a director or an admin may acknowledge any escalation.
ACKNOWLEDGING_ROLES = frozenset({R.DIRECTOR, R.ADMIN})


@dataclass
class Escalation:
    """One escalation, as recorded on its workflow and in the read model."""

    id: str
    kind: str
    ticket_id: str
    workflow_id: str
    raised_at: datetime
    due_at: datetime | None
    owner_role: str
    notify_roles: list[str]
    details: dict[str, Any] = field(default_factory=dict)
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None


def new_escalation(
    id: str,
    kind: EscalationKind,
    ticket_id: str,
    workflow_id: str,
    raised_at: datetime,
    due_at: datetime | None,
    details: dict[str, Any] | None = None,
    owners: tuple[str, ...] | None = None,
) -> Escalation:
    """An escalation owned by `owners` (the first owns it), or by its kind's (OWNERS)."""
    roles = owners or tuple(role.value for role in OWNERS[kind])
    return Escalation(
        id=id,
        kind=kind.value,
        ticket_id=ticket_id,
        workflow_id=workflow_id,
        raised_at=raised_at,
        due_at=due_at,
        owner_role=roles[0],
        notify_roles=list(roles),
        details=details or {},
    )


def to_acknowledge(escalations: list[Escalation], request: AcknowledgeRequest) -> Escalation:
    """The escalation `request` acknowledges, if its owners (or a director or an admin) may;
    refused as UNKNOWN_ESCALATION or NOT_AN_OWNER otherwise."""
    for escalation in escalations:
        if escalation.id == request.escalation_id:
            allowed = set(escalation.notify_roles) | ACKNOWLEDGING_ROLES
            if not allowed.intersection(request.roles):
                raise refuse(
                    f"acknowledging a '{escalation.kind}' escalation needs the role "
                    + " or ".join(sorted(allowed)),
                    NOT_AN_OWNER,
                    owner_role=escalation.owner_role,
                )
            return escalation
    raise refuse(f"no escalation '{request.escalation_id}' here", UNKNOWN_ESCALATION)


@dataclass
class AcknowledgeRequest:
    """The `acknowledge` update every workflow that raises escalations answers."""

    escalation_id: str
    actor: str
    roles: list[str]
    note: str | None = None


@dataclass
class EscalationNotice:
    """What the notification activity sends to the escalation's owners (R16), once."""

    escalation: Escalation
    ticket_number: str
    subject: str
    body: str
    key: str = ""
    """Distinguishes a second notice about the same escalation (a recorded promise, R15)."""
    branch: str | None = None
    """Only the staff of this branch (and those of none) are told; None: all of the roles."""


def ticket_notice(
    escalation: Escalation, ticket_number: str, customer: str, zone: str, key: str = ""
) -> EscalationNotice:
    """The email a ticket's escalation sends its owners (R12-R16): what was missed, when."""
    lines = [
        f"Ticket {ticket_number} ({customer}, {zone}): {escalation.kind.replace('_', ' ')}.",
        f"Raised at {escalation.raised_at.isoformat()}.",
    ]
    if escalation.due_at is not None:
        lines.append(f"Due at {escalation.due_at.isoformat()}.")
    lines += [f"{name}: {value}" for name, value in escalation.details.items()]
    subject = f"[{escalation.kind}] ticket {ticket_number}"
    return EscalationNotice(escalation, ticket_number, subject, "\n".join(lines), key)


def complaint_notice(
    escalation: Escalation, complaint_id: str, start: ComplaintStart, previous: str | None
) -> EscalationNotice:
    """The email a complaint's escalation sends its owners: the director for the visit (R26),
    the VP for a serious one's review (R25); a repeat (A2) says which complaint it repeats."""
    if escalation.kind == EscalationKind.SERIOUS_COMPLAINT:
        subject = (
            f"Serious complaint {complaint_id} (ticket {start.ticket_number}): "
            "for the VP's review (R25)"
        )
    else:
        subject = (
            f"Complaint {complaint_id} (ticket {start.ticket_number}): "
            "the customer is to be visited (R26)"
        )
    repeated = (
        f"\nRepeated: an earlier complaint {previous} about the same product (A2)."
        if previous
        else ""
    )
    body = (
        f"Customer: {start.customer.name}, {start.customer.phone}\n"
        f"Product: {start.product.model} {start.product.serial_no or ''}\n"
        f"Technician: {start.technician or '-'}\n"
        f"Received {start.received_at.isoformat()} via {start.received_via}, "
        f"recorded by {start.recorded_by}.{repeated}\n\n{start.text}\n"
    )
    return EscalationNotice(escalation, start.ticket_number, subject, body)
