"""Photos and documents on a ticket (issue 14): what an attachment may be about, which files
are taken — by their first bytes, never by what the client claims — and what is kept of the
name a client gave its file."""

from __future__ import annotations

import unicodedata
from enum import StrEnum


class About(StrEnum):
    """What an attachment is about, and what its `ref` names."""

    TICKET = "ticket"
    """The ticket itself (no ref): the fault as found, the site, a signed paper."""
    ROUND = "round"
    """A repair round (R8); ref: its number."""
    INSPECTION = "inspection"
    """An inspection; ref: the number of the repair round inspected (R8), or none for the
    ticket's own contract inspection checklist (R32)."""
    COMPLAINT = "complaint"
    """One of the ticket's complaints (R25, R26); ref: its id."""


JPEG = "image/jpeg"
PNG = "image/png"
WEBP = "image/webp"
PDF = "application/pdf"
ALLOWED_TYPES = (JPEG, PNG, WEBP, PDF)
ALLOWED_NAMES = "JPEG, PNG, WebP or PDF"
EXTENSIONS = {JPEG: ".jpg", PNG: ".png", WEBP: ".webp", PDF: ".pdf"}
MAX_FILENAME = 200
MAX_EXTENSION = 10
# Characters no file system or header takes well; control and format characters (a
# right-to-left override that shows "gpj.exe" as "exe.jpg") go as well.
_UNSAFE = frozenset('/\\:*?"<>|')


def media_type_of(data: bytes) -> str | None:
    """The type the file's first bytes (its magic number) say it is, one of ALLOWED_TYPES;
    None for anything else."""
    if data.startswith(b"\xff\xd8\xff"):
        return JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return WEBP
    if data.startswith(b"%PDF-"):
        return PDF
    return None


def safe_filename(sent: str | None, media_type: str) -> str:
    """What is kept of a client's filename: its last path segment, without control, format
    and path characters or leading and trailing dots, at most MAX_FILENAME characters (its
    extension kept); `attachment.<ext>` when nothing is left. A name only: files are stored
    by their digest."""
    name = unicodedata.normalize("NFC", (sent or "").replace("\\", "/")).rsplit("/", 1)[-1]
    name = "".join(
        "_" if c in _UNSAFE else c for c in name if not unicodedata.category(c).startswith("C")
    )
    name = name.strip(" .")
    if not name:
        return "attachment" + EXTENSIONS.get(media_type, "")
    if len(name) <= MAX_FILENAME:
        return name
    stem, dot, extension = name.rpartition(".")
    if dot and stem and len(extension) <= MAX_EXTENSION:
        return stem[: MAX_FILENAME - len(extension) - 1].rstrip(" .") + "." + extension
    return name[:MAX_FILENAME].rstrip(" .")
