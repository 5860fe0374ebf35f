"""Encryption of every workflow payload (AES-256-GCM), so customer data never reaches the
Temporal server's histories in clear; and the codec server protocol that lets the Temporal UI
and CLI show decoded payloads.

Follows Temporal's own sample (samples-python `encryption/codec.py`): each payload is
serialized whole and encrypted under a random 96-bit nonce; the result carries the metadata
`encoding: binary/encrypted` and `encryption-key-id: <id>`. Keys come from one setting,
`AFTERSALES_PAYLOAD_KEYS` = `id:base64key,id:base64key,...`: the first key encrypts, every
listed key decrypts, so a key is rotated by putting a new one first and dropping the old one
only once no history needs it. Payloads that are not encrypted pass through decoding, so
encryption can be switched on while older histories exist.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from google.protobuf import json_format
from google.protobuf.message import DecodeError
from pydantic import SecretStr
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID_METADATA = "encryption-key-id"
KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12
TAG_BYTES = 16
KEY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# The codec server protocol's requests: at most this many payloads per call.
MAX_PAYLOADS = 100


class PayloadKeysError(ValueError):
    """A bad `payload_keys` setting; the message names the problem, never the key material."""


class CodecError(ValueError):
    """A payload that cannot be decoded: unknown key id, or not decryptable."""


class PayloadsJsonError(ValueError):
    """A codec server request body that is not `{"payloads": [...]}` in proto JSON."""


class TooManyPayloads(PayloadsJsonError):
    """A codec server request with more than MAX_PAYLOADS payloads."""


@dataclass(frozen=True)
class PayloadKey:
    id: str
    key: bytes = field(repr=False)


def _decode_key(text: str) -> bytes:
    """Standard or URL-safe base64, padding optional."""
    text = text.strip().replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4), validate=True)


def parse_payload_keys(value: str) -> tuple[PayloadKey, ...]:
    """The keys of `id:base64key,id:base64key,...`, the encrypting one first; () when empty.
    Raises PayloadKeysError naming the entry's position or key id and the problem."""
    if not value.strip():
        return ()
    entries = value.split(",")
    keys: list[PayloadKey] = []
    for number, entry in enumerate(entries, start=1):
        where = f"entry {number} of {len(entries)}"
        entry = entry.strip()
        if not entry:
            raise PayloadKeysError(f"{where} is empty (write id:base64key,id:base64key,...)")
        if ":" not in entry:
            raise PayloadKeysError(
                f"{where} is not id:base64key (key ids cannot contain ',' or ':')"
            )
        key_id, _, encoded = entry.rpartition(":")
        key_id = key_id.strip()
        if ":" in key_id:
            raise PayloadKeysError(f"{where}: the key id {key_id!r} contains ':'")
        if not KEY_ID.fullmatch(key_id):
            raise PayloadKeysError(
                f"{where}: the key id {key_id!r} must be 1 to 64 letters, digits, '.', '_' or"
                " '-', starting with a letter or digit"
            )
        try:
            key = _decode_key(encoded)
        except (binascii.Error, ValueError):
            raise PayloadKeysError(f"the key {key_id!r} is not valid base64") from None
        if len(key) != KEY_BYTES:
            raise PayloadKeysError(
                f"the key {key_id!r} is {len(key)} bytes long; AES-256 needs exactly {KEY_BYTES}"
            )
        if any(known.id == key_id for known in keys):
            raise PayloadKeysError(f"the key id {key_id!r} is listed twice")
        keys.append(PayloadKey(key_id, key))
    return tuple(keys)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over whole payloads: encrypts with the first key, decrypts with any."""

    def __init__(self, keys: Sequence[PayloadKey]) -> None:
        super().__init__()
        if not keys:
            raise PayloadKeysError("an encryption codec needs at least one key")
        self.key_id = keys[0].id
        self._ciphers = {key.id: AESGCM(key.key) for key in keys}

    @property
    def key_ids(self) -> tuple[str, ...]:
        return tuple(self._ciphers)

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.encrypt(payload) for payload in payloads]

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self.decrypt(payload) for payload in payloads]

    def encrypt(self, payload: Payload) -> Payload:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.key_id].encrypt(nonce, payload.SerializeToString(), None)
        return Payload(
            metadata={"encoding": ENCODING, KEY_ID_METADATA: self.key_id.encode()},
            data=nonce + sealed,
        )

    def decrypt(self, payload: Payload) -> Payload:
        """The original payload; one not encrypted (older histories) as it is."""
        if payload.metadata.get("encoding") != ENCODING:
            return payload
        key_id = payload.metadata.get(KEY_ID_METADATA, b"").decode(errors="replace")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            known = ", ".join(repr(k) for k in self._ciphers)
            raise CodecError(
                f"payload encrypted with the unknown key id {key_id!r} (configured: {known});"
                " add that key to AFTERSALES_PAYLOAD_KEYS"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise CodecError(f"payload encrypted with key id {key_id!r} is truncated")
        try:
            return Payload.FromString(cipher.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], None))
        except InvalidTag:
            raise CodecError(
                f"payload encrypted with key id {key_id!r} does not decrypt: the key under that"
                " id is not the one it was encrypted with, or the payload was altered"
            ) from None
        except DecodeError:
            raise CodecError(f"payload decrypted with key id {key_id!r} is not a payload") from None


@functools.lru_cache(maxsize=8)
def _codec(value: str) -> EncryptionCodec | None:
    keys = parse_payload_keys(value)
    return EncryptionCodec(keys) if keys else None


def codec_from_setting(value: SecretStr | str | None) -> EncryptionCodec | None:
    """The codec for a `payload_keys` setting; None (no encryption) when unset or empty."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return _codec(value) if value else None


# --- the codec server protocol (POST {endpoint}/encode and /decode) ------------------------


def payloads_from_json(body: bytes | str, *, max_payloads: int = MAX_PAYLOADS) -> list[Payload]:
    """The payloads of a `{"payloads": [...]}` body in proto JSON (data and metadata values in
    base64), as the Temporal UI and CLI send them."""
    try:
        document = json.loads(body)
        if not isinstance(document, dict):
            raise ValueError("not a JSON object")
        message = json_format.ParseDict(document, Payloads())
    except (json_format.ParseError, ValueError) as bad:  # JSONDecodeError is a ValueError
        reason = (str(bad).splitlines() or [type(bad).__name__])[0][:200]
        raise PayloadsJsonError(
            f'the body must be {{"payloads": [...]}} in protobuf JSON: {reason}'
        ) from None
    if len(message.payloads) > max_payloads:
        raise TooManyPayloads(
            f"{len(message.payloads)} payloads in one request; at most {max_payloads}"
        )
    return list(message.payloads)


def payloads_to_json(payloads: Iterable[Payload]) -> str:
    return json_format.MessageToJson(Payloads(payloads=payloads), indent=None)


async def encode_json(codec: EncryptionCodec, body: bytes | str) -> str:
    """The codec server's /encode: the request's payloads, encrypted, as the answer's JSON."""
    return payloads_to_json(await codec.encode(payloads_from_json(body)))


async def decode_json(codec: EncryptionCodec, body: bytes | str) -> str:
    """The codec server's /decode: the request's payloads, decrypted (CodecError if one cannot
    be), as the answer's JSON."""
    return payloads_to_json(await codec.decode(payloads_from_json(body)))
