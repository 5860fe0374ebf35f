"""A ticket's photos and documents (issue 14): uploaded by the staff who work the ticket,
listed and downloaded by those who read it (docs/security.md).

A file is taken for what its first bytes say it is (JPEG, PNG, WebP or PDF, else 415), up to
`AFTERSALES_ATTACHMENT_MAX_BYTES` (413 naming the limit), and kept in the file store under
its SHA-256 (store/files.py); the name the client gave it is only a field of its record, made
safe. Downloads are always `Content-Disposition: attachment` with `nosniff`, so a browser
never renders one as a page of ours.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Coroutine
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Request,
    Response,
    UploadFile,
    status,
)
from fastapi.routing import APIRoute
from starlette.types import Message

from api.deps import ServicesDep, SessionDep, TicketScope, reader, require_roles, services
from api.errors import ErrorBody
from api.params import RowId
from api.schemas.attachments import AttachmentPublic
from models.attachments import ALLOWED_NAMES, ALLOWED_TYPES, About, media_type_of, safe_filename
from models.refusals import FORBIDDEN, NOT_FOUND, TOO_LARGE, UNSUPPORTED_TYPE, Refused
from models.roles import ATTACHING_ROLES, READ_ROLES, Reading
from models.tables import AttachmentRecord, TicketRecord, User
from models.values import Text
from store import attachments, tickets
from store.files import FilesUnavailable, key_of

log = logging.getLogger("aftersales.api")
PREFIX = "/tickets/{ticket_id}/attachments"
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Attacher = Annotated[User, Depends(require_roles(*ATTACHING_ROLES))]
AttachmentsReader = Annotated[User, Depends(reader(Reading.ATTACHMENTS))]
# What the form around the file may add to the body: its boundaries and part headers, `about`,
# `ref` and a note of 2000 characters (up to 4 bytes each).
FORM_ALLOWANCE = 64 * 1024
MIB = 1024 * 1024


def _too_large(limit: int) -> Refused:
    size = f"{limit // MIB} MiB ({limit} bytes)" if limit % MIB == 0 else f"{limit} bytes"
    return Refused(TOO_LARGE, f"an attachment may be at most {size}; this file is larger")


class _BodyTooLarge(HTTPException):
    """The upload's body went past its limit while it was read (FastAPI passes an
    HTTPException raised while reading a form through as it is)."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE)


class UploadRoute(APIRoute):
    """An upload route counts its own body against the attachment limit, so that its 413
    names that limit: the app's limit (`AFTERSALES_MAX_REQUEST_BYTES`, Starlette's limiter,
    whose 413 is a bare "Content Too Large") is lifted for it by `max_body_size=LIFTED`, and
    stays for every other route. A `Content-Length` beyond the limit is refused before
    anything is read; a body sent without one is counted as it arrives."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = services(request).settings.attachment_max_bytes
            most = limit + FORM_ALLOWANCE
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > most:
                raise _too_large(limit)
            received = 0
            receive = request.receive

            async def counted() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > most:
                    raise _BodyTooLarge
                return message

            try:
                return await handle(Request(request.scope, counted))
            except _BodyTooLarge:
                raise _too_large(limit) from None

        return limited


LIFTED = sys.maxsize
"""The Starlette body limit of the upload route: none of its own (UploadRoute counts)."""
router = APIRouter(prefix=PREFIX, tags=["attachments"])
uploads = APIRouter(
    prefix=PREFIX,
    tags=["attachments"],
    route_class=UploadRoute,
    form_limits={"max_files": 1, "max_fields": 8, "max_part_size": 16 * 1024},
)


def _ticket(db: SessionDep, ticket_id: str, scope: str | None) -> TicketRecord:
    ticket = tickets.visible(db, ticket_id, scope)
    if ticket is None:
        raise Refused(NOT_FOUND, f"no ticket '{ticket_id}'")
    return ticket


def _reads_complaints(user: User) -> bool:
    return bool(READ_ROLES[Reading.COMPLAINTS].intersection(user.roles))


@uploads.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=AttachmentPublic,
    max_body_size=LIFTED,
    responses={
        413: {"description": "the file is larger than an attachment may be (named)"},
        415: {"model": ErrorBody, "description": f"not a {ALLOWED_NAMES} file, by its bytes"},
    },
)
def upload_attachment(
    ticket_id: TicketId,
    file: Annotated[UploadFile, File(description=f"the photo or document: {ALLOWED_NAMES}")],
    db: SessionDep,
    app: ServicesDep,
    user: Attacher,
    scope: TicketScope,
    about: Annotated[About, Form()] = About.TICKET,
    ref: Annotated[
        str | None,
        Form(
            min_length=1,
            max_length=32,
            description="a repair round's number (`round`, `inspection`), a complaint's id",
        ),
    ] = None,
    note: Annotated[Text | None, Form()] = None,
) -> AttachmentPublic:
    """Attaches a photo or document to the ticket, about the ticket itself, one of its repair
    rounds (`ref`: its number), an inspection (`ref`: the round inspected; none for a contract
    inspection, R32) or one of its complaints (`ref`: its id). Its type is what its first
    bytes say (JPEG, PNG, WebP, PDF; else 415), its size at most the configured limit (413
    naming it). A technician attaches to the tickets assigned to them, now or before."""
    ticket = _ticket(db, ticket_id, scope)
    if about == About.COMPLAINT and not _reads_complaints(user):
        needed = " or ".join(sorted(READ_ROLES[Reading.COMPLAINTS]))
        raise Refused(FORBIDDEN, f"attachments about a complaint need the role {needed}")
    limit = app.settings.attachment_max_bytes
    data: bytes = file.file.read(limit + 1)
    if len(data) > limit:
        raise _too_large(limit)
    media_type = media_type_of(data)
    if media_type is None:
        raise Refused(
            UNSUPPORTED_TYPE,
            f"attach a {ALLOWED_NAMES} file: this file's content is none of them, whatever "
            "its name or declared type",
        )
    checked = attachments.checked_ref(db, ticket, about, ref)
    key = key_of(data)
    app.files.put(key, data, media_type)
    record = attachments.add(
        db,
        ticket_id=ticket.id,
        about=about,
        ref=checked,
        filename=safe_filename(file.filename, media_type),
        content_type=media_type,
        size=len(data),
        key=key,
        note=note,
        uploaded_by=user.username,
    )
    return AttachmentPublic.from_record(record)


def _visible(rows: list[AttachmentRecord], user: User) -> list[AttachmentRecord]:
    """What `user` reads of the attachments: those about a complaint only for the roles that
    read complaints."""
    if _reads_complaints(user):
        return rows
    return [row for row in rows if row.about != About.COMPLAINT]


@router.get("", response_model=list[AttachmentPublic])
def list_attachments(
    ticket_id: TicketId, db: SessionDep, user: AttachmentsReader, scope: TicketScope
) -> list[AttachmentPublic]:
    """The ticket's attachments in the order they were uploaded, each with its download
    `url`."""
    _ticket(db, ticket_id, scope)
    rows = _visible(attachments.of_ticket(db, ticket_id), user)
    return [AttachmentPublic.from_record(row) for row in rows]


FILE_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "the file's bytes, as an attachment",
        "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in ALLOWED_TYPES},
    }
}


@router.get("/{attachment_id}", response_class=Response, responses=FILE_ANSWER)
def download_attachment(
    ticket_id: TicketId,
    attachment_id: RowId,
    db: SessionDep,
    app: ServicesDep,
    user: AttachmentsReader,
    scope: TicketScope,
) -> Response:
    """The attachment's bytes with its type, as a download (`Content-Disposition:
    attachment`, `X-Content-Type-Options: nosniff`)."""
    _ticket(db, ticket_id, scope)
    found = attachments.attachment(db, ticket_id, attachment_id)
    if found is None or not _visible([found], user):
        raise Refused(NOT_FOUND, f"no attachment {attachment_id} on ticket '{ticket_id}'")
    try:
        data = app.files.get(found.sha256)
    except FileNotFoundError:
        log.error("attachment %s: its file %s is not in the file store", found.id, found.sha256)
        raise FilesUnavailable(f"the file of attachment {found.id} is missing") from None
    return Response(
        data,
        media_type=found.content_type,
        headers={
            "Content-Disposition": content_disposition(found.filename),
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def content_disposition(filename: str) -> str:
    """`attachment` with the name as an ASCII fallback and in full (RFC 6266, RFC 5987)."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
