"""Tiny in-test SIP responders on loopback: the other side of the transport seam."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from trunkline.sip.message import SipRequest, SipResponse, parse_message


def reply_to(request: bytes, status: int = 200, reason: str = "OK") -> bytes:
    """A response echoing the request's Via/From/To/Call-ID/CSeq (RFC 3261 §8.2.6.2)."""
    msg = parse_message(request)
    assert isinstance(msg, SipRequest)
    copied = [
        (n, v) for n, v in msg.headers if n.lower() in ("via", "from", "to", "call-id", "cseq")
    ]
    return SipResponse(status=status, reason=reason, headers=copied).to_bytes()


@dataclass
class UdpResponder(asyncio.DatagramProtocol):
    """Drops the first ``drop_first`` requests, then answers 200; records arrival times.

    ``provisional_first`` answers the very first request with 100 Trying instead of dropping.
    ``noise_first`` sends garbage and a stray response before each real answer.
    """

    drop_first: int = 0
    provisional_first: bool = False
    noise_first: bool = False
    arrivals: list[float] = field(default_factory=list)
    transport: asyncio.DatagramTransport | None = None

    @classmethod
    async def start(cls, host: str = "127.0.0.1", **kwargs: object) -> UdpResponder:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(
            lambda: cls(**kwargs),  # type: ignore[arg-type]
            local_addr=(host, 0),
        )
        return proto

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        assert self.transport is not None
        self.arrivals.append(asyncio.get_running_loop().time())
        n = len(self.arrivals)
        if self.provisional_first and n == 1:
            self.transport.sendto(reply_to(data, 100, "Trying"), addr)
            return
        if n <= self.drop_first:
            return
        if self.noise_first:
            self.transport.sendto(b"\x00\xffgarbage\r\n\r\n", addr)
            self.transport.sendto(
                b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch=z9hG4bKnope\r\n"
                b"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
                addr,
            )
            self.transport.sendto(b"SIP/2.0 200 OK\r\nContent-Length: 99\r\n\r\nshort", addr)
        self.transport.sendto(reply_to(data), addr)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


class TcpSink:
    """A TCP server that reads requests and never answers (counts what it received)."""

    def __init__(self) -> None:
        self.received = bytearray()
        self.server: asyncio.Server | None = None
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self) -> TcpSink:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._writers.append(writer)
        while chunk := await reader.read(65536):
            self.received += chunk

    async def close(self) -> None:
        for writer in self._writers:
            writer.close()
            await writer.wait_closed()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@dataclass
class DigestRegistrar(asyncio.DatagramProtocol):
    """A scripted UDP registrar verifying digest answers with our own pure digest code.

    ``status`` 401 challenges with WWW-Authenticate, 407 with Proxy-Authenticate. A wrong
    answer is challenged again (so a client must notice the repeat); ``stale_once`` answers
    the first correct response with a fresh nonce and stale=true.
    """

    password: str = "pw"
    status: int = 401
    algorithm: str = "MD5"
    qop: bool = True
    stale_once: bool = False
    transport: asyncio.DatagramTransport | None = None
    requests: list[SipRequest] = field(default_factory=list)
    _nonces: int = 0
    _staled: bool = False

    @classmethod
    async def start(cls, **kwargs: object) -> DigestRegistrar:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_datagram_endpoint(
            lambda: cls(**kwargs),  # type: ignore[arg-type]
            local_addr=("127.0.0.1", 0),
        )
        return proto

    @property
    def port(self) -> int:
        assert self.transport is not None
        return int(self.transport.get_extra_info("sockname")[1])

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def _challenge(self, data: bytes, stale: bool = False) -> bytes:
        self._nonces += 1
        header = "WWW-Authenticate" if self.status == 401 else "Proxy-Authenticate"
        value = f'Digest realm="unit.test", nonce="n{self._nonces}", algorithm={self.algorithm}'
        if self.qop:
            value += ', qop="auth"'
        if stale:
            value += ", stale=true"
        reply = reply_to(data, self.status, "Unauthorized")
        head, _, _ = reply.partition(b"Content-Length")
        return head + f"{header}: {value}\r\nContent-Length: 0\r\n\r\n".encode()

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        from trunkline.sip.digest import compute_response
        from trunkline.sip.message import parse_params

        assert self.transport is not None
        msg = parse_message(data)
        assert isinstance(msg, SipRequest)
        self.requests.append(msg)
        auth = msg.get("Authorization" if self.status == 401 else "Proxy-Authorization")
        if auth is None:
            self.transport.sendto(self._challenge(data), addr)
            return
        p = parse_params(auth.removeprefix("Digest "), sep=",")
        expected = compute_response(
            algorithm=p["algorithm"],
            username=p["username"],
            realm=p["realm"],
            password=self.password,
            method=msg.method,
            uri=p["uri"],
            nonce=p["nonce"],
            qop=p.get("qop"),
            nc=p.get("nc"),
            cnonce=p.get("cnonce"),
        )
        if p["response"] != expected or p["nonce"] != f"n{self._nonces}":
            self.transport.sendto(self._challenge(data), addr)
        elif self.stale_once and not self._staled:
            self._staled = True
            self.transport.sendto(self._challenge(data, stale=True), addr)
        else:
            ok = reply_to(data).partition(b"Content-Length")[0]
            contact = msg.get("Contact")
            self.transport.sendto(
                ok + f"Contact: {contact};expires=45\r\nContent-Length: 0\r\n\r\n".encode(), addr
            )

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
