"""Payload encryption end to end: a ticket called in through the API, whose Temporal client
and worker both encrypt; the history on the Temporal server holds no customer data, and the
codec endpoint (/codec, admin only) decodes it for the Temporal UI and CLI."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from google.protobuf.message import Message
from sqlalchemy.engine import Engine
from temporalio.api.common.v1 import Payload
from temporalio.api.history.v1 import History
from temporalio.testing import WorkflowEnvironment

from api.routes.codec import MAX_BODY_BYTES
from core.codec import ENCODING, KEY_ID_METADATA, codec_from_setting, payloads_to_json
from tests.api.conftest import (
    ADMIN_PASSWORD,
    Api,
    add_staff,
    api_settings,
    call_in_body,
    database_url_of,
    running_api,
)
from worker import DATA_CONVERTER, connect

KEYS = (
    f"k2:{base64.b64encode(os.urandom(32)).decode()},k1:{base64.b64encode(os.urandom(32)).decode()}"
)
UI_ORIGIN = "http://localhost:8080"
NAME, PHONE = "Zhang Meimei", "13912345678"
TEMPORAL_CLI = Path(sys.executable).parent / "temporal"


@pytest.fixture
async def encrypted_api(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, tmp_path: Path
) -> AsyncIterator[Api]:
    """The `api` fixture with AFTERSALES_PAYLOAD_KEYS set: the API connects to the dev server
    by itself and the worker through `worker.connect`, both with the codec."""
    settings = api_settings(
        tmp_path,
        database_url_of(engine),
        task_queue,
        temporal_address=dev_env.client.service_client.config.target_host,
        payload_keys=KEYS,
        codec_cors_origins=f"{UI_ORIGIN}/, http://other.example",
    )
    add_staff(engine)
    worker_client = await connect(settings)
    assert worker_client.data_converter.payload_codec is not None
    async with running_api(settings, engine, worker_client) as client:
        yield client


def payloads_in(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere in a protobuf message (fields, lists, maps)."""
    if isinstance(message, Payload):
        yield message
        return
    for descriptor, value in message.ListFields():
        if descriptor.message_type is None:
            continue
        if descriptor.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif isinstance(value, Message):
            values = [value]
        else:  # a repeated field
            values = list(value)
        for item in values:
            if isinstance(item, Message):
                yield from payloads_in(item)


def unencrypted_by_design(history: History) -> list[Payload]:
    """The payloads Temporal keeps in clear whatever the codec: search attributes (indexed by
    the server; ours hold status, technician, zone, service type, the patch ids) and the SDK's
    own marker bookkeeping (patch ids; a local activity's sequence number, type and times —
    its result is encrypted)."""
    found: list[Payload] = []
    for event in history.events:
        for holder in (
            event.workflow_execution_started_event_attributes,
            event.upsert_workflow_search_attributes_event_attributes,
        ):
            found.extend(holder.search_attributes.indexed_fields.values())
        marker = event.marker_recorded_event_attributes
        for name in ("patch-data", "data"):
            if name in marker.details:
                found.extend(marker.details[name].payloads)
    return found


async def called_in_ticket(api: Api) -> str:
    """A ticket called in and dispatched through the API; its workflow's id."""
    clerk, dispatcher = await api.users("clerk1", "disp1")
    customer = {"name": NAME, "phone": PHONE, "address": "8 Garden Road"}
    answer = await clerk.post("/tickets", json=call_in_body(customer=customer))
    assert answer.status_code == 201, answer.text
    ticket_id = answer.json()["id"]
    assert answer.json()["customer"]["name"] == NAME  # the API reads its own answers fine
    answer = await dispatcher.post(
        f"/tickets/{ticket_id}/actions/dispatch", json={"technician": "tech1"}
    )
    assert answer.status_code == 200, answer.text
    # The workflow's refusal travels as an encrypted failure and still reads as a 409.
    director = await api.as_user("dir1")
    answer = await director.post(
        f"/tickets/{ticket_id}/actions/inspect", json={"passed": True, "notes": "ok"}
    )
    assert answer.status_code == 409, answer.text
    assert "inspect" in answer.json()["detail"]
    assert "arrive" in answer.json()["allowed_actions"]
    return f"ticket-{ticket_id}"


async def test_history_holds_no_customer_data_and_admins_decode_it(
    encrypted_api: Api, dev_env: WorkflowEnvironment
) -> None:
    workflow_id = await called_in_ticket(encrypted_api)
    plain_client = dev_env.client
    assert plain_client.data_converter is DATA_CONVERTER  # no codec
    fetched = await plain_client.get_workflow_handle(workflow_id).fetch_history()
    history, raw = fetched.to_json(), History(events=fetched.events)

    # (a) nowhere in the history: not in its JSON, not in its bytes, not in any payload.
    for secret in (NAME, PHONE):
        assert secret not in history
        assert base64.b64encode(secret.encode()).decode() not in history
        assert secret.encode() not in raw.SerializeToString()
    exempt = {p.SerializeToString() for p in unencrypted_by_design(raw)}
    payloads = [p for p in payloads_in(raw) if p.SerializeToString() not in exempt]
    assert len(payloads) >= 5
    assert all(p.metadata["encoding"] == ENCODING for p in payloads)
    assert {p.metadata[KEY_ID_METADATA] for p in payloads} == {b"k2"}  # the first key

    # (b) the codec endpoint: admin decodes them back to the customer's data.
    admin = await encrypted_api.as_user("admin")
    body = payloads_to_json(payloads[:100])
    answer = await admin.post(
        "/codec/decode",
        content=body,
        headers={"Content-Type": "application/json", "X-Namespace": "default"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    decoded = answer.json()["payloads"]
    assert len(decoded) == len(payloads[:100])
    clear = b"".join(base64.b64decode(p.get("data", "")) for p in decoded)
    assert NAME.encode() in clear and PHONE.encode() in clear
    assert all(base64.b64decode(p["metadata"]["encoding"]) != ENCODING for p in decoded)

    clerk = await encrypted_api.as_user("clerk1")
    refused = await clerk.post("/codec/decode", content=body)
    assert refused.status_code == 403, refused.text
    assert "admin" in refused.json()["detail"]
    anonymous = await encrypted_api.anonymous.post("/codec/decode", content=body)
    assert anonymous.status_code == 401, anonymous.text


async def test_temporal_cli_shows_the_decoded_history(
    encrypted_api: Api, dev_env: WorkflowEnvironment
) -> None:
    """(c) `temporal workflow show --codec-endpoint ... --codec-auth "Bearer <token>"`."""
    workflow_id = await called_in_ticket(encrypted_api)
    address = dev_env.client.service_client.config.target_host
    token = await encrypted_api.token("admin", ADMIN_PASSWORD)

    async def show(*extra: str) -> str:
        process = await asyncio.create_subprocess_exec(
            str(TEMPORAL_CLI),
            "workflow",
            "show",
            "--address",
            address,
            "--namespace",
            "default",
            "--workflow-id",
            workflow_id,
            "--detailed",
            *extra,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "TEMPORAL_CONFIG_FILE": os.devnull},  # no user profile
        )
        out, err = await asyncio.wait_for(process.communicate(), 60)
        assert process.returncode == 0, err.decode()
        return out.decode()

    without_codec = await show()
    assert NAME not in without_codec and PHONE not in without_codec
    decoded = await show(
        "--codec-endpoint",
        f"{encrypted_api.base_url}/codec",
        "--codec-auth",
        f"Bearer {token}",
    )
    assert NAME in decoded and PHONE in decoded


def plain_payloads(*values: object) -> list[Payload]:
    return DATA_CONVERTER.payload_converter.to_payloads(list(values))


JSON = {"Content-Type": "application/json"}


async def test_encode_and_decode_round_trip(encrypted_api: Api) -> None:
    admin = await encrypted_api.as_user("admin")
    original = plain_payloads({"name": NAME}, None)
    sent = payloads_to_json(original)
    encoded = await admin.post("/codec/encode", content=sent, headers=JSON)
    assert encoded.status_code == 200, encoded.text
    assert NAME not in encoded.text
    assert [
        base64.b64decode(p["metadata"][KEY_ID_METADATA]) for p in encoded.json()["payloads"]
    ] == [b"k2", b"k2"]
    decoded = await admin.post("/codec/decode", content=encoded.content, headers=JSON)
    assert decoded.status_code == 200, decoded.text
    assert json.loads(decoded.text) == json.loads(sent)
    # Payloads from before encryption was switched on come back as they are.
    passed = await admin.post("/codec/decode", content=sent, headers=JSON)
    assert json.loads(passed.text) == json.loads(sent)


async def test_codec_endpoint_refusals(encrypted_api: Api) -> None:
    admin = await encrypted_api.as_user("admin")
    body = payloads_to_json(plain_payloads(NAME))

    other_namespace = await admin.post("/codec/decode", content=body, headers={"X-Namespace": "x"})
    assert other_namespace.status_code == 403
    assert "'default', not 'x'" in other_namespace.json()["detail"]

    for bad in (b"", b"not json", b"[]", b'{"payloads": [{"data": "not base64!"}]}'):
        answer = await admin.post("/codec/decode", content=bad, headers=JSON)
        assert answer.status_code == 400, (bad, answer.text)
        assert "payloads" in answer.json()["detail"]

    too_many = payloads_to_json(plain_payloads(*range(101)))
    answer = await admin.post("/codec/decode", content=too_many, headers=JSON)
    assert answer.status_code == 413 and "at most 100" in answer.json()["detail"], answer.text
    answer = await admin.post("/codec/encode", content=b" " * (MAX_BODY_BYTES + 1))
    assert answer.status_code == 413, answer.text

    foreign = codec_from_setting(f"k0:{base64.b64encode(os.urandom(32)).decode()}")
    assert foreign is not None
    sealed = payloads_to_json(await foreign.encode(plain_payloads(NAME)))
    answer = await admin.post("/codec/decode", content=sealed, headers=JSON)
    assert answer.status_code == 400, answer.text
    assert "unknown key id 'k0'" in answer.json()["detail"]

    for path in ("/codec/encode", "/codec/decode"):
        assert (await encrypted_api.anonymous.post(path, content=body)).status_code == 401
        clerk = await encrypted_api.as_user("clerk1")
        assert (await clerk.post(path, content=body)).status_code == 403


async def test_cors_for_the_temporal_ui_on_codec_paths_only(encrypted_api: Api) -> None:
    preflight = {
        "Origin": UI_ORIGIN,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    anonymous = encrypted_api.anonymous
    answer = await anonymous.options("/codec/decode", headers=preflight)
    assert answer.status_code == 204, answer.text
    assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
    assert answer.headers["access-control-allow-credentials"] == "true"
    assert "POST" in answer.headers["access-control-allow-methods"]
    assert "X-Namespace" in answer.headers["access-control-allow-headers"]

    for refused in (
        {**preflight, "Origin": "http://evil.example"},
        {**preflight, "Access-Control-Request-Method": "DELETE"},
        {**preflight, "Access-Control-Request-Headers": "x-other"},
    ):
        answer = await anonymous.options("/codec/encode", headers=refused)
        assert answer.status_code == 400
        assert "access-control-allow-origin" not in answer.headers

    # Answers carry the CORS headers, errors included, so the UI can tell a 401 from an outage.
    body = payloads_to_json(plain_payloads(NAME))
    answer = await anonymous.post("/codec/decode", content=body, headers={"Origin": UI_ORIGIN})
    assert answer.status_code == 401
    assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
    assert "www-authenticate" in answer.headers
    admin = await encrypted_api.as_user("admin")
    answer = await admin.post("/codec/decode", content=body, headers={"Origin": UI_ORIGIN})
    assert answer.status_code == 200
    assert answer.headers["access-control-allow-origin"] == UI_ORIGIN
    answer = await admin.post("/codec/decode", content=body, headers={"Origin": "http://x.test"})
    assert answer.status_code == 200
    assert "access-control-allow-origin" not in answer.headers
    # The shared 401 of every other route did not pick the codec's CORS headers up.
    answer = await anonymous.get("/tickets", headers={"Origin": UI_ORIGIN})
    assert answer.status_code == 401
    assert "access-control-allow-origin" not in answer.headers
    answer = await anonymous.options("/tickets", headers=preflight)
    assert "access-control-allow-origin" not in answer.headers


async def test_without_payload_keys_the_codec_endpoint_is_absent(api: Api) -> None:
    """`make run` by default: no keys, no encryption, 404 here, no CORS."""
    admin = await api.as_user("admin")
    body = payloads_to_json(plain_payloads(NAME))
    answer = await admin.post("/codec/decode", content=body, headers=JSON)
    assert answer.status_code == 404
    assert "AFTERSALES_PAYLOAD_KEYS" in answer.json()["detail"]
    assert (await api.anonymous.post("/codec/decode", content=body)).status_code == 401
    answer = await api.anonymous.options(
        "/codec/decode",
        headers={"Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST"},
    )
    assert answer.status_code == 400
    assert "access-control-allow-origin" not in answer.headers
