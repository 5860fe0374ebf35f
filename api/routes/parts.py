"""The parts store (R19): the price list with each part's stock on hand, receipts into stock, a
CSV import of the price list, and each part's movements.

Every staff role reads it (a technician checks the stock before quoting); the storekeeper and
the admin keep it. A part number may hold a `/`: the routes take the rest of the path as the
part number, so a part's `/receipts` and `/movements` are matched before the part itself.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from api.deps import SessionDep, reader, require_roles
from api.errors import ErrorBody
from api.params import Limit, Offset
from api.schemas.parts import (
    ImportResult,
    MovementPublic,
    PartCreate,
    PartPublic,
    PartUpdate,
    ReceiptBody,
)
from models.price_list import MAX_IMPORT_ROWS
from models.refusals import INVALID_PAYLOAD, Refused
from models.roles import STORE_ROLES, Reading
from models.tables import User
from models.values import PartNumber
from store import parts

Keeper = Annotated[User, Depends(require_roles(*STORE_ROLES))]
Reader = Annotated[User, Depends(reader(Reading.PARTS))]
PartNo = Annotated[PartNumber, Path(description="the part number")]
Search = Annotated[
    str, Query(min_length=1, max_length=200, description="part of the number or the name")
]

CSV = "text/csv"
UTF_8 = ("utf-8", "utf8")
CSV_EXAMPLE = (
    "part_no,name,unit_cost,list_price,stock_on_hand\n"
    "FUSE-5A,Fuse 5 A,0.80,2.50,100\n"
    "BOARD-55,Main board TV-55,180.00,300.00,\n"
)
CSV_BODY = {
    "requestBody": {
        "required": True,
        "description": (
            "UTF-8 CSV: a header naming the columns `part_no`, `name`, `unit_cost`, "
            "`list_price` and optionally `stock_on_hand` (any order), then at most "
            f"{MAX_IMPORT_ROWS} rows, each part number once. `stock_on_hand` is the opening "
            "count of a new part; for a listed part it must be empty or what is on hand."
        ),
        "content": {CSV: {"schema": {"type": "string"}, "example": CSV_EXAMPLE}},
    }
}
NOT_CSV = {"model": ErrorBody, "description": f"the body is not {CSV} in UTF-8"}

router = APIRouter(prefix="/parts", tags=["parts"])


@router.get("", response_model=list[PartPublic])
def list_parts(
    db: SessionDep,
    _: Reader,
    response: Response,
    q: Search | None = None,
    active: bool | None = None,
    in_stock: bool | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[PartPublic]:
    """The price list by part number: `q` finds part of the number or name (any case),
    `active=false` the discontinued parts, `in_stock` those with (or without) stock on hand;
    `X-Total-Count` tells how many match."""
    found, total = parts.find_parts(
        db, q=q, active=active, in_stock=in_stock, limit=limit, offset=offset
    )
    response.headers["X-Total-Count"] = str(total)
    return [PartPublic.from_record(part) for part in found]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PartPublic)
def create_part(new: PartCreate, db: SessionDep, user: Keeper) -> PartPublic:
    """Lists a part; a `stock_on_hand` above 0 is recorded as its opening count. 409 if the
    part number is listed already."""
    return PartPublic.from_record(parts.create_part(db, new.model_dump(), user.username))


async def csv_text(request: Request) -> str:
    """The raw body, which must be UTF-8 CSV (415 naming what is expected otherwise)."""
    media_type, *parameters = request.headers.get("content-type", "").lower().split(";")
    named = dict(p.strip().partition("=")[::2] for p in parameters)
    if media_type.strip() != CSV or named.get("charset", "utf-8").strip('"') not in UTF_8:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"send the price list as {CSV} in UTF-8 (Content-Type: {CSV})",
        )
    try:
        return (await request.body()).decode("utf-8-sig")
    except UnicodeDecodeError:
        message = "the file is not UTF-8 text"
        raise Refused(
            INVALID_PAYLOAD,
            message,
            errors=[{"loc": ["body"], "msg": message, "type": "value_error"}],
        ) from None


@router.post(
    "/import", response_model=ImportResult, openapi_extra=CSV_BODY, responses={415: NOT_CSV}
)
def import_parts(
    user: Keeper, db: SessionDep, text: Annotated[str, Depends(csv_text)]
) -> ImportResult:
    """Lists new parts and updates the name and prices of listed ones from a CSV file. All or
    nothing: a file with a bad row changes nothing, and the 422 names each bad row (the
    header is row 1) and field."""
    created, updated = parts.import_csv(db, text, user.username)
    return ImportResult(created=created, updated=updated)


@router.post("/{part_no:path}/receipts", response_model=PartPublic)
def receive(part_no: PartNo, receipt: ReceiptBody, db: SessionDep, user: Keeper) -> PartPublic:
    """Takes a delivery of the part into stock: the part with its new stock on hand."""
    part = parts.receive(db, part_no, receipt.qty, user.username, receipt.note)
    return PartPublic.from_record(part)


@router.get("/{part_no:path}/movements", response_model=list[MovementPublic])
def list_movements(
    part_no: PartNo,
    db: SessionDep,
    _: Reader,
    response: Response,
    limit: Limit = 50,
    offset: Offset = 0,
) -> list[MovementPublic]:
    """Every change of the part's stock, newest first; `X-Total-Count` tells how many."""
    found, total = parts.movements(db, part_no, limit, offset)
    response.headers["X-Total-Count"] = str(total)
    return [MovementPublic.from_record(movement) for movement in found]


@router.get("/{part_no:path}", response_model=PartPublic)
def get_part(part_no: PartNo, db: SessionDep, _: Reader) -> PartPublic:
    return PartPublic.from_record(parts.get_part(db, part_no))


@router.patch("/{part_no:path}", response_model=PartPublic)
def update_part(part_no: PartNo, changes: PartUpdate, db: SessionDep, _: Keeper) -> PartPublic:
    """Changes the name, the prices, or `active` (false: discontinued)."""
    part = parts.get_part(db, part_no)
    return PartPublic.from_record(parts.update_part(db, part, changes.changes()))


@router.delete("/{part_no:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_part(part_no: PartNo, db: SessionDep, _: Keeper) -> None:
    """Deletes a part listed by mistake; a part that ever moved is discontinued instead (409)."""
    parts.delete_part(db, parts.get_part(db, part_no))
