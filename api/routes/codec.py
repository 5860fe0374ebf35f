"""The codec server of the payload encryption (core/codec.py), for the Temporal UI and CLI.

Temporal's remote data encoding protocol: `POST /codec/encode` and `POST /codec/decode` take
and answer `{"payloads": [...]}` in protobuf JSON; the `X-Namespace` header names the
namespace. Decoded payloads are customer data: admin only (401 anonymous, 403 other roles),
404 when this API has no payload keys, never cached. The admin signs in by bearer token (the
Temporal CLI's `--codec-auth`) or by the session cookie of POST /auth/session (the Temporal
UI in a browser, which cannot send our bearer token but sends cookies when told to include
credentials). Encoding and decoding change nothing, so a forged cross-site request gains
nothing; reading an answer takes CORS. Browsers may call it from the origins in
`AFTERSALES_CODEC_CORS_ORIGINS`, credentials allowed: the CORS answers are given here, on
these paths only, errors included.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, status
from fastapi.responses import PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.deps import require_roles_bearer_or_session, services
from core.codec import (
    CodecError,
    EncryptionCodec,
    PayloadsJsonError,
    TooManyPayloads,
    codec_from_setting,
    decode_json,
    encode_json,
)
from models.roles import Role
from models.tables import User

MAX_BODY_BYTES = 4 * 1024 * 1024
CORS_METHODS = "POST, OPTIONS"
CORS_HEADERS = ("Authorization", "Content-Type", "X-Namespace")
CORS_MAX_AGE_SECONDS = 600
NO_STORE = {"Cache-Control": "no-store"}


def _allowed_origin(request: Request) -> tuple[bool, str | None]:
    """(CORS configured, the request's origin if it is allowed)."""
    setting = services(request).settings.codec_cors_origins
    origins = {o.strip().rstrip("/") for o in setting.split(",") if o.strip()}
    origin = request.headers.get("origin")
    return bool(origins), origin if origin in origins else None


def _cors_headers(request: Request) -> dict[str, str]:
    configured, origin = _allowed_origin(request)
    if not configured:
        return {}
    if origin is None:
        return {"Vary": "Origin"}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Vary": "Origin",
    }


class CorsRoute(APIRoute):
    """A route answering with the CORS headers of the allowed origins, errors included (a
    browser shows the Temporal UI a 401 or 403 only with them)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def with_cors(request: Request) -> Response:
            if request.method == "OPTIONS":  # the preflight answers for itself
                return await handler(request)
            headers = _cors_headers(request)
            try:
                response = await handler(request)
            except StarletteHTTPException as error:
                if not headers:
                    raise
                # A copy: dependencies raise shared exception instances.
                raise HTTPException(
                    error.status_code, error.detail, headers={**(error.headers or {}), **headers}
                ) from error
            response.headers.update(headers)
            return response

        return with_cors


router = APIRouter(prefix="/codec", tags=["codec"], route_class=CorsRoute)
# The one place where the session cookie signs in (api/deps.py, SESSION_COOKIE).
Admin = Annotated[User, Depends(require_roles_bearer_or_session(Role.ADMIN))]
Namespace = Annotated[str | None, Header(alias="X-Namespace")]


def _codec(request: Request, namespace: str | None) -> EncryptionCodec:
    settings = services(request).settings
    if namespace is not None and namespace != settings.temporal_namespace:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"this codec serves the namespace {settings.temporal_namespace!r}, not {namespace!r}",
        )
    codec = codec_from_setting(settings.payload_keys)
    if codec is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            "payload encryption is off: this API has no AFTERSALES_PAYLOAD_KEYS",
        )
    return codec


async def _body(request: Request) -> bytes:
    """The request body, refused (413) beyond MAX_BODY_BYTES without reading it all."""
    too_large = HTTPException(
        status.HTTP_413_CONTENT_TOO_LARGE, f"the body is over {MAX_BODY_BYTES} bytes"
    )
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise too_large
    return bytes(body)


async def _answer(request: Request, namespace: str | None, *, encode: bool) -> Response:
    codec = _codec(request, namespace)
    body = await _body(request)
    try:
        answer = await (encode_json if encode else decode_json)(codec, body)
    except TooManyPayloads as refused:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, str(refused)) from None
    except (PayloadsJsonError, CodecError) as refused:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(refused)) from None
    return Response(answer, media_type="application/json", headers=NO_STORE)


@router.post("/encode")
async def encode(request: Request, _admin: Admin, namespace: Namespace = None) -> Response:
    """Encrypts the payloads with the current key (e.g. a workflow input typed in the UI)."""
    return await _answer(request, namespace, encode=True)


@router.post("/decode")
async def decode(request: Request, _admin: Admin, namespace: Namespace = None) -> Response:
    """Decrypts the payloads (unencrypted ones come back as they are); 400 naming the key id
    when one is encrypted with a key this API does not have."""
    return await _answer(request, namespace, encode=False)


def _preflight(request: Request) -> Response:
    """The browser's CORS preflight: allowed for the configured origins, POST and the
    headers the Temporal UI sends; 400 otherwise (the browser then refuses the call)."""
    _, origin = _allowed_origin(request)
    method = request.headers.get("access-control-request-method", "")
    asked = request.headers.get("access-control-request-headers", "")
    allowed = {h.lower() for h in CORS_HEADERS}
    unknown = {h.strip().lower() for h in asked.split(",") if h.strip()} - allowed
    if origin is None or method.upper() != "POST" or unknown:
        return PlainTextResponse(
            "CORS preflight refused: origin, method or headers not allowed",
            status.HTTP_400_BAD_REQUEST,
            headers={"Vary": "Origin"},
        )
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers={
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Credentials": "true",
            "Access-Control-Allow-Methods": CORS_METHODS,
            "Access-Control-Allow-Headers": ", ".join(CORS_HEADERS),
            "Access-Control-Max-Age": str(CORS_MAX_AGE_SECONDS),
            "Vary": "Origin",
        },
    )


@router.options("/encode", include_in_schema=False)
async def encode_preflight(request: Request) -> Response:
    return _preflight(request)


@router.options("/decode", include_in_schema=False)
async def decode_preflight(request: Request) -> Response:
    return _preflight(request)
