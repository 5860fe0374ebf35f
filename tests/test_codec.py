"""Payload encryption (core/codec.py) and its one setting, AFTERSALES_PAYLOAD_KEYS."""

from __future__ import annotations

import base64
import json
import os

import pytest
from pydantic import ValidationError
from temporalio.api.common.v1 import Payload

from core.codec import (
    ENCODING,
    KEY_ID_METADATA,
    CodecError,
    EncryptionCodec,
    PayloadsJsonError,
    TooManyPayloads,
    codec_from_setting,
    decode_json,
    encode_json,
    parse_payload_keys,
    payloads_from_json,
    payloads_to_json,
)
from core.config import Settings
from worker import DATA_CONVERTER, data_converter

OLD_KEY = os.urandom(32)
NEW_KEY = os.urandom(32)
OLD = f"old:{base64.b64encode(OLD_KEY).decode()}"
NEW = f"new:{base64.urlsafe_b64encode(NEW_KEY).decode().rstrip('=')}"  # URL-safe, unpadded
CUSTOMER = {"name": "Li Lei", "phone": "13800000000"}


def plain(value: object) -> Payload:
    return DATA_CONVERTER.payload_converter.to_payloads([value])[0]


def codec(setting: str) -> EncryptionCodec:
    found = codec_from_setting(setting)
    assert found is not None
    return found


async def test_round_trip_hides_the_payload() -> None:
    original = plain(CUSTOMER)
    [sealed] = await codec(OLD).encode([original])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID_METADATA] == b"old"
    assert b"Li Lei" not in sealed.SerializeToString()
    assert b"13800000000" not in sealed.SerializeToString()
    [opened] = await codec(OLD).decode([sealed])
    assert opened == original  # the whole payload, metadata included


async def test_each_payload_gets_its_own_nonce() -> None:
    first, second = await codec(OLD).encode([plain(CUSTOMER), plain(CUSTOMER)])
    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_rotation_new_key_first_old_payloads_still_decode() -> None:
    [old_sealed] = await codec(OLD).encode([plain(CUSTOMER)])
    rotated = codec(f"{NEW},{OLD}")
    [new_sealed] = await rotated.encode([plain(CUSTOMER)])
    assert new_sealed.metadata[KEY_ID_METADATA] == b"new"  # the first key encrypts
    assert await rotated.decode([old_sealed, new_sealed]) == [plain(CUSTOMER)] * 2


async def test_unknown_key_id_is_named() -> None:
    [sealed] = await codec(OLD).encode([plain(CUSTOMER)])
    with pytest.raises(CodecError, match="unknown key id 'old'"):
        await codec(NEW).decode([sealed])


async def test_a_replaced_key_under_the_same_id_is_refused() -> None:
    [sealed] = await codec(OLD).encode([plain(CUSTOMER)])
    other = f"old:{base64.b64encode(NEW_KEY).decode()}"
    with pytest.raises(CodecError, match="key id 'old' does not decrypt"):
        await codec(other).decode([sealed])


async def test_tampered_payload_is_refused() -> None:
    [sealed] = await codec(OLD).encode([plain(CUSTOMER)])
    sealed.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(CodecError, match="does not decrypt"):
        await codec(OLD).decode([sealed])


async def test_plaintext_payloads_pass_through_decoding() -> None:
    """Encryption switched on while older, clear histories exist."""
    payloads = [plain(CUSTOMER), plain(None), Payload(data=b"raw")]
    assert await codec(OLD).decode(payloads) == payloads


def test_no_setting_no_encryption() -> None:
    assert codec_from_setting(None) is None
    assert codec_from_setting("") is None
    assert codec_from_setting("  ") is None
    assert Settings(_env_file=None).payload_keys is None  # type: ignore[call-arg]
    assert Settings(payload_keys=" ", _env_file=None).payload_keys is None  # type: ignore[call-arg]
    assert data_converter(Settings(_env_file=None)) is DATA_CONVERTER  # type: ignore[call-arg]


def test_setting_builds_the_converter() -> None:
    settings = Settings(payload_keys=f"{NEW}, {OLD}", _env_file=None)  # type: ignore[call-arg]
    converter = data_converter(settings)
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.key_ids == ("new", "old")
    assert converter.payload_converter_class is DATA_CONVERTER.payload_converter_class
    assert "new:" not in repr(settings)  # a SecretStr: never printed


def test_keys_parse_in_both_base64_alphabets() -> None:
    keys = parse_payload_keys(f" {NEW} ,{OLD}")
    assert [(k.id, k.key) for k in keys] == [("new", NEW_KEY), ("old", OLD_KEY)]
    assert NEW_KEY.hex() not in repr(keys)


B64_16 = base64.b64encode(bytes(16)).decode()
B64_32 = base64.b64encode(bytes(32)).decode()


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (f"k1:{B64_16}", "the key 'k1' is 16 bytes long; AES-256 needs exactly 32"),
        (f"k1:{B64_32},k1:{B64_32}", "the key id 'k1' is listed twice"),
        ("k1:not*base64!", "the key 'k1' is not valid base64"),
        (f"a:b:{B64_32}", "entry 1 of 1: the key id 'a:b' contains ':'"),
        (f"a,b:{B64_32}", "entry 1 of 2 is not id:base64key (key ids cannot contain ',' or ':')"),
        (B64_32, "entry 1 of 1 is not id:base64key"),
        (f":{B64_32}", "entry 1 of 1: the key id '' must be 1 to 64 letters"),
        (f"k 1:{B64_32}", "entry 1 of 1: the key id 'k 1' must be 1 to 64 letters"),
        (f"k1:{B64_32},", "entry 2 of 2 is empty"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(
    value: str, problem: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AFTERSALES_PAYLOAD_KEYS", value)
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    [error] = raised.value.errors()
    assert error["loc"] == ("payload_keys",)
    assert str(error["msg"]).startswith(f"Value error, AFTERSALES_PAYLOAD_KEYS: {problem}")
    assert value not in str(raised.value)  # the key material is never echoed
    assert B64_32 not in str(raised.value)
    assert B64_16 not in str(raised.value)


async def test_codec_server_json_round_trip() -> None:
    """The remote data encoding protocol's bodies: {"payloads": [...]} in protobuf JSON."""
    body = payloads_to_json([plain(CUSTOMER)])
    assert (
        json.loads(body)["payloads"][0]["metadata"]["encoding"]
        == base64.b64encode(b"json/plain").decode()
    )
    encoded = await encode_json(codec(OLD), body)
    assert "Li Lei" not in encoded and base64.b64encode(b"Li Lei").decode() not in encoded
    decoded = await decode_json(codec(OLD), encoded)
    assert payloads_from_json(decoded) == [plain(CUSTOMER)]
    assert json.loads(base64.b64decode(json.loads(decoded)["payloads"][0]["data"])) == CUSTOMER


@pytest.mark.parametrize("body", [b"", b"not json", b"[]", b'{"payloads": 3}', b'{"other": []}'])
def test_codec_server_refuses_other_bodies(body: bytes) -> None:
    with pytest.raises(PayloadsJsonError, match="must be"):
        payloads_from_json(body)


def test_codec_server_bounds_the_payload_count() -> None:
    body = payloads_to_json([plain(i) for i in range(101)])
    with pytest.raises(TooManyPayloads, match="101 payloads"):
        payloads_from_json(body)
    assert len(payloads_from_json(payloads_to_json([plain(i) for i in range(100)]))) == 100
