"""Secrets of signing in: password hashes (argon2, at most a few at a time: each takes 64 MiB
and tens of milliseconds, so a burst of sign-ins must queue rather than exhaust the machine)
and signed bearer tokens with expiry, tied to the user's token version (a password change, a
reset or a deactivation bumps it, and every token issued before stops working)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

MAX_CONCURRENT_HASHES = 2
WAIT_SECONDS = 10.0
_hasher = PasswordHasher()
_slots = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
# Verified against when the user does not exist, so a miss costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash("not a password")


class HasherBusy(Exception):
    """Every hashing slot stayed taken for WAIT_SECONDS: the caller should come back later."""


@contextmanager
def _slot() -> Iterator[None]:
    if not _slots.acquire(timeout=WAIT_SECONDS):
        raise HasherBusy
    try:
        yield
    finally:
        _slots.release()


def hash_password(password: str) -> str:
    """An argon2id hash of `password`."""
    with _slot():
        return _hasher.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    """True when `password` matches `password_hash` (None: no such user, still costs a hash)."""
    with _slot():
        try:
            return (
                _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
            )
        except (VerificationError, InvalidHashError):
            return False


# --- tokens ---------------------------------------------------------------------------------

ALGORITHM = "HS256"


@dataclass(frozen=True)
class TokenClaims:
    username: str
    version: int


def create_token(username: str, version: int, key: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    claims = {"sub": username, "ver": version, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, key, algorithm=ALGORITHM)


def token_claims(token: str, key: str) -> TokenClaims | None:
    """Whom a valid, unexpired token was issued to, and at which token version; None for any
    other token."""
    try:
        claims = jwt.decode(
            token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp", "ver"]}
        )
    except jwt.PyJWTError:
        return None
    subject, version = claims.get("sub"), claims.get("ver")
    if not isinstance(subject, str) or not isinstance(version, int):
        return None
    return TokenClaims(subject, version)


# --- the customer's status link -----------------------------------------------------------

STATUS_LINK = b"status-link\n"
STATUS_MAC_BYTES = 18


def status_token(ticket_id: str, key: str) -> str:
    """The secret of a ticket's status link (issue 14): the ticket and a MAC of it, so the
    link needs no storage and cannot be guessed for another ticket."""
    return f"{ticket_id}.{_status_mac(ticket_id, key)}"


def status_link(ticket_id: str, public_url: str, key: str) -> str:
    """The customer's status link for a ticket (`GET /status/{token}`)."""
    return f"{public_url.rstrip('/')}/status/{status_token(ticket_id, key)}"


def ticket_of_status_token(token: str, key: str) -> str | None:
    """The ticket a genuine status token is for; None for any other string."""
    ticket_id, dot, mac = token.rpartition(".")
    if not dot or not ticket_id:
        return None
    return ticket_id if hmac.compare_digest(mac, _status_mac(ticket_id, key)) else None


def _status_mac(ticket_id: str, key: str) -> str:
    digest = hmac.new(key.encode(), STATUS_LINK + ticket_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:STATUS_MAC_BYTES]).decode()


# --- the console's forms (issue 15) --------------------------------------------------------

CONSOLE_CSRF = b"console-csrf\n"


def csrf_token(session_token: str, key: str) -> str:
    """The synchronizer token of a console session: an HMAC-SHA256 of the session's signed
    token, so it needs no storage, changes with every sign-in and cannot be made without the
    key. Every console form carries it; a cross-site page cannot read it."""
    digest = hmac.new(key.encode(), CONSOLE_CSRF + session_token.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()).decode().rstrip("=")


def csrf_matches(sent: str | None, session_token: str, key: str) -> bool:
    """Whether `sent` is the session's synchronizer token (compared in constant time)."""
    return sent is not None and hmac.compare_digest(sent, csrf_token(session_token, key))
