"""Cross-site request forgery (issue 15, docs/security.md): every console POST carries the
session's synchronizer token, as a form field or (HTMX) the `X-CSRF-Token` header. Without it,
with a made-up one or with another session's, the POST is refused with 403 and a page saying
why, and nothing changes; a sign-in posted from another site is refused too."""

from __future__ import annotations

import html

from tests.api.conftest import PASSWORD, Api, call_in_body
from tests.console.conftest import Console

FORGED = "This form did not come from your console session"


async def test_a_post_without_the_right_token_is_refused_and_changes_nothing(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    ticket = (await clerk.post("/tickets", json=call_in_body())).json()
    step = f"/console/tickets/{ticket['id']}/actions/dispatch"
    dispatcher, other = await Console.of(api, "disp1"), await Console.of(api, "clerk1")
    try:
        for token in (None, "", "forged-token", other.csrf):
            form = {"technician": "tech1"} | ({} if token is None else {"csrf_token": token})
            refused = await dispatcher.http.post(step, data=form)
            assert refused.status_code == 403, (token, refused.text)
            assert FORGED in refused.text
            assert "text/html" in refused.headers["content-type"]
        unchanged = (await clerk.get(f"/tickets/{ticket['id']}")).json()
        assert (unchanged["status"], unchanged["technician"]) == ("registered", None)

        board = f"/console/dispatch/{ticket['id']}"
        wrong = {"X-CSRF-Token": other.csrf, "HX-Request": "true"}
        refused = await dispatcher.http.post(board, data={"technician": "tech1"}, headers=wrong)
        assert refused.status_code == 403 and FORGED in refused.text
        assert refused.headers["HX-Retarget"] == "#flash"  # HTMX shows it in the page
        assert (await clerk.get(f"/tickets/{ticket['id']}")).json()["status"] == "registered"

        taken = await dispatcher.post(step, {"technician": "tech1"})
        assert taken.status_code == 303, taken.text
        right = {"X-CSRF-Token": dispatcher.csrf, "HX-Request": "true"}
        again = await dispatcher.http.post(board, data={"technician": "tech2"}, headers=right)
        assert again.status_code == 200, again.text
        assert (await clerk.get(f"/tickets/{ticket['id']}")).json()["technician"] == "tech2"

        # Signing out is a POST like any other.
        assert (await dispatcher.post("/console/logout", {}, csrf=False)).status_code == 403
        assert (await dispatcher.http.get("/console/tickets")).status_code == 200
        out = await dispatcher.post("/console/logout", {})
        assert out.status_code == 303 and "aftersales_session=" in out.headers["set-cookie"]
        gone = await dispatcher.http.get("/console/tickets")
        assert gone.status_code == 303 and gone.headers["location"].startswith("/console/login")
    finally:
        await dispatcher.close()
        await other.close()


async def test_a_sign_in_posted_from_another_site_is_refused(api: Api) -> None:
    answer = await api.anonymous.post(
        "/console/login",
        data={"username": "disp1", "password": PASSWORD},
        headers={"Sec-Fetch-Site": "cross-site", "Accept-Language": "en"},
    )
    assert answer.status_code == 403
    assert "set-cookie" not in answer.headers
    assert "did not come from the console's own page" in html.unescape(answer.text)
