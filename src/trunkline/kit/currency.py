"""Currencies: the ISO 4217 codes a workspace may bill in, and the default (EUR, as in the
upstream API's examples)."""

from __future__ import annotations

DEFAULT_CURRENCY = "EUR"

# Active ISO 4217 alphabetic codes (national currencies and the fund codes that banks quote);
# precious metals, testing and "no currency" codes (XAU, XTS, XXX, ...) are left out: nobody
# is billed in them.
ISO_4217: frozenset[str] = frozenset(
    # One string split, not a literal of 166 items (SIM905 would put one code per line).
    """
    AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB BOV BRL BSD
    BTN BWP BYN BZD CAD CDF CHE CHF CHW CLF CLP CNY COP COU CRC CUP CVE CZK DJF DKK DOP DZD
    EGP ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD
    IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD MDL
    MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB PEN
    PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN
    SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD USN UYI UYU UYW UZS VED VES
    VND VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG
    """.split()  # noqa: SIM905
)


def parse_currency(value: str) -> str | None:
    """The ISO 4217 code ``value`` names (any case, surrounding blanks ignored), or None."""
    code = value.strip().upper()
    return code if code in ISO_4217 else None
