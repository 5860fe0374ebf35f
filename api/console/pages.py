"""How the console answers: pages rendered from `api/templates/console/` in the user's
language, with the navigation their roles open and the session's CSRF token; every error as
a page that says why in words (never a stack trace, never the JSON error shape), an outage of
the database or Temporal as "try again" (503); a request not signed in is sent to the sign-in
page (an HTMX request by `HX-Redirect`).

Every console route is a `ConsoleRoute` (routers from `console_router()`), so a refusal
raised anywhere below a page — a command's `Refused`, a dependency's, a validation error — is
answered here, once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from temporalio.service import RPCError

from api.console import labels, report_steps
from api.console.i18n import HTML_LANG, LANGUAGES, _, language_of, translator
from api.deps import Services
from api.errors import TEMPORAL_CONNECT_FAILED, status_of
from core.security import HasherBusy
from models.deadlines import TimeLeft, Urgency, arrival_time_left
from models.lifecycle import BEFORE_ARRIVAL, Action
from models.refusals import FORBIDDEN, INVALID_PAYLOAD, NOT_FOUND, Refused
from models.roles import ACTION_ROLES, CALL_IN_ROLES, READ_ROLES, Reading, Role
from models.tables import TicketRecord, User
from store import approvals, escalations, tickets
from store.files import FilesUnavailable

log = logging.getLogger("aftersales.console")
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
PREFIX = "/console"
LOGIN = f"{PREFIX}/login"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
# Scripts and styles come from the console's own static files only: no inline script can run,
# whatever a customer's name or a problem's text holds.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}
OUTAGES = (OperationalError, InterfaceError, PoolTimeout, RPCError, FilesUnavailable, HasherBusy)


# --- the pages each role opens -------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    """A page group of the navigation and the roles that open it."""

    key: str
    label: str
    href: str
    roles: frozenset[Role]
    waiting: Callable[[Session, User], int] | None = None
    """How many things wait for the user there (the count in the navigation), if any."""


TICKETS = Section("tickets", _("Tickets"), f"{PREFIX}/tickets", frozenset(Role))
CALL_IN = Section("call_in", _("Call-in"), f"{PREFIX}/call-in", CALL_IN_ROLES)
DISPATCH = Section(
    "dispatch", _("Dispatch board"), f"{PREFIX}/dispatch", ACTION_ROLES[Action.DISPATCH]
)
JOBS = Section("jobs", _("My jobs"), f"{PREFIX}/jobs", frozenset({Role.TECHNICIAN}))
CONTRACTS = Section("contracts", _("Contracts"), f"{PREFIX}/contracts", READ_ROLES[Reading.CATALOG])
ADMIN = Section("admin", _("Admin"), f"{PREFIX}/admin/users", frozenset({Role.ADMIN}))


def approvals_waiting(db: Session, user: User) -> int:
    """The pending approvals `user` may decide (R17-R20): never their own requests."""
    deciders = (user.username, list(user.roles))
    return approvals.approvals(
        db, status=None, kind=None, ticket_id=None, deciders=deciders, limit=1, offset=0
    )[1]


APPROVALS = Section(
    "approvals",
    _("Approvals"),
    f"{PREFIX}/approvals",
    READ_ROLES[Reading.APPROVALS],
    approvals_waiting,
)


def escalations_waiting(db: Session, user: User) -> int:
    """The open escalations owned by one of `user`'s roles (R16)."""
    return escalations.escalations(
        db,
        open_=True,
        kind=None,
        ticket_id=None,
        owner_role=None,
        owner_roles=user.roles,
        limit=1,
        offset=0,
    )[1]


ESCALATIONS = Section(
    "escalations",
    _("Escalations"),
    f"{PREFIX}/escalations",
    READ_ROLES[Reading.ESCALATIONS],
    escalations_waiting,
)


def payments_waiting(db: Session, user: User) -> int:
    """The invoiced tickets with a balance left (R21): the accountants' work."""
    return tickets.awaiting_payment(db, limit=0)[1]


PAYMENTS = Section(
    "payments",
    _("Payments"),
    f"{PREFIX}/payments",
    ACTION_ROLES[Action.RECORD_PAYMENT],
    payments_waiting,
)


REPORTS = Section(
    "reports",
    _("Reports"),
    f"{PREFIX}/reports",
    READ_ROLES[Reading.REPORTS] | {Role.TECHNICIAN},
    report_steps.waiting_steps,
)
SECTIONS = (
    DISPATCH,
    JOBS,
    CALL_IN,
    TICKETS,
    APPROVALS,
    ESCALATIONS,
    PAYMENTS,
    REPORTS,
    CONTRACTS,
    ADMIN,
)
"""In the navigation's order."""
STARTS = ((Role.DISPATCHER, DISPATCH), (Role.TECHNICIAN, JOBS))
"""Where a role's day starts; every other role's at the tickets."""


def opens(user: User, section: Section) -> bool:
    return bool(section.roles.intersection(user.roles))


def require(user: User, section: Section) -> None:
    """Refuses (403 page) a user whose roles do not open `section`."""
    if not opens(user, section):
        needed = " or ".join(sorted(section.roles))
        raise Refused(FORBIDDEN, f"this page needs the role {needed}")


def start_of(user: User) -> str:
    """Where a user's day starts: a dispatcher's at the dispatch board, a technician's at
    their jobs, everyone else's at the tickets."""
    return next((s.href for role, s in STARTS if role in user.roles), TICKETS.href)


def safe_next(target: str | None, default: str) -> str:
    """`target` if it is a page of the console (never another site), else `default`."""
    if not target or target.split("?")[0].split("/")[1:2] != [PREFIX.strip("/")]:
        return default
    return default if any(bad in target for bad in ("//", "\\", "\r", "\n")) else target


# --- rendering -----------------------------------------------------------------------------


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """`template` in the browser's language, with the signed-in user, their navigation and
    the session's CSRF token (`request.state`, set by `api/console/auth.py`)."""
    lang = language_of(request)
    t = translator(lang)
    user: User | None = getattr(request.state, "console_user", None)
    app: Services = request.app.state.services
    zone = ZoneInfo(app.policy.office_timezone)

    def when(instant: datetime | str | None) -> str:
        if instant is None:
            return ""
        if isinstance(instant, str):
            instant = datetime.fromisoformat(instant)
        return instant.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    def label(table: dict[Any, str], code: str | None) -> str:
        return t(table[code]) if code in table else (code or "")

    navigation = [s for s in SECTIONS if user is not None and opens(user, s)]
    fragment = template.rsplit("/", 1)[-1].startswith("_")  # swapped into a page: no navigation

    values = {
        "lang": lang,
        "html_lang": HTML_LANG[lang],
        "languages": list(LANGUAGES),
        "t": t,
        "user": user,
        "csrf": getattr(request.state, "csrf", None),
        "csrf_field": CSRF_FIELD,
        "csrf_header": CSRF_HEADER,
        "navigation": navigation,
        "nav_counts": {} if fragment else waiting_in(app, user, navigation),
        "here": quote(request.url.path + (f"?{request.url.query}" if request.url.query else "")),
        "when": when,
        "duration": lambda amount: duration(amount, t),
        "label": label,
        "labels": labels,
        "currency": app.policy.billing.currency,
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(
        request, template, values, status_code=status_code, headers=PAGE_HEADERS | (headers or {})
    )


def waiting_in(app: Services, user: User | None, navigation: list[Section]) -> dict[str, int]:
    """The navigation's counts: what waits for `user` in each section that counts; none while
    the database is out (the page says what went wrong, not the counts)."""
    counted = [section for section in navigation if section.waiting is not None]
    if user is None or not counted:
        return {}
    try:
        with app.session() as db:
            return {s.key: s.waiting(db, user) for s in counted if s.waiting is not None}
    except OUTAGES:
        return {}


def duration(amount: timedelta, t: Callable[..., str]) -> str:
    """A working time as a person reads it: hours and minutes."""
    minutes = int(amount.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return t("{hours} h {minutes} min", hours=hours, minutes=minutes)
    return t("{minutes} min", minutes=minutes)


@dataclass(frozen=True)
class Deadline:
    """R12, R16: a ticket's arrival deadline as the console colours it."""

    due_at: datetime
    time_left: TimeLeft
    on_hold: bool

    @property
    def urgency(self) -> str:
        return str(self.time_left.urgency)

    @property
    def overdue(self) -> bool:
        return self.time_left.urgency is Urgency.OVERDUE


def deadline_of(app: Services, row: TicketRecord, now: datetime | None = None) -> Deadline | None:
    """The arrival deadline of a ticket still waiting for its technician, with the working time
    left on its zone's calendar; None once the technician has arrived (or it has none)."""
    if row.status not in BEFORE_ARRIVAL or row.arrival_due_at is None:
        return None
    if row.zone not in app.policy.zones:
        return None  # a zone the policy no longer has: the deadline stands, uncounted
    now = now or datetime.now(UTC)
    calendar = app.policy.work_calendar(row.zone, now)
    left = arrival_time_left(
        calendar, row.created_at, row.arrival_due_at, now, app.policy.deadlines.warning_fraction
    )
    return Deadline(row.arrival_due_at, left, row.hold is not None)


# --- refusals and errors as pages ----------------------------------------------------------


class SignInNeeded(Exception):
    """No valid session: the browser is sent to the sign-in page."""


class ForgedForm(Exception):
    """A console POST without its session's CSRF token (403, nothing changed)."""


FORGED = _(
    "This form did not come from your console session, or the session has changed since the "
    "page was opened. Nothing was changed: reload the page and try again."
)
TRY_AGAIN = _("The service is unavailable for a moment. Nothing was changed: try again.")
UNEXPECTED = _("Something went wrong on our side. Nothing was changed: try again.")
INVALID = _("The request is not valid.")
UNKNOWN_PAGE = _("There is no such page in the console.")


@dataclass(frozen=True)
class Problem:
    """A refusal as a page shows it: the sentence in the user's language first, then the
    product's own detail, and the fields at fault."""

    headline: str
    detail: str | None = None
    fields: tuple[tuple[str, str], ...] = ()


def problem_of(refused: Refused, t: Callable[..., str], headline: str | None = None) -> Problem:
    """`refused` in words: its type's sentence (or `headline`), its detail, and each field
    the body got wrong by its label."""
    errors: Iterable[dict[str, Any]] = refused.details.get("errors") or []
    fields = tuple(_field_error(error, t) for error in errors)
    sentence = headline or t(labels.REFUSALS.get(refused.type, labels.REFUSED))
    return Problem(sentence, refused.message, fields)


def _field_error(error: dict[str, Any], t: Callable[..., str]) -> tuple[str, str]:
    names = [str(part) for part in error.get("loc", []) if not isinstance(part, int)]
    named = [name for name in names if name in labels.FIELDS]
    where = t(labels.FIELDS[named[-1]]) if named else ".".join(names[1:]) or "-"
    return where, str(error.get("msg", ""))


def error_page(request: Request, status_code: int, problem: Problem) -> Response:
    """The page (or, for HTMX, the alert in the page's `#flash`) saying what went wrong."""
    if request.headers.get("HX-Request"):
        return render(
            request,
            "console/_alert.html",
            {"problem": problem},
            status_code,
            {"HX-Retarget": "#flash", "HX-Reswap": "innerHTML"},
        )
    return render(request, "console/error.html", {"problem": problem}, status_code)


def sign_in_redirect(request: Request) -> Response:
    back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    target = f"{LOGIN}?next={quote(back)}" if request.method == "GET" else LOGIN
    if request.headers.get("HX-Request"):
        return Response(status_code=401, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


async def answered(request: Request, error: Exception) -> Response:
    """The console's answer to an error raised while serving a page."""
    t = translator(language_of(request))
    if isinstance(error, SignInNeeded):
        return sign_in_redirect(request)
    if isinstance(error, ForgedForm):
        return error_page(request, 403, Problem(t(FORGED)))
    if isinstance(error, Refused):
        return error_page(request, status_of(error), problem_of(error, t))
    if isinstance(error, RequestValidationError):
        refused = Refused(
            INVALID_PAYLOAD,
            "invalid request",
            errors=[{"loc": list(e["loc"]), "msg": e["msg"]} for e in error.errors()],
        )
        return error_page(request, 422, problem_of(refused, t, t(INVALID)))
    if isinstance(error, HTTPException):
        refused = Refused(FORBIDDEN if error.status_code == 403 else NOT_FOUND, str(error.detail))
        return error_page(request, error.status_code, problem_of(refused, t))
    outage = isinstance(error, OUTAGES) or (
        isinstance(error, RuntimeError) and str(error).startswith(TEMPORAL_CONNECT_FAILED)
    )
    if outage:
        log.warning("%s %s: unavailable: %s", request.method, request.url.path, error)
        return error_page(request, 503, Problem(t(TRY_AGAIN)))
    log.exception("%s %s failed", request.method, request.url.path, exc_info=error)
    return error_page(request, 500, Problem(t(UNEXPECTED)))


class ConsoleRoute(APIRoute):
    """A console route: whatever goes wrong below it is answered as a page (`answered`)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as error:  # every error becomes a page, never a stack trace
                return await answered(request, error)

        return guarded


def console_router() -> APIRouter:
    """A router of console pages under /console: out of the OpenAPI schema (not part of the
    JSON API), errors answered as pages."""
    return APIRouter(prefix=PREFIX, route_class=ConsoleRoute, include_in_schema=False)
