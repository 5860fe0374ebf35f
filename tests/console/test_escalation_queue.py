"""The escalations queue (issue 15, R16, R17): a discount the clerk grants within their limit is
reported to the director as an escalation; the director finds it counted in the navigation
and in their queue, and acknowledges it with a note; a clerk, whose roles do not own it, has
nothing waiting. Over plain HTTP with the session cookie (no page script is involved)."""

from __future__ import annotations

import html
import re

from tests.api.conftest import Api
from tests.console.conftest import Console, on_site

WAITING = re.compile(r'id="waiting-escalations"[^>]*>(\d+)<')


async def test_the_director_acknowledges_a_reported_discount_from_the_queue(api: Api) -> None:
    clerk_api, director_api = await api.users("clerk1", "dir1")
    ticket = await on_site(api)
    granted = await clerk_api.post(
        f"/tickets/{ticket['id']}/actions/discount",
        json={"percent": "5", "reason": "loyal customer"},
    )
    assert granted.status_code == 200, granted.text
    [report] = (await director_api.get("/escalations", params={"open": "true"})).json()
    assert report["kind"] == "discount_granted"

    clerk = await Console.of(api, "clerk1")
    director = await Console.of(api, "dir1")
    try:
        assert not WAITING.search((await clerk.http.get("/console/tickets")).text)
        queue = await director.http.get("/console/escalations")
        assert queue.status_code == 200
        assert WAITING.search(queue.text).group(1) == "1"  # type: ignore[union-attr]
        assert f'data-escalation="{report["id"]}"' in queue.text
        assert "Discount granted" in queue.text
        done = await director.post(
            f"/console/escalations/{report['id']}/acknowledge", {"note": "fine, regular"}
        )
        assert (done.status_code, done.headers["location"]) == (
            303,
            "/console/escalations?done=acknowledged",
        )
        after = await director.http.get(done.headers["location"])
        assert "Acknowledged." in after.text and not WAITING.search(after.text)
        assert "acknowledged by dir1" in html.unescape(after.text)
    finally:
        await clerk.close()
        await director.close()
    [acknowledged] = (await director_api.get("/escalations", params={"open": "false"})).json()
    assert acknowledged["acknowledged_by"] == "dir1"
