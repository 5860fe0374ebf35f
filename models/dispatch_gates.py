"""Who may be sent where (R33, R34): a site that requires a safety agreement takes a
technician only while one is valid, and a product category the policy names takes only a
technician holding a valid certificate for it. Pure: the API reads the records, these decide.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Validity:
    """A safety agreement's or a certificate's last valid day, and what names it."""

    valid_until: date
    reference: str


def valid_on(records: Iterable[Validity], day: date) -> Validity | None:
    """The record valid on `day` that lasts longest, if any."""
    valid = [record for record in records if record.valid_until >= day]
    return max(valid, key=lambda record: record.valid_until, default=None)


def safety_refusal(required: bool, agreements: list[Validity], day: date) -> str | None:
    """R33: why no technician may be sent to the site on `day`, or None."""
    if not required or valid_on(agreements, day) is not None:
        return None
    if not agreements:
        return (
            "this customer's site requires a signed safety agreement and none is recorded "
            "(R33): record it under /customers/{id}/safety-agreements first"
        )
    last = max(record.valid_until for record in agreements)
    return (
        f"this customer's site requires a signed safety agreement and the last one expired "
        f"on {last.isoformat()} (R33): record the renewed agreement first"
    )


def qualification_refusal(
    category: str | None,
    required_for: Iterable[str],
    technician: str,
    certificates: list[Validity],
    day: date,
) -> str | None:
    """R34: why `technician` may not be sent to a `category` product on `day`, or None."""
    if category is None or category not in required_for:
        return None
    if valid_on(certificates, day) is not None:
        return None
    held = "has none" if not certificates else "holds only expired ones"
    return (
        f"'{technician}' needs a valid '{category}' certificate for this product and {held} "
        "(R34): dispatch a qualified technician (GET /technicians?qualified_for="
        f"{category}) or record the certificate"
    )
