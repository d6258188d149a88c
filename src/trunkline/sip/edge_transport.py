"""The sockets of a SipEdge (RFC 3261 §18): its UDP endpoint, TCP connections and channels.

Also :func:`salvage_request`, which digs enough out of an unparseable request to answer 400.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, cast

from trunkline.sip.errors import SipParseError, SipTransportError
from trunkline.sip.message import SipRequest, frame_length
from trunkline.sip.resolve import ResolvedAddress

if TYPE_CHECKING:
    from trunkline.sip.edge import SipEdge

log = logging.getLogger(__name__)

MAX_DATAGRAM = 16384  # bigger than any sane INVITE; larger datagrams are dropped unread
# A response must echo these (RFC 3261 §8.2.6.2), so a request without them gets none.
ECHOED_HEADERS = ("via", "from", "to", "call-id", "cseq")


def hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


class StreamConnection(asyncio.Protocol):
    """One TCP connection, accepted or opened by us; frames by Content-Length (§18.3)."""

    def __init__(self, edge: SipEdge) -> None:
        self.edge = edge
        self.transport: asyncio.Transport | None = None
        self.peer: tuple[str, int] = ("", 0)
        self.buffer = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        peer = transport.get_extra_info("peername")
        self.peer = (str(peer[0]), int(peer[1]))
        self.edge.streams[self.peer] = self

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while True:
            while self.buffer[:2] == b"\r\n":  # RFC 5626 §4.4.1 keep-alives
                del self.buffer[:2]
            try:
                size = frame_length(self.buffer)
            except SipParseError:
                self.buffer.clear()
                self.close()  # no way to find the next message boundary
                return
            if size is None:
                return
            frame = bytes(self.buffer[:size])
            del self.buffer[:size]
            self.edge.on_message(frame, self.peer, "tcp", self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.edge.streams.get(self.peer) is self:
            del self.edge.streams[self.peer]

    @property
    def is_open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing()

    def send(self, data: bytes) -> None:
        if self.is_open:
            assert self.transport is not None
            self.transport.write(data)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class UdpEndpoint(asyncio.DatagramProtocol):
    """The listener's UDP socket: every datagram goes to :meth:`SipEdge.on_message`."""

    def __init__(self, edge: SipEdge) -> None:
        self.edge = edge

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        if len(data) > MAX_DATAGRAM:
            return  # oversize: never parsed (RFC 3261 §18.1.1 keeps UDP messages small)
        self.edge.on_message(data, (str(addr[0]), int(addr[1])), "udp", None)

    def error_received(self, exc: Exception) -> None:
        log.debug("UDP error on the SIP listener: %s", exc)


class EdgeChannel:
    """A :class:`~trunkline.sip.transport.Channel` for client transactions sent by the edge."""

    tls_cert_expires_at = None

    def __init__(
        self, edge: SipEdge, remote: ResolvedAddress, conn: StreamConnection | None
    ) -> None:
        self._edge, self.conn = edge, conn
        self.remote = remote
        self.reliable = conn is not None
        self.via_transport = "TCP" if conn is not None else "UDP"
        self.local = hostport(*edge.public_address)

    def send(self, data: bytes) -> None:
        if self.conn is not None:
            if not self.conn.is_open:
                raise SipTransportError("network", f"connection to {self.remote.hostport} closed")
            self.conn.send(data)
        else:
            self._edge.send_udp(data, (self.remote.ip, self.remote.port))


def salvage_request(data: bytes) -> SipRequest | None:
    """Best effort for an unparseable datagram: enough of a request to answer it with 400."""
    head = data.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
    lines = head.split("\r\n")
    start = lines[0].split(" ")
    if len(start) != 3 or start[2] != "SIP/2.0" or start[0].upper() in ("ACK", "SIP/2.0"):
        return None  # a response, an ACK (never answered, §17.1.1.3) or not SIP: drop it
    headers: list[tuple[str, str]] = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if colon and name.strip():
            headers.append((name.strip(), value.strip()))
    request = SipRequest(method=start[0], uri=start[1], headers=headers)
    if any(request.get(h) is None for h in ECHOED_HEADERS):
        return None
    return request
