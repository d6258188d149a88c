"""The RTP port range: one even UDP port per call (RFC 3550 §11).

RFC 3550 §11 puts RTP on an even port and RTCP on the next odd one; we send no RTCP, but
keeping RTP even means a far end that assumes the pairing never sends RTP to our RTCP slot of
another call. The pool walks the range round-robin rather than always from the bottom so a
port just released (whose far end may still be sending for a moment) is the last to be reused,
and it skips ports that another process already holds (the bind simply fails).
"""

from __future__ import annotations

import asyncio
import errno
import socket
from collections.abc import Callable
from typing import TypeVar

__all__ = ["PortPool", "PortsExhausted"]

P = TypeVar("P", bound=asyncio.DatagramProtocol)


class PortsExhausted(Exception):
    """Every even port in the RTP range is in use."""


class PortPool:
    """Hands out even UDP ports from ``first..last`` (inclusive) and takes them back."""

    def __init__(self, first: int, last: int) -> None:
        if not 1 <= first <= last <= 65535:
            raise ValueError(f"invalid RTP port range {first}-{last}")
        start = first + (first % 2)
        self._ports = list(range(start, last + 1, 2))
        if not self._ports:
            raise ValueError(f"RTP port range {first}-{last} holds no even port")
        self._in_use: set[int] = set()
        self._cursor = 0

    @property
    def capacity(self) -> int:
        """How many ports the range holds (an upper bound on concurrent sessions)."""
        return len(self._ports)

    @property
    def in_use(self) -> int:
        """Ports currently handed out by this pool."""
        return len(self._in_use)

    async def bind(
        self, host: str, protocol_factory: Callable[[], P]
    ) -> tuple[asyncio.DatagramTransport, P, int]:
        """Bind a UDP endpoint on the next free even port; raises :class:`PortsExhausted`."""
        loop = asyncio.get_running_loop()
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        for _ in range(len(self._ports)):
            port = self._ports[self._cursor]
            self._cursor = (self._cursor + 1) % len(self._ports)
            if port in self._in_use:
                continue
            # Bound here rather than by create_datagram_endpoint(local_addr=...): uvloop (the
            # loop `trunkline serve` runs) reports a port in use as an OSError without errno,
            # which would stop the search at the first port another process holds.
            sock = socket.socket(family, socket.SOCK_DGRAM)
            try:
                sock.bind((host, port))
            except OSError as exc:
                sock.close()
                if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                    continue  # another process holds it (or it is privileged): try the next
                raise
            sock.setblocking(False)
            transport, protocol = await loop.create_datagram_endpoint(protocol_factory, sock=sock)
            self._in_use.add(port)
            return transport, protocol, port
        raise PortsExhausted(f"no free even UDP port in {self._ports[0]}-{self._ports[-1]}")

    def release(self, port: int) -> None:
        """Give a port back (its socket must already be closed). Idempotent."""
        self._in_use.discard(port)
