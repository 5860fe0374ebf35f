"""The browser's sign-in: a session cookie holding the same signed token as a bearer token.

`POST /auth/session` checks the credentials as `POST /auth/token` does (throttling, 401, 429,
503) and sets the `aftersales_session` cookie: HttpOnly (no script reads it), SameSite=Lax
(not sent on cross-site requests other than top-level navigations), Path=/, Max-Age the token
lifetime, Secure when the API is served over HTTPS. A password change, a reset or a
deactivation ends it as it ends bearer tokens. Only the routes that say so accept the cookie
(api/deps.py, SESSION_COOKIE): the codec endpoint, for the Temporal UI, and the staff console,
which signs in with the same cookie (`set_session_cookie`). `DELETE /auth/session` clears it.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request, Response, status

from api.deps import SESSION_COOKIE, Services, ServicesDep
from api.routes.auth import SIGN_IN_ANSWERS, PasswordField, Username, authenticate
from api.schemas.users import SignedIn
from core.security import create_token
from models.tables import User

router = APIRouter(prefix="/auth", tags=["auth"])
NO_STORE = {"Cache-Control": "no-store"}


def _secure(app: Services) -> bool:
    return app.settings.resolved_public_url.lower().startswith("https")


def set_session_cookie(response: Response, app: Services, user: User) -> str:
    """Signs `user` in on `response`: the session cookie with a fresh signed token, which is
    returned (the console derives its CSRF token from it)."""
    ttl = timedelta(minutes=app.settings.token_ttl_minutes)
    token = create_token(user.username, user.token_version, app.signing_key, ttl)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(ttl.total_seconds()),
        path="/",
        secure=_secure(app),
        httponly=True,
        samesite="lax",
    )
    return token


def clear_session_cookie(response: Response, app: Services) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(app), httponly=True, samesite="lax"
    )


@router.post("/session", response_model=SignedIn, responses=SIGN_IN_ANSWERS)
async def sign_in(
    request: Request,
    response: Response,
    app: ServicesDep,
    username: Username,
    password: PasswordField,
) -> SignedIn:
    """Signs the browser in: sets the `aftersales_session` cookie (form `username`,
    `password`). The cookie is accepted only where a route says so (the codec endpoint);
    the JSON API wants a bearer token from POST /auth/token."""
    user = await authenticate(app, request, username, password)
    set_session_cookie(response, app, user)
    response.headers.update(NO_STORE)
    return SignedIn(username=user.username, roles=list(user.roles))


@router.delete("/session", status_code=status.HTTP_204_NO_CONTENT)
def sign_out(app: ServicesDep) -> Response:
    """Clears the session cookie. The token it held stays valid until it expires, but no
    script could read it (HttpOnly); to end every session of a user, change the password."""
    response = Response(status_code=status.HTTP_204_NO_CONTENT, headers=NO_STORE)
    clear_session_cookie(response, app)
    return response
