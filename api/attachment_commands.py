"""Attaching a file to a ticket (issue 14), as the JSON API (`POST /tickets/{id}/attachments`)
and the console's photo form both take it, and which attachments a user reads.

A file is taken for what its first bytes say it is (JPEG, PNG, WebP or PDF, else 415), up to
`AFTERSALES_ATTACHMENT_MAX_BYTES` (413 naming the limit), and kept in the file store under its
SHA-256 (store/files.py); the name the client gave it is only a field of its record, made
safe."""

from __future__ import annotations

from typing import BinaryIO

from sqlmodel import Session

from api.deps import Services
from models.attachments import ALLOWED_NAMES, About, media_type_of, safe_filename
from models.refusals import FORBIDDEN, NOT_FOUND, TOO_LARGE, UNSUPPORTED_TYPE, Refused
from models.roles import ATTACHING_ROLES, READ_ROLES, Reading
from models.tables import AttachmentRecord, TicketRecord, User
from store import attachments, tickets
from store.files import key_of

MIB = 1024 * 1024


def too_large(limit: int) -> Refused:
    size = f"{limit // MIB} MiB ({limit} bytes)" if limit % MIB == 0 else f"{limit} bytes"
    return Refused(TOO_LARGE, f"an attachment may be at most {size}; this file is larger")


def ticket_of(db: Session, ticket_id: str, scope: str | None) -> TicketRecord:
    ticket = tickets.visible(db, ticket_id, scope)
    if ticket is None:
        raise Refused(NOT_FOUND, f"no ticket '{ticket_id}'")
    return ticket


def may_attach(user: User) -> bool:
    return bool(ATTACHING_ROLES.intersection(user.roles))


def may_read(user: User) -> bool:
    return bool(READ_ROLES[Reading.ATTACHMENTS].intersection(user.roles))


def reads_complaints(user: User) -> bool:
    return bool(READ_ROLES[Reading.COMPLAINTS].intersection(user.roles))


def visible(rows: list[AttachmentRecord], user: User) -> list[AttachmentRecord]:
    """What `user` reads of the attachments: those about a complaint only for the roles that
    read complaints."""
    return rows if reads_complaints(user) else [r for r in rows if r.about != About.COMPLAINT]


def attach(
    db: Session,
    app: Services,
    user: User,
    ticket: TicketRecord,
    upload: tuple[BinaryIO, str | None],
    about: About,
    ref: str | None,
    note: str | None,
) -> AttachmentRecord:
    """Attaches the uploaded file (its bytes and the name the client gave it) to `ticket`,
    about the ticket, a repair round, an inspection or a complaint (`ref`)."""
    if about == About.COMPLAINT and not reads_complaints(user):
        needed = " or ".join(sorted(READ_ROLES[Reading.COMPLAINTS]))
        raise Refused(FORBIDDEN, f"attachments about a complaint need the role {needed}")
    stream, filename = upload
    limit = app.settings.attachment_max_bytes
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise too_large(limit)
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
    return attachments.add(
        db,
        ticket_id=ticket.id,
        about=about,
        ref=checked,
        filename=safe_filename(filename, media_type),
        content_type=media_type,
        size=len(data),
        key=key,
        note=note,
        uploaded_by=user.username,
    )
