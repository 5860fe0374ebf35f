"""Who opens which console page (issue 15, the API's roles): a page a role may not use is a 403
page (never a 500), a step it may not take is refused if posted anyway and changes nothing,
a technician reads only their own tickets, a browser not signed in is sent to the sign-in
page (HTMX by `HX-Redirect`), and the session cookie opens the console only: the JSON API
stays bearer-only, and no console route is in its OpenAPI schema.

The table is written here from the issue, not read from models/roles.py: clerks call in;
dispatchers dispatch from the board (directors and admin too); technicians have their jobs;
every role reads tickets; all but technicians and sales read the approvals, all but
technicians and accountants the escalations; accountants (and admin) record payments."""

from __future__ import annotations

import html

from tests.api.conftest import Api, call_in_body
from tests.api.test_permissions import EXTRA_USERS
from tests.api.test_permissions import USER_OF as EVERY_ROLE
from tests.console.conftest import Console

# One user per role, as the permission tests have them (but the one they create in each test).
USER_OF = {role: name for role, name in EVERY_ROLE.items() if name not in EXTRA_USERS}
EVERYONE = set(USER_OF)
PAGES = {
    "/console/tickets": EVERYONE,
    "/console/call-in": {"clerk", "dispatcher", "director", "admin"},
    "/console/call-in/customers?customer_phone=138": {"clerk", "dispatcher", "director", "admin"},
    "/console/dispatch": {"dispatcher", "director", "admin"},
    "/console/dispatch/board": {"dispatcher", "director", "admin"},
    "/console/jobs": {"technician"},
    "/console/approvals": EVERYONE - {"technician", "sales"},
    "/console/escalations": EVERYONE - {"technician", "accountant"},
    "/console/payments": {"accountant", "admin"},
    "/console/reports/daily": {"director", "manager", "vp", "admin", "technician"},
    "/console/reports/appraisal": {"director", "manager", "admin", "technician"},
    "/console/contracts": EVERYONE - {"technician", "vp", "storekeeper"},
    "/console/admin/users": {"admin"},
    "/console/admin/policy": {"admin"},
}
HOME = {"dispatcher": "/console/dispatch", "technician": "/console/jobs"}


async def test_each_role_opens_its_pages_and_no_other(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    ticket = (await clerk.post("/tickets", json=call_in_body())).json()
    for role, username in USER_OF.items():
        console = await Console.of(api, username)
        try:
            for page, roles in PAGES.items():
                answer = await console.http.get(page)
                expected = 200 if role in roles else 403
                assert answer.status_code == expected, (role, page, answer.status_code)
                if expected == 403:
                    assert "Your role does not allow this." in answer.text
            home = await console.http.get("/console")
            assert home.headers["location"] == HOME.get(role, "/console/tickets"), role
            # R4: a technician reads the tickets assigned to them only.
            shown = await console.http.get(f"/console/tickets/{ticket['id']}")
            assert shown.status_code == (404 if role == "technician" else 200), role
        finally:
            await console.close()


async def test_a_step_the_role_may_not_take_is_refused_and_changes_nothing(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    ticket = (await clerk.post("/tickets", json=call_in_body())).json()
    accountant = await Console.of(api, "acct1")
    try:
        page = await accountant.http.get(f"/console/tickets/{ticket['id']}")
        assert 'data-step="dispatch"' not in page.text  # the button is not shown
        step = f"/console/tickets/{ticket['id']}/actions/dispatch"
        refused = await accountant.post(step, {"technician": "tech1"})
        assert refused.status_code == 403
        assert "Your role does not allow this." in refused.text
        assert "'dispatch' needs the role" in html.unescape(refused.text)  # the API's detail
        board = await accountant.post(f"/console/dispatch/{ticket['id']}", {"technician": "tech1"})
        assert board.status_code == 403
        after = (await clerk.get(f"/tickets/{ticket['id']}")).json()
        assert (after["status"], after["technician"]) == ("registered", None)
    finally:
        await accountant.close()


async def test_a_browser_not_signed_in_is_sent_to_sign_in(api: Api) -> None:
    for page in [*PAGES, "/console", "/console/tickets/abc"]:
        answer = await api.anonymous.get(page)
        assert answer.status_code == 303, page
        assert answer.headers["location"].startswith("/console/login?next=/console"), page
    htmx = await api.anonymous.get("/console/dispatch/board", headers={"HX-Request": "true"})
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/console/login")
    posted = await api.anonymous.post("/console/call-in", data={"customer_name": "x"})
    assert (posted.status_code, posted.headers["location"]) == (303, "/console/login")
    signed_in = await api.anonymous.get("/console/login?next=//evil.example/")
    assert 'name="next" value="/console"' in signed_in.text  # never another site


async def test_the_session_cookie_opens_the_console_only(api: Api) -> None:
    console = await Console.of(api, "admin")
    try:
        assert (await console.http.get("/console/tickets")).status_code == 200
        assert (await console.http.get("/tickets")).status_code == 401  # the JSON API
        assert (await console.http.get("/users/me")).status_code == 401
    finally:
        await console.close()
    schema = (await api.anonymous.get("/openapi.json")).json()
    assert not [path for path in schema["paths"] if path.startswith("/console")]
