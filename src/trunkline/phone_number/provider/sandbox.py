"""A deterministic, offline number provider for development, tests and demos.

Its catalogue is generated from the numbering-plan metadata of ``phonenumbers``: for every
country and number type that has an example number, the *block* of numbers that share all but
the example's last four digits, keeping those the library says are valid numbers of that type.
Nothing is stored: membership is a computation, so ``search`` and ``quote`` always agree and
every answer is the same on every machine. The sandbox does not track who bought what (that is
the inventory's job), so two workspaces may buy the same sandbox number.

Its prices are nominal: the same figures in whatever currency the workspace bills in (a real
provider would convert). Its outbound rate deck is ``sandbox_rates.RATE_DECK``; its SMS go to
no network: Trunkline's outbox (the ``sms_message`` rows) is where they arrive.
"""

from __future__ import annotations

import asyncio
import uuid
from array import array
from collections.abc import Set
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberFormat, PhoneNumberType

from trunkline.kit.e164 import parse_e164, type_name
from trunkline.phone_number.provider.base import (
    NUMBER_TYPES,
    Capabilities,
    NumberType,
    Offer,
    Rate,
    Requirement,
    SentSms,
)
from trunkline.phone_number.provider.sandbox_rates import REQUIREMENTS, rates_page

BLOCK_DIGITS = 4  # numbers vary in their last four digits: up to 10,000 per country and type

# phonenumbers types whose example may seed each of our types, in order of preference. A seed
# only counts if our own classification (kit.e164) of the example gives the wanted type, so
# e.g. the US, where mobile and fixed numbers are indistinguishable, offers no "mobile" block.
_SEED_TYPES: dict[NumberType, tuple[int, ...]] = {
    "local": (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE),
    "mobile": (PhoneNumberType.MOBILE,),
    "toll_free": (PhoneNumberType.TOLL_FREE,),
    "national": (
        PhoneNumberType.VOIP,
        PhoneNumberType.UAN,
        PhoneNumberType.SHARED_COST,
        PhoneNumberType.PERSONAL_NUMBER,
    ),
}

CAPABILITIES: dict[NumberType, Capabilities] = {
    "local": Capabilities(
        voice=True, sms=True, mms=True, fax=True, emergency=True, local_calling=True
    ),
    "mobile": Capabilities(
        voice=True, sms=True, mms=True, fax=False, emergency=True, local_calling=False
    ),
    "toll_free": Capabilities(
        voice=True, sms=True, mms=False, fax=False, emergency=False, local_calling=False
    ),
    "national": Capabilities(
        voice=True, sms=False, mms=False, fax=False, emergency=False, local_calling=False
    ),
}

_BASE_FEE: dict[NumberType, Decimal] = {
    "local": Decimal("1.15"),
    "mobile": Decimal("2.00"),
    "toll_free": Decimal("2.15"),
    "national": Decimal("1.50"),
}
# North American numbers are the cheapest; everything else carries an international surcharge.
_NANP_REGIONS = frozenset(phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(1, ()))
_INTERNATIONAL_SURCHARGE = Decimal("1.00")


def monthly_fee(country_code: str, type: NumberType) -> Decimal:
    """The sandbox price list: a base fee per type, plus a surcharge outside North America."""
    surcharge = Decimal(0) if country_code in _NANP_REGIONS else _INTERNATIONAL_SURCHARGE
    return _BASE_FEE[type] + surcharge


@lru_cache(maxsize=4096)
def block_prefix(country_code: str, type: NumberType) -> str | None:
    """The E.164 prefix of the (country, type) block, or None when the sandbox has none."""
    for seed in _SEED_TYPES[type]:
        example = phonenumbers.example_number_for_type(country_code, seed)
        if example is None:
            continue
        e164 = phonenumbers.format_number(example, PhoneNumberFormat.E164)
        info = parse_e164(e164)
        if info is not None and info.type == type and info.country_code == country_code:
            return e164[:-BLOCK_DIGITS]
    return None


@dataclass(frozen=True)
class _Block:
    """The numbers of a (country, type) block: ``prefix`` followed by a four-digit suffix."""

    country_code: str
    type: NumberType
    prefix: str
    base: PhoneNumber  # the parsed number with suffix 0000

    def number(self, suffix: int) -> str:
        return f"{self.prefix}{suffix:0{BLOCK_DIGITS}d}"

    def parsed(self, suffix: int) -> PhoneNumber:
        # Only the last digits vary, so the parse of the block's first number, shifted, is the
        # parse of any other (``fits`` checks it by formatting the number back).
        return PhoneNumber(
            country_code=self.base.country_code,
            national_number=(self.base.national_number or 0) + suffix,
            italian_leading_zero=self.base.italian_leading_zero,
            number_of_leading_zeros=self.base.number_of_leading_zeros,
        )

    def fits(self, suffix: int) -> bool:
        """Whether the library says this member is a valid number of the block's country and
        type, as ``kit.e164.parse_e164`` would (a valid number is one with a known type)."""
        parsed = self.parsed(suffix)
        return (
            type_name(phonenumbers.number_type(parsed)) == self.type
            and phonenumbers.region_code_for_number(parsed) == self.country_code
            and phonenumbers.format_number(parsed, PhoneNumberFormat.E164) == self.number(suffix)
        )

    def offer(self, suffix: int, currency: str) -> Offer:
        return Offer(
            number=self.number(suffix),
            country_code=self.country_code,
            type=self.type,
            location=None,  # the sandbox knows no places (and Trunkline keeps no geocoder)
            monthly_fee=monthly_fee(self.country_code, self.type),
            currency=currency,
            capabilities=CAPABILITIES[self.type],
        )


@lru_cache(maxsize=4096)
def _block(country_code: str, type: NumberType) -> _Block | None:
    prefix = block_prefix(country_code, type)
    if prefix is None:
        return None
    base = phonenumbers.parse(prefix + "0" * BLOCK_DIGITS, None)
    return _Block(country_code, type, prefix, base)


# Every (country, type) pair at most once per process: a few hundred milliseconds to compute,
# 20 kB to keep (the suffixes as unsigned shorts).
@lru_cache(maxsize=1024)
def _suffixes(country_code: str, type: NumberType) -> array[int]:
    """The suffixes of the block's numbers that are in the catalogue, ascending."""
    block = _block(country_code, type)
    if block is None:
        return array("H")
    return array("H", (i for i in range(10**BLOCK_DIGITS) if block.fits(i)))


def _search(
    country_code: str,
    type: NumberType | None,
    contains: str | None,
    exclude: Set[str],
    offset: int,
    limit: int,
    currency: str,
) -> tuple[list[Offer], int]:
    found: list[tuple[_Block, int]] = []
    for kind in (type,) if type is not None else NUMBER_TYPES:
        block = _block(country_code, kind)
        if block is None:
            continue
        for suffix in _suffixes(country_code, kind):
            number = block.number(suffix)
            if (contains and contains not in number[1:]) or number in exclude:
                continue
            found.append((block, suffix))
    page = found[offset : offset + limit]
    return [block.offer(suffix, currency) for block, suffix in page], len(found)


class SandboxProvider:
    """Deterministic catalogue, no network (the default provider)."""

    name = "sandbox"

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
        """A page of offers, block by block in a fixed type order, ascending numbers, and the
        count of all that match."""
        # CPU-bound (the numbering-plan checks of a whole block the first time): off the loop.
        return await asyncio.to_thread(
            _search, country_code, type, contains, exclude, offset, limit, currency
        )

    async def quote(self, number: str, *, currency: str) -> Offer | None:
        """The offer for ``number`` if it is in one of the catalogue's blocks."""
        info = parse_e164(number)
        if info is None or info.type not in _SEED_TYPES:
            return None
        kind: NumberType = info.type
        block = _block(info.country_code, kind)
        if block is None or block.prefix != info.e164[:-BLOCK_DIGITS]:
            return None
        suffix = int(info.e164[-BLOCK_DIGITS:])
        return block.offer(suffix, currency) if block.fits(suffix) else None

    def requirements(self, country_code: str, type: NumberType) -> list[Requirement]:
        """The sandbox's few regulated (country, type) pairs (``sandbox_rates.REQUIREMENTS``)."""
        return list(REQUIREMENTS.get((country_code, type), ()))

    async def rates(
        self,
        *,
        country_code: str | None,
        prefix: str | None,
        offset: int,
        limit: int,
        currency: str,
    ) -> tuple[list[Rate], int]:
        """A page of the fixed rate deck (a small table: no thread needed)."""
        return rates_page(
            country_code=country_code,
            prefix=prefix,
            offset=offset,
            limit=limit,
            currency=currency,
        )

    async def send_sms(self, *, sender: str, recipient: str, text: str) -> SentSms:
        """Nothing leaves the machine: the message is delivered as soon as it is recorded."""
        return SentSms(provider_message_id=f"sandbox-{uuid.uuid4().hex}", status="delivered")
