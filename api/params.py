"""Query and path parameters every route bounds the same way: a value beyond these is a 422
naming the parameter, never a database error."""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Path, Query

Limit = Annotated[int, Query(ge=1, le=500, description="at most this many rows")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
Year = Annotated[int, Query(ge=2000, le=9999)]
OfficeInstant = Annotated[
    date | datetime,
    Query(description="a date (its first instant) or a time; without a zone, the office's"),
]
PersonName = Annotated[str, Query(min_length=1, max_length=64, description="a username")]
ZoneName = Annotated[str, Query(min_length=1, max_length=64)]
# Integer ids of the database's rows (PostgreSQL's `integer`).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]


def office_instant(value: date | datetime | None, timezone: str) -> datetime | None:
    """An instant from what a person typed: a date is its first instant, and a date or time
    without a zone is read in the office's time zone (`timezone`)."""
    if value is None:
        return None
    if not isinstance(value, datetime):
        value = datetime.combine(value, time())
    return value if value.tzinfo is not None else value.replace(tzinfo=ZoneInfo(timezone))
