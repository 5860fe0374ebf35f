"""The work order's I/O (R17, R19): parts out of the store and back, priced at the moment,
and the advisors' weekly discount counts (store/parts.py, store/discounts.py). A refusal of
the store (out of stock, an unknown part) fails the activity for good, with its reason."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import invalid_data_is_final
from models.parts import PartLine, PricedPart, StockRequest
from models.refusals import Refused
from models.work_order import DiscountCount
from store import discounts, parts


@contextmanager
def refusals_are_final() -> Iterator[None]:
    """The store's refusal as a non-retryable failure of the same type and details."""
    try:
        yield
    except Refused as refused:
        raise ApplicationError(
            refused.message, refused.details, type=refused.type, non_retryable=True
        ) from None


class StockActivities:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @activity.defn
    def issue_stock(self, request: StockRequest) -> list[PricedPart]:
        """R19: the parts out of the store against the ticket, all or none, once per key."""
        with (
            refusals_are_final(),
            invalid_data_is_final(f"parts for {request.ticket_number}"),
            self.engine.begin() as connection,
        ):
            return parts.issue(connection, request)

    @activity.defn
    def return_stock(self, request: StockRequest) -> list[PricedPart]:
        """R19: unused parts back into the store, once per key."""
        with (
            refusals_are_final(),
            invalid_data_is_final(f"parts from {request.ticket_number}"),
            self.engine.begin() as connection,
        ):
            return parts.put_back(connection, request)

    @activity.defn
    def price_parts(self, lines: list[PartLine]) -> list[PricedPart]:
        """R19: the parts at the store's list prices of the moment (a quotation)."""
        with refusals_are_final(), self.engine.connect() as connection:
            return parts.price(connection, lines)

    @activity.defn
    def count_discount(self, request: DiscountCount) -> bool:
        """R17: whether the advisor's week has room for one more discount (counted if so)."""
        with invalid_data_is_final(f"discounts of {request.advisor}"), self.engine.begin() as db:
            return discounts.count_discount(db, request)
