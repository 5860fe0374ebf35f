"""What every store module shares: pages of rows, searches by part of a text, idempotent writes,
gapless counters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, func, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlmodel import Session, SQLModel, col, select

NEXT_VALUE = text(
    "INSERT INTO counters (name, value) VALUES (:name, 1) "
    "ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value"
)


def page(
    session: Session, query: Any, order: Sequence[Any], limit: int, offset: int
) -> tuple[list[Any], int]:
    """One page of `query`'s rows in `order`, and how many rows match in all."""
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(query.order_by(*order).limit(limit).offset(offset)).all()
    return list(rows), int(total)


def contains(column: Any, fragment: str) -> Any:
    """`column` contains `fragment`, whatever the case; `%` and `_` in it are characters, not
    wildcards."""
    escaped = fragment.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return col(column).ilike(f"%{escaped}%", "\\")


def next_value(connection: Connection, name: str) -> int:
    """The next number of the gapless sequence `name`, inside the caller's transaction: a
    rolled-back transaction leaves no gap."""
    return int(connection.execute(NEXT_VALUE, {"name": name}).scalar_one())


def _insert(connection: Connection, model: type[SQLModel], values: dict[str, Any]) -> Any:
    table: Table = model.__table__  # type: ignore[attr-defined]
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    return dialect.insert(table).values(values)


def upsert(
    connection: Connection, model: type[SQLModel], values: dict[str, Any], keys: Sequence[str]
) -> None:
    """Insert `values`, or overwrite the row with the same `keys`."""
    statement = _insert(connection, model, values)
    changed = {k: statement.excluded[k] for k in values if k not in keys}
    connection.execute(statement.on_conflict_do_update(index_elements=list(keys), set_=changed))


def insert_missing(
    connection: Connection, model: type[SQLModel], values: dict[str, Any], keys: Sequence[str]
) -> None:
    """Insert `values` unless a row with the same `keys` is already there."""
    statement = _insert(connection, model, values)
    connection.execute(statement.on_conflict_do_nothing(index_elements=list(keys)))
