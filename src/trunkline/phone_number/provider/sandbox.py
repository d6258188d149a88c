"""A deterministic, offline number provider for development, tests and demos.

Its catalogue is generated from the numbering-plan metadata of ``phonenumbers``: for every
country and number type that has an example number, the *block* of numbers that share all but
the example's last four digits, keeping those the library says are valid numbers of that type.
Nothing is stored: membership is a computation, so ``search`` and ``quote`` always agree and
every answer is the same on every machine. The sandbox does not track who bought what (that is
the inventory's job), so two workspaces may buy the same sandbox number.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import lru_cache

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType

from trunkline.kit.e164 import parse_e164
from trunkline.phone_number.provider.base import NUMBER_TYPES, Capabilities, NumberType, Offer

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

CURRENCY = "USD"
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


def _offer(number: str, country_code: str, type: NumberType) -> Offer | None:
    info = parse_e164(number)
    if info is None or info.country_code != country_code or info.type != type:
        return None
    return Offer(
        number=info.e164,
        country_code=country_code,
        type=type,
        location=info.location,
        monthly_fee=monthly_fee(country_code, type),
        currency=CURRENCY,
        capabilities=CAPABILITIES[type],
    )


def _block(country_code: str, type: NumberType, contains: str | None) -> Iterator[Offer]:
    prefix = block_prefix(country_code, type)
    if prefix is None:
        return
    for i in range(10**BLOCK_DIGITS):
        number = f"{prefix}{i:0{BLOCK_DIGITS}d}"
        # Cheap substring test first: only candidates that match are validated.
        if contains and contains not in number[1:]:
            continue
        offer = _offer(number, country_code, type)
        if offer is not None:
            yield offer


class SandboxProvider:
    """Deterministic catalogue, no network (the default provider)."""

    name = "sandbox"

    async def search(
        self,
        *,
        country_code: str,
        type: NumberType | None,
        contains: str | None,
        limit: int,
    ) -> list[Offer]:
        """Up to ``limit`` offers, block by block in a fixed type order, ascending numbers."""
        types = (type,) if type is not None else NUMBER_TYPES
        out: list[Offer] = []
        for kind in types:
            for offer in _block(country_code, kind, contains):
                if len(out) >= limit:
                    return out
                out.append(offer)
        return out

    async def quote(self, number: str) -> Offer | None:
        """The offer for ``number`` if it lies in one of the catalogue's blocks."""
        info = parse_e164(number)
        if info is None or info.type not in _SEED_TYPES:
            return None
        kind: NumberType = info.type
        if block_prefix(info.country_code, kind) != info.e164[:-BLOCK_DIGITS]:
            return None
        return _offer(info.e164, info.country_code, kind)
