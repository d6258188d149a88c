"""Dialled numbers as carriers send them → the E.164 numbers they may mean. Pure.

Carriers and PBXs put the called number in the Request-URI (or only in To) in every shape:
``+12025550123``, ``12025550123``, ``0012025550123``, ``011 1 202 555 0123``, national
``(202) 555-0123`` or ``02071234567``, with ``;user=phone`` or visual separators (RFC 3966
§5.1.1 allows ``-``, ``.``, ``(``, ``)``). Routing compares numbers in E.164 only, through the
numbering-plan library — never by string tricks on the stored value.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import phonenumbers
from phonenumbers import NumberParseException

from trunkline.kit.e164 import is_e164_shaped

# RFC 3966 visual separators, plus spaces and the "tel:"-style leading "+" that SIP URIs keep.
_SEPARATORS = re.compile(r"[\s\-.()\[\]/]")
_DIGITS = re.compile(r"\d{1,20}")
# International call prefixes that stand for "+": ITU-T E.164 "00", and "011" in the NANP.
_IDD_PREFIXES = ("00", "011")


@dataclass(frozen=True)
class Dialled:
    """What the carrier sent, cleaned: ``digits`` (no separators, no ``+``) and whether the
    carrier marked it as international (a ``+``, or an ``00``/``011`` prefix it already
    stripped into ``international_digits``)."""

    raw: str
    digits: str
    international_digits: str | None


def clean(user: str) -> Dialled | None:
    """The digits of a SIP URI user part (``None`` when it holds no phone number at all).

    A URI user may carry RFC 3966 parameters (``+12025550123;npdi;rn=…``): they go. Letters
    (an extension name like ``alice``) mean it is not a number.
    """
    text = user.split(";", 1)[0]
    text = _SEPARATORS.sub("", text)
    plus = text.startswith("+")
    digits = text[1:] if plus else text
    if not _DIGITS.fullmatch(digits):
        return None
    if plus:
        return Dialled(user, digits, digits)
    for prefix in _IDD_PREFIXES:
        if digits.startswith(prefix) and len(digits) > len(prefix) + 6:
            return Dialled(user, digits, digits[len(prefix) :])
    return Dialled(user, digits, None)


def apply_normalizer(digits: str, normalizer: Mapping[str, str | None] | None) -> str:
    """A PBX connector's normalizer: a number with ``condition_length`` digits that starts
    with ``condition_prefix`` gets ``default_prefix`` prepended (both conditions optional;
    no ``default_prefix`` means no rewrite)."""
    if not normalizer or not normalizer.get("default_prefix"):
        return digits
    length = normalizer.get("condition_length")
    prefix = normalizer.get("condition_prefix") or ""
    if length and len(digits) != int(length):
        return digits
    if not digits.startswith(prefix):
        return digits
    return f"{normalizer['default_prefix']}{digits}".lstrip("+")


@functools.lru_cache(maxsize=8192)
def _e164(text: str, region: str | None) -> str | None:
    """``text`` (national digits read in ``region``, or ``+digits`` with ``region`` None) in
    E.164 if it is a valid number, else None."""
    try:
        parsed = phonenumbers.parse(text, region)
    except NumberParseException:
        return None
    if not phonenumbers.is_valid_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


# Every INVITE asks only "is +digits a valid number, and its E.164 form": kit.e164's
# parse_e164 also works out the number's region and type, which walks the numbering plan's
# descriptors twice more: 68-70 -> 42-43 us of CPU per number not yet cached (a NANP number,
# 2,700 seeded numbers, 3 rounds). Same verdicts (tests/routing/test_numbers.py).
def valid_e164(value: str) -> str | None:
    """``value`` (``+digits``) in E.164 if it is a valid number, else None."""
    return _e164(value, None) if is_e164_shaped(value) else None


def candidates(dialled: Dialled, regions: Iterable[str] = ()) -> tuple[str, ...]:
    """Every valid E.164 number the dialled digits may mean, most specific first.

    - marked international (``+``, ``00``, ``011``): only that reading;
    - bare digits: the digits with a ``+`` (``12025550123`` → ``+12025550123``), then the
      national reading in each of ``regions`` (the countries of the numbers the trusting
      source holds: "national format in the number's country").
    """
    if dialled.international_digits is not None:
        e164 = valid_e164(f"+{dialled.international_digits}")
        return (e164,) if e164 else ()
    found: list[str] = []
    e164 = valid_e164(f"+{dialled.digits}")
    if e164:
        found.append(e164)
    for region in sorted(set(regions)):
        e164 = _e164(dialled.digits, region)
        if e164 and e164 not in found:
            found.append(e164)
    return tuple(found)


def national_suffix(dialled: Dialled) -> str | None:
    """The trailing digits a national reading must end with (the dialled digits without a
    national trunk prefix ``0``): lets the facts read find a trusting source's numbers that a
    national number may mean before the region is known. ``None`` for international forms."""
    if dialled.international_digits is not None:
        return None
    suffix = dialled.digits.lstrip("0")
    return suffix if len(suffix) >= 6 else None
