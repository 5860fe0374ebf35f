"""Users' email addresses, where escalations for their roles are sent (R16): stored by
`POST /users`, shown in answers, changed by an admin with `PATCH /users/{username}`."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import Session

from models.tables import User
from tests.api.conftest import Api


def new_user(username: str, roles: list[str], **extra: object) -> dict[str, object]:
    body = {"username": username, "password": "new-password-1", "full_name": "New Person"}
    return body | {"roles": roles} | extra


def stored(engine: Engine, username: str) -> User:
    with Session(engine) as db:
        user = db.get(User, username)
    assert user is not None
    return user


async def test_a_user_created_with_an_email_keeps_it(api: Api, engine: Engine) -> None:  # R16
    admin = await api.as_user("admin")
    created = await admin.post("/users", json=new_user("disp9", ["dispatcher"], email="d9@ex.com"))
    assert created.status_code == 201, created.text
    assert created.json()["email"] == "d9@ex.com"
    assert stored(engine, "disp9").email == "d9@ex.com"
    listed = {u["username"]: u for u in (await admin.get("/users")).json()}
    assert listed["disp9"]["email"] == "d9@ex.com"
    assert listed["clerk1"]["email"] is None  # created without one

    refused = await admin.post("/users", json=new_user("disp8", ["dispatcher"], email="nope"))
    assert refused.status_code == 422, refused.text


async def test_an_admin_changes_a_users_email_roles_and_active(api: Api, engine: Engine) -> None:
    admin, clerk = await api.users("admin", "clerk1")

    changed = await admin.patch("/users/disp1", json={"email": "disp1@ex.com", "full_name": "D 1"})
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "disp1@ex.com" and changed.json()["full_name"] == "D 1"
    assert changed.json()["roles"] == ["dispatcher"]  # what was not sent stays

    changed = await admin.patch("/users/disp1", json={"roles": ["director"], "active": False})
    assert changed.status_code == 200, changed.text
    user = stored(engine, "disp1")
    assert (user.email, user.roles, user.active) == ("disp1@ex.com", ["director"], False)

    cleared = await admin.patch("/users/disp1", json={"email": None})
    assert cleared.status_code == 200 and cleared.json()["email"] is None

    assert (await clerk.patch("/users/clerk1", json={"email": "c@ex.com"})).status_code == 403
    assert (await admin.patch("/users/ghost", json={"email": "g@ex.com"})).status_code == 404
    for bad in [{"email": "nope"}, {"roles": []}, {"active": None}, {"password": "x" * 12}]:
        assert (await admin.patch("/users/tech1", json=bad)).status_code == 422, bad
    for lockout in [{"active": False}, {"roles": ["director"]}]:
        answer = await admin.patch("/users/admin", json=lockout)
        assert answer.status_code == 409, lockout
    assert stored(engine, "admin").active
