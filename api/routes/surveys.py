"""Survey cards (R22, R23): the customer's secret link shows the card and takes one answer.

No login: the token in the link is the customer's key. Browsers get an HTML page (and post
its form back); other clients get JSON. The answer goes to the survey's workflow as the
`answer` update, whose refusals become 404 (unknown, expired, not yet open), 409 (already
answered) and 422 (a rating out of 1–4, a text too long).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn

from fastapi import APIRouter, HTTPException, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError
from sqlmodel import Session
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from api import survey_reads
from api.deps import ServicesDep
from api.workflow_answers import in_time
from models.survey import (
    ITEMS,
    MAX_REMARK,
    SurveyAnswer,
    SurveyAnswerIn,
    SurveyCardPublic,
    SurveyStatus,
    answer_errors,
    checked_answer,
)
from models.tables import SurveyRecord
from workflows import survey as survey_workflow
from workflows.survey import SurveyWorkflow

router = APIRouter(prefix="/surveys", tags=["surveys"])
TEMPLATES = Jinja2Templates(directory=Path(__file__).resolve().parent.parent / "templates")
FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
QUESTIONS = {item.name: item.question for item in ITEMS}
# The link is a secret: keep it out of caches, referrers and search engines.
PRIVATE = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Robots-Tag": "noindex",
}
PAGE_HEADERS = PRIVATE | {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
}
NOT_FOUND = "no open survey at this link: it is unknown, expired or not sent yet"
ALREADY_ANSWERED = "this survey has already been answered"
ANSWER_BODY = {
    "content": {
        "application/json": {"schema": SurveyAnswerIn.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": SurveyAnswerIn.model_json_schema()},
    },
    "required": True,
}


class Refused(Exception):
    """An answer the survey does not take: the HTTP status and why."""

    def __init__(self, status_code: int, detail: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.status_code, self.detail, self.errors = status_code, detail, errors


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _find(app: ServicesDep, token: str) -> tuple[SurveyRecord, SurveyCardPublic] | None:
    with Session(app.engine) as db:
        row = survey_reads.survey_by_token(db, token)
        return (row, survey_reads.card(db, row)) if row is not None else None


def _page(
    request: Request,
    page: str,
    card: SurveyCardPublic | None,
    status_code: int = 200,
    errors: list[dict[str, Any]] | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    return TEMPLATES.TemplateResponse(
        request,
        "survey.html",
        {
            "page": page,
            "card": card,
            "errors": errors or [],
            "values": values or {},
            "labels": QUESTIONS,
            "max_remark": MAX_REMARK,
        },
        status_code=status_code,
        headers=PAGE_HEADERS,
    )


def _closed_page(card: SurveyCardPublic | None) -> str:
    """The page for a card that takes no answer."""
    if card is None:
        return "unknown"
    match card.status:
        case SurveyStatus.ANSWERED:
            return "answered"
        case SurveyStatus.EXPIRED:
            return "expired"
    return "unknown"


@router.get(
    "/{token}",
    response_model=SurveyCardPublic,
    responses={
        200: {"content": {"text/html": {}}},
        404: {"description": "no such survey", "content": {"text/html": {}}},
    },
)
def show_card(token: str, request: Request, app: ServicesDep, thanks: bool = False) -> Response:
    """R22, R23: the card, its four items and their four levels: an HTML page for browsers
    (`Accept: text/html`), JSON otherwise."""
    found = _find(app, token)
    card = found[1] if found else None
    if _wants_html(request):
        if card is not None and card.status is SurveyStatus.SENT:
            return _page(request, "open", card)
        if card is not None and card.status is SurveyStatus.ANSWERED and thanks:
            return _page(request, "thanks", card)
        return _page(request, _closed_page(card), card, 404 if card is None else 200)
    if card is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, NOT_FOUND, headers=PRIVATE)
    return JSONResponse(card.model_dump(mode="json"), headers=PRIVATE)


def _is_form(request: Request) -> bool:
    return request.headers.get("content-type", "").startswith(FORMS)


async def _answer_body(request: Request) -> dict[str, Any]:
    """The posted answer as a dict."""
    if _is_form(request):
        form = await request.form(max_files=0, max_fields=20)
        return {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        data = await request.json()
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise Refused(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            "the body must be a JSON object: {attitude, skill, arrival_time, promise_keeping, "
            "comment?, complaint?}",
            [],
        )
    return data


def _refusal_for(card: SurveyCardPublic) -> Refused | None:
    match card.status:
        case SurveyStatus.ANSWERED:
            return Refused(status.HTTP_409_CONFLICT, ALREADY_ANSWERED, [])
        case SurveyStatus.SENT:
            return None
    return Refused(status.HTTP_404_NOT_FOUND, NOT_FOUND, [])


def _translate(failure: WorkflowUpdateFailedError) -> NoReturn:
    cause = failure.cause
    if not isinstance(cause, ApplicationError):
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the answer could not be saved")
    details: dict[str, Any] = cause.details[0] if cause.details else {}
    match cause.type:
        case survey_workflow.SURVEY_CLOSED:
            raise Refused(status.HTTP_409_CONFLICT, ALREADY_ANSWERED, [])
        case survey_workflow.SURVEY_EXPIRED | survey_workflow.SURVEY_NOT_OPEN:
            raise Refused(status.HTTP_404_NOT_FOUND, NOT_FOUND, [])
        case survey_workflow.INVALID_ANSWER:
            raise Refused(
                status.HTTP_422_UNPROCESSABLE_CONTENT, cause.message, details.get("errors", [])
            )
    raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, cause.message)


async def _send_answer(
    app: ServicesDep, token: str, row: SurveyRecord, answer: SurveyAnswer
) -> None:
    handle = app.temporal.get_workflow_handle_for(SurveyWorkflow.run, row.workflow_id)
    try:
        await in_time(handle.execute_update(SurveyWorkflow.answer, answer), "survey link")
    except WorkflowUpdateFailedError as failure:
        _translate(failure)
    except RPCError as error:
        if error.status not in (RPCStatusCode.NOT_FOUND, RPCStatusCode.FAILED_PRECONDITION):
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the survey service is unavailable: {error.message}",
            ) from error
        # The survey's workflow has ended since the row was read: answered or expired.
        latest = await run_in_threadpool(_find, app, token)
        refusal = _refusal_for(latest[1]) if latest else None
        raise refusal or Refused(status.HTTP_404_NOT_FOUND, NOT_FOUND, []) from error


@router.post(
    "/{token}",
    response_model=SurveyCardPublic,
    openapi_extra={"requestBody": ANSWER_BODY},
    responses={
        303: {"description": "a form post: back to the page, which thanks the customer"},
        # A form post is answered with the page (HTML), JSON with JSON.
        404: {
            "description": "no open survey at this link (unknown, expired, not sent yet)",
            "content": {"text/html": {}},
        },
        409: {"description": "already answered", "content": {"text/html": {}}},
        422: {
            "description": "a rating out of 1–4 or a text too long, naming the field",
            "content": {"text/html": {}},
        },
    },
)
async def answer_card(token: str, request: Request, app: ServicesDep) -> Response:
    """R23: the customer's answer, once: four ratings 1 (worst) to 4 (best), and optional
    `comment` and `complaint` (at most 2000 characters each). JSON, or the page's form (which
    is redirected back to the page with 303)."""
    found = await run_in_threadpool(_find, app, token)
    card = found[1] if found else None
    from_form = _is_form(request)
    values: dict[str, Any] = {}
    try:
        # The link first: a stranger's body is not even read.
        if found is None:
            raise Refused(status.HTTP_404_NOT_FOUND, NOT_FOUND, [])
        row, card = found
        if refusal := _refusal_for(card):
            raise refusal
        values = await _answer_body(request)
        try:
            answer = checked_answer(values)
        except ValidationError as invalid:
            raise Refused(
                status.HTTP_422_UNPROCESSABLE_CONTENT,
                "invalid survey answer",
                answer_errors(invalid),
            ) from None
        await _send_answer(app, token, row, answer)
    except Refused as refused:
        if from_form:
            return _form_refused(request, refused, card, values)
        body: dict[str, Any] = {"detail": refused.detail}
        if refused.errors:
            body["errors"] = [
                {
                    "loc": ["body", *e["field"].split(".")],
                    "msg": e["message"],
                    "type": "value_error",
                }
                for e in refused.errors
            ]
        return JSONResponse(body, status_code=refused.status_code, headers=PRIVATE)
    if from_form:
        # Relative to /surveys/{token}: right behind a proxy that adds a path prefix too.
        return RedirectResponse(f"{token}?thanks=1", status.HTTP_303_SEE_OTHER, headers=PRIVATE)
    latest = await run_in_threadpool(_find, app, token)
    assert latest is not None
    return JSONResponse(latest[1].model_dump(mode="json"), headers=PRIVATE)


def _form_refused(
    request: Request, refused: Refused, card: SurveyCardPublic | None, values: dict[str, Any]
) -> Response:
    if refused.status_code == status.HTTP_422_UNPROCESSABLE_CONTENT and card is not None:
        kept = {k: v for k, v in values.items() if isinstance(v, str)}
        errors = [
            e | {"message": "Please choose one answer."} if e["field"] in QUESTIONS else e
            for e in refused.errors
        ]
        return _page(request, "open", card, refused.status_code, errors, kept)
    if refused.status_code == status.HTTP_409_CONFLICT:
        page = "answered"
    elif card is not None and card.status is SurveyStatus.EXPIRED:
        page = "expired"
    else:
        page = "unknown"
    return _page(request, page, card, refused.status_code)
