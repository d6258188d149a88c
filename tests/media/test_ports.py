"""PortPool: even ports only, skip ports other processes hold, exhaustion, release."""

from __future__ import annotations

import asyncio
import socket

import pytest
import uvloop

from tests.support.sip_peers import free_port
from trunkline.media.ports import PortPool, PortsExhausted


def _even_free_base() -> int:
    """An even port with the next few (up to +7) free on 127.0.0.1 (racy, fine on loopback)."""
    for _ in range(50):
        base = free_port() & ~1
        try:
            socks = []
            for port in range(base, base + 8):
                sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(sock)
                sock.bind(("127.0.0.1", port))
        except OSError:
            continue
        finally:
            for sock in socks:
                sock.close()
        return base
    raise RuntimeError("no free port block")


class TestPortPool:
    @pytest.mark.parametrize(
        ("first", "last", "capacity"),
        [(20000, 20009, 5), (20001, 20009, 4), (20000, 20000, 1), (20001, 20002, 1)],
    )
    def test_capacity_counts_even_ports(self, first: int, last: int, capacity: int) -> None:
        assert PortPool(first, last).capacity == capacity

    @pytest.mark.parametrize(("first", "last"), [(0, 10), (10, 5), (20001, 20001), (1, 70000)])
    def test_invalid_ranges(self, first: int, last: int) -> None:
        with pytest.raises(ValueError, match="range"):
            PortPool(first, last)

    def test_skips_a_port_in_use_on_uvloop(self) -> None:
        # uvloop reports "address in use" from create_datagram_endpoint without an errno; the
        # pool binds the socket itself so the port is skipped on either loop.
        async def scenario() -> int:
            base = _even_free_base()
            pool = PortPool(base, base + 3)  # even ports: base, base+2
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
                squatter.bind(("127.0.0.1", base))
                transport, _, port = await pool.bind("127.0.0.1", asyncio.DatagramProtocol)
                transport.close()
            return port - base

        assert uvloop.run(scenario()) == 2

    async def test_binds_even_ports_and_skips_ones_in_use(self) -> None:
        base = _even_free_base()
        pool = PortPool(base, base + 5)  # even ports: base, base+2, base+4
        squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        squatter.bind(("127.0.0.1", base + 2))  # another process's socket
        bound: list[asyncio.DatagramTransport] = []
        try:
            t1, _, p1 = await pool.bind("127.0.0.1", asyncio.DatagramProtocol)
            t2, _, p2 = await pool.bind("127.0.0.1", asyncio.DatagramProtocol)
            bound += [t1, t2]
            assert (p1, p2) == (base, base + 4)
            assert t1.get_extra_info("sockname")[1] == base
            with pytest.raises(PortsExhausted):
                await pool.bind("127.0.0.1", asyncio.DatagramProtocol)
            assert pool.in_use == 2
            t1.close()
            await asyncio.sleep(0)  # the socket closes on the next loop iteration
            pool.release(p1)
            t3, _, p3 = await pool.bind("127.0.0.1", asyncio.DatagramProtocol)
            bound.append(t3)
            assert p3 == base
        finally:
            squatter.close()
            for transport in bound:
                transport.close()
