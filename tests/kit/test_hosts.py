"""kit/schema.is_host: what a SIP gateway may be (docs/api-decisions.md §4.1, §4.4) — one table of
cases."""

from __future__ import annotations

import pytest

from trunkline.kit.schema import is_host

HOSTS = [
    "sip.telnyx.com",
    "sip.zadarma.com",
    "localhost",
    "sip-1.eu.example.net",
    "sip.example.com.",  # fully qualified (root dot)
    "xn--bcher-kva.example",  # IDNA A-label
    "a" * 63 + ".com",  # longest label
    ".".join(["a" * 63] * 3) + "." + "a" * 63,  # 255 characters
    "1.2.3.4",
    "203.0.113.7",
    "255.255.255.255",
    "2001:db8::1",
    "::1",
    "[2001:db8::1]",
    "3com.example",  # a label may start with a digit
]

NOT_HOSTS = [
    "",
    " ",
    ".",
    "sip.example.com\n",  # a trailing newline must not slip through
    " sip.example.com",
    "sip.example.com..",
    "sip..example.com",
    ".sip.example.com",
    "sip.example.com:5060",  # port
    "1.2.3.4:5060",
    "[::1]:5060",
    "sip:sip.example.com",  # SIP URI
    "sips:sip.example.com",
    "https://sip.example.com",  # URL
    "sip.example.com/path",
    "user@sip.example.com",
    "+12025550123",  # phone numbers
    "12025550123",
    "1-202-555-0123",
    "999.1.1.1",  # not an IPv4, and a numeric top label is no host name
    "01.2.3.4",
    "1.2.3",
    "-sip.example.com",
    "sip-.example.com",
    "a" * 64 + ".com",  # label too long
    ".".join(["a" * 63] * 4) + ".a",  # 256 characters
    "_sip._udp.example.com",  # SRV owner name, not a host
    "sip example.com",
    "sip.exämple.com",  # U-labels must be sent as A-labels
    "<string>",
]


@pytest.mark.parametrize("value", HOSTS)
def test_hosts(value: str) -> None:
    assert is_host(value) is True


@pytest.mark.parametrize("value", NOT_HOSTS)
def test_not_hosts(value: str) -> None:
    assert is_host(value) is False
