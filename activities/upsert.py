"""Insert-or-overwrite on SQLite and PostgreSQL, for idempotent projections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel


def upsert(
    connection: Connection, model: type[SQLModel], values: dict[str, Any], keys: Sequence[str]
) -> None:
    """Insert `values`, or overwrite the row with the same `keys`."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(values)
    changed = {k: statement.excluded[k] for k in values if k not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


def insert_missing(
    connection: Connection, model: type[SQLModel], values: dict[str, Any], keys: Sequence[str]
) -> None:
    """Insert `values` unless a row with the same `keys` is already there."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table).values(values)
    connection.execute(statement.on_conflict_do_nothing(index_elements=list(keys)))
