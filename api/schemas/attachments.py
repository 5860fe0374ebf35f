"""A ticket's attachments as clients read them (issue 14)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from models.attachments import About
from models.tables import AttachmentRecord


class AttachmentPublic(BaseModel):
    id: int
    ticket_id: str
    about: About
    ref: str | None
    """The repair round's number (a round, its inspection) or the complaint's id."""
    filename: str
    """The uploader's filename, made safe (no path, bounded)."""
    content_type: str
    """What the file's first bytes say it is: image/jpeg, image/png, image/webp or
    application/pdf."""
    size: int
    """In bytes."""
    note: str | None
    uploaded_by: str
    uploaded_at: datetime
    url: str
    """Where its bytes are downloaded (`GET`, with a bearer token)."""

    @classmethod
    def from_record(cls, row: AttachmentRecord) -> AttachmentPublic:
        assert row.id is not None
        return cls(
            id=row.id,
            ticket_id=row.ticket_id,
            about=About(row.about),
            ref=row.ref,
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            note=row.note,
            uploaded_by=row.uploaded_by,
            uploaded_at=row.uploaded_at,
            url=f"/tickets/{row.ticket_id}/attachments/{row.id}",
        )
