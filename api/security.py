"""Signed bearer tokens with expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jwt

ALGORITHM = "HS256"


def create_token(username: str, key: str, ttl: timedelta) -> str:
    now = datetime.now(UTC)
    return jwt.encode({"sub": username, "iat": now, "exp": now + ttl}, key, algorithm=ALGORITHM)


def token_subject(token: str, key: str) -> str | None:
    """The username a valid, unexpired token was issued to; None for any other token."""
    try:
        claims = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["sub", "exp"]})
    except jwt.PyJWTError:
        return None
    subject = claims.get("sub")
    return subject if isinstance(subject, str) else None
