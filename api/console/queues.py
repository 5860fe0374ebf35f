"""What the console's queues share (issue 15): the items waiting for this user first, then the
others, newest first; a decision on one taken through the JSON API's command, its body checked
by the JSON API's schema; refused, the queue again with the reason in words."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, ValidationError
from sqlmodel import Session

from api.console.i18n import language_of, translator
from api.console.pages import Problem, Section, problem_of, render
from api.deps import Services
from api.errors import status_of
from api.workflow_answers import field_errors
from models.refusals import INVALID_PAYLOAD, Refused
from models.tables import User

SHOWN = 50
"""Items of each list on a queue's page."""


@dataclass(frozen=True)
class Queue:
    section: Section
    template: str
    read: Callable[[Session, User, bool], list[Any]]
    """The items waiting for the user (True), or all of them (False), newest first."""


async def show_queue(
    request: Request,
    app: Services,
    user: User,
    queue: Queue,
    *,
    done: str | None = None,
    problem: Problem | None = None,
    status_code: int = 200,
) -> Response:
    def read() -> tuple[list[Any], list[Any]]:
        with app.session() as db:
            mine = queue.read(db, user, True)
            ids = {item.id for item in mine}
            return mine, [item for item in queue.read(db, user, False) if item.id not in ids]

    mine, others = await run_in_threadpool(read)
    context = {
        "active": queue.section.key,
        "mine": mine,
        "others": others,
        "done": done,
        "problem": problem,
    }
    return render(request, queue.template, context, status_code)


async def decided(
    request: Request,
    app: Services,
    user: User,
    queue: Queue,
    schema: type[BaseModel],
    body: dict[str, Any],
    command: Callable[[Any], Awaitable[Any]],
    done: str,
) -> Response:
    """`body` checked by `schema` and given to `command`; then the queue saying `done`, or,
    refused, the queue with the reason."""
    try:
        await command(checked(schema, body))
    except Refused as refused:
        problem = problem_of(refused, translator(language_of(request)))
        return await show_queue(
            request, app, user, queue, problem=problem, status_code=status_of(refused)
        )
    return RedirectResponse(f"{queue.section.href}?done={done}", status_code=303)


def checked(schema: type[BaseModel], body: dict[str, Any]) -> Any:
    """`body` as the JSON API's `schema` takes it; refused (422, the fields named) if it is
    not valid."""
    try:
        return schema.model_validate(body)
    except ValidationError as invalid:
        raise Refused(INVALID_PAYLOAD, "invalid request", errors=field_errors(invalid)) from None


def text_of(value: Any) -> str | None:
    """A form's text as typed, or None when left empty."""
    return (value.strip() or None) if isinstance(value, str) else None
