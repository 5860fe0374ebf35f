"""Roles and who may take which lifecycle action (R4–R9, issue: who may do what)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from models.lifecycle import Action
from models.refusals import FORBIDDEN, Refused


class Role(StrEnum):
    ADMIN = "admin"
    CLERK = "clerk"
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"
    DIRECTOR = "director"
    MANAGER = "manager"
    VP = "vp"
    ACCOUNTANT = "accountant"
    SALES = "sales"
    STOREKEEPER = "storekeeper"
    """Keeps the parts store: the price list, stock receipts, parts issued and returned (R19)."""


R = Role
# Steps only the assigned technician takes, or a director acting for them.
TECHNICIAN_ACTIONS = frozenset(
    {
        Action.ARRIVE,
        Action.RESOLVE,
        Action.CARRY_IN,
        Action.RECORD_REPAIR,
        Action.RETURN,
        Action.RECORD_INSPECTION,
    }
)
ACTION_ROLES: dict[str, frozenset[Role]] = {
    Action.DISPATCH: frozenset({R.DISPATCHER, R.DIRECTOR, R.ADMIN}),
    Action.INSPECT: frozenset({R.DIRECTOR, R.MANAGER, R.ADMIN}),
    Action.RECORD_PAYMENT: frozenset({R.ACCOUNTANT, R.ADMIN}),
    Action.CANCEL: frozenset({R.CLERK, R.DISPATCHER, R.DIRECTOR, R.ADMIN}),
    **{
        a: frozenset({R.CLERK, R.DISPATCHER, R.DIRECTOR, R.ADMIN})
        for a in (Action.HOLD, Action.RESUME, Action.PROMISE)
    },
    **{a: frozenset({R.TECHNICIAN, R.DIRECTOR, R.ADMIN}) for a in TECHNICIAN_ACTIONS},
    # R19: the technician asks for parts (their own tickets only), the store issues them.
    Action.ISSUE_PARTS: frozenset({R.TECHNICIAN, R.STOREKEEPER, R.MANAGER, R.DIRECTOR, R.ADMIN}),
    # R19: unused parts go back only when the store has them in hand.
    Action.RETURN_PARTS: frozenset({R.STOREKEEPER, R.ADMIN}),
    Action.QUOTE: frozenset({R.TECHNICIAN, R.MANAGER, R.DIRECTOR, R.ADMIN}),
    # R19: the customer's answer to the quotation, recorded with their signature.
    **{
        a: frozenset({R.CLERK, R.MANAGER, R.DIRECTOR, R.ADMIN})
        for a in (Action.ACCEPT_QUOTE, Action.DECLINE_QUOTE)
    },
    # R17: the advisor grants within limits; anyone else's discount goes to the director.
    Action.DISCOUNT: frozenset({R.CLERK, R.MANAGER, R.DIRECTOR, R.ADMIN}),
    # R20: the roles the policy may name; the ticket's terms name the ones that decide.
    Action.DECIDE_RESPONSIBILITY: frozenset({R.MANAGER, R.DIRECTOR, R.VP}),
    Action.TAKE_DEPOSIT: frozenset({R.CLERK, R.ACCOUNTANT, R.ADMIN}),
}
# Steps a technician (with no other role) takes only on the tickets assigned to them.
OWN_TICKET_ACTIONS = frozenset({Action.ISSUE_PARTS, Action.QUOTE})
CALL_IN_ROLES = frozenset({R.CLERK, R.DISPATCHER, R.DIRECTOR, R.ADMIN})
INTERNAL_JOB_ROLES = frozenset({R.DISPATCHER, R.DIRECTOR, R.MANAGER, R.ADMIN})
SUPERVISING_ROLES = frozenset({R.DIRECTOR, R.ADMIN})
# R19: who keeps the parts store: the price list, receipts, imports.
STORE_ROLES = frozenset({R.STOREKEEPER, R.ADMIN})
# R34: who records a technician's certificates.
CERTIFYING_ROLES = frozenset({R.DIRECTOR, R.MANAGER, R.ADMIN})
# R24: who reads any technician's monthly appraisal (a technician reads their own).
APPRAISING_ROLES = frozenset({R.DIRECTOR, R.MANAGER, R.ADMIN})
# Issue 14: who attaches photos and documents to a ticket: the staff who work it (a
# technician, to the tickets assigned to them, now or before).
ATTACHING_ROLES = frozenset({R.CLERK, R.DISPATCHER, R.TECHNICIAN, R.DIRECTOR, R.MANAGER, R.ADMIN})
# api.md: who sees a customer's secret links: the survey's (to resend it, or take answers by
# phone) and the ticket's status link (issue 14).
SURVEY_LINK_ROLES = frozenset({R.ADMIN, R.DIRECTOR, R.CLERK})


def shows_survey_link(roles: Iterable[str]) -> bool:
    return bool(SURVEY_LINK_ROLES.intersection(roles))


class Reading(StrEnum):
    """What staff read, each granted to the roles whose work needs it (docs/security.md)."""

    TICKETS = "tickets"
    """Tickets, timelines, repair cards; a technician only those assigned to them (R4)."""
    REGISTER = "register"
    PAYMENTS = "payments"
    INVOICES = "invoices"
    ESCALATIONS = "escalations"
    COMPLAINTS = "complaints"
    CATALOG = "catalog"
    """Customers, products and maintenance contracts (R2)."""
    PARTS = "parts"
    """The price list and stock on hand (R19)."""
    APPROVALS = "approvals"
    """Every approval and its decision (R17-R20); a ticket's own are on the ticket."""
    TECHNICIANS = "technicians"
    """Technicians with their certificates and open jobs, to dispatch them (R34)."""
    MESSAGES = "messages"
    """The customers' message templates, to preview them (issue 14)."""
    REPORTS = "reports"
    """The KPIs and the daily reports (R28-R30): a director or manager of a branch, only
    that branch's."""
    ATTACHMENTS = "attachments"
    """A ticket's photos and documents (issue 14): the staff who work the ticket and the VP
    (who reviews its complaints); a technician only those of their tickets, and those about a
    complaint only for the roles that read complaints."""


FRONT_OFFICE = frozenset({R.CLERK, R.DISPATCHER, R.DIRECTOR, R.MANAGER, R.ADMIN})
READ_ROLES: dict[Reading, frozenset[Role]] = {
    Reading.TICKETS: frozenset(Role),
    Reading.REGISTER: FRONT_OFFICE | {R.TECHNICIAN},
    Reading.PAYMENTS: frozenset({R.ACCOUNTANT, R.CLERK, R.DIRECTOR, R.MANAGER, R.ADMIN}),
    Reading.INVOICES: frozenset({R.ACCOUNTANT, R.CLERK, R.DIRECTOR, R.MANAGER, R.ADMIN}),
    Reading.ESCALATIONS: frozenset(Role) - {R.TECHNICIAN, R.ACCOUNTANT},
    Reading.COMPLAINTS: FRONT_OFFICE | {R.VP},
    Reading.CATALOG: FRONT_OFFICE | {R.SALES, R.ACCOUNTANT},
    Reading.PARTS: frozenset(Role),
    Reading.APPROVALS: frozenset(Role) - {R.TECHNICIAN, R.SALES},
    Reading.TECHNICIANS: FRONT_OFFICE,
    Reading.MESSAGES: FRONT_OFFICE,
    Reading.REPORTS: frozenset({R.DIRECTOR, R.MANAGER, R.VP, R.ADMIN}),
    Reading.ATTACHMENTS: FRONT_OFFICE | {R.TECHNICIAN, R.VP},
}
# Who reads every branch's reports; a director or manager of a branch reads only its own.
EVERY_BRANCH_ROLES = frozenset({R.VP, R.ADMIN})


def branch_scoped(roles: Iterable[str]) -> bool:
    """Whether a user's lists are their branch's: a director or manager with no role that
    works for every branch (the front office, the VP, admin)."""
    held = set(roles)
    return bool(held & {R.DIRECTOR, R.MANAGER}) and not held & (
        EVERY_BRANCH_ROLES | {R.CLERK, R.DISPATCHER, R.ACCOUNTANT, R.SALES, R.STOREKEEPER}
    )


def branch_scope(roles: Iterable[str], own_branch: str | None, asked: str | None) -> str | None:
    """The branch whose reports a user reads (None: every branch): `asked` for the roles that
    read every branch and for a user of no branch; otherwise their own, and another branch
    is refused."""
    if own_branch is None or EVERY_BRANCH_ROLES.intersection(roles):
        return asked
    if asked not in (None, own_branch):
        raise Refused(
            FORBIDDEN, f"the reports of branch '{asked}' are that branch's: you read '{own_branch}'"
        )
    return own_branch


def own_tickets_only(roles: Iterable[str]) -> bool:
    """R4: a technician (with no other role) reads only the tickets assigned to them, now or
    before; every other role reads every ticket."""
    return not (set(roles) - {R.TECHNICIAN})


def missing_role(action: str, roles: Iterable[str]) -> str | None:
    """Why a user with `roles` may never take `action`, or None if their roles allow it."""
    allowed = ACTION_ROLES.get(action, frozenset())
    if allowed.intersection(roles):
        return None
    needed = " or ".join(sorted(allowed)) or "nobody"
    return f"'{action}' needs the role {needed}"


def refusal(action: str, actor: str, roles: Iterable[str], technician: str | None) -> str | None:
    """Why `actor` may not take `action` on a ticket assigned to `technician`, or None."""
    roles = set(roles)
    if (why := missing_role(action, roles)) is not None:
        return why
    assigned_only = (
        action in TECHNICIAN_ACTIONS and not SUPERVISING_ROLES.intersection(roles)
    ) or (action in OWN_TICKET_ACTIONS and own_tickets_only(roles))
    if assigned_only and actor != technician:
        assigned = f"'{technician}'" if technician else "nobody yet"
        return f"'{action}' is for the assigned technician; this ticket is assigned to {assigned}"
    return None


def acting_for(action: str, actor: str, roles: Iterable[str], technician: str | None) -> str | None:
    """The technician a supervisor acts for when taking a technician's step (recorded, R11)."""
    if (
        action in TECHNICIAN_ACTIONS
        and actor != technician
        and SUPERVISING_ROLES.intersection(roles)
    ):
        return technician
    return None
