"""Users: creation and the admin bootstrap."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from models.passwords import hash_password
from models.roles import Role
from models.schemas import UserCreate
from models.tables import User

ADMIN = "admin"


class UserExists(Exception):
    """A user with that username is already there."""


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
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as taken:  # created concurrently since the check above
        session.rollback()
        raise UserExists(new.username) from taken
    session.refresh(user)
    return user


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
