"""R17: the discounts each service advisor grants on their own authority, counted per office
week. The count never passes the policy's limit, however many tickets ask at once: one
conditional update of the week's row decides."""

from __future__ import annotations

from sqlalchemy import insert, update
from sqlalchemy.engine import Connection
from sqlmodel import col, select

from models.tables import DiscountGrantRecord, DiscountWeekRecord
from models.work_order import DiscountCount
from store.sql import insert_missing


def count_discount(connection: Connection, request: DiscountCount) -> bool:
    """Counts one discount against the advisor's week if it has room; asked again with the
    same key, answers as the first time and counts nothing."""
    earlier = connection.execute(
        select(col(DiscountGrantRecord.granted)).where(col(DiscountGrantRecord.key) == request.key)
    ).first()
    if earlier is not None:
        return bool(earlier.granted)
    week = {"advisor": request.advisor, "week": request.week}
    insert_missing(connection, DiscountWeekRecord, week | {"granted": 0}, ["advisor", "week"])
    counted = connection.execute(
        update(DiscountWeekRecord)
        .where(col(DiscountWeekRecord.advisor) == request.advisor)
        .where(col(DiscountWeekRecord.week) == request.week)
        .where(col(DiscountWeekRecord.granted) < request.limit)
        .values(granted=col(DiscountWeekRecord.granted) + 1)
    ).rowcount
    granted = counted == 1
    connection.execute(
        insert(DiscountGrantRecord).values(key=request.key, granted=granted, at=request.at, **week)
    )
    return granted
