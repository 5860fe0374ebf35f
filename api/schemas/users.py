"""Staff accounts, passwords and tokens as clients send and read them."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import BaseModel, Field, StringConstraints, model_validator

from api.schemas.base import Request
from models.roles import Role
from models.values import Email, Password, ShortText, Username


class UserCreate(Request):
    username: Username
    password: Password
    full_name: ShortText
    roles: list[Role] = Field(min_length=1)
    branch: ShortText | None = None
    email: Email | None = None
    """Where escalations for the user's roles are sent (R16)."""


class UserPublic(BaseModel):
    username: str
    full_name: str
    roles: list[str]
    branch: str | None
    active: bool
    email: str | None = None


class PasswordChange(Request):
    """A user's own change: the current password, then the new one."""

    current_password: Annotated[str, StringConstraints(max_length=200)]
    new_password: Password


class PasswordReset(Request):
    """An admin's reset of another user's password."""

    new_password: Password


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class UserUpdate(Request):
    """`PATCH /users/{username}`: only the fields sent change; `email: null` removes it."""

    full_name: ShortText | None = None
    email: Email | None = None
    roles: list[Role] | None = Field(default=None, min_length=1)
    active: bool | None = None

    @model_validator(mode="after")
    def _only_email_may_be_null(self) -> Self:
        for name in self.model_fields_set - {"email"}:
            if getattr(self, name) is None:
                raise ValueError(f"{name} may not be null")
        return self


class SignedIn(BaseModel):
    username: str
    roles: list[str]
