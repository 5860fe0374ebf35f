"""The parts store over HTTP (R19): the price list and its stock on hand, receipts and every
movement, the CSV import (all or nothing, each bad row named), and who may keep it — the
storekeeper and the admin — while every staff role reads it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx
import pytest

from models.price_list import MAX_IMPORT_ROWS
from tests.api.conftest import STAFF, Api

CSV = {"Content-Type": "text/csv"}
HEADER = "part_no,name,unit_cost,list_price,stock_on_hand"


def part_body(part_no: str = "FUSE-5A", **fields: Any) -> dict[str, Any]:
    return {
        "part_no": part_no,
        "name": "Fuse 5 A",
        "unit_cost": "0.80",
        "list_price": "2.50",
    } | fields


async def listed(client: httpx.AsyncClient, part_no: str = "FUSE-5A", **fields: Any) -> dict:
    answer = await client.post("/parts", json=part_body(part_no, **fields))
    assert answer.status_code == 201, answer.text
    part: dict[str, Any] = answer.json()
    return part


async def imported(client: httpx.AsyncClient, *rows: str, header: str = HEADER) -> httpx.Response:
    return await client.post(
        "/parts/import", content="\n".join([header, *rows]) + "\n", headers=CSV
    )


def error_locs(answer: httpx.Response) -> list[list[Any]]:
    assert answer.status_code == 422, answer.text
    return [error["loc"] for error in answer.json()["errors"]]


async def price_list(client: httpx.AsyncClient, **params: Any) -> list[tuple[str, str, str, int]]:
    answer = await client.get("/parts", params=params)
    assert answer.status_code == 200, answer.text
    return [
        (p["part_no"], p["unit_cost"], p["list_price"], p["stock_on_hand"]) for p in answer.json()
    ]


async def kinds(client: httpx.AsyncClient, part_no: str) -> list[tuple[str, int]]:
    answer = await client.get(f"/parts/{part_no}/movements")
    assert answer.status_code == 200, answer.text
    return [(m["kind"], m["qty"]) for m in answer.json()]


# --- the price list ----------------------------------------------------------------------------


@pytest.mark.both_databases
async def test_storekeeper_lists_a_part_with_its_opening_stock(api: Api) -> None:
    store, tech = await api.users("store1", "tech1")
    part = await listed(store, name="  Fuse 5 A ", unit_cost="0.8", stock_on_hand=100)
    assert part["name"] == "Fuse 5 A" and part["stock_on_hand"] == 100 and part["active"]
    assert (part["unit_cost"], part["list_price"]) == ("0.80", "2.50")
    assert datetime.fromisoformat(part["created_at"]).utcoffset() is not None
    assert (await tech.get("/parts/FUSE-5A")).json() == part
    # R19: the opening stock is a count, so the stock is the sum of its movements.
    movements = (await tech.get("/parts/FUSE-5A/movements")).json()
    assert [(m["kind"], m["qty"], m["actor"], m["unit_cost"]) for m in movements] == [
        ("count", 100, "store1", "0.80")
    ]
    without = await listed(store, "BOARD-55")
    assert without["stock_on_hand"] == 0 and await kinds(store, "BOARD-55") == []


@pytest.mark.both_databases
async def test_a_listed_part_number_answers_409(api: Api) -> None:
    store = await api.as_user("store1")
    await listed(store)
    again = await store.post("/parts", json=part_body(name="Another fuse"))
    assert again.status_code == 409 and "FUSE-5A" in again.json()["detail"]
    assert again.json()["errors"][0]["loc"] == ["body", "part_no"]
    assert (await store.get("/parts/FUSE-5A")).json()["name"] == "Fuse 5 A"


async def test_bad_part_input_answers_422_naming_the_field(api: Api) -> None:
    store = await api.as_user("store1")
    cases = {
        "part_no": part_body("FUSE 5A"),
        "name": part_body(name="  "),
        "unit_cost": part_body(unit_cost="0.805"),
        "list_price": part_body(list_price="-1.00"),
        "stock_on_hand": part_body(stock_on_hand=-1),
        "active": part_body(active=False),  # a new part is listed, not discontinued
    }
    for field, body in cases.items():
        assert error_locs(await store.post("/parts", json=body)) == [["body", field]], field
    await listed(store)
    for change, field in [
        ({"name": None}, "name"),
        ({"stock_on_hand": 5}, "stock_on_hand"),  # stock moves only by receipts and tickets
        ({"part_no": "FUSE-6A"}, "part_no"),
        ({"unit_cost": "ten"}, "unit_cost"),
    ]:
        assert error_locs(await store.patch("/parts/FUSE-5A", json=change)) == [["body", field]]
    assert error_locs(await store.get("/parts/FUSE 5A")) == [["path", "part_no"]]
    assert (await store.get("/parts/FUSE-5A")).json()["stock_on_hand"] == 0


async def test_missing_part_answers_404_naming_it(api: Api) -> None:
    store = await api.as_user("store1")
    for answer in [
        await store.get("/parts/NOPE-9"),
        await store.patch("/parts/NOPE-9", json={"name": "x"}),
        await store.delete("/parts/NOPE-9"),
        await store.post("/parts/NOPE-9/receipts", json={"qty": 1}),
        await store.get("/parts/NOPE-9/movements"),
    ]:
        assert answer.status_code == 404, answer.text
        assert answer.json() == {"detail": "no part NOPE-9"}


@pytest.mark.both_databases
async def test_part_is_repriced_and_discontinued(api: Api) -> None:
    store = await api.as_user("store1")
    part = await listed(store)
    changed = await store.patch("/parts/FUSE-5A", json={"list_price": "2.80", "active": False})
    assert changed.status_code == 200, changed.text
    after = changed.json()
    assert (after["list_price"], after["unit_cost"], after["active"]) == ("2.80", "0.80", False)
    assert datetime.fromisoformat(after["updated_at"]) > datetime.fromisoformat(part["updated_at"])
    assert after["created_at"] == part["created_at"]
    assert await price_list(store, active=True) == []
    assert await price_list(store, active=False) == [("FUSE-5A", "0.80", "2.80", 0)]


@pytest.mark.both_databases
async def test_price_list_is_searched_and_filtered(api: Api) -> None:
    store, clerk = await api.users("store1", "clerk1")
    await listed(store, "FUSE-5A", name="Fuse 5 A", stock_on_hand=10)
    await listed(store, "FUSE-10A", name="Fuse 10 A")
    await listed(store, "BOARD-55", name="Main board TV-55", stock_on_hand=1)
    await listed(store, "CAP_100", name="Capacitor 100% tested", stock_on_hand=4)
    await store.patch("/parts/FUSE-10A", json={"active": False})

    def numbers(rows: list[tuple[str, str, str, int]]) -> list[str]:
        return [row[0] for row in rows]

    assert numbers(await price_list(clerk)) == ["BOARD-55", "CAP_100", "FUSE-10A", "FUSE-5A"]
    assert numbers(await price_list(clerk, q="fuse")) == ["FUSE-10A", "FUSE-5A"]
    assert numbers(await price_list(clerk, q="tv-55")) == ["BOARD-55"]  # the name
    # "%" and "_" are characters, not wildcards.
    assert numbers(await price_list(clerk, q="0%")) == ["CAP_100"]
    assert numbers(await price_list(clerk, q="P_1")) == ["CAP_100"]
    assert numbers(await price_list(clerk, q="E_5")) == []
    assert numbers(await price_list(clerk, in_stock=True)) == ["BOARD-55", "CAP_100", "FUSE-5A"]
    assert numbers(await price_list(clerk, in_stock=False)) == ["FUSE-10A"]
    assert numbers(await price_list(clerk, q="fuse", active=True, in_stock=True)) == ["FUSE-5A"]
    page = await clerk.get("/parts", params={"limit": 2, "offset": 1})
    assert [p["part_no"] for p in page.json()] == ["CAP_100", "FUSE-10A"]
    assert page.headers["X-Total-Count"] == "4"
    assert (await clerk.get("/parts", params={"q": "fuse"})).headers["X-Total-Count"] == "2"
    for bad in ({"q": ""}, {"q": "x" * 201}, {"limit": 0}, {"in_stock": "maybe"}):
        assert error_locs(await clerk.get("/parts", params=bad))[0][0] == "query", bad


# --- receipts, movements, deletion ---------------------------------------------------------------


@pytest.mark.both_databases
async def test_receipts_add_stock_and_movements_tell_every_change_newest_first(api: Api) -> None:
    store, tech = await api.users("store1", "tech1")
    await listed(store, stock_on_hand=2)
    first = await store.post("/parts/FUSE-5A/receipts", json={"qty": 50, "note": " delivery 17 "})
    assert first.status_code == 200, first.text
    assert first.json()["stock_on_hand"] == 52
    second = await store.post("/parts/FUSE-5A/receipts", json={"qty": 8})
    assert second.json()["stock_on_hand"] == 60
    movements = await tech.get("/parts/FUSE-5A/movements")
    assert movements.headers["X-Total-Count"] == "3"
    assert [(m["kind"], m["qty"], m["note"]) for m in movements.json()] == [
        ("receipt", 8, None),
        ("receipt", 50, "delivery 17"),
        ("count", 2, "opening stock"),
    ]
    assert all(m["ticket_id"] is None and m["actor"] == "store1" for m in movements.json())
    page = await tech.get("/parts/FUSE-5A/movements", params={"limit": 1, "offset": 1})
    assert [m["qty"] for m in page.json()] == [50]
    for bad in ({"qty": 0}, {"qty": 100_001}, {"qty": 1, "note": ""}, {"qty": 1, "price": "1"}):
        answer = await store.post("/parts/FUSE-5A/receipts", json=bad)
        assert error_locs(answer)[0][0] == "body", bad
    assert (await store.get("/parts/FUSE-5A")).json()["stock_on_hand"] == 60


@pytest.mark.both_databases
async def test_only_a_part_that_never_moved_is_deleted(api: Api) -> None:
    store = await api.as_user("store1")
    await listed(store, "TYPO-1")
    deleted = await store.delete("/parts/TYPO-1")
    assert deleted.status_code == 204 and deleted.content == b""
    assert (await store.get("/parts/TYPO-1")).status_code == 404
    await listed(store, "FUSE-5A", stock_on_hand=1)
    kept = await store.delete("/parts/FUSE-5A")
    assert kept.status_code == 409 and "active=false" in kept.json()["detail"]
    assert (await store.get("/parts/FUSE-5A")).json()["stock_on_hand"] == 1


async def test_a_part_number_with_a_slash_is_a_part_like_any_other(api: Api) -> None:
    store = await api.as_user("store1")
    await listed(store, "TV/55-B")
    assert (await store.get("/parts/TV/55-B")).json()["part_no"] == "TV/55-B"
    received = await store.post("/parts/TV/55-B/receipts", json={"qty": 3})
    assert received.json()["stock_on_hand"] == 3
    assert await kinds(store, "TV/55-B") == [("receipt", 3)]
    assert (await store.patch("/parts/TV/55-B", json={"name": "Board"})).status_code == 200


# --- the CSV import ------------------------------------------------------------------------------


@pytest.mark.both_databases
async def test_a_price_list_file_lists_new_parts_and_reprices_listed_ones(api: Api) -> None:
    store = await api.as_user("store1")
    await listed(store, "FUSE-5A", stock_on_hand=7)
    await listed(store, "BOARD-55", name="Main board", unit_cost="180.00", list_price="300.00")
    answer = await imported(
        store,
        "FUSE-5A,Fuse 5 A,0.90,2.50,",  # repriced; its stock left as it is
        "BOARD-55,Main board,180.00,300.00,0",  # unchanged; its stock stated as on hand
        " CAP-1 , Capacitor ,0.10,0.50,200",  # new, with an opening count
        "",
        "KNOB-2,Knob,1,3,",  # new, no stock
    )
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"created": 2, "updated": 1}
    assert await price_list(store) == [
        ("BOARD-55", "180.00", "300.00", 0),
        ("CAP-1", "0.10", "0.50", 200),
        ("FUSE-5A", "0.90", "2.50", 7),
        ("KNOB-2", "1.00", "3.00", 0),
    ]
    assert (await store.get("/parts/CAP-1")).json()["name"] == "Capacitor"
    assert await kinds(store, "CAP-1") == [("count", 200)]
    assert await kinds(store, "KNOB-2") == []
    # Columns in any order, stock_on_hand left out.
    again = await imported(
        store, "Knob,KNOB-2,1.50,3.00", header="name,part_no,unit_cost,list_price"
    )
    assert again.json() == {"created": 0, "updated": 1}


@pytest.mark.both_databases
async def test_a_file_with_bad_rows_changes_nothing_and_names_each_row(api: Api) -> None:
    store = await api.as_user("store1")
    await listed(store, "FUSE-5A", stock_on_hand=7)
    answer = await imported(
        store,
        "CAP-1,Capacitor,0.10,0.50,",
        "BAD 1,Secret name,0.10,0.50,",  # row 3: the part number
        "CAP-2,Capacitor,zero,0.505,",  # row 4: both prices
        "FUSE-5A,Fuse 5 A,0.80,2.50,9",  # row 5: not the 7 on hand
        "CAP-3,Capacitor,0.10",  # row 6: too few cells
        "CAP-1,Capacitor again,0.10,0.50,",  # row 7: CAP-1 again
        "CAP-4,,0.10,0.50,-3",  # row 8: no name, negative stock
    )
    assert error_locs(answer) == [
        ["body", "row", 3, "part_no"],
        ["body", "row", 4, "unit_cost"],
        ["body", "row", 4, "list_price"],
        ["body", "row", 6],
        ["body", "row", 7, "part_no"],
        ["body", "row", 8, "name"],
        ["body", "row", 8, "stock_on_hand"],
        ["body", "row", 5, "stock_on_hand"],
    ]
    errors = answer.json()["errors"]
    assert "row 2" in errors[4]["msg"] and "7 on hand" in errors[7]["msg"]
    assert "nothing was imported" in answer.json()["detail"]
    assert "Secret" not in answer.text and "zero" not in answer.text  # never the values sent
    assert await price_list(store) == [("FUSE-5A", "0.80", "2.50", 7)]


@pytest.mark.both_databases
async def test_a_listed_parts_stock_is_only_ever_stated_as_it_is(api: Api) -> None:
    store = await api.as_user("store1")
    await listed(store, "FUSE-5A", stock_on_hand=7)
    same = await imported(store, "FUSE-5A,Fuse,0.80,2.50,7")
    assert same.json() == {"created": 0, "updated": 1}
    other = await imported(store, "FUSE-5A,Fuse,0.80,2.50,0")
    assert error_locs(other) == [["body", "row", 2, "stock_on_hand"]]
    assert await kinds(store, "FUSE-5A") == [("count", 7)]


async def test_import_takes_utf8_csv_with_a_known_header_and_bounded_rows(api: Api) -> None:
    store = await api.as_user("store1")
    row = "FUSE-5A,Fuse,0.80,2.50,"
    as_json = await store.post("/parts/import", json={"rows": [row]})
    assert as_json.status_code == 415 and "text/csv" in as_json.json()["detail"]
    latin = await store.post(
        "/parts/import",
        content=f"{HEADER}\n{row}\n",
        headers={"Content-Type": "text/csv; charset=iso-8859-1"},
    )
    assert latin.status_code == 415
    not_utf8 = await store.post("/parts/import", content=b"part_no,name\n\xff\xfe\n", headers=CSV)
    assert error_locs(not_utf8) == [["body"]]
    with_bom = await store.post(
        "/parts/import",
        content=f"\ufeff{HEADER}\n{row}\n".encode(),
        headers={"Content-Type": "text/csv; charset=UTF-8"},
    )
    assert with_bom.json() == {"created": 1, "updated": 0}
    assert (
        error_locs(await store.post("/parts/import", content=b"", headers=CSV))
        == [["body", "header"]] * 4
    )
    header = await imported(store, row, header="part_no,name,unit_cost,price,part_no")
    assert error_locs(header) == [["body", "header"]] * 3  # unknown, repeated, missing
    too_many = [f"P-{n},Part,1.00,2.00," for n in range(MAX_IMPORT_ROWS + 1)]
    assert error_locs(await imported(store, *too_many)) == [["body"]]
    quoted = await imported(store, 'Q-1,"Fuse, slow ""T""",0.80,2.50,')
    assert quoted.json() == {"created": 1, "updated": 0}
    assert (await store.get("/parts/Q-1")).json()["name"] == 'Fuse, slow "T"'
    assert [p[0] for p in await price_list(store)] == ["FUSE-5A", "Q-1"]


# --- who may keep the store ----------------------------------------------------------------------


async def test_only_the_storekeeper_and_admin_keep_the_store_and_every_role_reads_it(
    api: Api,
) -> None:
    store = await api.as_user("store1")
    await listed(store, stock_on_hand=5)
    # (method, path, request, the admin's answer)
    writes = [
        ("POST", "/parts", {"json": part_body("NEW-1")}, 201),
        ("PATCH", "/parts/FUSE-5A", {"json": {"name": "x"}}, 200),
        ("DELETE", "/parts/FUSE-5A", {}, 409),  # it has moved: to be discontinued instead
        ("POST", "/parts/FUSE-5A/receipts", {"json": {"qty": 1}}, 200),
        ("POST", "/parts/import", {"content": f"{HEADER}\nNEW-2,x,1,2,\n", "headers": CSV}, 200),
    ]
    reads = ["/parts", "/parts/FUSE-5A", "/parts/FUSE-5A/movements"]
    for username, roles in STAFF.items():
        client = await api.as_user(username)
        for path in reads:
            assert (await client.get(path)).status_code == 200, (username, path)
        if "storekeeper" in roles:
            continue
        for method, path, request, _ in writes:
            answer = await client.request(method, path, **request)
            assert answer.status_code == 403, (username, method, path, answer.text)
            assert "storekeeper" in answer.json()["detail"]
    for path in reads:
        assert (await api.anonymous.get(path)).status_code == 401
    for method, path, request, _ in writes:
        assert (await api.anonymous.request(method, path, **request)).status_code == 401
    assert await price_list(store) == [("FUSE-5A", "0.80", "2.50", 5)]
    assert await kinds(store, "FUSE-5A") == [("count", 5)]

    admin = await api.as_user("admin")
    for method, path, request, expected in writes:
        answer = await admin.request(method, path, **request)
        assert answer.status_code == expected, (method, path, answer.text)
    assert [p[0] for p in await price_list(store)] == ["FUSE-5A", "NEW-1", "NEW-2"]
