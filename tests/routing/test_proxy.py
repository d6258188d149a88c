"""Who sent an INVITE behind a trusted proxy: one table of cases (routing/proxy.py)."""

from __future__ import annotations

import pytest

from trunkline.routing.proxy import (
    CallerSource,
    caller_source,
    parse_hostport,
    trusted_networks,
)

PROXIES = trusted_networks(["127.0.0.1", "10.1.0.0/16", "fd00::/64"])
KAMAILIO = ("10.1.2.3", 5060)
CARRIER = ("203.0.113.7", 5060)


class TestCallerSource:
    @pytest.mark.parametrize(
        ("packet", "headers", "expected"),
        [
            # no header: the packet's source, whoever sent it
            (CARRIER, [], CallerSource("203.0.113.7", 5060)),
            (KAMAILIO, [], CallerSource("10.1.2.3", 5060)),
            # a trusted proxy's header names the carrier
            (
                KAMAILIO,
                ["203.0.113.7:5062"],
                CallerSource("203.0.113.7", 5062, proxy="10.1.2.3"),
            ),
            (
                ("127.0.0.1", 5070),
                [" 198.51.100.2:5060 "],
                CallerSource("198.51.100.2", 5060, proxy="127.0.0.1"),
            ),
            (
                ("fd00::5", 5060),
                ["[2001:db8::9]:5080"],
                CallerSource("2001:db8::9", 5080, proxy="fd00::5"),
            ),
            (KAMAILIO, ["203.0.113.7"], CallerSource("203.0.113.7", 0, proxy="10.1.2.3")),
            # a spoofed header from anyone else is ignored: the packet source decides
            (
                CARRIER,
                ["198.51.100.2:5060"],
                CallerSource(
                    "203.0.113.7",
                    5060,
                    ignored="X-Trunkline-Source from 203.0.113.7, no trusted proxy",
                ),
            ),
            (
                ("10.2.0.1", 5060),  # next to the trusted block, not in it
                ["198.51.100.2:5060"],
                CallerSource(
                    "10.2.0.1", 5060, ignored="X-Trunkline-Source from 10.2.0.1, no trusted proxy"
                ),
            ),
            # a proxy that did not strip the carrier's own header: fail closed
            (
                KAMAILIO,
                ["198.51.100.2:5060", "203.0.113.7:5060"],
                CallerSource("10.1.2.3", 5060, ignored="2 X-Trunkline-Source headers"),
            ),
            (
                KAMAILIO,
                ["sip.carrier.example:5060"],
                CallerSource(
                    "10.1.2.3",
                    5060,
                    ignored="malformed X-Trunkline-Source: 'sip.carrier.example:5060'",
                ),
            ),
        ],
    )
    def test_table(
        self, packet: tuple[str, int], headers: list[str], expected: CallerSource
    ) -> None:
        assert caller_source(packet, headers, PROXIES) == expected

    def test_no_trusted_proxies_ignores_every_header(self) -> None:
        got = caller_source(KAMAILIO, ["203.0.113.7:5060"], ())
        assert got == CallerSource(
            "10.1.2.3", 5060, ignored="X-Trunkline-Source from 10.1.2.3, no trusted proxy"
        )


class TestParseHostport:
    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("192.0.2.1:5060", ("192.0.2.1", 5060)),
            ("192.0.2.1", ("192.0.2.1", 0)),
            ("[::1]:5060", ("::1", 5060)),
            ("[::1]", ("::1", 0)),
            ("2001:db8::1", ("2001:db8::1", 0)),
            ("192.0.2.1:99999", None),
            ("192.0.2.1:abc", None),
            ("[::1]x", None),
            ("[::1", None),
            ("host.example:5060", None),
            ("", None),
        ],
    )
    def test_table(self, text: str, expected: tuple[str, int] | None) -> None:
        assert parse_hostport(text) == expected


class TestTrustedNetworks:
    def test_addresses_and_blocks(self) -> None:
        nets = trusted_networks(["127.0.0.1", " 10.0.0.0/8 ", "", "::1"])
        assert [str(n) for n in nets] == ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]

    def test_bad_value_raises(self) -> None:
        with pytest.raises(ValueError, match="not-an-ip"):
            trusted_networks(["not-an-ip"])
