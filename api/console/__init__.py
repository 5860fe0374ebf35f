"""The staff console (issue 15): server-rendered pages for every role's day, in Simplified
Chinese and English, served by the same app under `/console`.

- `auth`: sign-in and sign-out with the session cookie, the CSRF token every POST carries,
  the language switch, and the home page that sends each role where its day starts;
- `pages`: rendering, the navigation by role, errors as pages (`ConsoleRoute`);
- `i18n`, `labels`: the languages and the words for the product's codes;
- one module per page group: `calls` (call-in), `tickets` (list and ticket page, steps,
  documents), `dispatch` (the board), `jobs` (a technician's day), `approvals` and
  `escalations` (the queues of approvals to decide and escalations to acknowledge), `payments`
  (the invoices waiting for a payment), `photos` (a ticket's photos and files, attached from
  its page); `contracts` (the month's calendar of every contract's events), `admin` (the
  users, and the policy in force); `reports` (the KPIs with `charts`' SVG bar charts, the day's
  reports to confirm, review and sign, a technician's monthly appraisal);
- templates in `api/templates/console/`, static files (HTMX, the style sheet, the signature
  pad) in `api/static/`, served at `/console/static/`.

Pages call the JSON API's commands (`api/ticket_commands.py`) and read the read model
(`store/`): the rules are theirs, never the console's. No route here is part of the JSON API's
OpenAPI schema.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from api.console import (
    admin,
    approvals,
    auth,
    calls,
    contracts,
    dispatch,
    escalations,
    jobs,
    payments,
    photos,
    reports,
    tickets,
)
from api.console.i18n import language_of, translator
from api.console.pages import PREFIX, UNKNOWN_PAGE, Problem, console_router, error_page

STATIC = Path(__file__).resolve().parent.parent / "static"
ROUTERS = (
    auth.router,
    calls.router,
    tickets.router,
    dispatch.router,
    jobs.router,
    approvals.router,
    escalations.router,
    payments.router,
    reports.router,
    photos.router,
    photos.uploads,
    contracts.router,
    admin.router,
)
fallback = console_router()


@fallback.api_route("/{rest:path}", methods=["GET", "POST"])
def unknown(request: Request, rest: str) -> Response:
    """Any other console address: a page saying so, not the JSON API's 404."""
    if not rest:
        return RedirectResponse(PREFIX, status_code=303)
    return error_page(request, 404, Problem(translator(language_of(request))(UNKNOWN_PAGE)))


def install(app: FastAPI) -> None:
    """Serves the console from `app`: its static files, its pages, then the fallback."""
    app.mount(f"{PREFIX}/static", StaticFiles(directory=STATIC), name="console-static")
    for router in (*ROUTERS, fallback):
        app.include_router(router)
