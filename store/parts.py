"""The parts store (R19): the price list, the stock on hand of each part, and every movement of
that stock — `count` (an opening stock), `receipt`, `issue` to a ticket (negative), `return`
from one.

The price list, receipts and imports go through an ORM Session (the API). A ticket's parts —
`issue`, `put_back`, `price` — work on a Connection inside the caller's transaction (the
workflow's activities): a refusal is raised before the caller commits, so its transaction
rolls back whatever this module wrote. Stock never goes below zero, under concurrency too:
each part is taken out by one conditional UPDATE, parts in part-number order so that two
transactions on PostgreSQL never wait for each other in a circle. A ticket's movements carry
the request's key: a retried request finds them and moves nothing twice.

Refusals are `Refused`: NOT_FOUND; CONFLICT (a taken part number, a part with history, not
enough stock); INVALID_PAYLOAD naming the field, the file's row or the request's line.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from operator import attrgetter
from typing import Any

from sqlalchemy import insert, or_, update
from sqlalchemy import select as core_select
from sqlalchemy.engine import Connection, Row
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.parts import PartLine, PricedPart, StockRequest, merged
from models.price_list import PriceListEntry, read_price_list
from models.refusals import (
    CONFLICT,
    IDEMPOTENCY_KEY_REUSED,
    INVALID_PAYLOAD,
    NOT_FOUND,
    Refused,
    field_refused,
)
from models.tables import PartRecord, StockMovementRecord, utcnow
from store.sql import contains, page

STOCK_CEILING = 2_000_000_000
"""The most of one part the store holds (what an integer column holds, with room to spare)."""


class MovementKind(StrEnum):
    COUNT = "count"
    RECEIPT = "receipt"
    ISSUE = "issue"
    RETURN = "return"


_parts = PartRecord.__table__  # type: ignore[attr-defined]
_movements = StockMovementRecord.__table__  # type: ignore[attr-defined]


# --- the price list, through an ORM session (the API) ---------------------------------------


def get_part(session: Session, part_no: str) -> PartRecord:
    part = session.get(PartRecord, part_no)
    if part is None:
        raise Refused(NOT_FOUND, f"no part {part_no}")
    return part


def find_parts(
    session: Session,
    *,
    q: str | None,
    active: bool | None,
    in_stock: bool | None,
    limit: int,
    offset: int,
) -> tuple[list[PartRecord], int]:
    """A page of the price list by part number, and how many parts match: `q` is part of the
    number or name (any case), `in_stock` whether any is on hand."""
    query = select(PartRecord)
    if q is not None:
        fragment = q.strip()
        query = query.where(
            or_(contains(PartRecord.part_no, fragment), contains(PartRecord.name, fragment))
        )
    if active is not None:
        query = query.where(col(PartRecord.active) == active)
    if in_stock is not None:
        stock = col(PartRecord.stock_on_hand)
        query = query.where(stock > 0 if in_stock else stock == 0)
    return page(session, query, [col(PartRecord.part_no)], limit, offset)


def _opening_count(part: PartRecord, actor: str) -> StockMovementRecord:
    return StockMovementRecord(
        part_no=part.part_no,
        kind=MovementKind.COUNT,
        qty=part.stock_on_hand,
        unit_cost=part.unit_cost,
        list_price=part.list_price,
        actor=actor,
        note="opening stock",
        at=part.created_at,
    )


def create_part(session: Session, values: Mapping[str, Any], actor: str) -> PartRecord:
    """Lists a new part; an opening stock is recorded as a count. CONFLICT if the part number
    is taken."""
    taken = field_refused("part_no", f"part {values['part_no']} is listed already", CONFLICT)
    if session.get(PartRecord, values["part_no"]) is not None:
        raise taken
    part = PartRecord(**values)
    session.add(part)
    try:
        session.flush()  # the part before its movement
        if part.stock_on_hand:
            session.add(_opening_count(part, actor))
        session.commit()
    except IntegrityError as concurrent:
        session.rollback()
        raise taken from concurrent
    session.refresh(part)
    return part


def update_part(session: Session, part: PartRecord, changes: Mapping[str, Any]) -> PartRecord:
    """Applies `changes` (name, prices, active) to `part`; its stock changes only by
    movements."""
    if changes:
        for name, value in {**changes, "updated_at": utcnow()}.items():
            setattr(part, name, value)
        session.add(part)
        session.commit()
        session.refresh(part)
    return part


def delete_part(session: Session, part: PartRecord) -> None:
    """Deletes a part that never moved; one with movements keeps its history (CONFLICT: it
    can be discontinued instead)."""
    kept = Refused(
        CONFLICT,
        f"part {part.part_no} has stock movements: discontinue it with active=false instead",
    )
    moved = session.exec(
        select(StockMovementRecord.id).where(col(StockMovementRecord.part_no) == part.part_no)
    ).first()
    if moved is not None:
        raise kept
    session.delete(part)
    try:
        session.commit()
    except IntegrityError as concurrent:  # moved since the check
        session.rollback()
        raise kept from concurrent


def receive(session: Session, part_no: str, qty: int, actor: str, note: str | None) -> PartRecord:
    """Takes `qty` of the part into stock (a receipt), priced as listed now."""
    now = utcnow()
    received = (
        session.connection()
        .execute(
            update(_parts)
            .where(_parts.c.part_no == part_no, _parts.c.stock_on_hand <= STOCK_CEILING - qty)
            .values(stock_on_hand=_parts.c.stock_on_hand + qty, updated_at=now)
            .returning(_parts.c.unit_cost, _parts.c.list_price)
        )
        .first()
    )
    if received is None:
        part = get_part(session, part_no)
        raise Refused(
            CONFLICT,
            f"the store holds at most {STOCK_CEILING} of a part; {part.stock_on_hand} of "
            f"{part_no} are on hand",
        )
    session.add(
        StockMovementRecord(
            part_no=part_no,
            kind=MovementKind.RECEIPT,
            qty=qty,
            unit_cost=received.unit_cost,
            list_price=received.list_price,
            actor=actor,
            note=note,
            at=now,
        )
    )
    session.commit()
    return get_part(session, part_no)


def movements(
    session: Session, part_no: str, limit: int, offset: int
) -> tuple[list[StockMovementRecord], int]:
    """A page of the part's movements, newest first, and how many it has."""
    get_part(session, part_no)
    query = select(StockMovementRecord).where(col(StockMovementRecord.part_no) == part_no)
    order = [col(StockMovementRecord.at).desc(), col(StockMovementRecord.id).desc()]
    return page(session, query, order, limit, offset)


def import_csv(session: Session, text: str, actor: str) -> tuple[int, int]:
    """Lists the parts of a CSV price list (`models/price_list.py`): new parts are created
    (a stated stock is their opening count), listed ones get the file's name and prices. A
    listed part's stock may only be stated as what is on hand. All or nothing: any bad row
    refuses the file (INVALID_PAYLOAD naming each row and field). Returns how many parts were
    created and how many changed."""
    found = read_price_list(text)
    listed = _listed_parts(session, [row.entry.part_no for row in found.rows])
    for row in found.rows:
        part = listed.get(row.entry.part_no)
        if part is not None and row.counted and row.entry.stock_on_hand != part.stock_on_hand:
            found.refuse(
                row.row,
                "stock_on_hand",
                f"differs from the {part.stock_on_hand} on hand: leave it empty for a listed "
                "part (its stock changes by receipts)",
            )
    if found.errors:
        raise Refused(
            INVALID_PAYLOAD,
            f"{len(found.errors)} problems in the file: nothing was imported",
            errors=found.errors,
        )
    created: list[PartRecord] = []
    changed = 0
    now = utcnow()
    for row in found.rows:
        part = listed.get(row.entry.part_no)
        if part is None:
            created.append(PartRecord(**row.entry.model_dump(), created_at=now, updated_at=now))
        elif _reprice(part, row.entry, now):
            changed += 1
    session.add_all(created)
    try:
        session.flush()  # the parts before their movements
        session.add_all(_opening_count(part, actor) for part in created if part.stock_on_hand)
        session.commit()
    except IntegrityError as concurrent:
        session.rollback()
        raise Refused(
            CONFLICT, "the price list changed during the import: nothing was imported, try again"
        ) from concurrent
    return len(created), changed


def list_prices(session: Session, part_nos: Sequence[str]) -> dict[str, Decimal]:
    """The list price of each of `part_nos` on the price list (unknown ones left out)."""
    return {no: part.list_price for no, part in _listed_parts(session, part_nos).items()}


def _listed_parts(session: Session, part_nos: Sequence[str]) -> dict[str, PartRecord]:
    if not part_nos:
        return {}
    rows = session.exec(select(PartRecord).where(col(PartRecord.part_no).in_(part_nos)))
    return {part.part_no: part for part in rows}


def _reprice(part: PartRecord, entry: PriceListEntry, now: datetime) -> bool:
    """Gives a listed `part` the name and prices of `entry`; whether any of them differed."""
    values = entry.model_dump(include={"name", "unit_cost", "list_price"})
    differing = {name: value for name, value in values.items() if getattr(part, name) != value}
    if differing:
        for name, value in {**differing, "updated_at": now}.items():
            setattr(part, name, value)
    return bool(differing)


# --- a ticket's parts, on the caller's connection (the workflow's activities) ---------------


def issue(connection: Connection, request: StockRequest) -> list[PricedPart]:
    """R19: takes the request's parts out of stock for its ticket, all or none, each at its
    unit cost and list price of the moment (one movement per part). CONFLICT when a part is
    short, INVALID_PAYLOAD for a part not listed or discontinued. A request whose key moved
    parts already gets those parts back and moves nothing."""
    return _move(connection, request, MovementKind.ISSUE)


def put_back(connection: Connection, request: StockRequest) -> list[PricedPart]:
    """R19: takes the request's unused parts back into stock for its ticket (a discontinued
    part too), one movement per part; idempotent by key like `issue`."""
    return _move(connection, request, MovementKind.RETURN)


def price(connection: Connection, lines: list[PartLine]) -> list[PricedPart]:
    """R19: each line at its part's name, unit cost and list price now; nothing moves.
    INVALID_PAYLOAD for a part not listed or discontinued."""
    listed = _listed(connection, lines, active_only=True)
    return [_priced(line, listed[line.part_no]) for line in lines]


def _priced(line: PartLine, part: Row[Any]) -> PricedPart:
    return PricedPart(line.part_no, part.name, line.qty, part.unit_cost, part.list_price)


def _line_errors(lines: Sequence[PartLine], why: Mapping[str, str]) -> list[dict[str, Any]]:
    return [
        {"loc": ["parts", position, "part_no"], "msg": why[line.part_no], "type": "value_error"}
        for position, line in enumerate(lines)
        if line.part_no in why
    ]


def _listed(
    connection: Connection, lines: Sequence[PartLine], *, active_only: bool
) -> dict[str, Row[Any]]:
    """The parts of `lines` as listed now; INVALID_PAYLOAD naming each line whose part is not
    listed (or discontinued, when `active_only`) or whose quantity is not positive."""
    wanted = {line.part_no for line in lines}
    found = connection.execute(core_select(_parts).where(_parts.c.part_no.in_(wanted))).all()
    listed = {part.part_no: part for part in found}
    why: dict[str, str] = {}
    for part_no in sorted(wanted):
        part = listed.get(part_no)
        if part is None:
            why[part_no] = f"no part {part_no} in the price list"
        elif active_only and not part.active:
            why[part_no] = f"part {part_no} is discontinued"
    errors = _line_errors(lines, why) + [
        {"loc": ["parts", position, "qty"], "msg": "must be at least 1", "type": "value_error"}
        for position, line in enumerate(lines)
        if line.qty < 1
    ]
    if errors:
        detail = "; ".join(why.values()) or "every quantity must be at least 1"
        raise Refused(INVALID_PAYLOAD, detail, errors=errors)
    return listed


def _already_moved(connection: Connection, key: str, kind: MovementKind) -> list[PricedPart] | None:
    """The parts a request with `key` moved, in the order it named them; None if none."""
    moved = connection.execute(
        core_select(_movements, _parts.c.name)
        .join(_parts, _parts.c.part_no == _movements.c.part_no)
        .where(_movements.c.key == key)
        .order_by(_movements.c.id)
    ).all()
    if not moved:
        return None
    if any(row.kind != kind for row in moved):
        raise Refused(IDEMPOTENCY_KEY_REUSED, f"the key {key} named another kind of movement")
    return [
        PricedPart(row.part_no, row.name, abs(row.qty), row.unit_cost, row.list_price)
        for row in moved
    ]


def _move(connection: Connection, request: StockRequest, kind: MovementKind) -> list[PricedPart]:
    if (done := _already_moved(connection, request.key, kind)) is not None:
        return done
    issuing = kind is MovementKind.ISSUE
    _listed(connection, request.lines, active_only=issuing)
    lines = merged(request.lines)
    moved: dict[str, PricedPart] = {}
    for line in sorted(lines, key=attrgetter("part_no")):  # the lock order
        change = update(_parts).where(_parts.c.part_no == line.part_no)
        if issuing:
            change = change.where(_parts.c.active, _parts.c.stock_on_hand >= line.qty)
        delta = -line.qty if issuing else line.qty
        part = connection.execute(
            change.values(
                stock_on_hand=_parts.c.stock_on_hand + delta, updated_at=utcnow()
            ).returning(_parts.c.name, _parts.c.unit_cost, _parts.c.list_price)
        ).first()
        if part is None:
            raise _shortage(connection, request.lines, line, issuing)
        moved[line.part_no] = _priced(line, part)
    priced = [moved[line.part_no] for line in lines]
    if priced:
        connection.execute(insert(_movements), [_movement(request, kind, p) for p in priced])
    return priced


def _shortage(
    connection: Connection, lines: Sequence[PartLine], line: PartLine, active_only: bool
) -> Refused:
    """Why `line` could not move: its part unlisted or discontinued since the check
    (raised), else too few on hand."""
    on_hand = _listed(connection, lines, active_only=active_only)[line.part_no].stock_on_hand
    return Refused(
        CONFLICT, f"not enough stock of {line.part_no}: {on_hand} on hand, {line.qty} asked"
    )


def _movement(request: StockRequest, kind: MovementKind, part: PricedPart) -> dict[str, Any]:
    return {
        "part_no": part.part_no,
        "kind": kind,
        "qty": -part.qty if kind is MovementKind.ISSUE else part.qty,
        "ticket_id": request.ticket_id,
        "key": request.key,
        "unit_cost": part.unit_cost,
        "list_price": part.list_price,
        "actor": request.actor,
        "note": f"ticket {request.ticket_number}",
        "at": request.at,
    }
