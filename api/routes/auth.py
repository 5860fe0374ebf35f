"""Tokens for users and user administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.security import OAuth2PasswordRequestForm
from sqlmodel import col, select

from api.deps import ServicesDep, SessionDep, require_roles
from api.security import create_token
from models.passwords import verify_password
from models.roles import Role
from models.schemas import Token, UserCreate, UserPublic
from models.tables import User
from models.users import SelfLockout, UserExists, UserUpdate, create_user, update_user

router = APIRouter(tags=["auth"])
AdminOnly = Annotated[User, Depends(require_roles(Role.ADMIN))]


@router.post("/auth/token", response_model=Token)
def issue_token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], app: ServicesDep, db: SessionDep
) -> Token:
    user = db.get(User, form.username)
    if not verify_password(form.password, user.password_hash if user else None) or not (
        user and user.active
    ):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "wrong username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    ttl = timedelta(minutes=app.settings.token_ttl_minutes)
    return Token(access_token=create_token(user.username, app.signing_key, ttl))


@router.post("/users", status_code=status.HTTP_201_CREATED, response_model=UserPublic)
def add_user(new: UserCreate, db: SessionDep, _: AdminOnly) -> User:
    try:
        return create_user(db, new)
    except UserExists:
        raise HTTPException(
            status.HTTP_409_CONFLICT, f"a user named '{new.username}' already exists"
        ) from None


@router.get("/users", response_model=list[UserPublic])
def list_users(db: SessionDep, _: AdminOnly, role: Role | None = None) -> list[User]:
    users = db.exec(select(User).order_by(col(User.username))).all()
    return [u for u in users if role is None or role in u.roles]


@router.patch("/users/{username}", response_model=UserPublic)
def change_user(username: str, changes: UserUpdate, db: SessionDep, admin: AdminOnly) -> User:
    try:
        user = update_user(db, username, changes, actor=admin.username)
    except SelfLockout:
        raise HTTPException(
            status.HTTP_409_CONFLICT, "you cannot deactivate yourself or drop your own admin role"
        ) from None
    if user is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no user named '{username}'")
    return user
