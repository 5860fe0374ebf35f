"""R19: the parts store's stock as tickets move it — issued all or nothing, never below zero
(also when many tickets take the same part at once), idempotent by the request's key, put back,
and priced — on SQLite and on PostgreSQL, each thread in its own transaction as the
activities run them."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from models.parts import PartLine, PricedPart, StockRequest
from models.refusals import CONFLICT, IDEMPOTENCY_KEY_REUSED, INVALID_PAYLOAD, Refused
from models.tables import StockMovementRecord
from store import parts

pytestmark = pytest.mark.both_databases

AT = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def listed(engine: Engine, part_no: str, stock: int, **fields: Any) -> None:
    values = {
        "name": f"part {part_no}",
        "unit_cost": Decimal("4.00"),
        "list_price": Decimal("10.00"),
    }
    with Session(engine) as db:
        parts.create_part(
            db, {"part_no": part_no, "stock_on_hand": stock, **values, **fields}, "store1"
        )


def discontinue(engine: Engine, part_no: str) -> None:
    with Session(engine) as db:
        parts.update_part(db, parts.get_part(db, part_no), {"active": False})


def request(key: str, *lines: tuple[str, int], ticket: str = "t-1") -> StockRequest:
    return StockRequest(
        ticket_id=ticket,
        ticket_number="T-2026-000001",
        key=key,
        lines=[PartLine(part_no, qty) for part_no, qty in lines],
        actor="store1",
        at=AT,
    )


def stock(engine: Engine) -> dict[str, int]:
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT part_no, stock_on_hand FROM parts")).all()
    return {part_no: on_hand for part_no, on_hand in rows}


def moved(engine: Engine) -> list[tuple[Any, ...]]:
    """Every ticket movement: (part, kind, qty, ticket, key, unit cost, list price, note)."""
    with Session(engine) as db:
        rows = db.exec(
            select(StockMovementRecord)
            .where(col(StockMovementRecord.key).is_not(None))
            .order_by(col(StockMovementRecord.id))
        ).all()
    return [
        (m.part_no, m.kind, m.qty, m.ticket_id, m.key, m.unit_cost, m.list_price, m.note)
        for m in rows
    ]


def in_transaction(engine: Engine, move: Callable[..., Any], *args: Any) -> Any:
    with engine.begin() as connection:
        return move(connection, *args)


def refusal(engine: Engine, move: Callable[..., Any], *args: Any) -> Refused:
    with pytest.raises(Refused) as refused:
        in_transaction(engine, move, *args)
    return refused.value


def at_once(workers: int, work: Callable[[int], Any]) -> tuple[list[Any], list[BaseException]]:
    """`work(0..workers-1)`, each in its own thread, started together."""
    start = threading.Barrier(workers)
    results: list[Any] = []
    errors: list[BaseException] = []

    def run(index: int) -> None:
        try:
            start.wait(timeout=10)
            results.append(work(index))
        except BaseException as error:  # collected and asserted on below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


# --- issue -----------------------------------------------------------------------------------


def test_twenty_tickets_taking_the_last_ten_at_once_get_ten_and_never_go_below_zero(
    engine: Engine,
) -> None:
    listed(engine, "FUSE-5A", 10)
    issued, refused = at_once(
        20,
        lambda n: in_transaction(
            engine, parts.issue, request(f"issue-{n}", ("FUSE-5A", 1), ticket=f"t-{n}")
        ),
    )
    assert len(issued) == 10 and all(len(lines) == 1 for lines in issued)
    assert len(refused) == 10
    assert all(isinstance(error, Refused) and error.type == CONFLICT for error in refused), refused
    assert {str(error) for error in refused} == {"not enough stock of FUSE-5A: 0 on hand, 1 asked"}
    assert stock(engine) == {"FUSE-5A": 0}
    movements = moved(engine)
    assert len(movements) == 10 and {m[1:3] for m in movements} == {("issue", -1)}
    assert len({m[3] for m in movements}) == 10  # one per ticket that got its fuse


def test_issues_naming_the_same_parts_in_any_order_never_deadlock(engine: Engine) -> None:
    listed(engine, "BOARD-55", 100)
    listed(engine, "FUSE-5A", 100)
    orders = [("BOARD-55", 1), ("FUSE-5A", 1)], [("FUSE-5A", 1), ("BOARD-55", 1)]
    issued, errors = at_once(
        20, lambda n: in_transaction(engine, parts.issue, request(f"k-{n}", *orders[n % 2]))
    )
    assert errors == [] and len(issued) == 20
    assert stock(engine) == {"BOARD-55": 80, "FUSE-5A": 80}


def test_an_issue_takes_every_line_at_its_price_of_the_moment(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 10, unit_cost=Decimal("0.80"), list_price=Decimal("2.50"))
    listed(engine, "BOARD-55", 1, name="Main board", unit_cost=Decimal("180.00"))
    lines = request("issue-1", ("FUSE-5A", 2), ("BOARD-55", 1), ("FUSE-5A", 1))
    issued = in_transaction(engine, parts.issue, lines)
    # Duplicate part numbers are one line, in the order the request first named them.
    assert issued == [
        PricedPart("FUSE-5A", "part FUSE-5A", 3, Decimal("0.80"), Decimal("2.50")),
        PricedPart("BOARD-55", "Main board", 1, Decimal("180.00"), Decimal("10.00")),
    ]
    assert stock(engine) == {"FUSE-5A": 7, "BOARD-55": 0}
    assert moved(engine) == [
        (
            "FUSE-5A",
            "issue",
            -3,
            "t-1",
            "issue-1",
            Decimal("0.80"),
            Decimal("2.50"),
            "ticket T-2026-000001",
        ),
        (
            "BOARD-55",
            "issue",
            -1,
            "t-1",
            "issue-1",
            Decimal("180.00"),
            Decimal("10.00"),
            "ticket T-2026-000001",
        ),
    ]


def test_an_issue_with_one_short_line_takes_nothing(engine: Engine) -> None:
    listed(engine, "BOARD-55", 5)
    listed(engine, "FUSE-5A", 1)
    refused = refusal(engine, parts.issue, request("k", ("BOARD-55", 2), ("FUSE-5A", 2)))
    assert (refused.type, str(refused)) == (
        CONFLICT,
        "not enough stock of FUSE-5A: 1 on hand, 2 asked",
    )
    # Two lines of one part count together.
    short = refusal(engine, parts.issue, request("k", ("FUSE-5A", 1), ("FUSE-5A", 1)))
    assert short.type == CONFLICT
    assert stock(engine) == {"BOARD-55": 5, "FUSE-5A": 1}
    assert moved(engine) == []


def test_unknown_and_discontinued_parts_are_named_by_their_line(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 5)
    listed(engine, "OLD-1", 5)
    discontinue(engine, "OLD-1")
    refused = refusal(
        engine, parts.issue, request("k", ("FUSE-5A", 1), ("OLD-1", 1), ("NOPE-9", 1))
    )
    assert refused.type == INVALID_PAYLOAD
    assert refused.details["errors"] == [
        {
            "loc": ["parts", 1, "part_no"],
            "msg": "part OLD-1 is discontinued",
            "type": "value_error",
        },
        {
            "loc": ["parts", 2, "part_no"],
            "msg": "no part NOPE-9 in the price list",
            "type": "value_error",
        },
    ]
    assert "NOPE-9" in str(refused) and "OLD-1" in str(refused)
    zero = refusal(engine, parts.issue, request("k", ("FUSE-5A", 0)))
    assert zero.details["errors"][0]["loc"] == ["parts", 0, "qty"]
    assert stock(engine) == {"FUSE-5A": 5, "OLD-1": 5} and moved(engine) == []


def test_a_repeated_key_moves_nothing_twice_and_answers_the_same_lines(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 10, unit_cost=Decimal("0.80"))
    first = in_transaction(engine, parts.issue, request("issue-1", ("FUSE-5A", 2)))
    with Session(engine) as db:  # repriced since: the retry still answers what moved
        parts.update_part(db, parts.get_part(db, "FUSE-5A"), {"unit_cost": Decimal("0.95")})
    again = in_transaction(engine, parts.issue, request("issue-1", ("FUSE-5A", 2)))
    assert again == first and first[0].unit_cost == Decimal("0.80")
    assert stock(engine) == {"FUSE-5A": 8} and len(moved(engine)) == 1
    # A retry after a rolled-back attempt moves the parts then.
    with pytest.raises(RuntimeError), engine.begin() as connection:
        parts.issue(connection, request("issue-2", ("FUSE-5A", 1)))
        raise RuntimeError("the activity failed after the issue")
    assert stock(engine) == {"FUSE-5A": 8}
    in_transaction(engine, parts.issue, request("issue-2", ("FUSE-5A", 1)))
    assert stock(engine) == {"FUSE-5A": 7}


def test_the_same_request_twice_at_once_moves_the_parts_once(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 10)
    issued, errors = at_once(
        2, lambda _: in_transaction(engine, parts.issue, request("same", ("FUSE-5A", 3)))
    )
    # The loser either finds the winner's movement or fails on its key (and is retried).
    assert all(isinstance(error, IntegrityError) for error in errors), errors
    assert len(issued) + len(errors) == 2 and all(lines == issued[0] for lines in issued)
    assert stock(engine) == {"FUSE-5A": 7} and len(moved(engine)) == 1


# --- put back ---------------------------------------------------------------------------------


def test_unused_parts_go_back_into_stock_once_even_when_discontinued(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 5, unit_cost=Decimal("0.80"))
    in_transaction(engine, parts.issue, request("issue-1", ("FUSE-5A", 3)))
    discontinue(engine, "FUSE-5A")
    back = in_transaction(engine, parts.put_back, request("return-1", ("FUSE-5A", 2)))
    assert back == [PricedPart("FUSE-5A", "part FUSE-5A", 2, Decimal("0.80"), Decimal("10.00"))]
    assert in_transaction(engine, parts.put_back, request("return-1", ("FUSE-5A", 2))) == back
    assert stock(engine) == {"FUSE-5A": 4}
    assert [m[1:3] for m in moved(engine)] == [("issue", -3), ("return", 2)]


def test_put_back_of_an_unknown_part_or_with_an_issues_key_is_refused(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 5)
    unknown = refusal(engine, parts.put_back, request("r", ("FUSE-5A", 1), ("NOPE-9", 1)))
    assert unknown.type == INVALID_PAYLOAD
    assert [e["loc"] for e in unknown.details["errors"]] == [["parts", 1, "part_no"]]
    in_transaction(engine, parts.issue, request("issue-1", ("FUSE-5A", 1)))
    reused = refusal(engine, parts.put_back, request("issue-1", ("FUSE-5A", 1)))
    assert reused.type == IDEMPOTENCY_KEY_REUSED
    assert stock(engine) == {"FUSE-5A": 4}


# --- price ------------------------------------------------------------------------------------


def test_price_quotes_each_line_as_listed_now_and_moves_nothing(engine: Engine) -> None:
    listed(engine, "FUSE-5A", 0, unit_cost=Decimal("0.80"), list_price=Decimal("2.50"))
    listed(engine, "OLD-1", 3)
    lines = [PartLine("FUSE-5A", 2), PartLine("FUSE-5A", 1)]
    with engine.connect() as connection:
        # Out of stock is no reason not to quote: the part can be ordered.
        assert parts.price(connection, lines) == [
            PricedPart("FUSE-5A", "part FUSE-5A", 2, Decimal("0.80"), Decimal("2.50")),
            PricedPart("FUSE-5A", "part FUSE-5A", 1, Decimal("0.80"), Decimal("2.50")),
        ]
    discontinue(engine, "OLD-1")
    with engine.connect() as connection, pytest.raises(Refused) as refused:
        parts.price(connection, [PartLine("OLD-1", 1), PartLine("NOPE-9", 1)])
    assert refused.value.type == INVALID_PAYLOAD
    assert [e["loc"] for e in refused.value.details["errors"]] == [
        ["parts", 0, "part_no"],
        ["parts", 1, "part_no"],
    ]
    assert stock(engine) == {"FUSE-5A": 0, "OLD-1": 3} and moved(engine) == []
