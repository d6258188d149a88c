"""The sandbox provider's fixed tables: its outbound rate deck and its regulated numbers.

Small, hand-written and deterministic, so examples and tests give the same answers everywhere.
Prices are per minute and nominal: the same figures in whatever currency is asked for.
"""

from __future__ import annotations

from decimal import Decimal
from typing import NamedTuple

from trunkline.phone_number.provider.base import NumberType, Rate, Requirement


class _Row(NamedTuple):
    country_code: str
    country_name: str
    destination_prefix: str
    description: str
    min_duration_seconds: int
    billing_increment_seconds: int
    per_minute: str


# Ordered by country code, then destination prefix (the order every page keeps).
RATE_DECK: tuple[_Row, ...] = (
    _Row("CA", "Canada", "1416", "Canada - Toronto", 6, 6, "0.0120"),
    _Row("CA", "Canada", "1514", "Canada - Montreal", 6, 6, "0.0120"),
    _Row("DE", "Germany", "49", "Germany - fixed", 60, 1, "0.0150"),
    _Row("DE", "Germany", "4915", "Germany - mobile (15x)", 60, 1, "0.0480"),
    _Row("DE", "Germany", "4917", "Germany - mobile (17x)", 60, 1, "0.0480"),
    _Row("ES", "Spain", "34", "Spain - fixed", 60, 1, "0.0140"),
    _Row("ES", "Spain", "346", "Spain - mobile", 60, 1, "0.0390"),
    _Row("FR", "France", "33", "France - fixed", 60, 1, "0.0130"),
    _Row("FR", "France", "336", "France - mobile (6)", 60, 1, "0.0420"),
    _Row("FR", "France", "337", "France - mobile (7)", 60, 1, "0.0420"),
    _Row("GB", "United Kingdom", "44", "United Kingdom - fixed", 1, 1, "0.0110"),
    _Row("GB", "United Kingdom", "447", "United Kingdom - mobile", 1, 1, "0.0350"),
    _Row("IT", "Italy", "39", "Italy - fixed", 60, 1, "0.0160"),
    _Row("IT", "Italy", "393", "Italy - mobile", 60, 1, "0.0450"),
    _Row("NL", "Netherlands", "31", "Netherlands - fixed", 60, 1, "0.0170"),
    _Row("NL", "Netherlands", "316", "Netherlands - mobile", 60, 1, "0.0550"),
    _Row("US", "United States", "1", "United States - fixed and mobile", 6, 6, "0.0100"),
)

ORIGINATION = "any"  # the sandbox prices calls the same from every origin


def _rate(row: _Row, currency: str) -> Rate:
    return Rate(
        country_code=row.country_code,
        country_name=row.country_name,
        destination_prefix=row.destination_prefix,
        origination=ORIGINATION,
        description=row.description,
        min_duration_seconds=row.min_duration_seconds,
        billing_increment_seconds=row.billing_increment_seconds,
        price_per_minute=Decimal(row.per_minute),
        currency=currency,
    )


def rates_page(
    *, country_code: str | None, prefix: str | None, offset: int, limit: int, currency: str
) -> tuple[list[Rate], int]:
    """The deck's rows of ``country_code`` whose destination prefix starts with ``prefix``
    (either filter None = any): the page at ``offset`` and how many match in all."""
    found = [
        row
        for row in RATE_DECK
        if (country_code is None or row.country_code == country_code)
        and (prefix is None or row.destination_prefix.startswith(prefix))
    ]
    return [_rate(row, currency) for row in found[offset : offset + limit]], len(found)


_ADDRESS = Requirement(
    name="address",
    type="address",
    description="A street address in the number's area: street_address, locality and postal_code.",
)
_PROOF_OF_ADDRESS = Requirement(
    name="proof_of_address",
    type="document",
    description="A utility bill or bank statement under 3 months old showing the address "
    "(document_id of an uploaded document).",
)
_IDENTITY = Requirement(
    name="identity_number",
    type="textual",
    description="The holder's national identity or company registration number (value).",
)

# (country, type) → what must be supplied to buy such a number; every other pair needs nothing.
REQUIREMENTS: dict[tuple[str, NumberType], tuple[Requirement, ...]] = {
    ("DE", "local"): (_ADDRESS,),
    ("FR", "local"): (_ADDRESS,),
    ("IT", "local"): (_ADDRESS, _PROOF_OF_ADDRESS),
    ("IT", "mobile"): (_IDENTITY,),
}
