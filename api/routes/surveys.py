"""Survey cards (R22, R23): the customer's secret link shows the card and takes one answer.

No login: the token in the link is the customer's key. Browsers get an HTML page (and post
its form back); other clients get JSON. The answer goes to the survey's workflow as the
`answer` update; its refusals (models/refusals.py) are answered as every route answers them
(404 unknown, expired or not yet open; 409 already answered; 422 naming the field), as a page
for a form post.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import ValidationError

from api import survey_commands
from api.deps import ServicesDep
from api.errors import status_of
from api.schemas.surveys import RatedItemPublic, RatingLevelPublic, SurveyCardPublic
from models.refusals import (
    INVALID_ANSWER,
    INVALID_PAYLOAD,
    SURVEY_CLOSED,
    SURVEY_EXPIRED,
    Refused,
)
from models.survey import (
    ITEMS,
    MAX_REMARK,
    SurveyAnswerIn,
    SurveyStatus,
    answer_errors,
    checked_answer,
    status_at,
)
from models.tables import SurveyRecord
from store import surveys, users

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
CLOSED = "no open survey at this link: it is unknown, expired or not sent yet"
ALREADY_ANSWERED = "this survey has already been answered"
ANSWER_BODY = {
    "content": {
        "application/json": {"schema": SurveyAnswerIn.model_json_schema()},
        "application/x-www-form-urlencoded": {"schema": SurveyAnswerIn.model_json_schema()},
    },
    "required": True,
}


def _wants_html(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


def _card(app: ServicesDep, token: str) -> tuple[SurveyRecord, SurveyCardPublic] | None:
    """The card a link opens, as the customer sees it: whom and what it is about, its items."""
    with app.session() as db:
        row = surveys.by_token(db, token)
        if row is None:
            return None
        technician = users.full_name(db, row.technician)
    card = SurveyCardPublic(
        ticket_number=row.ticket_number,
        technician=technician,
        product_model=row.product_model,
        status=status_at(row.status, row.expires_at, datetime.now(UTC)),
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        answered_at=row.answered_at,
        items=[
            RatedItemPublic(
                name=item.name,
                question=item.question,
                levels=[RatingLevelPublic(value=v, label=label) for v, label in item.levels],
            )
            for item in ITEMS
        ],
    )
    return row, card


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
    found = _card(app, token)
    card = found[1] if found else None
    if _wants_html(request):
        if card is not None and card.status is SurveyStatus.SENT:
            return _page(request, "open", card)
        if card is not None and card.status is SurveyStatus.ANSWERED and thanks:
            return _page(request, "thanks", card)
        return _page(request, _closed_page(card), card, 404 if card is None else 200)
    if card is None:
        return JSONResponse({"detail": CLOSED}, status.HTTP_404_NOT_FOUND, headers=PRIVATE)
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
            INVALID_PAYLOAD,
            "the body must be a JSON object: {attitude, skill, arrival_time, promise_keeping, "
            "comment?, complaint?}",
        )
    return data


def _refusal_for(card: SurveyCardPublic | None) -> Refused | None:
    """Why the card takes no answer now, or None when it is open."""
    if card is not None and card.status is SurveyStatus.SENT:
        return None
    if card is not None and card.status is SurveyStatus.ANSWERED:
        return Refused(SURVEY_CLOSED, ALREADY_ANSWERED)
    return Refused(SURVEY_EXPIRED, CLOSED)


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
    found = await run_in_threadpool(_card, app, token)
    card = found[1] if found else None
    from_form = _is_form(request)
    values: dict[str, Any] = {}
    try:
        # The link first: a stranger's body is not even read.
        if (refusal := _refusal_for(card)) is not None or found is None:
            raise refusal or Refused(SURVEY_EXPIRED, CLOSED)
        values = await _answer_body(request)
        try:
            given = checked_answer(values)
        except ValidationError as invalid:
            errors = [{**e, "loc": ["body", *e["loc"]]} for e in answer_errors(invalid)]
            raise Refused(INVALID_ANSWER, "invalid survey answer", errors=errors) from None
        try:
            await survey_commands.answer(app.temporal, found[0].workflow_id, given)
        except survey_commands.SurveyGone:
            latest = await run_in_threadpool(_card, app, token)
            raise _refusal_for(latest[1] if latest else None) or Refused(
                SURVEY_EXPIRED, CLOSED
            ) from None
    except Refused as refused:
        if from_form:
            return _form_refused(request, refused, card, values)
        return JSONResponse(
            {"detail": refused.message, **refused.details}, status_of(refused), headers=PRIVATE
        )
    if from_form:
        # Relative to /surveys/{token}: right behind a proxy that adds a path prefix too.
        return RedirectResponse(f"{token}?thanks=1", status.HTTP_303_SEE_OTHER, headers=PRIVATE)
    latest = await run_in_threadpool(_card, app, token)
    assert latest is not None
    return JSONResponse(latest[1].model_dump(mode="json"), headers=PRIVATE)


def _form_refused(
    request: Request, refused: Refused, card: SurveyCardPublic | None, values: dict[str, Any]
) -> Response:
    code = status_of(refused)
    if code == status.HTTP_422_UNPROCESSABLE_CONTENT and card is not None:
        kept = {k: v for k, v in values.items() if isinstance(v, str)}
        errors = [
            e | {"msg": "Please choose one answer."} if e["loc"][-1] in QUESTIONS else e
            for e in refused.details.get("errors", [])
        ]
        return _page(request, "open", card, code, errors, kept)
    if code == status.HTTP_409_CONFLICT:
        page = "answered"
    elif card is not None and card.status is SurveyStatus.EXPIRED:
        page = "expired"
    else:
        page = "unknown"
    return _page(request, page, card, code)
