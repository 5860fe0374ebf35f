"""Photos and files on the ticket page (issue 15, issue 14): the staff who work a ticket — the
technician on a phone first — attach a photo or a PDF from the page, and those who read the
ticket's attachments see them there. The file is taken the JSON API's way
(`api/attachment_commands.py`: by its bytes, up to the attachment limit, 413 and 415 in words)
and served the JSON API's way (`api/routes/attachments.py` `attachment_file`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import File, Form, Response, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from api.attachment_commands import attach, may_attach, may_read, ticket_of
from api.console.auth import ConsoleUser, Poster
from api.console.pages import PREFIX, ConsoleRoute, console_router
from api.console.tickets import ADDED, TicketId
from api.deps import ServicesDep, SessionDep, ticket_scope
from api.params import RowId
from api.routes.attachments import attachment_file
from api.uploads import LIFTED, UploadRoute, upload_router
from models.attachments import About
from models.refusals import FORBIDDEN, Refused
from models.roles import ATTACHING_ROLES, READ_ROLES, Reading
from models.values import Text


class ConsoleUploadRoute(ConsoleRoute, UploadRoute):
    """An upload counted against the attachment limit, whose refusals are pages."""


router = console_router()
uploads = upload_router(ConsoleUploadRoute, prefix=PREFIX, include_in_schema=False)


@uploads.post("/tickets/{ticket_id}/attachments", max_body_size=LIFTED)
async def attach_photo(
    ticket_id: TicketId,
    app: ServicesDep,
    user: Poster,
    file: Annotated[UploadFile, File()],
    note: Annotated[Text | None, Form()] = None,
) -> Response:
    """Attaches the chosen photo or PDF to the ticket, then shows the ticket with it."""
    if not may_attach(user):
        needed = " or ".join(sorted(ATTACHING_ROLES))
        raise Refused(FORBIDDEN, f"attaching files needs the role {needed}")

    def store() -> None:
        with app.session() as db:
            ticket = ticket_of(db, ticket_id, ticket_scope(user))
            upload = (file.file, file.filename)
            attach(db, app, user, ticket, upload, About.TICKET, None, note or None)

    await run_in_threadpool(store)
    return RedirectResponse(f"{PREFIX}/tickets/{ticket_id}?done={ADDED}", status_code=303)


@router.get("/tickets/{ticket_id}/attachments/{attachment_id}")
def attachment(
    ticket_id: TicketId,
    attachment_id: RowId,
    app: ServicesDep,
    db: SessionDep,
    user: ConsoleUser,
) -> Response:
    """The attachment's file, as the JSON API serves it, for the console's session."""
    if not may_read(user):
        needed = " or ".join(sorted(READ_ROLES[Reading.ATTACHMENTS]))
        raise Refused(FORBIDDEN, f"attachments need the role {needed}")
    return attachment_file(db, app, user, ticket_scope(user), ticket_id, attachment_id)
