"""Target resolution: literals, SRV (with an injected lookup: tests send no DNS), fallback."""

from __future__ import annotations

import socket

import dns.exception
import pytest

from tests.sip.responders import UdpResponder
from trunkline.sip import SipClient, SipTransportError, Target
from trunkline.sip.resolve import resolve


async def test_ip_literals_pass_through_with_default_ports() -> None:
    v4 = await resolve("127.0.0.1", None, "udp")
    assert (v4.ip, v4.port, v4.family, v4.hostport) == (
        "127.0.0.1", 5060, socket.AF_INET, "127.0.0.1:5060",
    )  # fmt: skip
    v6 = await resolve("[::1]", None, "tls")
    assert (v6.ip, v6.port, v6.family, v6.hostport) == ("::1", 5061, socket.AF_INET6, "[::1]:5061")
    assert (await resolve("::1", 7000, "tcp")).hostport == "[::1]:7000"


async def test_srv_is_used_only_for_names_without_port() -> None:
    asked: list[str] = []

    async def fake_srv(name: str) -> list[tuple[str, int]]:
        asked.append(name)
        return [("127.0.0.1", 15099)]

    got = await resolve("sip.example.test", None, "tls", srv_lookup=fake_srv)
    assert asked == ["_sips._tcp.sip.example.test"] and got.hostport == "127.0.0.1:15099"
    await resolve("localhost", 5070, "udp", srv_lookup=fake_srv)
    await resolve("127.0.0.1", None, "udp", srv_lookup=fake_srv)
    assert asked == ["_sips._tcp.sip.example.test"]


async def test_srv_failure_falls_back_to_address_records() -> None:
    async def failing_srv(name: str) -> list[tuple[str, int]]:
        assert name == "_sip._udp.localhost"
        raise dns.exception.Timeout

    got = await resolve("localhost", None, "udp", srv_lookup=failing_srv)
    assert got.ip in ("127.0.0.1", "::1") and got.port == 5060


async def test_unresolvable_name_is_dns_error() -> None:
    with pytest.raises(SipTransportError) as info:
        await resolve("nothing.invalid", 5060, "udp")
    assert info.value.kind == "dns"
    async with SipClient(t1_s=0.05) as client:
        res = await client.options(Target("nothing.invalid", 5060))
    assert res.error == "dns" and not res.reachable


async def test_client_probe_through_srv() -> None:
    responder = await UdpResponder.start()

    async def fake_srv(name: str) -> list[tuple[str, int]]:
        return [("127.0.0.1", responder.port)]

    try:
        async with SipClient(t1_s=0.05, srv_lookup=fake_srv) as client:
            res = await client.options(Target("sip.example.test"))
        assert res.sip_code == 200 and res.remote == f"127.0.0.1:{responder.port}"
    finally:
        responder.close()
