"""Staff accounts: creation, an admin's changes, passwords, the admin bootstrap, and the
addresses escalations go to (R16)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.security import hash_password, verify_password
from models.refusals import CONFLICT, FORBIDDEN, NOT_FOUND, Refused
from models.roles import Role
from models.tables import User

ADMIN = "admin"


def find_user(session: Session, username: str) -> User | None:
    return session.get(User, username)


def get_user(session: Session, username: str) -> User:
    user = session.get(User, username)
    if user is None:
        raise Refused(NOT_FOUND, f"no user named '{username}'")
    return user


def users_by_name(session: Session, role: str | None = None) -> list[User]:
    users = session.exec(select(User).order_by(col(User.username))).all()
    return [user for user in users if role is None or role in user.roles]


def technician(session: Session, username: str) -> User | None:
    """The user `username` if they are a technician (active or not)."""
    user = session.get(User, username)
    return user if user is not None and Role.TECHNICIAN in user.roles else None


def is_technician(session: Session, username: str) -> bool:
    """Whether `username` is an active technician (R4: whom a ticket may be dispatched to)."""
    user = session.get(User, username)
    return user is not None and user.active and Role.TECHNICIAN in user.roles


def full_name(session: Session, username: str | None) -> str | None:
    """The user's full name, or the username of a user not (or no longer) there."""
    if username is None:
        return None
    user = session.get(User, username)
    return (user.full_name if user else None) or username


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    full_name: str,
    roles: Iterable[str],
    branch: str | None = None,
    email: str | None = None,
) -> User:
    """Stores a user with a hashed password; CONFLICT for a taken username."""
    if session.get(User, username) is not None:
        raise Refused(CONFLICT, f"a user named '{username}' already exists")
    user = User(
        username=username,
        full_name=full_name,
        password_hash=hash_password(password),
        roles=sorted({Role(role).value for role in roles}),
        branch=branch,
        email=email,
    )
    session.add(user)
    try:
        session.commit()
    except IntegrityError as taken:  # created concurrently since the check above
        session.rollback()
        raise Refused(CONFLICT, f"a user named '{username}' already exists") from taken
    session.refresh(user)
    return user


def update_user(session: Session, username: str, changes: Mapping[str, Any], actor: str) -> User:
    """Applies `changes` (the fields sent); NOT_FOUND for an unknown user, CONFLICT when
    `actor` would deactivate themselves or drop their own admin role. Deactivation ends the
    user's tokens at once."""
    user = get_user(session, username)
    values = dict(changes)
    if "roles" in values:
        values["roles"] = sorted({Role(role).value for role in values["roles"]})
    if username == actor and (
        values.get("active") is False or Role.ADMIN.value not in values.get("roles", user.roles)
    ):
        raise Refused(CONFLICT, "you cannot deactivate yourself or drop your own admin role")
    if values.get("active") is False and user.active:
        user.token_version += 1
    for name, value in values.items():
        setattr(user, name, value)
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def set_password(session: Session, user: User, new_password: str) -> User:
    """Stores `new_password`; every token issued before stops working."""
    user.password_hash = hash_password(new_password)
    user.token_version += 1
    session.add(user)
    session.commit()
    session.refresh(user)
    return user


def change_own_password(session: Session, user: User, current: str, new_password: str) -> User:
    """The user's own change: FORBIDDEN unless `current` is their password."""
    if not verify_password(current, user.password_hash):
        raise Refused(FORBIDDEN, "the current password is wrong")
    return set_password(session, user, new_password)


def active_user(session: Session, username: str, password: str) -> User | None:
    """The active user with these credentials, or None (a miss costs a hash as well)."""
    user = session.get(User, username)
    matches = verify_password(password, user.password_hash if user else None)
    return user if matches and user is not None and user.active else None


def bootstrap_admin(engine: Engine, password: str | None) -> bool:
    """Creates user `admin` with role admin on first start; True if it was created."""
    if not password:
        return False
    with Session(engine) as session:
        if session.get(User, ADMIN) is not None:
            return False
        try:
            create_user(
                session,
                username=ADMIN,
                password=password,
                full_name="Administrator",
                roles=[Role.ADMIN],
            )
        except Refused:
            return False
        return True


def staff_emails(engine: Engine, roles: Iterable[str], branch: str | None = None) -> list[str]:
    """The email addresses of the active users with any of `roles`, each once (R16); with a
    `branch`, only its staff and those of no branch (the head office)."""
    wanted = set(roles)
    with Session(engine) as db:
        users = db.exec(
            select(User).where(col(User.active).is_(True), col(User.email).is_not(None))
        ).all()
    return sorted(
        {
            u.email.strip()
            for u in users
            if u.email
            and u.email.strip()
            and wanted & set(u.roles)
            and (branch is None or u.branch in (None, branch))
        }
    )


def name_of(engine: Engine, username: str) -> str:
    """The full name to show a customer for `username` (the username if there is none)."""
    with Session(engine) as session:
        return full_name(session, username) or username
