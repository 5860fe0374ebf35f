"""The parts store's price list (R19): one entry's fields and rules, as `POST /parts` and each
row of a CSV import give them, and the reading of such a file into entries — or into the
errors of every bad row, each named by its row number (the header is row 1) and field, never
by the value sent. Pure: no database; the store checks what needs one.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from models.values import MoneyIn, PartNumber, ShortText

MAX_IMPORT_ROWS = 5000
"""Rows of one import file, header not counted."""
MAX_STOCK = 1_000_000
"""The largest stock of one part a count may state."""
REQUIRED_COLUMNS = ("part_no", "name", "unit_cost", "list_price")
OPTIONAL_COLUMNS = ("stock_on_hand",)
HEADER_ROW = 1

StockCount = Annotated[int, Field(ge=0, le=MAX_STOCK)]


class PriceListEntry(BaseModel):
    """One part of the price list, with its opening stock (a count; 0 when left out)."""

    model_config = ConfigDict(extra="forbid")

    part_no: PartNumber
    name: ShortText
    unit_cost: MoneyIn
    """What the store pays for one."""
    list_price: MoneyIn
    """What a customer is charged for one."""
    stock_on_hand: StockCount = 0


@dataclass
class ImportRow:
    """A valid row: its row number, its entry, and whether it stated a stock count."""

    row: int
    entry: PriceListEntry
    counted: bool


@dataclass
class PriceListFile:
    """A file read: its valid rows, and an error for each problem of the others."""

    rows: list[ImportRow] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    row_of: dict[str, int] = field(default_factory=dict)
    """The row of each valid part number."""

    def refuse(
        self, row: int | None, column: str | None, message: str, kind: str = "value_error"
    ) -> None:
        where: list[str | int] = ["body"]
        if row is not None:
            where += ["row", row] if row != HEADER_ROW else ["header"]
        if column is not None:
            where.append(column)
        self.errors.append({"loc": where, "msg": message, "type": kind})


def _columns(header: list[str], found: PriceListFile) -> list[str] | None:
    """The header's column names, or None (with the errors) when it is not a usable one."""
    names = [name.strip() for name in header]
    known = set(REQUIRED_COLUMNS + OPTIONAL_COLUMNS)
    for position, name in enumerate(names, start=1):
        if name not in known:
            found.refuse(HEADER_ROW, None, f"column {position} is not one of {sorted(known)}")
        elif name in names[: position - 1]:
            found.refuse(HEADER_ROW, None, f"column {position} repeats an earlier one")
    for name in REQUIRED_COLUMNS:
        if name not in names:
            found.refuse(HEADER_ROW, None, f"the header lacks the column {name}", "missing")
    return None if found.errors else names


def _entry(row: int, columns: list[str], cells: list[str], found: PriceListFile) -> None:
    if len(cells) != len(columns):
        found.refuse(row, None, f"{len(cells)} cells where the header has {len(columns)}")
        return
    values = dict(zip(columns, cells, strict=True))
    counted = bool(values.get("stock_on_hand"))
    if not counted:
        values.pop("stock_on_hand", None)
    try:
        entry = PriceListEntry.model_validate(values)
    except ValidationError as invalid:
        for error in invalid.errors(include_input=False, include_url=False):
            found.refuse(row, str(error["loc"][0]), error["msg"], error["type"])
        return
    if (first := found.row_of.get(entry.part_no)) is not None:
        found.refuse(row, "part_no", f"the same part number as row {first}")
        return
    found.row_of[entry.part_no] = row
    found.rows.append(ImportRow(row, entry, counted))


def read_price_list(text: str) -> PriceListFile:
    """Every row of the CSV `text` checked as a `PriceListEntry`: a header naming the columns
    (`part_no`, `name`, `unit_cost`, `list_price`, optionally `stock_on_hand`, in any order),
    then at most MAX_IMPORT_ROWS rows, each part number once. Cells are stripped, blank lines
    skipped."""
    found = PriceListFile()
    records = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(records, None)
        columns = _columns(header or [], found)
        if columns is None:
            return found
        for row, cells in enumerate(records, start=HEADER_ROW + 1):
            if row > HEADER_ROW + MAX_IMPORT_ROWS:
                found.refuse(None, None, f"more than {MAX_IMPORT_ROWS} rows", "too_long")
                return found
            if cells:
                _entry(row, columns, [cell.strip() for cell in cells], found)
    except csv.Error as unreadable:
        found.refuse(None, None, f"not CSV (line {records.line_num}): {unreadable}")
    return found
