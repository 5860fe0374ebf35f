"""Users: creation, changes by an admin, and the admin bootstrap."""

from __future__ import annotations

from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.passwords import hash_password, verify_password
from models.roles import Role
from models.schemas import Email, Name, UserCreate
from models.tables import User

ADMIN = "admin"


class UserExists(Exception):
    """A user with that username is already there."""


class SelfLockout(Exception):
    """An admin may not deactivate themselves or drop their own admin role."""


class UserUpdate(BaseModel):
    """`PATCH /users/{username}`: only the fields sent change; `email: null` removes it."""

    model_config = ConfigDict(extra="forbid")

    full_name: Name | None = None
    email: Email | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None

    @model_validator(mode="after")
    def _only_email_may_be_null(self) -> Self:
        for name in self.model_fields_set - {"email"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


def create_user(session: Session, new: UserCreate) -> User:
    """Stores a user with a hashed password; raises UserExists for a taken username."""
    if session.get(User, new.username) is not None:
        raise UserExists(new.username)
    user = User(
        username=new.username,
        full_name=new.full_name,
        password_hash=hash_password(new.password),
        roles=sorted({role.value for role in new.roles}),
        branch=new.branch,
        email=new.email,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as taken:  # created concurrently since the check above
        session.rollback()
        raise UserExists(new.username) from taken
    session.refresh(user)
    return user


def update_user(session: Session, username: str, changes: UserUpdate, actor: str) -> User | None:
    """Applies the fields set in `changes`; None if there is no such user. Raises SelfLockout
    when `actor` would deactivate themselves or drop their own admin role."""
    user = session.get(User, username)
    if user is None:
        return None
    values = changes.model_dump(exclude_unset=True)
    if "roles" in values:
        values["roles"] = sorted({Role(role).value for role in values["roles"]})
    if username == actor and (
        values.get("active") is False or Role.ADMIN.value not in values.get("roles", user.roles)
    ):
        raise SelfLockout(username)
    if values.get("active") is False and user.active:
        user.token_version += 1  # a deactivated user's tokens stop working at once
    for name, value in values.items():
        setattr(user, name, value)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


class WrongPassword(Exception):
    """The current password given to change it is not the user's."""


def set_password(session: Session, user: User, new_password: str) -> User:
    """Stores `new_password`; every token issued before stops working."""
    user.password_hash = hash_password(new_password)
    user.token_version += 1
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def change_own_password(session: Session, user: User, current: str, new_password: str) -> User:
    """The user's own change: raises WrongPassword unless `current` is their password."""
    if not verify_password(current, user.password_hash):
        raise WrongPassword(user.username)
    return set_password(session, user, new_password)


def bootstrap_admin(engine: Engine, password: str | None) -> bool:
    """Creates user `admin` with role admin on first start; True if it was created."""
    if not password:
        return False
    with Session(engine) as session:
        if session.get(User, ADMIN) is not None:
            return False
        new = UserCreate(
            username=ADMIN, password=password, full_name="Administrator", roles=[Role.ADMIN]
        )
        try:
            create_user(session, new)
        except UserExists:
            return False
        return True
