"""Query and path parameters every route bounds the same way: a value beyond these is a 422
naming the parameter, never a database error."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query
from pydantic import AwareDatetime

Limit = Annotated[int, Query(ge=1, le=500, description="at most this many rows")]
Offset = Annotated[int, Query(ge=0, le=1_000_000, description="rows to skip")]
Year = Annotated[int, Query(ge=2000, le=9999)]
Instant = Annotated[AwareDatetime, Query(description="ISO-8601 with a UTC offset")]
PersonName = Annotated[str, Query(min_length=1, max_length=64, description="a username")]
ZoneName = Annotated[str, Query(min_length=1, max_length=64)]
# Integer ids of the database's rows (PostgreSQL's `integer`).
RowId = Annotated[int, Path(ge=1, le=2_147_483_647)]
