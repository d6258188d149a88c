"""The number-provider seam: where Trunkline finds and buys numbers (docs/api-decisions.md §4.3).

A provider answers which numbers can be bought (``search``), whether one given number can be
bought, at what price and with which capabilities (``quote``), what a country's numbers demand
for compliance (``requirements``) and what outbound calls cost (``rates``); it also sends SMS
(``send_sms``). Buying itself is recorded by Trunkline; a provider that must reserve a number
upstream would do it in ``quote``'s caller's transaction boundary, which the sandbox does not
need.

Prices are asked for in the workspace's currency (``currency``, ISO 4217): a provider converts
its own price list, or quotes in that currency directly (docs/api-decisions.md §6.8).
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


RequirementType = Literal["address", "document", "textual"]


@dataclass(frozen=True)
class Requirement:
    """Something a regulator demands before a number of a country and type is sold."""

    name: str  # the ``key`` a buy request's requirement entry names it by
    type: RequirementType
    description: str


@dataclass(frozen=True)
class Rate:
    """The price of outbound calls to the numbers starting with ``destination_prefix``."""

    country_code: str  # ISO-3166 alpha-2
    country_name: str
    destination_prefix: str  # E.164 digits without "+"
    origination: str  # where the call leaves from (e.g. "any")
    description: str
    min_duration_seconds: int
    billing_increment_seconds: int
    price_per_minute: Decimal
    currency: str


@dataclass(frozen=True)
class SentSms:
    """What the provider answered to one message handed to it."""

    provider_message_id: str
    status: str  # "delivered" (the sandbox's outbox) or "queued" (a carrier still has it)


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
        currency: str,
    ) -> tuple[list[Offer], int]:
        """One page of the available numbers of a country (and type) whose digits contain
        ``contains``, leaving out the E.164 numbers in ``exclude``: the offers at positions
        ``offset`` to ``offset + limit - 1``, and how many there are in all. The order is stable,
        so consecutive pages of the same query neither overlap nor skip."""
        ...

    async def quote(self, number: str, *, currency: str) -> Offer | None:
        """The offer for one E.164 number, or None when the provider cannot sell it."""
        ...

    def requirements(self, country_code: str, type: NumberType) -> list[Requirement]:
        """What must be supplied to buy a number of this country and type ([] when nothing)."""
        ...

    async def rates(
        self,
        *,
        country_code: str | None,
        prefix: str | None,
        offset: int,
        limit: int,
        currency: str,
    ) -> tuple[list[Rate], int]:
        """One page of the outbound rate deck (filtered by destination country and by a prefix
        of the destination digits), ordered by country then prefix, and how many match."""
        ...

    async def send_sms(self, *, sender: str, recipient: str, text: str) -> SentSms:
        """Hand one message from ``sender`` (a number the workspace owns) to ``recipient``."""
        ...
