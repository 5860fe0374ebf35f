"""Photos and documents on a ticket over HTTP (issue 14): uploaded as multipart by the staff
who work the ticket, listed in upload order, downloaded byte for byte as attachments; taken
for what their first bytes say (JPEG, PNG, WebP, PDF), up to the attachment limit (which
lifts the API's 1 MiB body limit for this route alone); a hostile filename is only a name;
kept in the data dir or in an S3 bucket, and a store that does not answer is a 503. Who may
upload and read is in tests/api/test_permissions.py and test_read_matrix.py."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy.engine import Engine

from tests.api.conftest import Api, call_in_body
from tests.api.test_carry_in import carried_in
from tests.ports import free_port
from tests.read_model import ticket_row

MIB = 1024 * 1024
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 16
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


async def dispatched(api: Api, technician: str = "tech1") -> str:
    clerk, disp = await api.users("clerk1", "disp1")
    tid = (await clerk.post("/tickets", json=call_in_body())).json()["id"]
    answer = await disp.post(f"/tickets/{tid}/actions/dispatch", json={"technician": technician})
    assert answer.status_code == 200, answer.text
    return str(tid)


async def attach(
    client: httpx.AsyncClient,
    tid: str,
    data: bytes,
    filename: str = "photo.png",
    content_type: str = "image/png",
    **fields: str,
) -> httpx.Response:
    return await client.post(
        f"/tickets/{tid}/attachments",
        files={"file": (filename, data, content_type)},
        data={"about": "ticket", **fields},
    )


def stored_files(api: Api) -> list[Path]:
    return sorted(p for p in (api.settings.data_dir / "files").rglob("*") if p.is_file())


async def test_a_photo_and_a_pdf_are_listed_in_order_and_downloaded_byte_for_byte(
    api: Api,
) -> None:
    clerk, tech = await api.users("clerk1", "tech1")
    tid = await dispatched(api)
    # Larger than the API's 1 MiB body limit: this route has the attachment limit instead.
    photo = PNG + bytes(2 * MIB)
    assert len(photo) > api.settings.max_request_bytes
    first = await attach(clerk, tid, photo, "fault.png", note="the burnt board, as found")
    assert first.status_code == 201, first.text
    # The client's claim is not what counts: a PDF sent as image/png is a PDF.
    second = await attach(tech, tid, PDF, "job sheet.pdf", "image/png")
    assert second.status_code == 201, second.text
    assert (second.json()["content_type"], second.json()["uploaded_by"]) == (
        "application/pdf",
        "tech1",
    )

    listed = (await clerk.get(f"/tickets/{tid}/attachments")).json()
    assert [
        (a["filename"], a["content_type"], a["size"], a["about"], a["ref"], a["note"])
        for a in listed
    ] == [
        ("fault.png", "image/png", len(photo), "ticket", None, "the burnt board, as found"),
        ("job sheet.pdf", "application/pdf", len(PDF), "ticket", None, None),
    ]
    assert listed[0] == first.json()
    assert [a["url"] for a in listed] == [f"/tickets/{tid}/attachments/{a['id']}" for a in listed]
    assert listed[0]["uploaded_by"] == "clerk1"
    assert datetime.fromisoformat(listed[0]["uploaded_at"]).utcoffset() is not None

    for attachment, data in zip(listed, (photo, PDF), strict=True):
        download = await tech.get(attachment["url"])
        assert download.status_code == 200, download.text
        assert download.content == data
        assert download.headers["content-type"] == attachment["content_type"]
        assert download.headers["x-content-type-options"] == "nosniff"
        assert download.headers["content-disposition"].startswith("attachment; ")
        assert f'filename="{attachment["filename"]}"' in download.headers["content-disposition"]
        assert download.headers["cache-control"] == "no-store"
    # Kept by content, under the data dir: the names are only fields of the records.
    assert sorted(p.name for p in stored_files(api)) == sorted([digest(photo), digest(PDF)])


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


async def test_jpeg_and_webp_are_taken_too_and_the_same_bytes_are_kept_once(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    tid = await dispatched(api)
    for data, name, media_type in [
        (JPEG, "a.jpg", "image/jpeg"),
        (WEBP, "b.webp", "image/webp"),
        (JPEG, "same-again.jpg", "image/jpeg"),
    ]:
        answer = await attach(clerk, tid, data, name, "application/octet-stream")
        assert answer.status_code == 201, answer.text
        assert answer.json()["content_type"] == media_type
    assert len((await clerk.get(f"/tickets/{tid}/attachments")).json()) == 3
    assert len(stored_files(api)) == 2  # content addressed: one JPEG file for two records


async def multipart_stream(boundary: str, size: int) -> AsyncIterator[bytes]:
    """A multipart body with one PNG of `size` bytes, sent in chunks without a length."""
    yield (
        f'--{boundary}\r\nContent-Disposition: form-data; name="about"\r\n\r\nticket\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    yield PNG
    sent = len(PNG)
    while sent < size:
        chunk = min(256 * 1024, size - sent)
        yield bytes(chunk)
        sent += chunk
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_an_upload_above_the_limit_is_413_naming_it_and_nothing_is_kept(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    tid = await dispatched(api)
    limit = api.settings.attachment_max_bytes
    assert limit == 10 * MIB  # the default
    just_over = PNG + bytes(limit + 1 - len(PNG))  # within the form's allowance: read, refused
    far_over = PNG + bytes(limit + MIB)  # its Content-Length alone is refused
    for data in (just_over, far_over):
        answer = await attach(clerk, tid, data, "big.png")
        assert answer.status_code == 413, answer.text
        assert answer.json() == {
            "detail": f"an attachment may be at most 10 MiB ({limit} bytes); this file is larger"
        }
    # A body sent without Content-Length is counted as it arrives.
    boundary = uuid.uuid4().hex
    streamed = await clerk.post(
        f"/tickets/{tid}/attachments",
        content=multipart_stream(boundary, limit + MIB),
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert streamed.status_code == 413, streamed.text
    assert "at most 10 MiB" in streamed.json()["detail"]

    assert (await clerk.get(f"/tickets/{tid}/attachments")).json() == []
    assert stored_files(api) == []
    # Exactly the limit is taken; every other route keeps the API's own body limit.
    exact = await attach(clerk, tid, PNG + bytes(limit - len(PNG)), "exact.png")
    assert exact.status_code == 201, exact.text
    big_json = await clerk.post("/tickets", json=call_in_body(problem="x" * (2 * MIB)))
    assert big_json.status_code == 413


async def test_a_file_that_is_not_an_image_or_pdf_is_415_whatever_its_name(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    tid = await dispatched(api)
    for data, name, claimed in [
        (b"just some text, not a picture\n", "photo.png", "image/png"),
        (
            b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
            "x.png",
            "image/svg+xml",
        ),
        (b"<html><script>alert(1)</script></html>", "page.pdf", "application/pdf"),
        (b"", "empty.jpg", "image/jpeg"),
    ]:
        answer = await attach(clerk, tid, data, name, claimed)
        assert answer.status_code == 415, (name, answer.text)
        detail = answer.json()["detail"]
        assert "JPEG, PNG, WebP or PDF" in detail and "alert" not in detail, name
    assert (await clerk.get(f"/tickets/{tid}/attachments")).json() == []
    assert stored_files(api) == []


async def attach_raw(client: httpx.AsyncClient, tid: str, filename: bytes) -> httpx.Response:
    """A PNG uploaded with `filename` as it is in the part's header (no client escaping it)."""
    body = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="'
        + filename
        + b'"\r\nContent-Type: image/png\r\n\r\n'
        + PNG
        + b"\r\n--B--\r\n"
    )
    return await client.post(
        f"/tickets/{tid}/attachments",
        content=body,
        headers={"Content-Type": "multipart/form-data; boundary=B"},
    )


async def test_a_hostile_filename_is_kept_as_a_safe_name_and_never_a_path(api: Api) -> None:
    clerk = await api.as_user("clerk1")
    tid = await dispatched(api)
    cases = {
        b"../../../../etc/passwd.png": "passwd.png",
        b"..\\..\\windows\\system32\\evil.png": "evil.png",
        b"C:\\Users\\li\\Desktop\\fault.png": "fault.png",
        b"..": "attachment.png",
        b"/": "attachment.png",
        b"": "attachment.png",
        b'say \\"cheese\\".png': "say _cheese_.png",
        b"bell\x07 and escape\x1b[31m.png": "bell and escape[31m.png",
        "invoice\u202egnp.exe".encode(): "invoicegnp.exe",  # no right-to-left override
        b".hidden.png": "hidden.png",
        b"a" * 300 + b".png": "a" * 196 + ".png",
        "照片 1.png".encode(): "照片 1.png",
        b"100%;x.png": "100%;x.png",
    }
    urls = {}
    for sent, kept in cases.items():
        answer = await attach_raw(clerk, tid, sent)
        assert answer.status_code == 201, (sent, answer.text)
        assert answer.json()["filename"] == kept, sent
        urls[kept] = answer.json()["url"]
    # One file, under its digest: no name reached the file system.
    assert [p.name for p in stored_files(api)] == [digest(PNG)]
    assert not (api.settings.data_dir / "etc").exists()

    for kept, header in [
        (
            "照片 1.png",
            "attachment; filename=\"__ 1.png\"; filename*=UTF-8''%E7%85%A7%E7%89%87%201.png",
        ),
        (
            "say _cheese_.png",
            "attachment; filename=\"say _cheese_.png\"; filename*=UTF-8''say%20_cheese_.png",
        ),
        ("100%;x.png", "attachment; filename=\"100_;x.png\"; filename*=UTF-8''100%25%3Bx.png"),
    ]:
        download = await clerk.get(urls[kept])
        assert download.headers["content-disposition"] == header, kept
        assert download.content == PNG


async def test_a_round_inspection_or_complaint_must_be_the_tickets_own(
    api: Api, engine: Engine
) -> None:
    clerk, tech = await api.users("clerk1", "tech1")
    tid = await carried_in(api)
    no_round = await attach(clerk, tid, PNG, about="round", ref="1")
    assert no_round.status_code == 422, no_round.text
    assert no_round.json()["errors"][0]["loc"] == ["body", "ref"]
    assert "rounds: none yet" in no_round.json()["detail"]

    repair = {"labor_minutes": 30, "parts": [], "notes": "cleaned the board"}
    assert (
        await tech.post(f"/tickets/{tid}/actions/record_repair", json=repair)
    ).status_code == 200
    for about, ref in [("round", "1"), ("round", "01"), ("inspection", "1")]:
        answer = await attach(tech, tid, PNG, about=about, ref=ref)
        assert answer.status_code == 201, (about, ref, answer.text)
        assert (answer.json()["about"], answer.json()["ref"]) == (about, "1")

    complaint = await clerk.post(
        "/complaints", json={"ticket_id": tid, "text": "still broken", "received_via": "phone"}
    )
    assert complaint.status_code == 201, complaint.text
    complaint_id = complaint.json()["id"]
    about_it = await attach(clerk, tid, PDF, "letter.pdf", about="complaint", ref=complaint_id)
    assert about_it.status_code == 201, about_it.text
    assert about_it.json()["ref"] == complaint_id

    other = await dispatched(api)
    refused: list[tuple[str, dict[str, Any]]] = [
        (tid, {"about": "round", "ref": "2"}),
        (tid, {"about": "round", "ref": "one"}),
        (tid, {"about": "round", "ref": "9" * 30}),
        (tid, {"about": "round"}),
        (tid, {"about": "inspection"}),  # no contract inspection on a repair ticket
        (tid, {"about": "complaint", "ref": "C2000-000001"}),
        (tid, {"about": "complaint"}),
        (other, {"about": "complaint", "ref": complaint_id}),  # another ticket's complaint
        (tid, {"about": "ticket", "ref": "1"}),
    ]
    for ticket, fields in refused:
        answer = await attach(clerk, ticket, PNG, **fields)
        assert answer.status_code == 422, (fields, answer.text)
        assert answer.json()["errors"][0]["loc"] == ["body", "ref"], fields
    unknown = await attach(clerk, tid, PNG, about="invoice")
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["loc"] == ["body", "about"]
    assert len((await clerk.get(f"/tickets/{tid}/attachments")).json()) == 4

    # R32: a contract inspection's ticket takes photos of its inspection without a round.
    contract_job = inspection_ticket(engine)
    answer = await attach(clerk, contract_job, JPEG, "meter.jpg", about="inspection")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["about"], answer.json()["ref"]) == ("inspection", None)


def inspection_ticket(engine: Engine) -> str:
    """A contract's inspection ticket, as its read-model row (the upload reads only that)."""
    return ticket_row(
        engine,
        service_type="contract",
        customer_name="Plant",
        customer_phone="02100000000",
        customer_address="9 Harbour Road",
        product_model="FA-900",
        product_serial_no=None,
        problem="monthly inspection",
        channel="contract",
        registered_by="system",
        inspection={"items": [], "recorded_at": None},
    ).id


async def test_missing_tickets_and_attachments_are_404_and_other_roles_403(api: Api) -> None:
    clerk, tech1, tech2, keeper, acct = await api.users(
        "clerk1", "tech1", "tech2", "store1", "acct1"
    )
    tid = await dispatched(api)
    other = await dispatched(api, technician="tech2")
    mine = (await attach(clerk, tid, PNG)).json()
    theirs = (await attach(clerk, other, PNG)).json()

    assert (await attach(clerk, "no-such-ticket", PNG)).status_code == 404
    assert (await clerk.get("/tickets/no-such-ticket/attachments")).status_code == 404
    for path in (
        f"/tickets/{tid}/attachments/{theirs['id']}",  # another ticket's attachment
        f"/tickets/{tid}/attachments/999999",
        f"/tickets/no-such-ticket/attachments/{mine['id']}",
    ):
        answer = await clerk.get(path)
        assert answer.status_code == 404, (path, answer.text)
        assert "detail" in answer.json()
    assert (await clerk.get(f"/tickets/{tid}/attachments/0")).status_code == 422

    # R4: a technician's tickets are those assigned to them; any other is not there.
    assert (await attach(tech1, other, PNG)).status_code == 404
    assert (await tech1.get(f"/tickets/{other}/attachments")).status_code == 404
    assert (await tech1.get(theirs["url"])).status_code == 404
    assert (await tech2.get(theirs["url"])).status_code == 200

    refused = await attach(keeper, tid, PNG)
    assert refused.status_code == 403 and "clerk" in refused.json()["detail"]
    unread = await acct.get(f"/tickets/{tid}/attachments")
    assert unread.status_code == 403 and "role" in unread.json()["detail"]
    assert (await api.anonymous.get(mine["url"])).status_code == 401
    stranger = await api.anonymous.post(
        f"/tickets/{tid}/attachments", files={"file": ("x.png", PNG, "image/png")}
    )
    assert stranger.status_code == 401
    assert len((await clerk.get(f"/tickets/{tid}/attachments")).json()) == 1


async def test_a_technician_neither_reads_nor_adds_what_is_about_a_complaint(api: Api) -> None:
    # Complaints are read by the office and the VP, not technicians (docs/security.md).
    clerk, tech = await api.users("clerk1", "tech1")
    tid = await dispatched(api)
    complaint = await clerk.post(
        "/complaints", json={"ticket_id": tid, "text": "late again", "received_via": "phone"}
    )
    ref = complaint.json()["id"]
    letter = (await attach(clerk, tid, PDF, "letter.pdf", about="complaint", ref=ref)).json()
    photo = (await attach(tech, tid, PNG, "site.png")).json()
    refused = await attach(tech, tid, PNG, about="complaint", ref=ref)
    assert refused.status_code == 403 and "clerk" in refused.json()["detail"]
    assert [a["id"] for a in (await tech.get(f"/tickets/{tid}/attachments")).json()] == [
        photo["id"]
    ]
    assert (await tech.get(letter["url"])).status_code == 404
    assert [a["id"] for a in (await clerk.get(f"/tickets/{tid}/attachments")).json()] == [
        letter["id"],
        photo["id"],
    ]


# The same API on a bucket of an S3-compatible server on localhost (moto's), as a deployment
# with several hosts runs it (docs/deployment.md); and on a bucket that does not answer.
S3_PORT = free_port()
S3_ENDPOINT = f"http://127.0.0.1:{S3_PORT}"
ON_A_BUCKET = {"files_url": "s3://aftersales-files/test", "files_s3_endpoint_url": S3_ENDPOINT}


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A bucket on an S3-compatible server on localhost, with boto3's environment credentials."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aftersales-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aftersales-test-secret")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=S3_PORT, verbose=False)
    server.start()
    boto3.client("s3", endpoint_url=S3_ENDPOINT).create_bucket(Bucket="aftersales-files")
    yield "aftersales-files"
    server.stop()


@pytest.mark.parametrize("api_overrides", [ON_A_BUCKET])
async def test_attachments_are_kept_in_the_bucket_when_one_is_configured(
    s3_bucket: str, api: Api
) -> None:
    clerk = await api.as_user("clerk1")
    tid = await dispatched(api)
    photo = PNG + bytes(3 * MIB)
    uploaded = await attach(clerk, tid, photo, "on-site.png")
    assert uploaded.status_code == 201, uploaded.text
    download = await clerk.get(uploaded.json()["url"])
    assert download.status_code == 200 and download.content == photo
    kept = boto3.client("s3", endpoint_url=S3_ENDPOINT).list_objects_v2(Bucket=s3_bucket)
    assert [o["Key"] for o in kept["Contents"]] == [f"test/sha256/{digest(photo)}"]
    assert stored_files(api) == []  # nothing in the data dir


@pytest.mark.parametrize(
    "api_overrides",
    [{**ON_A_BUCKET, "files_s3_endpoint_url": f"http://127.0.0.1:{free_port()}"}],
)
async def test_a_file_store_that_does_not_answer_is_503_and_nothing_is_recorded(
    monkeypatch: pytest.MonkeyPatch, api: Api
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "aftersales-test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aftersales-test-secret")
    clerk = await api.as_user("clerk1")
    tid = await dispatched(api)
    answer = await attach(clerk, tid, PNG)
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"]
    assert answer.json() == {"detail": "the file store is unavailable: try again shortly"}
    assert (await clerk.get(f"/tickets/{tid}/attachments")).json() == []
    assert (await clerk.get(f"/tickets/{tid}")).status_code == 200  # the rest keeps working
