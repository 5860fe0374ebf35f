"""Signing in to the console, and what every console request is checked for.

- **Session**: the cookie of `api/routes/session.py` (HttpOnly, SameSite=Lax, the same signed
  token as a bearer token, ended by a password change, a reset or a deactivation). Console
  routes accept it through `console_user`; the JSON API does not (api/deps.py).
- **CSRF**: every console POST carries the session's synchronizer token
  (`core/security.py` `csrf_token`: an HMAC of the session's token under the signing key) as
  the form field `csrf_token` or, from HTMX, the `X-CSRF-Token` header (`hx-headers` on the
  page's body). A POST without the right one is refused with 403 before anything is read or
  changed (`posting`).
- **Sign-in** (`GET`/`POST /console/login`): the same check, throttling and answers as
  `POST /auth/token` (`api/routes/auth.py` `authenticate`), shown as the form with the reason;
  a sign-in posted from another site (`Sec-Fetch-Site: cross-site`) is refused.
- **Language** (`GET /console/language/{lang}`): remembers the choice in the `lang` cookie.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Form, HTTPException, Path, Request, Response
from fastapi.responses import RedirectResponse

from api.console.i18n import LANG_COOKIE, LANGUAGES, _, language_of, translator
from api.console.pages import (
    CSRF_FIELD,
    CSRF_HEADER,
    PREFIX,
    TRY_AGAIN,
    ForgedForm,
    Problem,
    SignInNeeded,
    console_router,
    render,
    safe_next,
    start_of,
)
from api.deps import SESSION_COOKIE, ServicesDep, SessionDep, token_user
from api.routes.auth import authenticate
from api.routes.session import clear_session_cookie, set_session_cookie
from core.security import HasherBusy, csrf_matches, csrf_token
from models.tables import User

router = console_router()
ONE_YEAR = 365 * 24 * 3600
WRONG = _("Wrong username or password.")
THROTTLED = _("Too many failed sign-ins: try again in {seconds} s.")
MISSING = _("Enter your username and password.")
CROSS_SITE = _("This sign-in did not come from the console's own page.")
# Bounds of what the sign-in form takes (as POST /auth/token).
NAME_MAX, PASSWORD_MAX = 64, 200


def console_user(request: Request, app: ServicesDep, db: SessionDep) -> User:
    """The user of the session cookie (active, at their current token version), remembered
    on the request for the page with the session's CSRF token; else to the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    user = token_user(app, db, token) if token else None
    if user is None or token is None:
        raise SignInNeeded
    request.state.console_user = user
    request.state.csrf = csrf_token(token, app.signing_key)
    return user


ConsoleUser = Annotated[User, Depends(console_user)]


async def posting(request: Request, app: ServicesDep, user: ConsoleUser) -> User:
    """The signed-in user of a POST carrying the session's CSRF token; ForgedForm (403,
    nothing changed) without it."""
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not csrf_matches(sent, request.cookies.get(SESSION_COOKIE, ""), app.signing_key):
        raise ForgedForm
    return user


Poster = Annotated[User, Depends(posting)]


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    return render(request, "console/login.html", {"next": safe_next(next, PREFIX)})


@router.post("/login")
async def login(
    request: Request,
    app: ServicesDep,
    username: Annotated[str, Form(max_length=NAME_MAX)] = "",
    password: Annotated[str, Form(max_length=PASSWORD_MAX)] = "",
    next: Annotated[str, Form(max_length=2000)] = PREFIX,
) -> Response:
    """Signs in as `POST /auth/token` does (throttling, the same answers), then opens `next`
    or the page the user's day starts on."""
    t = translator(language_of(request))
    target = safe_next(next, PREFIX)

    def again(message: str, status_code: int, headers: dict[str, str] | None = None) -> Response:
        context = {"next": target, "username": username, "problem": Problem(message)}
        return render(request, "console/login.html", context, status_code, headers)

    if request.headers.get("Sec-Fetch-Site") == "cross-site":
        return again(t(CROSS_SITE), 403)
    if not username.strip() or not password:
        return again(t(MISSING), 422)
    try:
        user = await authenticate(app, request, username.strip(), password)
    except HTTPException as refused:
        if refused.status_code == 429:
            wait = (refused.headers or {}).get("Retry-After", "1")
            return again(t(THROTTLED, seconds=wait), 429, {"Retry-After": wait})
        return again(t(WRONG), refused.status_code)
    except HasherBusy:
        return again(t(TRY_AGAIN), 503, {"Retry-After": "2"})
    if target == PREFIX:
        target = start_of(user)
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, app, user)
    return response


@router.post("/logout")
def logout(app: ServicesDep, _: Poster) -> Response:
    """Signs out: the cookie is cleared (the token it held expires by itself; a password
    change ends every session at once)."""
    response = RedirectResponse(f"{PREFIX}/login", status_code=303)
    clear_session_cookie(response, app)
    return response


@router.get("/language/{lang}")
def choose_language(
    lang: Annotated[str, Path(pattern="^(zh|en)$")], next: str | None = None
) -> Response:
    """Remembers the language (a preference, not a change of anything: a plain link)."""
    response = RedirectResponse(safe_next(next, PREFIX), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(LANG_COOKIE, lang, max_age=ONE_YEAR, path="/", samesite="lax")
    return response


@router.get("")
def home(user: ConsoleUser) -> Response:
    """Where the user's day starts: the dispatch board, their jobs, else the tickets."""
    return RedirectResponse(start_of(user), status_code=303)
