"""Phone numbers through a real numbering-plan library (phonenumbers), never a regex."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberType

_E164_SHAPE = re.compile(r"^\+[1-9]\d{1,14}$")

_TYPE_NAMES = {
    PhoneNumberType.FIXED_LINE: "local",
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "local",
    PhoneNumberType.MOBILE: "mobile",
    PhoneNumberType.TOLL_FREE: "toll_free",
    PhoneNumberType.PREMIUM_RATE: "national",
    PhoneNumberType.SHARED_COST: "national",
    PhoneNumberType.VOIP: "national",
    PhoneNumberType.PERSONAL_NUMBER: "national",
    PhoneNumberType.UAN: "national",
}

COUNTRY_CODES: frozenset[str] = frozenset(phonenumbers.SUPPORTED_REGIONS)


def type_name(raw: int) -> str:
    """Trunkline's name for a ``phonenumbers`` number type (``unknown`` when it has none)."""
    return _TYPE_NAMES.get(raw, "unknown")


@dataclass(frozen=True)
class NumberInfo:
    e164: str
    country_code: str  # ISO-3166 alpha-2 region, e.g. "US"
    type: str  # local | toll_free | mobile | national | unknown

    @property
    def digits(self) -> str:
        return self.e164[1:]


# No location: phonenumbers.geocoder keeps ~100 MB of place names resident for a cosmetic
# field; a number's location comes from the provider that sells it, or stays unknown.
def parse_e164(value: str) -> NumberInfo | None:
    """The number's facts if ``value`` is ``+digits`` and valid for its country, else None."""
    if not isinstance(value, str) or not _E164_SHAPE.fullmatch(value):  # "$" allows "\n"
        return None
    return _parse(value)


# A request parses its number more than once (schema validation, then the service); a parse
# is ~0.3 ms of phonenumbers. Results are immutable facts of the numbering plan.
@functools.lru_cache(maxsize=4096)
def _parse(value: str) -> NumberInfo | None:
    try:
        parsed = phonenumbers.parse(value, None)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    region = phonenumbers.region_code_for_number(parsed) or "ZZ"
    kind = _TYPE_NAMES.get(phonenumbers.number_type(parsed), "unknown")
    return NumberInfo(
        e164=phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        country_code=region,
        type=kind,
    )


def is_e164_shaped(value: str) -> bool:
    """``+`` and 2-15 digits: the only form an E.164 column can hold."""
    return bool(_E164_SHAPE.fullmatch(value))


def normalize_query(value: str) -> str:
    """A number given in a query string, with or without ``+`` (a ``+`` may arrive as a space)."""
    value = value.strip().replace("\x00", "")
    return value if value.startswith("+") else f"+{value}"


def e164_or_none(value: str) -> str | None:
    """The E.164 form of a free-text number if it parses as a valid one (used for comparisons)."""
    text = value.strip()
    candidate = text if text.startswith("+") else f"+{text}"
    compact = "+" + re.sub(r"\D", "", candidate)
    info = parse_e164(compact)
    return info.e164 if info else None
