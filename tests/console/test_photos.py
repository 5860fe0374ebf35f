"""Photos on the ticket page (issue 15, issue 14): the technician, on a phone, attaches a photo
of the fault to their job and sees it there; the dispatcher sees it too. A file that is no
photo or PDF, one over the attachment limit, and a form without its CSRF token are refused
with a page saying why, and attach nothing."""

from __future__ import annotations

import html
import struct
import zlib

from playwright.async_api import Browser, expect

from tests.api.conftest import Api
from tests.console.conftest import DESK, PHONE, Console, fits, new_page, on_site, sign_in


def png(width: int, height: int) -> bytes:
    """A real PNG of a red rectangle, as a phone's camera would send (in miniature)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xd0\x30\x30" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


async def test_the_technician_attaches_a_photo_from_a_phone(api: Api, browser: Browser) -> None:
    ticket = await on_site(api)
    errors: list[str] = []
    phone = await new_page(browser, PHONE, errors)
    await sign_in(phone, api.base_url, "tech1")
    await phone.goto(f"{api.base_url}/console/tickets/{ticket['id']}")
    photos = phone.locator("#photos")
    await expect(photos).to_contain_text("No photos or files yet.")
    await photos.get_by_label("Photo or PDF").set_input_files(
        {"name": "fault.png", "mimeType": "image/png", "buffer": png(64, 48)}
    )
    await photos.get_by_label("Note").fill("burnt fuse holder")
    await photos.get_by_role("button", name="Attach").click()
    await expect(phone.locator("#done")).to_have_text("The file is attached.")
    thumb = phone.locator("#photos img.thumb")
    await expect(thumb).to_have_attribute("alt", "fault.png")
    await phone.wait_for_function("document.querySelector('#photos img.thumb').naturalWidth === 64")
    await expect(photos).to_contain_text("burnt fuse holder")
    await fits(phone)
    assert not errors, errors

    desk = await new_page(browser, DESK, errors)
    await sign_in(desk, api.base_url, "disp1")
    await desk.goto(f"{api.base_url}/console/tickets/{ticket['id']}")
    await expect(desk.locator("#photos li")).to_have_count(1)
    assert not errors, errors
    listed = (await (await api.as_user("disp1")).get(f"/tickets/{ticket['id']}/attachments")).json()
    assert [(a["filename"], a["uploaded_by"]) for a in listed] == [("fault.png", "tech1")]


async def test_a_file_that_is_not_a_photo_too_large_or_forged_is_refused_in_words(
    api: Api,
) -> None:
    ticket = await on_site(api)
    technician = await Console.of(api, "tech1")
    path = f"/console/tickets/{ticket['id']}/attachments"
    try:
        script = {"file": ("fault.png", b"#!/bin/sh\nrm -rf /\n", "image/png")}
        answer = await technician.http.post(
            path, data={"csrf_token": technician.csrf}, files=script
        )
        assert answer.status_code == 415
        assert "JPEG, PNG, WebP or PDF" in html.unescape(answer.text)

        huge = {"file": ("fault.png", png(4, 4) + bytes(11 * 1024 * 1024), "image/png")}
        answer = await technician.http.post(path, data={"csrf_token": technician.csrf}, files=huge)
        assert answer.status_code == 413
        assert "at most 10 MiB" in html.unescape(answer.text)

        photo = {"file": ("fault.png", png(4, 4), "image/png")}
        answer = await technician.http.post(path, files=photo)
        assert answer.status_code == 403
        assert "did not come from your console session" in html.unescape(answer.text)
    finally:
        await technician.close()
    listed = (await (await api.as_user("tech1")).get(f"/tickets/{ticket['id']}/attachments")).json()
    assert listed == []
