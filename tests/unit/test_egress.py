"""The egress policy's pure decisions (kit/egress.py), one table each."""

from __future__ import annotations

import pytest

from trunkline.config import Settings
from trunkline.kit.egress import (
    EgressPolicy,
    EgressRefused,
    check_destination,
    check_host,
    resolve_allowed,
)

DEFAULT = EgressPolicy()
DEV = EgressPolicy.from_lists(allow=["127.0.0.0/8", "::1/128"])
CARVED = EgressPolicy.from_lists(allow=["10.1.2.3/32"], deny=["10.0.0.0/8", "203.0.113.0/24"])
BOTH = EgressPolicy.from_lists(allow=["192.0.2.0/24"], deny=["192.0.2.0/24"])


@pytest.mark.parametrize(
    ("ip", "policy", "refused_because"),
    [
        # default denials, IPv4
        ("127.0.0.1", DEFAULT, "loopback"),
        ("127.8.9.10", DEFAULT, "loopback"),
        ("0.0.0.0", DEFAULT, "unspecified"),
        ("169.254.169.254", DEFAULT, "link-local"),
        ("224.0.0.1", DEFAULT, "multicast"),
        ("239.255.255.250", DEFAULT, "multicast"),
        ("255.255.255.255", DEFAULT, "broadcast"),
        # default denials, IPv6 (and IPv4 carried in IPv6)
        ("::1", DEFAULT, "loopback"),
        ("[::1]", DEFAULT, "loopback"),
        ("::", DEFAULT, "unspecified"),
        ("fe80::1", DEFAULT, "link-local"),
        ("fe80::1%eth0", DEFAULT, "link-local"),
        ("ff02::1", DEFAULT, "multicast"),
        ("::ffff:127.0.0.1", DEFAULT, "loopback"),
        ("::ffff:169.254.169.254", DEFAULT, "link-local"),
        # allowed by default: public and private ranges (PBXs live there)
        ("203.0.113.5", DEFAULT, None),
        ("10.0.0.1", DEFAULT, None),
        ("192.168.1.20", DEFAULT, None),
        ("172.16.0.1", DEFAULT, None),
        ("fd00::5", DEFAULT, None),
        ("2001:db8::1", DEFAULT, None),
        # the operator's allow list re-opens a default denial
        ("127.0.0.1", DEV, None),
        ("::1", DEV, None),
        ("::ffff:127.0.0.1", DEV, None),
        ("169.254.169.254", DEV, "link-local"),
        # the operator's deny list adds; the most specific operator network decides
        ("10.9.9.9", CARVED, "deny list"),
        ("10.1.2.3", CARVED, None),
        ("203.0.113.5", CARVED, "deny list"),
        ("192.0.2.1", BOTH, "deny list"),  # a tie goes to deny
        ("not-an-ip", DEFAULT, "not an IP address"),
    ],
)
def test_check_destination(ip: str, policy: EgressPolicy, refused_because: str | None) -> None:
    reason = check_destination(ip, policy)

    if refused_because is None:
        assert reason is None
    else:
        assert reason is not None and refused_because in reason


@pytest.mark.parametrize(
    ("host", "policy", "refused"),
    [
        ("localhost", DEFAULT, True),
        ("LOCALHOST.", DEFAULT, True),
        ("pbx.localhost", DEFAULT, True),
        ("localhost", DEV, False),
        ("127.0.0.1", DEFAULT, True),
        ("[::1]", DEFAULT, True),
        ("sip.example.com", DEFAULT, False),  # names are judged after resolution
        ("localhost.example.com", DEFAULT, False),
        ("10.0.0.1", DEFAULT, False),
    ],
)
def test_check_host(host: str, policy: EgressPolicy, refused: bool) -> None:
    assert (check_host(host, policy) is not None) is refused


def test_localhost_reason_names_the_host() -> None:
    assert check_host("localhost", DEFAULT) == (
        "localhost is a loopback address; this server does not send traffic there unless "
        "TRUNKLINE_SECURITY__ALLOW_ADDRESSES allows it"
    )


class TestResolveAllowed:
    async def test_literal_allowed(self) -> None:
        assert await resolve_allowed("203.0.113.5", 5060, DEFAULT) == ["203.0.113.5"]

    async def test_literal_refused(self) -> None:
        with pytest.raises(EgressRefused, match="link-local"):
            await resolve_allowed("169.254.169.254", 80, DEFAULT)

    async def test_localhost_is_loopback_without_asking_dns(self) -> None:
        with pytest.raises(EgressRefused, match=r"localhost: 127\.0\.0\.1 is a loopback"):
            await resolve_allowed("localhost", 5060, DEFAULT)

    async def test_allowed_when_the_operator_allows_loopback(self) -> None:
        assert await resolve_allowed("localhost", 5060, DEV) == ["127.0.0.1", "::1"]

    async def test_name_that_does_not_resolve(self) -> None:
        # RFC 6761 §6.4: .invalid never resolves.
        with pytest.raises(EgressRefused, match="does not resolve"):
            await resolve_allowed("nothing.invalid", 5060, DEFAULT)


class TestSettings:
    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ("127.0.0.0/8,::1/128", ["127.0.0.0/8", "::1/128"]),
            ('["127.0.0.0/8", "10.0.0.0/8"]', ["127.0.0.0/8", "10.0.0.0/8"]),
            (" 127.0.0.1 , ", ["127.0.0.1"]),
            ("", []),
        ],
    )
    def test_lists_from_the_environment(
        self, monkeypatch: pytest.MonkeyPatch, env: str, expected: list[str]
    ) -> None:
        monkeypatch.setenv("TRUNKLINE_SECURITY__ALLOW_ADDRESSES", env)
        monkeypatch.setenv("TRUNKLINE_SECURITY__DENY_ADDRESSES", env)

        security = Settings(_env_file=None).security

        assert security.allow_addresses == expected
        assert security.deny_addresses == expected

    def test_bad_network_is_refused_at_start(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("TRUNKLINE_SECURITY__DENY_ADDRESSES", "10.0.0.0/8,bogus")

        with pytest.raises(ValueError, match="bogus"):
            Settings(_env_file=None)
