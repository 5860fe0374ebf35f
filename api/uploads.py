"""How an upload's body is counted (issue 14): an upload route counts its own body against the
attachment limit, so that its 413 names that limit; every other route keeps the app's
limit (`AFTERSALES_MAX_REQUEST_BYTES`). Used by `POST /tickets/{id}/attachments` and the
console's photo form."""

from __future__ import annotations

import sys
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response, status
from fastapi.routing import APIRoute
from starlette.types import Message

from api.attachment_commands import too_large
from api.deps import services

# What the form around the file may add to the body: its boundaries and part headers, `about`,
# `ref` and a note of 2000 characters (up to 4 bytes each).
FORM_ALLOWANCE = 64 * 1024


class _BodyTooLarge(HTTPException):
    """The upload's body went past its limit while it was read (FastAPI passes an
    HTTPException raised while reading a form through as it is)."""

    def __init__(self) -> None:
        super().__init__(status.HTTP_413_CONTENT_TOO_LARGE)


class UploadRoute(APIRoute):
    """An upload route counts its own body against the attachment limit, so that its 413
    names that limit: the app's limit (`AFTERSALES_MAX_REQUEST_BYTES`, Starlette's limiter,
    whose 413 is a bare "Content Too Large") is lifted for it by `max_body_size=LIFTED`, and
    stays for every other route. A `Content-Length` beyond the limit is refused before
    anything is read; a body sent without one is counted as it arrives."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def limited(request: Request) -> Response:
            limit = services(request).settings.attachment_max_bytes
            most = limit + FORM_ALLOWANCE
            length = request.headers.get("content-length", "")
            if length.isdigit() and int(length) > most:
                raise too_large(limit)
            received = 0
            receive = request.receive

            async def counted() -> Message:
                nonlocal received
                message = await receive()
                received += len(message.get("body", b""))
                if received > most:
                    raise _BodyTooLarge
                return message

            try:
                return await handle(Request(request.scope, counted))
            except _BodyTooLarge:
                raise too_large(limit) from None

        return limited


LIFTED = sys.maxsize
"""The Starlette body limit of the upload route: none of its own (UploadRoute counts)."""


def upload_router(route_class: type[UploadRoute] = UploadRoute, **options: Any) -> APIRouter:
    """A router of upload routes (`route_class`, an UploadRoute) whose form is one file and a
    few small fields."""
    return APIRouter(
        route_class=route_class,
        form_limits={"max_files": 1, "max_fields": 8, "max_part_size": 16 * 1024},
        **options,
    )
