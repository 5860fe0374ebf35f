"""A ticket's documents as the API lists them (issue 14)."""

from __future__ import annotations

from pydantic import BaseModel

from models.documents import DocumentKind


class DocumentLink(BaseModel):
    kind: DocumentKind
    filename: str
    url: str
    """The PDF, relative to the API; `?language=zh|en` for another language than the
    customer's."""

    @classmethod
    def of(cls, ticket_id: str, kind: DocumentKind, filename: str) -> DocumentLink:
        return cls(kind=kind, filename=filename, url=f"/tickets/{ticket_id}/documents/{kind}.pdf")
