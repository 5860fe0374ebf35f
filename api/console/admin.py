"""The admin's pages (issue 15): the staff accounts and the policy in force.

- **Users** (`/console/admin/users`): every user with their roles, branch and whether they are
  active; a form to create one, and per user a form to change their roles or deactivate them
  and one to set a new password. Each goes through the same schema and the same store
  function as `POST /users`, `PATCH /users/{username}` and `POST /users/{username}/password`
  (`api/routes/auth.py`): the same validation, a taken username refused, a deactivation or a
  reset ending the user's sessions at once (token version), no admin locking themselves out.
  Refused, the page again with the reason in words.
- **Policy** (`/console/admin/policy`): the policy file in force, read-only, as a person reads
  it: zones and their arrival hours (R12, R13), calendars and holidays, the deadlines' warning
  (R16), approval limits (R17-R20), discounts, survey timing (R22). The JSON API does not serve
  the policy, so only the admin reads it here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from sqlmodel import Session

from api.console import labels
from api.console.auth import ConsoleUser, Poster
from api.console.i18n import _, language_of, translator
from api.console.pages import ADMIN, PREFIX, Problem, console_router, problem_of, render, require
from api.console.queues import checked, text_of
from api.deps import OfficeDay, Services, ServicesDep
from api.errors import status_of
from api.schemas.users import PasswordReset, UserCreate, UserUpdate
from models.policy import WEEKDAYS, Policy
from models.refusals import Refused
from models.roles import Role
from store import users

router = console_router()
USERS = f"{PREFIX}/admin/users"
UsernamePath = Annotated[str, Path(min_length=1, max_length=64)]
DONE = {
    "created": _("User created."),
    "changed": _("User changed."),
    "reset": _("Password set. The user's sessions have ended: they sign in with the new one."),
}
FIELD_LABELS = {
    "username": _("Username"),
    "full_name": _("Full name"),
    "roles": _("Roles"),
    "branch": _("Branch"),
    "password": _("Initial password"),
    "new_password": _("New password"),
    "active": _("Active"),
}
"""The users' forms' fields, as a refusal names them."""


# --- users ---------------------------------------------------------------------------------


async def users_page(
    request: Request,
    app: Services,
    *,
    done: str | None = None,
    problem: Problem | None = None,
    typed: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    """The users, the creation form (with what was `typed`, refused) and each user's forms."""

    def read() -> list[Any]:
        with app.session() as db:
            return users.users_by_name(db)

    context = {
        "active": ADMIN.key,
        "page": "users",
        "users": await run_in_threadpool(read),
        "roles": list(Role),
        "branches": app.policy.branches,
        "done": DONE.get(done or ""),
        "problem": problem,
        "typed": typed or {},
    }
    return render(request, "console/users.html", context, status_code)


def named_fields(problem: Problem, t: Callable[..., str]) -> Problem:
    """`problem` with the users' forms' fields by their labels."""
    fields = tuple((t(FIELD_LABELS.get(w, w)), why) for w, why in problem.fields)
    return Problem(problem.headline, problem.detail, fields)


async def administered(
    request: Request,
    app: Services,
    change: Callable[[Session], object],
    done: str,
    typed: dict[str, Any] | None = None,
) -> Response:
    """`change` made in a session, then the users page saying `done`; refused, the page with
    the reason (and the creation form as it was typed)."""

    def run() -> None:
        with app.session() as db:
            change(db)

    try:
        await run_in_threadpool(run)
    except Refused as refused:
        t = translator(language_of(request))
        problem = named_fields(problem_of(refused, t), t)
        return await users_page(
            request, app, problem=problem, typed=typed, status_code=status_of(refused)
        )
    return RedirectResponse(f"{USERS}?done={done}", status_code=303)


@router.get("/admin/users")
async def users_list(
    request: Request,
    app: ServicesDep,
    user: ConsoleUser,
    done: Annotated[str | None, Query(max_length=16)] = None,
) -> Response:
    """The users; `done` names what was just done."""
    require(user, ADMIN)
    return await users_page(request, app, done=done)


@router.post("/admin/users")
async def create_user(request: Request, app: ServicesDep, user: Poster) -> Response:
    """A new user, as `POST /users` creates one."""
    require(user, ADMIN)
    form = await request.form()
    body = {
        "username": text_of(form.get("username")),
        "full_name": text_of(form.get("full_name")),
        "roles": form.getlist("roles"),
        "branch": text_of(form.get("branch")),
        "password": form.get("password"),
    }
    typed = {name: body[name] for name in ("username", "full_name", "roles", "branch")}

    def create(db: Session) -> None:
        users.create_user(db, **checked(UserCreate, body).model_dump())

    return await administered(request, app, create, "created", typed)


@router.post("/admin/users/{username}")
async def change_user(
    username: UsernamePath, request: Request, app: ServicesDep, user: Poster
) -> Response:
    """The user's roles and whether they are active, as `PATCH /users/{username}` changes
    them (deactivated, their sessions end)."""
    require(user, ADMIN)
    form = await request.form()
    body = {"roles": form.getlist("roles"), "active": form.get("active") == "on"}

    def change(db: Session) -> None:
        changes = checked(UserUpdate, body).model_dump(exclude_unset=True)
        users.update_user(db, username, changes, user.username)

    return await administered(request, app, change, "changed")


@router.post("/admin/users/{username}/password")
async def reset_password(
    username: UsernamePath, request: Request, app: ServicesDep, user: Poster
) -> Response:
    """A new password set by the admin, as `POST /users/{username}/password` sets it: the
    user's sessions end at once."""
    require(user, ADMIN)
    form = await request.form()
    body = {"new_password": form.get("new_password")}

    def reset(db: Session) -> None:
        new_password = checked(PasswordReset, body).new_password
        users.set_password(db, users.get_user(db, username), new_password)

    return await administered(request, app, reset, "reset")


# --- the policy ----------------------------------------------------------------------------


@router.get("/admin/policy")
def policy_page(
    request: Request, app: ServicesDep, user: ConsoleUser, today: OfficeDay
) -> Response:
    """The policy in force, read-only; each calendar with this year's days off and make-up
    working days, as deadlines count them (R12)."""
    require(user, ADMIN)
    policy: Policy = app.policy
    calendars = {name: (c, c.resolve([today.year])) for name, c in policy.calendars.items()}
    context = {
        "active": ADMIN.key,
        "page": "policy",
        "policy": policy,
        "year": today.year,
        "calendars": calendars,
        "weekday_names": dict(zip(WEEKDAYS, labels.WEEKDAYS, strict=True)),
        "raw": policy.model_dump_json(indent=2),
    }
    return render(request, "console/policy.html", context)
