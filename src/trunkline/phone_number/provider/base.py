"""The number-provider seam: where Trunkline finds and buys numbers (docs/api-decisions.md §4.3).

A provider answers two questions: which numbers can be bought (``search``) and whether one
given number can be bought, at what price and with which capabilities (``quote``). Buying
itself is recorded by Trunkline; a provider that must reserve a number upstream would do it in
``quote``'s caller's transaction boundary, which the sandbox does not need.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

NumberType = Literal["local", "toll_free", "mobile", "national"]
NUMBER_TYPES: tuple[NumberType, ...] = ("local", "toll_free", "mobile", "national")


@dataclass(frozen=True)
class Capabilities:
    voice: bool
    sms: bool
    mms: bool
    fax: bool
    emergency: bool
    local_calling: bool

    def as_dict(self) -> dict[str, bool]:
        return {
            "voice": self.voice,
            "sms": self.sms,
            "mms": self.mms,
            "fax": self.fax,
            "emergency": self.emergency,
            "local_calling": self.local_calling,
        }


@dataclass(frozen=True)
class Offer:
    """A number the provider can sell, and on what terms."""

    number: str  # E.164
    country_code: str  # ISO-3166 alpha-2
    type: NumberType
    location: str | None
    monthly_fee: Decimal
    currency: str
    capabilities: Capabilities


class NumberProvider(Protocol):
    name: str

    async def search(
        self,
        *,
        country_code: str,
        type: NumberType | None,
        contains: str | None,
        exclude: Set[str],
        offset: int,
        limit: int,
    ) -> tuple[list[Offer], int]:
        """One page of the available numbers of a country (and type) whose digits contain
        ``contains``, leaving out the E.164 numbers in ``exclude``: the offers at positions
        ``offset`` to ``offset + limit - 1``, and how many there are in all. The order is stable,
        so consecutive pages of the same query neither overlap nor skip."""
        ...

    async def quote(self, number: str) -> Offer | None:
        """The offer for one E.164 number, or None when the provider cannot sell it."""
        ...
