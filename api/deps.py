"""Dependencies shared by every route, declared once."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import APIKeyCookie, OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from temporalio.client import Client

from api.throttle import LoginThrottle
from core.config import Settings
from core.logs import TICKET_ID
from core.security import token_claims
from models.policy import Policy
from models.roles import READ_ROLES, Reading, Role, own_tickets_only
from models.tables import User
from models.worktime import local
from store import users
from store.files import FileStore, file_store


@dataclass
class Services:
    """What the app holds for its lifetime, set up once at start."""

    settings: Settings
    engine: Engine
    temporal: Client
    policy: Policy
    signing_key: str
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)
    files: FileStore = field(init=False)
    """Where attachments' bytes are kept (AFTERSALES_FILES_URL)."""

    def __post_init__(self) -> None:
        self.files = file_store(self.settings)

    def session(self) -> Session:
        return Session(self.engine)


async def ticket_in_path(request: Request) -> None:
    """Log lines written while a route with a `ticket_id` works carry that id (core/logs.py).
    Async, so it sets the id in the request's own context, where the route runs; that context
    ends with the request, so nothing is left to reset."""
    if ticket_id := request.path_params.get("ticket_id"):
        TICKET_ID.set(ticket_id)


log = logging.getLogger("aftersales.api")


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def session(app: ServicesDep) -> Iterator[Session]:
    """The request's session. Closing it never fails the request: a database that went away
    meanwhile (a restart) has taken the connection with it, and the answer may be sent."""
    db = Session(app.engine)
    try:
        yield db
    finally:
        try:
            db.close()
        except SQLAlchemyError as error:
            log.warning("closing a request's session: %s", str(error).splitlines()[0])


SessionDep = Annotated[Session, Depends(session)]


def office_day(app: ServicesDep) -> date:
    """Today in the office's time zone: the day dates in requests and answers are about."""
    return local(datetime.now(UTC), app.policy.office_timezone).date()


OfficeDay = Annotated[date, Depends(office_day)]
# The same key names the same call-in, step or complaint, however often the same user sends
# it (R3); keys are the user's own: another user's identical key names something else.
IdempotencyKey = Annotated[
    str | None,
    Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
]
oauth2 = OAuth2PasswordBearer(tokenUrl="/auth/token", auto_error=False)

UNAUTHORIZED = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    "not authenticated: send a valid bearer token from POST /auth/token",
    headers={"WWW-Authenticate": "Bearer"},
)


def token_user(app: Services, db: Session, token: str | None) -> User | None:
    """The active user a valid token names, at their current token version; None otherwise."""
    claims = token_claims(token, app.signing_key) if token else None
    user = users.find_user(db, claims.username) if claims else None
    if user is not None:
        _release(db, user)
    if user is None or claims is None or not user.active or claims.version != user.token_version:
        return None
    return user


def _release(db: Session, user: User) -> None:
    """`user` detached (their columns loaded) and the request's connection back in the pool:
    a route that then waits on Temporal holds none — otherwise as many such requests as the
    pool has connections hold them all, while their commands wait for one more."""
    db.expunge(user)
    db.rollback()


def current_user(
    app: ServicesDep, db: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    """The user of the bearer token: every JSON route signs in this way, and only this way."""
    user = token_user(app, db, token)
    if user is None:
        raise UNAUTHORIZED
    return user


CurrentUser = Annotated[User, Depends(current_user)]

# The browser sign-in of POST /auth/session (api/routes/session.py): the same signed token as
# a bearer token, in an HttpOnly, SameSite=Lax cookie. Only the routes that a browser app must
# reach without our bearer token accept it: the codec endpoint, for the Temporal UI, through
# `bearer_or_session_user`, and the staff console (api/console/auth.py), whose every POST also
# carries the session's CSRF token; every other route keeps `current_user`, bearer only. A
# browser attaches cookies by itself, so a JSON route taking the cookie would be open to
# cross-site request forgery; a bearer token is never sent unless a script sends it.
SESSION_COOKIE = "aftersales_session"
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="SessionCookie",
    description="The browser session of POST /auth/session (only where a route says so).",
)
UNAUTHORIZED_SESSION = HTTPException(
    status.HTTP_401_UNAUTHORIZED,
    "not authenticated: send a valid bearer token from POST /auth/token, or sign in with"
    " POST /auth/session",
    headers={"WWW-Authenticate": "Bearer"},
)


def bearer_or_session_user(
    app: ServicesDep,
    db: SessionDep,
    token: Annotated[str | None, Depends(oauth2)],
    cookie: Annotated[str | None, Depends(session_cookie)],
) -> User:
    """The user signed in by a bearer token or else by the session cookie, with the checks of
    `current_user` (active, current token version). Only for routes without side effects
    that a cross-site request could abuse (see SESSION_COOKIE)."""
    user = token_user(app, db, token) or token_user(app, db, cookie)
    if user is None:
        raise UNAUTHORIZED_SESSION
    return user


BearerOrSessionUser = Annotated[User, Depends(bearer_or_session_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency admitting users with any of `roles` (403 naming them otherwise)."""

    def check(user: CurrentUser) -> User:
        if not set(user.roles).intersection(roles):
            needed = " or ".join(sorted(roles))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {needed}")
        return user

    return check


def require_roles_bearer_or_session(*roles: Role) -> Callable[[User], User]:
    """`require_roles`, for a user signed in by bearer token or session cookie."""
    check_roles = require_roles(*roles)

    def check(user: BearerOrSessionUser) -> User:
        return check_roles(user)

    return check


def reader(reading: Reading) -> Callable[[User], User]:
    """A dependency admitting the roles that may read `reading` (docs/security.md)."""
    return require_roles(*READ_ROLES[reading])


def ticket_scope(user: CurrentUser) -> str | None:
    """R4: the technician whose tickets alone this user may read; None: every ticket."""
    return user.username if own_tickets_only(user.roles) else None


TicketScope = Annotated[str | None, Depends(ticket_scope)]
