"""UDP errors on both event loops `trunkline serve` can run (asyncio, uvloop: ServerSettings).

asyncio and uvloop have differed on how an ICMP error reaches a datagram protocol (uvloop once
closed the transport instead of calling ``error_received``). The SIP client's UDP endpoint must
log the error and keep its socket: one unreachable peer must not close the socket every other
transaction of that address family shares.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass

import pytest
import uvloop

from trunkline.sip.transport import Dispatcher, UdpEndpoint


def closed_udp_port() -> int:
    """A loopback UDP port nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def until(predicate, timeout_s: float = 2.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while True:
        if predicate() or loop.time() >= deadline:
            return
        await asyncio.sleep(0.01)


@dataclass
class Seen:
    errors: list[str]  # the UDP endpoint's error log lines, while the peer was down
    closed_after_errors: bool
    received_after_errors: bool  # a datagram from the peer, once it came up


async def connected_socket_scenario(caplog: pytest.LogCaptureFixture) -> Seen:
    port = closed_udp_port()
    loop = asyncio.get_running_loop()
    # Connected: Linux reports the ICMP port unreachable to the socket as ECONNREFUSED.
    transport, endpoint = await loop.create_datagram_endpoint(
        lambda: UdpEndpoint(Dispatcher()), remote_addr=("127.0.0.1", port)
    )
    try:
        for _ in range(2):
            transport.sendto(b"OPTIONS sip:x SIP/2.0\r\n\r\n")
            await asyncio.sleep(0.05)
        errors = [
            r.getMessage() for r in caplog.records if r.getMessage().startswith("UDP socket error")
        ]
        closed = transport.is_closing() or endpoint.closed.done()

        # The peer comes up: the same socket still receives what it sends.
        peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            peer.bind(("127.0.0.1", port))
            peer.sendto(b"BYE sip:x SIP/2.0\r\n\r\n", transport.get_extra_info("sockname"))

            def received() -> bool:
                return any("ignoring" in r.getMessage() for r in caplog.records)

            await until(received)
        finally:
            peer.close()
        return Seen(errors, closed, received())
    finally:
        transport.close()
        await endpoint.closed


class TestIcmpPortUnreachable:
    def test_connected_socket_on_uvloop(self, caplog: pytest.LogCaptureFixture) -> None:
        caplog.set_level(logging.DEBUG, logger="trunkline.sip.transport")
        # Its own uvloop loop, whichever loop the suite runs on (tests/conftest.py).
        seen = uvloop.run(connected_socket_scenario(caplog))

        assert len(seen.errors) == 2
        assert all("Connection refused" in e for e in seen.errors)
        assert not seen.closed_after_errors
        assert seen.received_after_errors

    async def test_connected_socket_on_the_suites_loop(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG, logger="trunkline.sip.transport")
        seen = await connected_socket_scenario(caplog)

        assert len(seen.errors) == 2
        assert all("Connection refused" in e for e in seen.errors)
        assert not seen.closed_after_errors
        assert seen.received_after_errors
