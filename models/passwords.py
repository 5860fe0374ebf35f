"""Password hashing with argon2, at most a few hashes at a time: each takes 64 MiB and tens
of milliseconds, so a burst of logins must queue rather than exhaust the machine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
