"""Tokens for users, their passwords, and user administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlmodel import col, select

from api.deps import CurrentUser, Services, ServicesDep, SessionDep, require_roles
from api.security import create_token
from models.passwords import HasherBusy, verify_password
from models.roles import Role
from models.schemas import (
    PasswordChange,
    PasswordReset,
    Token,
    UserCreate,
    UserPublic,
)
from models.tables import User
from models.users import (
    SelfLockout,
    UserExists,
    UserUpdate,
    WrongPassword,
    change_own_password,
    create_user,
    set_password,
    update_user,
)

router = APIRouter(tags=["auth"])
AdminOnly = Annotated[User, Depends(require_roles(Role.ADMIN))]
WRONG = "wrong username or password"
BUSY_SECONDS = 2


def _busy() -> HTTPException:
    return HTTPException(
        status.HTTP_503_SERVICE_UNAVAILABLE,
        "too many sign-ins at once: try again in a moment",
        headers={"Retry-After": str(BUSY_SECONDS)},
    )


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
            user = db.get(User, username)
            matches = verify_password(password, user.password_hash if user else None)
            return user if matches and user is not None and user.active else None

    try:
        user = await run_in_threadpool(check)
    except HasherBusy:
        raise _busy() from None
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
    try:
        changed = change_own_password(db, user, change.current_password, change.new_password)
    except WrongPassword:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "the current password is wrong") from None
    except HasherBusy:
        raise _busy() from None
    return _token_for(app, changed)


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def add_user(new: UserCreate, db: SessionDep, _: AdminOnly) -> User:
    try:
        return create_user(db, new)
    except UserExists:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"a user named '{new.username}' already exists"
        ) from None
    except HasherBusy:
        raise _busy() from None


@router.get("/users", response_model=list[UserPublic])
def list_users(db: SessionDep, _: AdminOnly, role: Role | None = None) -> list[User]:
    users = db.exec(select(User).order_by(col(User.username))).all()
    return [u for u in users if role is None or role in u.roles]


@router.patch("/users/{username}", response_model=UserPublic)
def change_user(username: str, changes: UserUpdate, db: SessionDep, admin: AdminOnly) -> User:
    """Name, email, roles, active; deactivating a user ends their tokens at once."""
    try:
        user = update_user(db, username, changes, actor=admin.username)
    except SelfLockout:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "you cannot deactivate yourself or drop your own admin role"
        ) from None
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user named '{username}'")
    return user


@router.post("/users/{username}/password", response_model=UserPublic)
def reset_password(username: str, reset: PasswordReset, db: SessionDep, _: AdminOnly) -> User:
    """An admin's reset: the user's tokens stop working at once."""
    user = db.get(User, username)
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user named '{username}'")
    try:
        return set_password(db, user, reset.new_password)
    except HasherBusy:
        raise _busy() from None
