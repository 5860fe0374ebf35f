"""Reports as CSV files (api.md: `Accept: text/csv` or `format=csv`), the same for every route
that offers them."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response

CSV = "text/csv"
Format = Annotated[
    Literal["json", "csv"] | None,
    Query(description="`csv` for a CSV file; without it, `Accept: text/csv` asks for one"),
]
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CSV: {"schema": {"type": "string"}}}}
}
"""The OpenAPI entry of a route that answers CSV too."""


def wants_csv(request: Request, format: str | None) -> bool:
    return format == "csv" or (format is None and CSV in request.headers.get("accept", ""))


def csv_file(text: str, name: str) -> Response:
    """`text` as a CSV file to save as `name`."""
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type=f"{CSV}; charset=utf-8", headers=headers)
