"""Dependencies shared by every route, declared once."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.client import Client

from api.security import token_claims
from api.throttle import LoginThrottle
from models.policy import Policy
from models.roles import READ_ROLES, Reading, Role, own_tickets_only
from models.settings import Settings
from models.tables import User


@dataclass
class Services:
    """What the app holds for its lifetime, set up once at start."""

    settings: Settings
    engine: Engine
    temporal: Client
    policy: Policy
    signing_key: str
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)

    def session(self) -> Session:
        return Session(self.engine)


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def session(app: ServicesDep) -> Iterator[Session]:
    with Session(app.engine) as db:
        yield db


SessionDep = Annotated[Session, Depends(session)]
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


def current_user(
    app: ServicesDep, db: SessionDep, token: Annotated[str | None, Depends(oauth2)]
) -> User:
    claims = token_claims(token, app.signing_key) if token else None
    user = db.get(User, claims.username) if claims else None
    if user is None or claims is None or not user.active or claims.version != user.token_version:
        raise UNAUTHORIZED
    return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    """A dependency admitting users with any of `roles` (403 naming them otherwise)."""

    def check(user: CurrentUser) -> User:
        if not set(user.roles).intersection(roles):
            needed = " or ".join(sorted(roles))
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {needed}")
        return user

    return check


def reader(reading: Reading) -> Callable[[User], User]:
    """A dependency admitting the roles that may read `reading` (docs/security.md)."""
    return require_roles(*READ_ROLES[reading])


def ticket_scope(user: CurrentUser) -> str | None:
    """R4: the technician whose tickets alone this user may read; None: every ticket."""
    return user.username if own_tickets_only(user.roles) else None


TicketScope = Annotated[str | None, Depends(ticket_scope)]
