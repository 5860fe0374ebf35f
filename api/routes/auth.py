"""Tokens for users, their passwords, and user administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Path, Request, status
from fastapi.concurrency import run_in_threadpool

from api.deps import CurrentUser, Services, ServicesDep, SessionDep, require_roles
from api.schemas.users import (
    PasswordChange,
    PasswordReset,
    Token,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from core.security import create_token
from models.roles import Role
from models.tables import User
from store import users

router = APIRouter(tags=["auth"])
AdminOnly = Annotated[User, Depends(require_roles(Role.ADMIN))]
UsernamePath = Annotated[str, Path(min_length=1, max_length=64)]
WRONG = "wrong username or password"


def _token_for(app: ServicesDep, user: User) -> Token:
    ttl = timedelta(minutes=app.settings.token_ttl_minutes)
    return Token(access_token=create_token(user.username, user.token_version, app.signing_key, ttl))


async def authenticate(app: Services, request: Request, username: str, password: str) -> User:
    """The active user with these credentials. Repeated failures for a username or from an
    address back off: 429 with `Retry-After`, before any password is checked; 401 otherwise."""
    address = request.client.host if request.client else "unknown"
    if wait := app.login_throttle.retry_after(username, address):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            f"too many failed sign-ins: try again in {wait} s",
            headers={"Retry-After": str(wait)},
        )

    def check() -> User | None:
        with app.session() as db:
            return users.active_user(db, username, password)

    user = await run_in_threadpool(check)
    if user is None:
        app.login_throttle.failed(username, address)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, WRONG, headers={"WWW-Authenticate": "Bearer"}
        )
    app.login_throttle.succeeded(username)
    return user


Username = Annotated[str, Form(min_length=1, max_length=64)]
PasswordField = Annotated[str, Form(min_length=1, max_length=200)]
SIGN_IN_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {"description": "wrong username or password"},
    429: {"description": "too many failures: wait `Retry-After` seconds"},
    503: {"description": "too many sign-ins at once: wait `Retry-After` seconds"},
}


@router.post("/auth/token", response_model=Token, responses=SIGN_IN_ANSWERS)
async def issue_token(
    request: Request, app: ServicesDep, username: Username, password: PasswordField
) -> Token:
    """A bearer token for `username` (OAuth2 password form)."""
    return _token_for(app, await authenticate(app, request, username, password))


@router.get("/users/me", response_model=UserPublic)
def who_am_i(user: CurrentUser) -> User:
    return user


@router.post("/users/me/password", response_model=Token)
def change_my_password(
    change: PasswordChange, app: ServicesDep, db: SessionDep, user: CurrentUser
) -> Token:
    """The signed-in user's new password (the current one required). Every token issued
    before, this one's included, stops working: the answer is a fresh token."""
    changed = users.change_own_password(db, user, change.current_password, change.new_password)
    return _token_for(app, changed)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def add_user(new: UserCreate, db: SessionDep, _: AdminOnly) -> User:
    return users.create_user(db, **new.model_dump())


@router.get("/users", response_model=list[UserPublic])
def list_users(db: SessionDep, _: AdminOnly, role: Role | None = None) -> list[User]:
    return users.users_by_name(db, role)


@router.patch("/users/{username}", response_model=UserPublic)
def change_user(
    username: UsernamePath, changes: UserUpdate, db: SessionDep, admin: AdminOnly
) -> User:
    """Name, email, roles, active; deactivating a user ends their tokens at once."""
    return users.update_user(db, username, changes.model_dump(exclude_unset=True), admin.username)


@router.post("/users/{username}/password", response_model=UserPublic)
def reset_password(
    username: UsernamePath, reset: PasswordReset, db: SessionDep, _: AdminOnly
) -> User:
    """An admin's reset: the user's tokens stop working at once."""
    return users.set_password(db, users.get_user(db, username), reset.new_password)
