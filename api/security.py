"""Signed bearer tokens with expiry, tied to the user's token version: a password change, a
reset or a deactivation bumps the version, and every token issued before stops working."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

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
