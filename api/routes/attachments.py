"""A ticket's photos and documents (issue 14): uploaded by the staff who work the ticket,
listed and downloaded by those who read it (docs/security.md).

What a file may be, and how it is kept, is `api/attachment_commands.py`'s; how its body is
counted, `api/uploads.py`'s (the console's photo form takes the same ways). Downloads are
always `Content-Disposition: attachment` with `nosniff`, so a browser never renders one as a
page of ours.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    Path,
    Response,
    UploadFile,
    status,
)
from sqlmodel import Session

from api.attachment_commands import attach, ticket_of, visible
from api.deps import Services, ServicesDep, SessionDep, TicketScope, reader, require_roles
from api.errors import ErrorBody
from api.params import RowId
from api.schemas.attachments import AttachmentPublic
from api.uploads import LIFTED, upload_router
from models.attachments import ALLOWED_NAMES, ALLOWED_TYPES, About
from models.refusals import NOT_FOUND, Refused
from models.roles import ATTACHING_ROLES, Reading
from models.tables import User
from models.values import Text
from store import attachments
from store.files import FilesUnavailable

log = logging.getLogger("aftersales.api")
PREFIX = "/tickets/{ticket_id}/attachments"
TicketId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]
Attacher = Annotated[User, Depends(require_roles(*ATTACHING_ROLES))]
AttachmentsReader = Annotated[User, Depends(reader(Reading.ATTACHMENTS))]
router = APIRouter(prefix=PREFIX, tags=["attachments"])
uploads = upload_router(prefix=PREFIX, tags=["attachments"])


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
    ticket = ticket_of(db, ticket_id, scope)
    record = attach(db, app, user, ticket, (file.file, file.filename), about, ref, note)
    return AttachmentPublic.from_record(record)


@router.get("", response_model=list[AttachmentPublic])
def list_attachments(
    ticket_id: TicketId, db: SessionDep, user: AttachmentsReader, scope: TicketScope
) -> list[AttachmentPublic]:
    """The ticket's attachments in the order they were uploaded, each with its download
    `url`."""
    ticket_of(db, ticket_id, scope)
    rows = visible(attachments.of_ticket(db, ticket_id), user)
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
    return attachment_file(db, app, user, scope, ticket_id, attachment_id)


def attachment_file(
    db: Session, app: Services, user: User, scope: str | None, ticket_id: str, attachment_id: int
) -> Response:
    """The attachment as `GET /tickets/{id}/attachments/{attachment_id}` serves it (and the
    console, for its session); NOT_FOUND for one the user may not read."""
    ticket_of(db, ticket_id, scope)
    found = attachments.attachment(db, ticket_id, attachment_id)
    if found is None or not visible([found], user):
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
